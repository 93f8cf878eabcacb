"""Objectives for the farm benchmarks that stamp the worker's clock when they are called and
when they return, so the gap between two trials is measured as a worker lives it."""

from __future__ import annotations

import math
import os
import random
import time
from typing import Any

from objectives import TrialContext
from objectives._noop import run_noop

TRIAL_SECONDS_ENV_VAR = "HPSEARCH_BENCH_TRIAL_SECONDS"
TRIAL_MEDIAN_ENV_VAR = "HPSEARCH_BENCH_TRIAL_MEDIAN"


def noop(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """The `noop` objective, stamped."""
    called_at = time.time()
    result = run_noop(params, trial)
    return {**result, "called_at": called_at, "returned_at": time.time()}


def sleeps(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Sleep $HPSEARCH_BENCH_TRIAL_SECONDS (default 1) as the training, stamped."""
    called_at = time.time()
    with trial.timed():
        time.sleep(float(os.environ.get(TRIAL_SECONDS_ENV_VAR, "1")))
    return {**run_noop(params, trial), "called_at": called_at, "returned_at": time.time()}


def lognormal(params: dict[str, Any], trial: TrialContext) -> dict[str, Any]:
    """Sleep a lognormal time as the training, stamped: a farm's trials, scaled down. The
    median is $HPSEARCH_BENCH_TRIAL_MEDIAN seconds (default 1), sigma 0.5; each trial's own
    draw comes from its seed."""
    called_at = time.time()
    median = float(os.environ.get(TRIAL_MEDIAN_ENV_VAR, "1"))
    with trial.timed():
        time.sleep(random.Random(trial.seed).lognormvariate(math.log(median), 0.5))
    return {**run_noop(params, trial), "called_at": called_at, "returned_at": time.time()}
