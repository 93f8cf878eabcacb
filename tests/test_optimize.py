"""`search.optimize`, the library's entry point: a search launched or resumed from Python, on
either store, returning what `search.results` reads."""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
from farm import database, start_worker, stop, wait_until

import objectives
import search
import spaces
from search import InvalidSearchOptions, SearchOptions
from search.farm.deadline import deadline
from search.policy import Policy
from search.store import open_store

QUICK = {"epochs": 1, "min_accuracy": 0.0}


def peaked_at_lr_0_01(params: dict[str, Any], trial: objectives.TrialContext) -> dict[str, Any]:
    """A plain function objective of the caller's: best at a learning rate of 0.01."""
    with trial.timed():
        distance = (math.log10(params["lr"]) + 2) ** 2
    return {"accuracy": 1 / (1 + distance), "distance": distance}


def fails(params: dict[str, Any], trial: objectives.TrialContext) -> dict[str, Any]:
    raise RuntimeError("fails on purpose")


def test_an_embedded_search_by_name_returns_what_results_reads(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    seen: list[search.SearchProgress] = []
    results = search.optimize("noop", "default",
                              SearchOptions(store=store, exp_key="named", max_evals=3, **QUICK),
                              on_progress=seen.append)
    assert [trial.state for trial in results.trials] == ["ok"] * 3
    assert results.experiment.objective == "noop" and results.experiment.max_evals == 3
    assert results == search.results(store, "named")
    finished = [progress.finished for progress in seen]
    assert finished[0] == 0 and finished[-1] == 3 and finished == sorted(finished)
    assert seen[0].best is None and seen[-1].best == results.best(1)[0]  # as best ranks


def test_a_function_objective_runs_embedded_and_resumes_to_the_new_target(tmp_path: Path
                                                                           ) -> None:
    options = SearchOptions(store=str(tmp_path / "store"), exp_key="function", max_evals=3,
                            startup_trials=2, **QUICK)
    first = search.optimize(peaked_at_lr_0_01, spaces.load_space("default"), options)
    assert first.experiment.objective.endswith(":peaked_at_lr_0_01")
    assert all(trial.state == "ok" for trial in first.trials)
    resumed = search.optimize(peaked_at_lr_0_01, "default",
                              dataclasses.replace(options, max_evals=5))
    assert [trial.tid for trial in resumed.trials] == [0, 1, 2, 3, 4]
    assert resumed.trials[:3] == first.trials  # the first run's trials, kept as they were
    (best,) = resumed.best(1)
    assert best.accuracy == pytest.approx(1 / (1 + best.trials[0].job["result"]["distance"]))


def test_a_search_whose_trials_all_fail_raises_search_failed(tmp_path: Path) -> None:
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=2, **QUICK)
    with pytest.raises(search.SearchFailed, match="no trial succeeded.*fails on purpose"):
        search.optimize(fails, "default", options)
    assert [t.reason for t in search.results(options.store, "default").trials] == [
        objectives.Reason.EXCEPTION] * 2


def test_an_embedded_search_stops_after_its_consecutive_failures(tmp_path: Path) -> None:
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=10,
                            max_consecutive_failures=2, **QUICK)
    seen: list[int] = []
    with pytest.raises(search.SearchFailed, match="2 trials failed in a row"):
        search.optimize(fails, "default", options,
                        on_progress=lambda progress: seen.append(progress.finished))
    assert len(search.results(options.store, "default").trials) == 2
    assert seen[-1] == 2, "the last progress counts the failure that stopped the search"


def test_options_no_search_can_run_with_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidSearchOptions, match="max_evals"):
        SearchOptions(max_evals=0)
    with pytest.raises(InvalidSearchOptions, match="unknown algo 'best'"):
        SearchOptions(algo="best")
    with pytest.raises(InvalidSearchOptions, match="stale_after"):
        search.optimize("noop", "default", SearchOptions(
            store=str(tmp_path / "store"), stale_after=1.0, heartbeat_interval=2.0))


@pytest.mark.parametrize(("field", "value"), [
    ("epochs", 0), ("seed", -1), ("seed", 1.5), ("seed", 2**63), ("min_accuracy", 1.5),
    ("min_accuracy", True),
    ("min_accuracy", "0.5"), ("data_dir", 5), ("torch_compile", "yes"), ("exp_key", 5),
    ("store", 5), ("store", ""), ("max_attempts", 0), ("trial_timeout", 0),
    ("heartbeat_interval", -1.0), ("heartbeat_interval", 0.001), ("confirm", 1.5),
    ("confirm", "sometimes"), ("device", "tpu"), ("trial_timeout", math.inf),
    ("trial_timeout", 1e10), ("stale_after", 1e300), ("epochs", 2**63), ("max_attempts", 2**70),
])
def test_each_option_is_checked_before_anything_is_written(tmp_path: Path, field: str,
                                                           value: object) -> None:
    """A value the store could not read back must never reach an experiment's record: it
    would spoil the key for every later resume and read."""
    with pytest.raises(InvalidSearchOptions, match=field):
        SearchOptions(**{"store": str(tmp_path / "store"), field: value})
    assert not (tmp_path / "store").exists()


def test_options_given_as_a_dict_are_refused_with_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(InvalidSearchOptions, match="must be a search.SearchOptions, not dict"):
        search.optimize("noop", "default", {"max_evals": 3})  # type: ignore[arg-type]


def test_results_read_as_one_line_in_a_notebook(tmp_path: Path) -> None:
    results = search.optimize("noop", "default", SearchOptions(store=str(tmp_path), max_evals=3))
    assert repr(results) == "ExperimentResults(exp_key='default', trials=3 (3 ok))"


def test_paths_and_a_numeric_confirmation_fraction_are_taken_as_given(tmp_path: Path) -> None:
    options = SearchOptions(store=tmp_path / "store", data_dir=tmp_path / "data",
                            confirm=0.2, max_evals=1, **QUICK)
    assert options.store == str(tmp_path / "store") and options.data_dir == str(tmp_path / "data")
    results = search.optimize("noop", "default", options)
    assert results.experiment.confirmation.fraction == 0.2
    assert search.results(tmp_path / "store", "default") == results


def test_a_hyperopt_dict_space_gets_a_space_error_that_says_what_to_write() -> None:
    from hyperopt import hp

    with pytest.raises(spaces.SpaceError, match="YAML"):
        search.optimize("noop", {"lr": hp.loguniform("lr", -5, 0)})  # type: ignore[arg-type]


class _Scaled:
    """A callable objective object, as a notebook might define one."""

    def __call__(self, params: dict[str, Any], trial: objectives.TrialContext
                 ) -> dict[str, Any]:
        return peaked_at_lr_0_01(params, trial)


def _scaled(params: dict[str, Any], trial: objectives.TrialContext, *, scale: float
            ) -> dict[str, Any]:
    result = peaked_at_lr_0_01(params, trial)
    return {**result, "accuracy": result["accuracy"] * scale}


@pytest.mark.parametrize("make", [lambda: _Scaled(), lambda: functools.partial(_scaled, scale=0.5)],
                         ids=["callable object", "partial"])
def test_a_partial_or_a_callable_object_resumes_under_the_same_name(tmp_path: Path, make: Any
                                                                     ) -> None:
    """The name must not hold a memory address, which differs in the next process."""
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=1, **QUICK)
    first = search.optimize(make(), "default", options)
    assert "0x" not in first.experiment.objective
    resumed = search.optimize(make(), "default", dataclasses.replace(options, max_evals=2))
    assert len(resumed.trials) == 2


def test_a_failure_names_the_exception_type(tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture) -> None:
    def missing_key(params: dict[str, Any], trial: objectives.TrialContext) -> dict[str, Any]:
        return {"accuracy": params["no such key"]}

    options = SearchOptions(store=str(tmp_path / "store"), max_evals=1, **QUICK)
    with pytest.raises(search.SearchFailed, match=r"exception \(KeyError\): 'no such key'"):
        search.optimize(missing_key, "default", options)
    (trial,) = search.results(options.store, "default").trials
    assert trial.row()["error_type"] == "KeyError"
    # Its log line says which trial of which experiment (a worker serves many).
    assert "trial 0 of default failed: KeyError" in caplog.text


def test_a_farm_refuses_a_function_objective_before_writing_anything(mongo_url: str) -> None:
    with pytest.raises(objectives.ObjectiveError, match="by name"):
        search.optimize(peaked_at_lr_0_01, "default", SearchOptions(store=mongo_url))
    with pytest.raises(objectives.ObjectiveError, match="their own __main__"):
        # A notebook's function by name: a worker's __main__ is the hpsearch command.
        search.optimize("__main__:peaked_at_lr_0_01", "default", SearchOptions(store=mongo_url))
    assert database(mongo_url).experiments.count_documents({}) == 0


def test_a_resume_with_another_objective_is_refused_before_any_note_on_its_space(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Not 'this resume goes on' about trials it will never run, then a refusal."""
    space = tmp_path / "rate.yaml"
    space.write_text("parameters:\n  rate: {values: [0.1, 0.2]}\n")
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=1, epochs=1)
    search.optimize("noop", space, options)
    with pytest.raises(search.ExperimentConflict, match="objective: recorded"):
        search.optimize("digits", space, options)
    assert "resume goes on" not in caplog.text and "does not fit" not in caplog.text


def test_a_farm_search_runs_on_a_worker_process_and_returns_its_results(mongo_url: str,
                                                                        hpsearch) -> None:
    returned: list[search.ExperimentResults] = []
    options = SearchOptions(store=mongo_url, exp_key="farm", max_evals=4, startup_trials=2,
                            **QUICK)
    driver = threading.Thread(target=lambda: returned.append(
        search.optimize("noop", "default", options)))
    driver.start()
    wait_until(lambda: database(mongo_url).experiments.find_one({"_id": "farm"}) is not None,
               120, "the driver recorded the experiment")
    worker = start_worker(hpsearch, mongo_url, "--exp-key", "farm")
    driver.join(timeout=300)
    code, output = stop(worker)
    assert code == 0, output
    assert not driver.is_alive()
    (results,) = returned
    assert [trial.state for trial in results.trials] == ["ok"] * 4
    (ran_them,) = {trial.worker for trial in results.trials}
    assert ran_them.endswith(":cpu") and f":{os.getpid()}:" not in ran_them  # the worker did
    assert results == search.results(mongo_url, "farm")


def test_a_farm_driver_needs_no_gpu_of_its_own(mongo_url: str, hpsearch) -> None:
    # Only the device's form is the driver's business: its workers train on it.
    driver = hpsearch.start("search", "--store", mongo_url, "--exp-key", "gpus", "--device",
                            " CUDA:1 ", "--objective", "noop", "--max-evals", "1",
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wait_until(lambda: database(mongo_url).experiments.find_one({"_id": "gpus"}) is not None
               or driver.poll() is not None, 120, "the driver recorded the experiment")
    code, output = stop(driver)
    assert code == 143, output  # stopped while it waited for a worker, not refused
    assert database(mongo_url).experiments.find_one({"_id": "gpus"})["device"] == "cuda:1"


def test_a_resume_keeps_the_data_dir_unless_it_names_another(tmp_path: Path) -> None:
    # Data may move between runs; a resume that does not say where keeps looking where the
    # experiment recorded, and one that does is recorded, for its workers too.
    def run(max_evals: int, data_dir: Path | None) -> search.ExperimentResults:
        return search.optimize("noop", "default", SearchOptions(
            store=str(tmp_path / "store"), max_evals=max_evals,
            data_dir=None if data_dir is None else str(data_dir), **QUICK))

    assert run(1, tmp_path / "first").experiment.data_dir == str(tmp_path / "first")
    assert run(2, None).experiment.data_dir == str(tmp_path / "first")
    assert run(3, tmp_path / "moved").experiment.data_dir == str(tmp_path / "moved")
    assert search.results(tmp_path / "store", "default").experiment.data_dir == str(
        tmp_path / "moved")


def test_a_device_of_no_known_form_is_an_invalid_option() -> None:
    with pytest.raises(InvalidSearchOptions, match="unknown device 'tpu'"):
        SearchOptions(device="tpu")


def test_a_python_search_looks_for_data_where_hpsearch_data_dir_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HPSEARCH_DATA_DIR", str(tmp_path / "data-here"))
    with pytest.raises(objectives.ObjectiveError, match="data-here"):
        search.optimize("mnist", "default", SearchOptions(store=str(tmp_path / "store"),
                                                          max_evals=1, **QUICK))


SPACE = """\
# a space of the user's
parameters:
  lr: {distribution: log_uniform_values, min: 1.0e-4, max: 1.0e-1}
  epochs: {distribution: int_uniform, min: 1, max: 2}
  factor: {distribution: uniform, min: 0.1, max: 0.5}
"""


def test_a_resume_compares_what_the_space_means_and_shows_how_it_differs(tmp_path: Path
                                                                          ) -> None:
    first, renamed = tmp_path / "mine.yaml", tmp_path / "renamed.yaml"
    first.write_text(SPACE)
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=1, **QUICK)
    search.optimize(peaked_at_lr_0_01, first, options)
    # A comment, a layout, a file name, and the --epochs a space that searches epochs ignores.
    renamed.write_text(SPACE.replace("# a space of the user's", "# reworded")
                       .replace("1.0e-4", "0.0001"))
    resumed = search.optimize(peaked_at_lr_0_01, renamed,
                              dataclasses.replace(options, max_evals=2, epochs=7))
    assert len(resumed.trials) == 2 and resumed.experiment.epochs == 1
    renamed.write_text(SPACE.replace("max: 0.5", "max: 0.9"))
    with pytest.raises(search.ExperimentConflict) as conflict:
        search.optimize(peaked_at_lr_0_01, renamed, dataclasses.replace(options, max_evals=3))
    shown = str(conflict.value)
    assert "-    max: 0.5\n" in shown and "+    max: 0.9\n" in shown, shown
    assert "log_uniform_values" not in shown, "only what differs, with a line of context"


@pytest.mark.parametrize(("before", "after"), [
    ("{values: [true, false]}", "{values: [1, 0]}"),
    ("{distribution: q_uniform, min: 32, max: 256, q: 32}",
     "{distribution: q_uniform, min: 32, max: 256, q: 32.0}"),
])
def test_a_resume_tells_integers_from_floats_and_booleans(tmp_path: Path, before: str,
                                                         after: str) -> None:
    """Python's `1 == 1.0 == True` must not let a space whose trials draw other values pass
    for the recorded one."""
    space = tmp_path / "mine.yaml"
    space.write_text(SPACE + f"  flag: {before}\n")
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=1, **QUICK)
    search.optimize(peaked_at_lr_0_01, space, options)
    space.write_text(SPACE + f"  flag: {after}\n")
    with pytest.raises(search.ExperimentConflict, match="the parameters differ"):
        search.optimize(peaked_at_lr_0_01, space, dataclasses.replace(options, max_evals=2))


def test_a_whole_number_floor_resumes_as_the_same_float(tmp_path: Path) -> None:
    """The CLI passes --min-accuracy 0 as 0.0: a search started from Python with 0 resumes."""
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=1, epochs=1, min_accuracy=0)
    search.optimize(peaked_at_lr_0_01, "default", options)
    resumed = search.optimize(peaked_at_lr_0_01, "default", dataclasses.replace(
        options, max_evals=2, min_accuracy=0.0))
    assert len(resumed.trials) == 2


@pytest.mark.parametrize("where", ["reporting the trial busy", "storing its result"])
def test_ctrl_c_at_any_point_of_a_trial_loses_nothing_and_leaves_nothing_running(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    """Before the trial ran, the job goes back to the queue; after, its result is stored
    first (storing it is idempotent) and then the interrupt goes on."""
    from search.farm.worker import Worker
    from search.store._embedded import EmbeddedStore

    interrupted: list[bool] = []

    def once() -> None:
        if not interrupted:
            interrupted.append(True)
            raise KeyboardInterrupt

    if where == "storing its result":
        original = EmbeddedStore.finish_job

        def finish_job(store: EmbeddedStore, *args: Any) -> bool:
            once()  # the interrupt lands as the result is about to be written
            return original(store, *args)

        monkeypatch.setattr(EmbeddedStore, "finish_job", finish_job)
    else:
        report = Worker._report

        def busy(worker: Worker, state: str, *args: Any, **options: Any) -> None:
            if state == "busy":
                once()
            report(worker, state, *args, **options)

        monkeypatch.setattr(Worker, "_report", busy)
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=2, **QUICK)
    with pytest.raises(KeyboardInterrupt):
        search.optimize(peaked_at_lr_0_01, "default", options)
    (trial,) = search.results(options.store, "default").trials
    assert trial.state == ("ok" if where == "storing its result" else "queued")
    resumed = search.optimize(peaked_at_lr_0_01, "default", options)
    assert [t.state for t in resumed.trials] == ["ok", "ok"]


def test_an_objective_that_exits_fails_its_trial_and_the_search_goes_on(tmp_path: Path
                                                                         ) -> None:
    """`sys.exit` in an objective (argparse in a notebook) is the objective's failure: handed
    back, the trial would exit again on every resume, and no attempt limit would end it."""
    def exits_first(params: dict[str, Any], trial: objectives.TrialContext) -> dict[str, Any]:
        if trial.seed == 0:
            sys.exit(2)
        return peaked_at_lr_0_01(params, trial)

    options = SearchOptions(store=str(tmp_path / "store"), max_evals=2, **QUICK)
    results = search.optimize(exits_first, "default", options)
    assert [(t.state, t.reason) for t in results.trials] == [("failed", "exception"),
                                                             ("ok", None)]
    line = exits_first.__code__.co_firstlineno + 2
    assert results.trials[0].job["result"]["error"] == (
        f"the objective called sys.exit(2) at {__file__}:{line} in exits_first")


def test_a_search_run_from_a_thread_keeps_its_trial_timeout(tmp_path: Path) -> None:
    """A notebook's or a web app's thread cannot take signals: the timeout still stops a
    trial that runs past it, and the others run."""
    def slow_first(params: dict[str, Any], trial: objectives.TrialContext) -> dict[str, Any]:
        with trial.timed():
            while trial.seed == 0:  # Python steps, until the timeout lands between two
                threading.Event().wait(0.01)
        return {"accuracy": 0.5}

    options = SearchOptions(store=str(tmp_path / "store"), max_evals=2, trial_timeout=1.0,
                            max_consecutive_failures=None, **QUICK)
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(
        search.optimize(slow_first, "default", options)))
    thread.start()
    thread.join(timeout=300)
    (results,) = outcome
    assert [(t.state, t.reason) for t in results.trials] == [("failed", "timeout"),
                                                             ("ok", None)]


def test_a_timed_out_trial_keeps_its_seconds_and_they_spend_the_budget(tmp_path: Path
                                                                        ) -> None:
    """Stopped at its timeout, a trial has trained until then: its seconds and curve are kept
    as a failed trial's are, so max_train_seconds counts them."""
    def hangs_in_its_second_epoch(params: dict[str, Any], trial: objectives.TrialContext
                                  ) -> dict[str, Any]:
        with trial.timed():
            pass
        trial.report_epoch(0.5)
        with trial.timed():
            while True:
                threading.Event().wait(0.01)

    options = SearchOptions(store=str(tmp_path / "store"), max_evals=10, trial_timeout=1.0,
                            max_train_seconds=1.5, max_consecutive_failures=None,
                            **{**QUICK, "epochs": 2})
    with pytest.raises(search.SearchFailed, match="timeout"):
        search.optimize(hangs_in_its_second_epoch, "default", options)
    trials = search.results(options.store, "default").trials
    assert len(trials) < 10 and all(t.reason == "timeout" for t in trials)
    seconds = [t.train_seconds for t in trials]
    assert sum(seconds) >= 1.5 > sum(seconds[:-1])  # one trial at a time: none after the budget
    for trial in trials:
        assert trial.job["result"]["val_accuracy_per_epoch"] == [0.5]
        assert trial.job["result"]["device"] == "cpu"


def test_a_resume_keeps_the_recorded_seed_and_startup_trials(tmp_path: Path) -> None:
    """Otherwise a resume that forgets --seed proposes what no uninterrupted search would."""
    straight = search.optimize("noop", "default", SearchOptions(
        store=str(tmp_path / "straight"), seed=3, startup_trials=10, max_evals=6, **QUICK))
    first = SearchOptions(store=str(tmp_path / "resumed"), seed=3, startup_trials=10,
                          max_evals=3, **QUICK)
    search.optimize("noop", "default", first)
    with pytest.warns(search.RecordedChoiceKept) as warned:
        resumed = search.optimize("noop", "default", dataclasses.replace(
            first, seed=9, startup_trials=2, max_evals=6))
    assert len(warned) == 2, "the seed and the startup trials"
    assert [t.params for t in resumed.trials] == [t.params for t in straight.trials]
    assert (resumed.experiment.seed, resumed.experiment.startup_trials) == (3, 10)


def test_a_resume_from_python_warns_of_the_choices_it_keeps(tmp_path: Path) -> None:
    """As the CLI does: a notebook's resume that names another pruner or algo is told."""
    first = SearchOptions(store=str(tmp_path / "store"), max_evals=1, **QUICK)
    search.optimize("noop", "default", first)
    with pytest.warns(search.RecordedChoiceKept) as warned:
        resumed = search.optimize("noop", "default", dataclasses.replace(
            first, max_evals=2, pruner="none", algo="random"))
    assert sorted(str(warning.message).split("=")[0] for warning in warned) == [
        "algo", "pruner"]
    assert {warning.filename for warning in warned} == {__file__}  # the caller's line
    assert "keeps its recorded pruner (curve)" in str(warned[1].message) + str(
        warned[0].message)
    assert (resumed.experiment.pruner, resumed.experiment.algo) == ("curve", "tpe")
    with warnings.catch_warnings():
        warnings.simplefilter("error", search.RecordedChoiceKept)
        search.optimize("noop", "default", dataclasses.replace(first, max_evals=3))
        # A search recorded with other choices, resumed with the defaults: nothing is named.
        other = dataclasses.replace(first, exp_key="other", pruner="none", algo="random",
                                    seed=7, confirm="none")
        search.optimize("noop", "default", other)
        search.optimize("noop", "default", dataclasses.replace(first, exp_key="other",
                                                               max_evals=2))


def test_an_embedded_search_gives_the_callers_torch_threads_back(tmp_path: Path) -> None:
    """Its trials get every core; a notebook that chose its own thread count keeps it."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        search.optimize("noop", "default", SearchOptions(store=str(tmp_path / "store"),
                                                         max_evals=1, **QUICK))
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_a_policy_an_older_release_recorded_past_the_bound_still_reads(tmp_path: Path) -> None:
    """Options are bounded as the runtime needs them; a record is read as it was written,
    and a trial timeout beyond any timer is no limit."""
    policy = Policy.from_document({"stale_after": 5e9, "trial_timeout": 2e10})
    assert policy.trial_timeout == 2e10
    with deadline(policy.trial_timeout, on_stuck=lambda: None):
        pass  # setitimer would refuse 2e10 s


def test_a_resume_of_a_space_the_objective_cannot_fully_read_is_warned_not_refused(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An older release recorded it and ran its other trials; a resume keeps the recorded
    space, so refusing it would leave no way on but a new key."""
    space = tmp_path / "extra.yaml"
    space.write_text("parameters:\n  lr: {values: [0.01]}\n  batch_size: {values: [64]}\n"
                     "  optimizer: {values: [adamw, rmsprop]}\n")
    loaded = spaces.load_space(str(space))
    options = SearchOptions(store=str(tmp_path / "store"), max_evals=3, epochs=1, seed=1)
    store = open_store(options.store)
    store.record_experiment(options.experiment(None, loaded, "digits"))
    store.close()
    results = search.optimize("digits", space, options)
    assert "this resume goes on" in caplog.text and "unknown optimizer 'rmsprop'" in caplog.text
    assert {trial.state for trial in results.trials} == {"ok", "failed"}
    with pytest.raises(spaces.SpaceError, match="unknown optimizer 'rmsprop'"):
        search.optimize("digits", space, dataclasses.replace(options, exp_key="new"))


# An embedded search in the caller's main thread (a notebook's cells run there), with a trial
# stuck where no Python signal handler runs (SIGALRM blocked stands for a long native call)
# past its timeout and the grace: the caller's process goes on, and the trial fails once the
# call returns. The hpsearch command's own process is ended instead (exit 3), as a worker's is.
STUCK_IN_THE_MAIN_THREAD = """
import signal, sys, time
import search.launch
import search.farm.deadline
search.farm.deadline.STUCK_GRACE = 0.2

def stuck(params, trial):
    with trial.timed():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(1.5)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    return {"accuracy": 0.9}

try:
    getattr(search.launch, sys.argv[3])(stuck, sys.argv[2], search.SearchOptions(
        store=sys.argv[1], exp_key="stuck", max_evals=1, epochs=1, trial_timeout=0.3))
except search.SearchFailed as failed:
    print("the caller goes on:", failed)
"""


@pytest.mark.parametrize(("entry", "exit_code"), [("optimize", 0),
                                                  ("optimize_in_own_process", 3)])
def test_a_stuck_trial_ends_only_a_process_of_our_own(tmp_path: Path, entry: str,
                                                      exit_code: int) -> None:
    space = tmp_path / "one.yaml"
    space.write_text("parameters:\n  lr: {value: 0.1}\n")
    store = str(tmp_path / "store")
    completed = subprocess.run(
        [sys.executable, "-c", STUCK_IN_THE_MAIN_THREAD, store, str(space), entry],
        capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent)
    assert completed.returncode == exit_code, completed.stderr
    (trial,) = search.results(store, "stuck").trials
    assert (trial.state, trial.reason) == ("failed", "timeout")
    if exit_code == 0:
        assert "the caller goes on: no trial succeeded" in completed.stdout
        assert "stuck in native code): it fails once that call returns" in completed.stderr
