"""Objectives that misbehave on purpose, for fault-tolerance tests, plus a result checker.

Refer to them as ``tests.objectives_for_tests:<function>`` (run from the repository root,
and allow them on workers with ``--allow-objective``). Each follows the objective protocol
documented in ``objectives/__init__.py``.
"""

from __future__ import annotations

import math
import os
import random
import signal
import time
from typing import Any

import numpy as np
import torch

from objectives import TrialContext

SLEEP_ENV_VAR = "HPSEARCH_TEST_SLEEP"  # also a non-callable attribute for resolver tests
UNTIMED_SLEEP_SECONDS = 0.3


def raises(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Raise RuntimeError from inside the timed region."""
    with trial.timed():
        raise RuntimeError("objective failed on purpose")


def quotes_a_password(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Fail as a data loader that cannot reach its database does: quoting its URL whole."""
    with trial.timed():
        raise ConnectionError("could not open postgresql://loader:objective-pw7@datahost/db")


def nan_accuracy(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Train for no time and return a NaN accuracy, as a diverged run would."""
    with trial.timed():
        pass
    return {"accuracy": float("nan")}


def out_of_memory(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Raise the error CUDA raises when an allocation fails (simulated; works without a GPU)."""
    with trial.timed():
        raise torch.cuda.OutOfMemoryError(
            "CUDA out of memory. Tried to allocate 20.00 GiB (simulated by tests)"
        )


def sleeps(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Sleep $HPSEARCH_TEST_SLEEP seconds (default 2), timed, whatever the params; accuracy 0.5."""
    with trial.timed():
        time.sleep(float(os.environ.get(SLEEP_ENV_VAR, "2")))
    return {"accuracy": 0.5}


RUN_LOG_ENV_VAR = "HPSEARCH_TEST_RUN_LOG"


def records_run(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Return at once, after appending this trial's seed (its tid) to $HPSEARCH_TEST_RUN_LOG.

    One small O_APPEND write per run is atomic, so the log counts every run of every process.
    """
    with trial.timed():
        pass
    _record_run(trial)
    return {"accuracy": 0.5}


def _record_run(trial: TrialContext) -> None:
    descriptor = os.open(os.environ[RUN_LOG_ENV_VAR], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, f"{trial.seed} {os.getpid()}\n".encode())
    finally:
        os.close(descriptor)


def records_run_then_sleeps(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Record the run as `records_run` does, then sleep as `sleeps` does: a long trial that
    counts its own runs."""
    _record_run(trial)
    return sleeps(params, trial)


def breaks_its_heartbeat_once(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Make this worker process's next heartbeat raise, as a bug or a broken connection would,
    then sleep as `sleeps` does: the trial must go on, its heartbeat restarted."""
    from search.store._mongo import MongoStore

    healthy = MongoStore.heartbeat

    def breaks_once(store: MongoStore, reservation: Any) -> bool:
        MongoStore.heartbeat = healthy  # type: ignore[method-assign]
        raise RuntimeError("the heartbeat broke (simulated by tests)")

    MongoStore.heartbeat = breaks_once  # type: ignore[method-assign]
    return sleeps(params, trial)


def sleeps_outside_timed(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Train (timed) for ~10 ms, then spend UNTIMED_SLEEP_SECONDS on an untimed 'evaluation'."""
    with trial.timed():
        time.sleep(0.01)
    time.sleep(UNTIMED_SLEEP_SECONDS)
    return {"accuracy": 0.8}


def never_timed(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Break the protocol: return an accuracy without ever entering trial.timed()."""
    return {"accuracy": 0.9}


def returns_reserved_key(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Break the protocol: try to set train_seconds itself."""
    with trial.timed():
        pass
    return {"accuracy": 0.9, "train_seconds": 0.001}


def returns_percentage(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Break the protocol: accuracy as a percentage."""
    with trial.timed():
        pass
    return {"accuracy": 97.0}


def reports_percentage_per_epoch(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Break the protocol: per-epoch accuracy as a percentage, the result as a fraction."""
    with trial.timed():
        pass
    trial.report_epoch(97.0)
    return {"accuracy": 0.97}


def returns_numpy_and_torch_extras(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Return numpy / torch scalars and a non-finite extra, which the result must make plain."""
    with trial.timed():
        pass
    return {
        "accuracy": np.float32(0.75),
        "steps": np.int64(3),
        "final_loss": torch.tensor(0.25),
        "mean_loss": np.array(0.5),  # np.mean(..., keepdims) or a 0-d array: one number
        "curve": [np.float64(0.5), float("inf")],
        "details": {"layers": 2},
    }


def reports_random_draws(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Return one draw from each seeded generator (random, numpy, torch)."""
    with trial.timed():
        pass
    return {
        "accuracy": 0.5,
        "python_draw": random.random(),
        "numpy_draw": float(np.random.rand()),
        "torch_draw": torch.rand(()).item(),
    }


def assert_storable(value: Any, where: str = "result") -> None:
    """Assert ``value`` is plain JSON data MongoDB can store: no NaN/inf, flat lists, safe keys."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert isinstance(key, str) and "." not in key and "$" not in key, \
                f"{where}: key {key!r}"
            assert_storable(item, f"{where}[{key!r}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert not isinstance(item, (list, dict)), f"{where}[{index}] is nested"
            assert_storable(item, f"{where}[{index}]")
    elif isinstance(value, float):
        assert math.isfinite(value), f"{where} is {value}"
    else:
        assert value is None or type(value) in (bool, int, str), f"{where} is {type(value)}"


def kills_its_process(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Record the run in $HPSEARCH_TEST_RUN_LOG, then SIGKILL the process running the trial."""
    descriptor = os.open(os.environ[RUN_LOG_ENV_VAR], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(descriptor, f"{trial.seed} {os.getpid()}\n".encode())
    finally:
        os.close(descriptor)
    os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("unreachable")


UNSTORABLE_EXTRAS = [
    {"huge": 2**64},  # beyond BSON's 64-bit ints
    {"bad\x00key": 1},  # BSON keys end at a NUL
    {"blob": "x" * (17 * 1024 * 1024)},  # over MongoDB's 16 MiB per document
    {"note": "lone \ud800"},  # not valid Unicode: BSON strings are UTF-8
    {},  # storable: the worker carries on to a good trial
]


def returns_unstorable(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Trial t returns the extras UNSTORABLE_EXTRAS[t % 5] beside a good accuracy."""
    with trial.timed():
        pass
    return {"accuracy": 0.5, **UNSTORABLE_EXTRAS[trial.seed % len(UNSTORABLE_EXTRAS)]}



FAST_EPOCH_SECONDS = 0.004
SLOW_EPOCH_ENV_VAR = "HPSEARCH_TEST_SLOW_EPOCH"  # seconds per slow epoch (default 0.15)
SPEED_SPACE = ("parameters:\n  speed: {values: [fast, slow]}\n"
               "  other: {distribution: uniform, min: 0, max: 1}\n")


def epochs_by_speed(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Train `trial.epochs` epochs of `params["speed"]` (fast or slow) at accuracy 0.9 each,
    reporting every epoch and nothing else: a user objective with no pruning code of its own.
    A slow trial cannot beat a finished fast one (0.9 per 0.04 s against at most 1.0 per
    1.5 s over ten epochs), so the exact bound must stop it once one has finished."""
    slow = float(os.environ.get(SLOW_EPOCH_ENV_VAR, "0.15"))
    seconds = FAST_EPOCH_SECONDS if params["speed"] == "fast" else slow
    for _ in range(trial.epochs):
        with trial.timed():
            time.sleep(seconds)
        trial.report_epoch(0.9)
    return {"accuracy": 0.9}


def records_run_then_reports_slow_epochs(params: dict[str, Any], trial: TrialContext
                                         ) -> dict[str, Any]:
    """Record the run as `records_run` does, then train `trial.epochs` epochs of
    $HPSEARCH_TEST_SLEEP seconds each at accuracy 0.9, reporting each: a trial the exact
    bound stops against any fast incumbent, if it can read one."""
    _record_run(trial)
    for _ in range(trial.epochs):
        with trial.timed():
            time.sleep(float(os.environ.get(SLEEP_ENV_VAR, "2")))
        trial.report_epoch(0.9)
    return {"accuracy": 0.9}


def stays_flat(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Learns nothing: a curve flat at 0.1, far below any floor, reported every epoch (the
    default pruner stops it by its shape, having seen no trial of it finish)."""
    for _ in range(trial.epochs):
        with trial.timed():
            time.sleep(0.001)
        trial.report_epoch(0.1)
    return {"accuracy": 0.1}
