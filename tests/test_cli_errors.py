"""User mistakes end in one clear message and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from search.cli import main


def run(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(main, list(args))


def assert_user_error(result, *fragments: str) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output


def write_space(tmp_path: Path, body: str) -> str:
    path = tmp_path / "space.yaml"
    path.write_text(body)
    return str(path)


def test_unknown_space_lists_the_built_in_ones(tmp_path: Path) -> None:
    assert_user_error(run("search", "--store", str(tmp_path), "--space", "nope"), "nope", "default")


def test_unknown_objective_lists_what_exists(tmp_path: Path) -> None:
    assert_user_error(run("search", "--store", str(tmp_path), "--objective", "nope"),
                      "nope", "digits", "noop")


@pytest.mark.parametrize("body, fragments", [
    ("parameters:\n  lr: {distribution: gaussian, min: 0.1, max: 1}\n",
     ["lr", "gaussian", "uniform"]),
    ("parameters:\n  lr: {distribution: uniform, min: 0.1}\n", ["lr", "max"]),
    ("parameters:\n  lr: {distribution: uniform, min: 2, max: 1}\n", ["lr", "min"]),
    ("parameters:\n  lr: {distribution: log_uniform_values, min: 0, max: 1}\n", ["lr", "positive"]),
])
def test_bad_space_file_names_the_file_and_the_key(tmp_path: Path, body: str,
                                                   fragments: list[str]) -> None:
    space = write_space(tmp_path, body)
    assert_user_error(run("search", "--store", str(tmp_path / "store"), "--space", space),
                      "space.yaml", *fragments)


def test_max_evals_zero_is_refused(tmp_path: Path) -> None:
    assert_user_error(run("search", "--store", str(tmp_path), "--max-evals", "0"), "--max-evals")


def test_unwritable_store_path_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert_user_error(run("search", "--store", str(blocker / "store"), "--max-evals", "1"),
                      "cannot write the store", str(blocker))


def test_query_of_unknown_experiment_lists_the_known_ones(tmp_path: Path) -> None:
    assert_user_error(run("best", "--store", str(tmp_path), "--exp-key", "missing"),
                      "missing", "none yet")


def test_malformed_store_url_is_refused() -> None:
    assert_user_error(run("best", "--store", "mongodb://host:notaport/db"), "invalid MongoDB URL")


def test_unreachable_database_fails_fast_with_a_clear_message() -> None:
    assert_user_error(run("status", "--store", "mongodb://127.0.0.1:1/db?serverSelectionTimeoutMS=1500"),
                      "cannot reach MongoDB")


def test_user_error_from_the_real_command_has_no_traceback(tmp_path: Path, hpsearch) -> None:
    completed = hpsearch("search", "--store", str(tmp_path), "--space", "nope")
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert "nope" in completed.stderr


def test_refused_credentials_are_reported_without_the_password(mongo_server) -> None:
    port = mongo_server.url.rsplit(":", 1)[1]
    result = run("status", "--store", f"mongodb://someone:wrong-pw@127.0.0.1:{port}/db"
                 "?authSource=admin&authMechanism=SCRAM-SHA-256")
    assert_user_error(result, "someone:***@")
    assert "wrong-pw" not in result.output


def test_a_resume_that_names_another_pruner_says_it_keeps_the_recorded_one(tmp_path: Path
                                                                           ) -> None:
    store = str(tmp_path / "store")
    common = ("search", "--store", store, "--objective", "noop", "--epochs", "1")
    assert run(*common, "--max-evals", "1", "--pruner", "bound").exit_code == 0
    resumed = run(*common, "--max-evals", "2", "--pruner", "none", "--confirm", "none",
                  "--algo", "tpe")
    assert resumed.exit_code == 0, resumed.output
    assert ("warning: --pruner none is ignored: a resume keeps the recorded pruner (bound)"
            in resumed.stderr)
    assert "--confirm none is ignored" in resumed.stderr
    assert "(0.15 of the trials)" in resumed.stderr
    assert "--algo" not in resumed.stderr, "the same algo as recorded: nothing to say"
    seeded = run(*common, "--max-evals", "2", "--seed", "5")
    assert "--seed 5 is ignored: a resume keeps the recorded seed (0)" in seeded.stderr
    quiet = run(*common, "--max-evals", "3")
    assert "warning" not in quiet.stderr, "options left out keep the recorded ones silently"


@pytest.mark.parametrize("allowed", ["mymodule", "mymodule.run", "a:b:c"])
def test_an_allowed_objective_not_named_module_function_is_refused(allowed: str) -> None:
    assert_user_error(run("worker", "--store", "mongodb://127.0.0.1:1/db", "--gpus", "none",
                          "--allow-objective", allowed),
                      f"--allow-objective {allowed}", "package.module:function")


def test_gpus_all_in_any_case_falls_back_to_cpu_where_no_gpu_is_visible(mongo_url: str) -> None:
    result = run("worker", "--store", mongo_url, "--gpus", " ALL", "--idle-timeout", "0")
    assert result.exit_code == 0, result.output
    assert "worker stopped after 0 trials" in result.output


def test_a_space_the_objective_cannot_read_is_refused_before_any_trial(tmp_path: Path) -> None:
    space = write_space(tmp_path, "parameters:\n"
                                  "  lr: {distribution: uniform, min: 0.001, max: 0.1}\n"
                                  "  batch_sz: {distribution: categorical, values: [32, 64]}\n"
                                  "  optimizer: {values: [adamw]}\n")
    store = tmp_path / "store"
    assert_user_error(run("search", "--store", str(store), "--space", space),
                      "does not fit the objective digits", "'batch_sz'",
                      "did you mean 'batch_size'", "a draw of the space")
    assert not list(store.glob("*/experiment.json"))  # nothing recorded, no trial queued


def test_a_value_the_objective_cannot_take_is_refused_not_a_traceback(tmp_path: Path) -> None:
    space = write_space(tmp_path, "parameters:\n  lr: {values: [null, 0.01]}\n"
                                  "  batch_size: {values: [32]}\n  optimizer: {values: [adamw]}\n")
    assert_user_error(run("search", "--store", str(tmp_path / "store"), "--space", space),
                      "does not fit the objective digits", "'lr': None")


@pytest.mark.parametrize(("knobs", "fragment"), [
    ("  weight_decay: {value: -1.0}\n  optimizer: {values: [adamw]}\n",
     "weight_decay must be 0 or more"),
    ("  optimizer: {values: [{name: sgd, parameters: {momentum: {value: -0.5}}}]}\n",
     "momentum must be 0 or more"),
    ("  optimizer: {values: [{name: sgd, parameters: {nesterov: {value: true}}}]}\n",
     "nesterov needs a momentum"),
    ("  optimizer: {values: [adamw]}\n"
     "  scheduler: {values: [{name: plateau, parameters: {factor: {value: 1.5}}}]}\n",
     "scheduler factor must be between 0 and 1"),
])
def test_a_value_torch_would_refuse_stops_the_search_before_its_first_trial(
        tmp_path: Path, knobs: str, fragment: str) -> None:
    """As docs/spaces.md says: not a search whose every trial fails on it."""
    space = write_space(tmp_path, "parameters:\n  lr: {values: [0.01]}\n"
                                  f"  batch_size: {{values: [32]}}\n{knobs}")
    store = tmp_path / "store"
    assert_user_error(run("search", "--store", str(store), "--space", space),
                      "does not fit the objective digits", fragment)
    assert not list(store.glob("*/experiment.json"))


@pytest.mark.parametrize("command", ["status", "experiments", "best"])
def test_a_ctrl_c_no_command_handles_exits_130(command: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """As one while a store connects: click's own "Aborted!" exits 1, which a script reads
    as a search whose trials all failed."""
    import search.store

    def interrupted(location: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(search.store, "open_store", interrupted)
    result = CliRunner().invoke(main, [command, "--store", str(tmp_path)])
    assert result.exit_code == 130, result.output
    assert "Aborted" not in result.output and "Traceback" not in result.output


def test_a_librarys_warning_is_one_line_without_its_source(tmp_path: Path) -> None:
    """pymongo warns of a URL option it does not know with its own file and source line."""
    import subprocess
    import sys

    url = "mongodb://127.0.0.1:1/db?noSuchOption=1&serverSelectionTimeoutMS=300"
    completed = subprocess.run([sys.executable, "-m", "search", "status", "--store", url],
                               capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert completed.returncode == 2, completed.stderr
    assert "UserWarning: Unknown option" in completed.stderr
    assert "site-packages" not in completed.stderr and ".py:" not in completed.stderr
