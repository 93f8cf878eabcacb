"""docker-compose.yml describes a working farm (Docker cannot run here, so we read it)."""

from __future__ import annotations

from pathlib import Path

import click
import yaml

from search.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent


def compose() -> dict:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def cli_environment_variables() -> set[str]:
    names: set[str] = set()

    def visit(command: click.Command) -> None:
        for parameter in command.params:
            envvars = parameter.envvar if isinstance(parameter.envvar, (list, tuple)) else [parameter.envvar]
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
    assert all(str(port).startswith("127.0.0.1:") for port in mongo["ports"])
    volume = mongo["volumes"][0].split(":")[0]
    assert volume in compose()["volumes"]
    assert mongo["healthcheck"]["test"]


def test_each_worker_reserves_one_nvidia_gpu_and_can_scale() -> None:
    worker = compose()["services"]["worker"]
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["count"] == 1 and "gpu" in device["capabilities"]
    assert "container_name" not in worker  # a fixed name would forbid --scale worker=N
    assert worker["command"][:2] == ["hpsearch", "worker"]
    assert compose()["services"]["search"]["command"][:2] == ["hpsearch", "search"]


def test_every_hpsearch_variable_the_compose_file_sets_is_read_by_the_cli() -> None:
    read = cli_environment_variables()
    for name in ("search", "worker"):
        service = compose()["services"][name]
        assert service["depends_on"]["mongo"]["condition"] == "service_healthy"
        assert service["environment"]["HPSEARCH_STORE"].startswith("mongodb://")
        assert set(service["environment"]) <= read, set(service["environment"]) - read


def test_dockerfile_builds_on_a_cuda_pytorch_base() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    base = next(line for line in dockerfile.splitlines() if line.startswith("FROM "))
    assert "pytorch" in base and "cuda" in base
