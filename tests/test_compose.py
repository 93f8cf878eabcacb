"""docker-compose.yml describes a working farm (Docker cannot run here, so we read it)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import click
import pytest
import yaml

from search.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load(compose_text())


def compose_text() -> str:
    return (REPO_ROOT / "docker-compose.yml").read_text()


def dockerfile() -> str:
    return (REPO_ROOT / "Dockerfile").read_text()


def example_environment() -> dict[str, str]:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def expand(value: str) -> str:
    """A `${NAME:-default}` value as Compose expands it with the example .env."""
    return re.sub(r"\$\{(\w+)(?::-[^}]*)?\}",
                  lambda match: example_environment()[match.group(1)], value)


def seconds(duration: str) -> float:
    """A Compose duration such as `15m` or `1m30s` in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(amount) * units[unit]
               for amount, unit in re.findall(r"([\d.]+)([hms])", duration))


def run_entrypoint(environment: dict[str, str], *command: str
                   ) -> subprocess.CompletedProcess[str]:
    script = REPO_ROOT / "docker" / "refuse-example-passwords.sh"
    return subprocess.run(["sh", str(script), *command], capture_output=True, text=True,
                          env={"PATH": os.environ["PATH"], **environment}, timeout=60)


def cli_environment_variables() -> set[str]:
    names: set[str] = set()

    def visit(command: click.Command) -> None:
        for parameter in command.params:
            envvar = parameter.envvar
            envvars = envvar if isinstance(envvar, (list, tuple)) else [envvar]
            names.update(name for name in envvars if name)
        if isinstance(command, click.Group):
            for child in command.commands.values():
                visit(child)

    visit(main)
    return names


def test_compose_has_mongo_search_and_worker_services() -> None:
    assert {"mongo", "search", "worker"} <= set(compose()["services"])


def test_mongo_is_pinned_authenticated_persistent_healthchecked_and_loopback_only() -> None:
    mongo = compose()["services"]["mongo"]
    image, _, tag = mongo["image"].partition(":")
    assert image == "mongo" and tag.split(".")[0].isdigit()
    assert {"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"} <= set(mongo["environment"])
    assert "--auth" in mongo["command"]
    assert all(expand(str(port)).startswith("127.0.0.1:") for port in mongo["ports"])
    volume = mongo["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"]
    assert mongo["healthcheck"]["test"]


def test_one_worker_container_per_host_reserves_every_gpu_and_runs_one_process_each() -> None:
    """Not `--scale worker=N` with `count: 1`: Compose gives every replica the same GPU
    (docker/compose#11863). One container takes the host's GPUs; `--gpus all` splits them."""
    worker = compose()["services"]["worker"]
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert device.get("count") == "all" or device.get("device_ids")
    assert worker["command"][:2] == ["hpsearch", "worker"]
    assert expand(worker["environment"]["HPSEARCH_GPUS"]) == "all"
    assert "--scale" not in compose_text().replace("Do not `--scale", "")
    assert compose()["services"]["search"]["command"][:2] == ["hpsearch", "search"]


def test_a_stopped_worker_has_time_to_finish_its_trial() -> None:
    worker = compose()["services"]["worker"]
    assert seconds(worker["stop_grace_period"]) >= 5 * 60
    assert "STOPSIGNAL SIGTERM" in dockerfile()


def test_services_connect_as_an_application_user_with_read_write_not_as_root() -> None:
    services = compose()["services"]
    mongo = services["mongo"]
    (script,) = [volume for volume in mongo["volumes"] if "/docker-entrypoint-initdb.d/" in volume]
    source = REPO_ROOT / script.split(":")[0]
    text = source.read_text()
    assert "createUser" in text and 'role: "readWrite", db: "hpsearch"' in text
    assert "process.env.HPSEARCH_DB_USER" in text and "process.env.HPSEARCH_DB_PASSWORD" in text
    assert {"HPSEARCH_DB_USER", "HPSEARCH_DB_PASSWORD"} <= set(mongo["environment"])
    for name in ("search", "worker"):
        store = services[name]["environment"]["HPSEARCH_STORE"]
        assert store.startswith("mongodb://${HPSEARCH_DB_USER") and "authSource=hpsearch" in store
        assert "MONGO_ROOT" not in store and "INITDB" not in store


def test_the_image_runs_as_an_unprivileged_user() -> None:
    users = [line.split()[1] for line in dockerfile().splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    lines = dockerfile().splitlines()
    install = max(i for i, line in enumerate(lines) if line.startswith("RUN pip install"))
    assert install < max(i for i, line in enumerate(lines) if line.startswith("USER "))


@pytest.mark.parametrize("environment", [
    {"MONGO_INITDB_ROOT_PASSWORD": "change-me", "HPSEARCH_DB_PASSWORD": "a-real-one"},
    {"MONGO_INITDB_ROOT_PASSWORD": "a-real-one", "HPSEARCH_DB_PASSWORD": "change-me"},
    {"HPSEARCH_STORE": "mongodb://hpsearch:change-me@mongo:27017/hpsearch?authSource=hpsearch"},
])
def test_the_example_password_is_refused_at_start(environment: dict[str, str]) -> None:
    assert example_environment()["MONGO_ROOT_PASSWORD"] == "change-me"
    assert example_environment()["HPSEARCH_DB_PASSWORD"] == "change-me"
    refused = run_entrypoint(environment, "echo", "started")
    assert refused.returncode != 0 and "started" not in refused.stdout
    assert "example password" in refused.stderr


def test_the_entrypoint_starts_the_command_with_passwords_of_ones_own() -> None:
    started = run_entrypoint({
        "MONGO_INITDB_ROOT_PASSWORD": "s3cret-1", "HPSEARCH_DB_PASSWORD": "s3cret-2",
        "HPSEARCH_STORE": "mongodb://hpsearch:s3cret-2@mongo:27017/hpsearch"}, "echo", "started")
    assert started.returncode == 0 and started.stdout.strip() == "started"


def test_every_service_starts_through_the_password_check() -> None:
    mongo = compose()["services"]["mongo"]
    check = "refuse-example-passwords.sh"
    assert mongo["entrypoint"][0].endswith(check)
    assert any(volume.startswith(f"./docker/{check}:") for volume in mongo["volumes"])
    entrypoint = next(line for line in dockerfile().splitlines() if line.startswith("ENTRYPOINT"))
    assert check in entrypoint


def test_every_variable_the_compose_file_requires_is_in_the_example_env() -> None:
    required = set(re.findall(r"\$\{(\w+):\?", compose_text()))
    assert required and required <= set(example_environment())
    used = set(re.findall(r"\$\{(\w+)", compose_text()))
    assert used <= set(example_environment()), used - set(example_environment())


def test_every_hpsearch_variable_the_compose_file_sets_is_read_by_the_cli() -> None:
    read = cli_environment_variables()
    for name in ("search", "worker"):
        service = compose()["services"][name]
        assert service["depends_on"]["mongo"]["condition"] == "service_healthy"
        assert service["environment"]["HPSEARCH_STORE"].startswith("mongodb://")
        assert set(service["environment"]) <= read, set(service["environment"]) - read


def test_dockerfile_builds_on_a_cuda_pytorch_base() -> None:
    base = next(line for line in dockerfile().splitlines() if line.startswith("FROM "))
    assert "pytorch" in base and "cuda" in base
