"""docker-compose.yml describes a working farm (Docker cannot run here, so we parse the file,
expand its variables as Compose does, and run the scripts it mounts)."""

from __future__ import annotations

import os
import re
import subprocess
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from search.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent
PASSWORD_CHECK = "docker/refuse-example-passwords.sh"
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, ${NAME:+other},
# $NAME, and $$ for a literal dollar: Compose's interpolation.
INTERPOLATION = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<operator>:?[-?+])"
                           r"(?P<argument>[^}]*))?\}|(?P<bare>\w+))")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    return loaded


def services() -> dict[str, Any]:
    return dict(compose()["services"])


def example_environment() -> dict[str, str]:
    lines = (REPO_ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def interpolate(value: str, environment: dict[str, str]) -> str:
    """``value`` as Compose expands it in ``environment``.

    Raises:
        LookupError: A required variable (``${NAME:?error}``) is unset or empty.
    """

    def expand(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        operator, argument, present = match["operator"], match["argument"], name in environment
        current = environment.get(name, "")
        unset = not current if operator and operator.startswith(":") else not present
        if operator in (":-", "-"):
            return argument if unset else current
        if operator in (":?", "?") and unset:
            raise LookupError(f"{name}: {argument}")
        if operator in (":+", "+"):
            return "" if unset else argument
        return current

    return INTERPOLATION.sub(expand, value)


def strings(node: Any) -> Iterator[str]:
    """Every string value in a parsed YAML document (keys are never interpolated)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def interpolations(node: Any) -> list[re.Match[str]]:
    return [match for value in strings(node) for match in INTERPOLATION.finditer(value)
            if not match["escaped"]]


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """A service's volumes in short syntax, as {target in the container: source}."""
    parsed = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        parsed[target] = source
    return parsed


def seconds(duration: str) -> float:
    """A Compose duration such as `15m` or `1m30s` in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(amount) * units[unit]
               for amount, unit in re.findall(r"([\d.]+)([hms])", duration))


def run_entrypoint(environment: dict[str, str], *command: str
                   ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(REPO_ROOT / PASSWORD_CHECK), *command], capture_output=True,
                          text=True, env={"PATH": os.environ["PATH"], **environment}, timeout=60)


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


def javascript_code(path: Path) -> str:
    """A JavaScript file without its comments (none of its strings hold `//` or `/*`)."""
    return re.sub(r"//[^\n]*|/\*.*?\*/", "", path.read_text(), flags=re.DOTALL)


def test_compose_has_mongo_search_and_worker_services() -> None:
    assert {"mongo", "search", "worker"} <= set(services())


def test_mongo_is_pinned_authenticated_persistent_healthchecked_and_loopback_only() -> None:
    mongo = services()["mongo"]
    image, _, tag = mongo["image"].partition(":")
    assert image == "mongo" and tag.split(".")[0].isdigit()
    assert {"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"} <= set(mongo["environment"])
    assert "--auth" in mongo["command"]
    for environment in ({}, example_environment()):  # the file's defaults, then the example's
        assert all(interpolate(str(port), environment).startswith("127.0.0.1:")
                   for port in mongo["ports"])
    assert mounts(mongo)["/data/db"] in compose()["volumes"]  # a named volume, kept on down
    check = mongo["healthcheck"]
    assert check["test"][0] == "CMD" and "mongosh" in check["test"]
    assert any("ping" in word for word in check["test"]) and check["retries"] >= 1


def test_one_worker_container_per_host_reserves_every_gpu_and_runs_one_process_each() -> None:
    """Not `--scale worker=N` with `count: 1`: Compose gives every replica the same GPU
    (docker/compose#11863). One container takes the host's GPUs; `--gpus all` splits them."""
    worker = services()["worker"]
    (device,) = worker["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert device.get("count") == "all" or device.get("device_ids")
    assert "scale" not in worker and worker["deploy"].get("replicas", 1) == 1
    assert worker["command"][:2] == ["hpsearch", "worker"]
    assert interpolate(worker["environment"]["HPSEARCH_GPUS"], example_environment()) == "all"
    assert services()["search"]["command"][:2] == ["hpsearch", "search"]


def test_a_stopped_worker_has_time_to_finish_its_trial() -> None:
    assert seconds(services()["worker"]["stop_grace_period"]) >= 5 * 60


def test_a_worker_keeps_unstored_results_on_a_volume_that_outlives_its_container() -> None:
    worker = services()["worker"]
    spool = worker["environment"]["HPSEARCH_SPOOL_DIR"]
    assert mounts(worker)[spool] in compose()["volumes"]


def test_the_search_driver_is_not_restarted_when_it_finishes() -> None:
    assert services()["search"]["restart"] == "no"
    assert services()["worker"]["restart"] in ("always", "unless-stopped")


def test_services_connect_as_an_application_user_with_read_write_not_as_root() -> None:
    mongo = services()["mongo"]
    init_script = REPO_ROOT / mounts(mongo)["/docker-entrypoint-initdb.d/10-hpsearch-user.js"]
    code = javascript_code(init_script)
    variables = dict(re.findall(r"const (\w+) = process\.env\.(\w+);", code))
    (argument,) = re.findall(r"\.createUser\((\{.*?\})\);", code, flags=re.DOTALL)
    created = yaml.safe_load(argument)  # the object literal is also a YAML flow mapping
    assert created["roles"] == [{"role": "readWrite", "db": "hpsearch"}]
    assert variables[created["user"]] == "HPSEARCH_DB_USER"
    assert variables[created["pwd"]] == "HPSEARCH_DB_PASSWORD"
    assert {"HPSEARCH_DB_USER", "HPSEARCH_DB_PASSWORD"} <= set(mongo["environment"])
    environment = {**example_environment(), "HPSEARCH_DB_USER": "app", "HPSEARCH_DB_PASSWORD":
                   "app-secret", "MONGO_ROOT_USER": "root-user", "MONGO_ROOT_PASSWORD": "root-pw"}
    for name in ("search", "worker"):
        store = urllib.parse.urlsplit(
            interpolate(services()[name]["environment"]["HPSEARCH_STORE"], environment))
        assert (store.scheme, store.username, store.password) == ("mongodb", "app", "app-secret")
        assert store.path == "/hpsearch"
        assert urllib.parse.parse_qs(store.query)["authSource"] == ["hpsearch"]


def test_no_password_is_written_in_the_file_each_must_be_set_in_env() -> None:
    password_variables = {match["braced"] or match["bare"] for match in interpolations(compose())
                          if "PASSWORD" in (match["braced"] or match["bare"])}
    assert password_variables == {"MONGO_ROOT_PASSWORD", "HPSEARCH_DB_PASSWORD"}
    for match in interpolations(compose()):
        if "PASSWORD" in (match["braced"] or match["bare"]):
            assert match["operator"] == ":?", match[0]  # no default to fall back on
    for service in services().values():
        for name, value in service.get("environment", {}).items():
            if "PASSWORD" in name:
                assert INTERPOLATION.fullmatch(value), (name, value)
    example_password = example_environment()["HPSEARCH_DB_PASSWORD"]
    assert not any(example_password in value for value in strings(compose()))
    unset = {name: value for name, value in example_environment().items()
             if "PASSWORD" not in name}
    with pytest.raises(LookupError, match="HPSEARCH_DB_PASSWORD"):
        interpolate(services()["worker"]["environment"]["HPSEARCH_STORE"], unset)


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


@pytest.mark.parametrize("password", ["p@ss", "a/b", "a:b", "a%40b", "a+b", "a b", "a?b#c"])
def test_a_password_a_url_would_need_escaped_is_refused_at_start(password: str) -> None:
    # It goes into HPSEARCH_STORE as it is, and into the database's user verbatim.
    refused = run_entrypoint({"MONGO_INITDB_ROOT_PASSWORD": "root-pw",
                              "HPSEARCH_DB_PASSWORD": password}, "echo", "started")
    assert refused.returncode != 0 and "started" not in refused.stdout
    assert "HPSEARCH_DB_PASSWORD" in refused.stderr and "token_urlsafe" in refused.stderr
    assert password not in refused.stderr


def test_a_url_safe_password_logs_in_with_the_url_the_services_are_given() -> None:
    password = "Xy_9-a.b~Q"
    started = run_entrypoint({"MONGO_INITDB_ROOT_PASSWORD": "root-pw@:/",
                              "HPSEARCH_DB_PASSWORD": password}, "echo", "started")
    assert started.returncode == 0, started.stderr
    environment = {**example_environment(), "HPSEARCH_DB_PASSWORD": password}
    store = urllib.parse.urlsplit(
        interpolate(services()["worker"]["environment"]["HPSEARCH_STORE"], environment))
    assert urllib.parse.unquote_plus(store.password or "") == password  # as pymongo reads it


def test_workers_serve_every_experiment_and_only_the_driver_names_one() -> None:
    assert "HPSEARCH_EXP_KEY" in services()["search"]["environment"]
    assert "HPSEARCH_EXP_KEY" not in services()["worker"]["environment"]


def test_every_service_starts_through_the_password_check() -> None:
    """mongo runs the mounted script before its own entrypoint; the hpsearch services keep the
    image's entrypoint (the same script, see test_dockerfile.py), built from this Dockerfile."""
    mongo = services()["mongo"]
    assert mounts(mongo)[mongo["entrypoint"][0]] == f"./{PASSWORD_CHECK}"
    assert mongo["entrypoint"][1] == "docker-entrypoint.sh"  # then the image's own
    for name in ("search", "worker"):
        service = services()[name]
        assert "entrypoint" not in service
        build = service["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile",
                                                                           "Dockerfile")
        assert (REPO_ROOT / context / dockerfile).resolve() == REPO_ROOT / "Dockerfile"
    assert services()["search"]["image"] == services()["worker"]["image"]


def test_every_variable_the_compose_file_uses_is_in_the_example_env() -> None:
    used = {match["braced"] or match["bare"] for match in interpolations(compose())}
    required = {match["braced"] for match in interpolations(compose())
                if match["operator"] in (":?", "?")}
    assert required and used <= set(example_environment()), used - set(example_environment())
    for value in strings(compose()):
        interpolate(value, example_environment())  # nothing required is left unset


def test_every_hpsearch_variable_the_compose_file_sets_is_read_by_the_cli() -> None:
    read = cli_environment_variables()
    for name in ("search", "worker"):
        service = services()[name]
        assert service["depends_on"]["mongo"]["condition"] == "service_healthy"
        assert service["environment"]["HPSEARCH_STORE"].startswith("mongodb://")
        assert set(service["environment"]) <= read, set(service["environment"]) - read
