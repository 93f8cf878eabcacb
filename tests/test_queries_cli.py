"""Queries answer the same on both stores: best, experiments, status, and resume checks."""

from __future__ import annotations

import json
import signal
import subprocess

from click.testing import CliRunner
from farm import OutputWatcher
from stored_trials import record_trials

import spaces
from search.cli import main
from search.documents import utcnow
from search.store import WorkerStatus, open_store

OUTCOMES = [(0.9, 0.1), (0.95, 0.5), (0.4, 0.01), None, (0.99, 2.0), (0.8, 0.05)]


def invoke(*args: str):  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_best_keeps_trials_at_or_above_min_accuracy_and_sorts_as_asked(store_location: str) -> None:
    record_trials(store_location, "q", OUTCOMES)

    def tids(*options: str) -> list[int]:
        result = invoke("best", "--store", store_location, "--exp-key", "q", "-n", "10",
                        "--format", "json", *options)
        return [row["tid"] for row in json.loads(result.output)]

    assert tids() == [5, 0, 1, 4, 2]  # 16, 9, 1.9, 0.495 acc/s, then the floored trial (0)
    assert tids("--min-accuracy", "0.9") == [0, 1, 4]
    assert tids("--sort", "accuracy") == [4, 1, 0, 5, 2]
    assert tids("--sort", "time") == [2, 5, 0, 1, 4]


def test_experiments_lists_each_with_its_counts_and_best_score(store_location: str) -> None:
    record_trials(store_location, "first", OUTCOMES[:2])
    record_trials(store_location, "second", OUTCOMES, running=1, queued=2)
    rows = json.loads(invoke("experiments", "--store", store_location, "--format", "json").output)
    by_key = {row["exp_key"]: row for row in rows}
    assert set(by_key) == {"first", "second"}
    assert (by_key["second"]["ok"], by_key["second"]["failed"], by_key["second"]["running"],
            by_key["second"]["queued"]) == (5, 1, 1, 2)
    assert by_key["first"]["best_score"] == 9.0
    assert by_key["second"]["objective"] == "noop" and by_key["second"]["space"] == "default"


def test_status_shows_counts_best_pace_time_left_and_workers(store_location: str) -> None:
    record_trials(store_location, "s", OUTCOMES, running=1, queued=3)
    store = open_store(store_location)
    try:
        store.report_worker(WorkerStatus(worker_id="gpu-box:42:0", host="gpu-box",
                                         device="NVIDIA H100", state="busy", last_seen=utcnow(),
                                         exp_key="s", tid=6))
    finally:
        store.close()
    output = invoke("status", "--store", store_location, "--exp-key", "s").output
    assert "6/10 finished (5 ok, 1 failed), 1 running, 3 queued" in output
    assert "best: trial 5" in output
    assert "trials/min" in output and "left" in output
    assert "gpu-box:42:0" in output and "busy" in output and "trial 6" in output


def test_status_watch_refreshes_until_ctrl_c(store_location: str, hpsearch) -> None:
    record_trials(store_location, "w", OUTCOMES[:2])
    # Ctrl-C's default action, even when the suite itself runs in the background (a shell
    # starts background jobs with SIGINT ignored, and children inherit that).
    process = hpsearch.start("status", "--store", store_location, "--watch", "--interval", "0.5",
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    output = OutputWatcher(process)
    refreshed = "w: noop on space default: 2/2 finished"
    output.wait_for(lambda text: text.count(refreshed) >= 2, 120, "status refreshed twice")
    process.send_signal(signal.SIGINT)
    code, text = output.finish()
    assert code == 0, text
    assert "Traceback" not in text


def test_status_watch_shows_an_experiment_created_after_it_started(store_location: str,
                                                                  hpsearch) -> None:
    record_trials(store_location, "first", OUTCOMES[:1])
    process = hpsearch.start("status", "--store", store_location, "--watch", "--interval", "0.5",
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    named = hpsearch.start("status", "--store", store_location, "--exp-key", "later", "--watch",
                           "--interval", "0.5", stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
    output, named_output = OutputWatcher(process), OutputWatcher(named)
    output.wait_for(lambda text: "first: noop" in text, 120, "the first experiment shown")
    named_output.wait_for(lambda text: "no experiment 'later'" in text, 120, "not yet, watching")
    record_trials(store_location, "later", OUTCOMES[:2])
    for watching in (output, named_output):
        watching.wait_for(lambda text: "later: noop on space default: 2/2 finished" in text, 120,
                          "the experiment created after the watch started")
    for started, watching in ((process, output), (named, named_output)):
        started.terminate()
        watching.finish()


def test_rerun_with_another_definition_is_refused_showing_the_difference(store_location: str
                                                                         ) -> None:
    record_trials(store_location, "d", OUTCOMES[:1])
    result = invoke("search", "--store", store_location, "--exp-key", "d", "--objective", "noop",
                    "--epochs", "3", "--max-evals", "2")
    assert result.exit_code == 2
    assert "epochs: recorded 1, requested 3" in result.output
    assert "min_accuracy" not in result.output  # only what differs is shown (both 0.5)


def test_a_run_with_another_definition_hears_nothing_of_what_a_resume_would_keep(
        store_location: str) -> None:
    """It is no resume: only its refusal, which says why."""
    record_trials(store_location, "d", OUTCOMES[:1])
    result = invoke("search", "--store", store_location, "--exp-key", "d", "--objective",
                    "digits", "--epochs", "1", "--algo", "random", "--seed", "7")
    assert result.exit_code == 2
    assert "objective: recorded" in result.output and "ignored" not in result.output, \
        result.output
    kept = invoke("search", "--store", store_location, "--exp-key", "d", "--objective",
                  "noop", "--epochs", "1", "--max-evals", "1", "--algo", "random")
    assert "warning: --algo random is ignored" in kept.output, kept.output  # a resume does


def test_a_changed_space_is_shown_in_its_own_letters(tmp_path) -> None:
    space = tmp_path / "rate.yaml"
    space.write_text("parameters:\n  学习率: {value: 0.1}\n", encoding="utf-8")
    store = str(tmp_path / "store")
    record_trials(store, "rate", [(0.9, 1.0)], space=spaces.load_space(str(space)))
    space.write_text("parameters:\n  学习率: {value: 0.2}\n", encoding="utf-8")
    result = invoke("search", "--store", store, "--exp-key", "rate", "--space", str(space),
                    "--objective", "noop", "--epochs", "1")
    assert result.exit_code == 2
    assert "学习率" in result.output and "\\u" not in result.output, result.output


def test_a_terminal_that_cannot_show_a_value_gets_it_escaped_not_a_traceback(tmp_path) -> None:
    space = tmp_path / "odd.yaml"
    space.write_text("parameters:\n  k: {values: ['日本']}\n", encoding="utf-8")
    store = str(tmp_path / "store")
    record_trials(store, "odd", [(0.9, 1.0)], space=spaces.load_space(str(space)))
    result = CliRunner(charset="latin-1").invoke(main, ["trials", "--store", store,
                                                        "--exp-key", "odd"])
    assert result.exit_code == 0, result.output
    assert "\\u65e5\\u672c" in result.output
