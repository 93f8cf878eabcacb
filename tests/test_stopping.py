"""Stop signals: the first finishes the current trial, the second stops now, and neither can
hang the worker, wherever in its code the main thread happens to be."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from farm import queue_experiment
from hyperopt import JOB_STATE_DONE

from search.farm.stopping import StopNow
from search.farm.worker import Worker, WorkerOptions
from search.store import open_store
from search.store._embedded import EmbeddedStore

# The main thread holds the lock inside the stop request's own Event (as it does for a moment
# in every `wait`) when the signal's handler runs: a handler that took that lock would hang.
_SIGNAL_WHILE_HOLDING_THE_WAIT_LOCK = textwrap.dedent("""
    import os, signal
    from search.farm.stopping import StopNow, StopRequest

    signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as from a terminal, even under `nohup`

    stop = StopRequest()
    stop.install_signal_handlers()
    with stop._event._cond:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.requested
    assert stop.wait(60), "the first signal never woke a waiter"
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        raise AssertionError("the second signal did not stop at once")
    except StopNow as stop_now:
        print("stopped now by", stop_now.signum)
    os.kill(os.getpid(), signal.SIGTERM)  # a third must not interrupt handing the job back
    print("the third signal let the stop finish")
""")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP])  # SIGHUP: a closed terminal
def test_a_signal_while_the_main_thread_holds_the_wait_lock_neither_hangs_nor_is_lost(
        stop: signal.Signals) -> None:
    """And the second signal stops now, while a third leaves that stop to finish."""
    script = _SIGNAL_WHILE_HOLDING_THE_WAIT_LOCK.replace("SIGTERM", stop.name)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"stopped now by {stop.value}",
                                        "the third signal let the stop finish"]
    assert f"{stop.name} received: finishing the current trial" in done.stderr


def test_a_stop_while_the_result_is_stored_counts_the_trial_and_clears_the_spool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The second signal is honoured once the result is stored: the trial counts as done, and
    # its spool entry as sent, so the next worker does not offer it again.
    location = str(tmp_path / "store")
    queue_experiment(location, "stored", "noop", 1)
    original = EmbeddedStore.finish_job
    signalled: list[bool] = []

    def finish_job(store: EmbeddedStore, *args: Any) -> bool:
        if not signalled:
            signalled.append(True)
            raise StopNow(signal.SIGTERM)
        return original(store, *args)

    monkeypatch.setattr(EmbeddedStore, "finish_job", finish_job)
    store = open_store(location)
    try:
        worker = Worker(store, "box:1:cpu", WorkerOptions(exp_keys=("stored",),
                                                          spool_root=tmp_path / "spool"))
        with pytest.raises(StopNow):
            worker.run_next()
        assert worker.jobs_done == 1
        assert [job["state"] for job in store.jobs("stored")] == [JOB_STATE_DONE]
    finally:
        store.close()
    assert all(path.read_text() == "" for path in (tmp_path / "spool").glob("*/*.jsonl"))


def test_a_stop_held_for_a_reservation_waits_even_when_another_thread_receives_it() -> None:
    """The kernel hands a process's signal to any thread that does not block it, and Python
    runs the handler in the main thread all the same: holding must not depend on which."""
    import threading

    from search.farm.stopping import stops_held

    ran: list[str] = []
    send, sent = threading.Event(), threading.Event()

    def other() -> None:
        if send.wait(60):
            signal.raise_signal(signal.SIGTERM)  # delivered to this thread before it returns
            sent.set()

    def stop(signum: int, frame: Any) -> None:
        ran.append("handler")

    thread = threading.Thread(target=other)
    thread.start()
    original = signal.signal(signal.SIGTERM, stop)
    try:
        with stops_held():
            send.set()
            assert sent.wait(60)  # the signal has arrived; Python runs handlers in this thread
            ran.append("block")
        ran.append("after")
    finally:
        send.set()
        thread.join(60)
        signal.signal(signal.SIGTERM, original)
    assert ran == ["block", "handler", "after"]
