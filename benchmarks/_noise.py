"""Seed-to-seed noise in a trial's accuracy and training time, at the levels measured on real
training runs, for landscapes whose true mean accuracy and time are known.

Recorded real runs (MLPs on 8 OpenML tasks, 5 seeds per configuration) change a
configuration's balanced accuracy by 0.01-0.02 between two seeds (median; 0.04-0.09 at the
90th percentile) and its training time by about 16% (median; 36% at the 90th percentile).
The accuracy changes have heavy tails (a 90th percentile 3-4.5 times the median, where
Gaussian noise gives 2.4). Two shapes give such tails:

- `skewed` (the default): a Gaussian spread, plus a bad seed now and then (10% of runs lose
  an exponentially distributed amount, 6 times the spread on average), as training behaves:
  a bad initialisation or ordering loses much more than a good one gains. The configuration's
  true mean includes its bad seeds.
- `symmetric`: Student-t noise (3 degrees of freedom), as likely to land far above the mean
  as far below it: a stress test of lucky runs, harsher than training is.

Either is scaled per configuration (some configurations train less reliably than others). A
run's time is its configuration's mean times log-normal noise of mean 1.

A draw is fixed by the run's seed and the evaluation's index (common random numbers: every
algorithm's n-th evaluation gets the same noise) and by the configuration (its scale).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from typing import Any

import numpy as np

T_DEGREES_OF_FREEDOM = 3
BAD_SEED_PROBABILITY = 0.1
BAD_SEED_LOSS = 6.0  # the mean loss of a bad seed, in units of the Gaussian spread
CALIBRATION_DRAWS = 400_000


@dataclasses.dataclass(frozen=True)
class Noise:
    """A noise level, named by what it does to two runs of one configuration.

    Attributes:
        accuracy_median: Median absolute change of accuracy between two seeds.
        heteroscedasticity: Standard deviation of the log of a configuration's own scale:
            larger widens the tails (the 90th percentile over the median).
        log_seconds: Standard deviation of the log of the training time.
        shape: `skewed` or `symmetric` (see the module's docstring).
    """

    accuracy_median: float
    heteroscedasticity: float
    log_seconds: float
    shape: str = "skewed"

    @property
    def accuracy_scale(self) -> float:
        """The Student-t scale that gives `accuracy_median` (calibrated once per level)."""
        if not self.accuracy_median:
            return 0.0
        return self.accuracy_median / _median_change_of_unit_scale(self.heteroscedasticity,
                                                                   self.shape)

    def configuration_scale(self, params: dict[str, Any]) -> float:
        """This configuration's accuracy noise scale: fixed by its hyperparameters."""
        if not self.accuracy_median:
            return 0.0
        digest = hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode())
        normal = np.random.default_rng(int.from_bytes(digest.digest()[:8], "little")).normal()
        return self.accuracy_scale * math.exp(self.heteroscedasticity * normal)

    def draw(self, accuracy: float, seconds: float, params: dict[str, Any], seed: int,
             evaluation: int) -> tuple[float, float]:
        """One run's (accuracy, seconds) of a configuration with these true means."""
        rng = np.random.default_rng([seed, evaluation, 7])
        unit, normal = _unit_draws(rng, self.shape, 1)[0], rng.normal()
        noisy_accuracy = accuracy + self.configuration_scale(params) * unit
        sigma = self.log_seconds
        noisy_seconds = seconds * math.exp(sigma * normal - sigma**2 / 2)  # mean: `seconds`
        return min(1.0, max(0.0, noisy_accuracy)), noisy_seconds

    @property
    def is_noiseless(self) -> bool:
        return not self.accuracy_median and not self.log_seconds


def _unit_draws(rng: np.random.Generator, shape: str, size: int) -> np.ndarray:
    """Noise of mean 0 at unit scale."""
    if shape == "symmetric":
        return rng.standard_t(T_DEGREES_OF_FREEDOM, size=size)
    if shape != "skewed":
        raise ValueError(f"unknown noise shape {shape!r}")
    core = rng.normal(size=size)
    bad = (rng.random(size) < BAD_SEED_PROBABILITY) * rng.exponential(BAD_SEED_LOSS, size)
    return core - bad + BAD_SEED_PROBABILITY * BAD_SEED_LOSS


@functools.cache
def _median_change_of_unit_scale(heteroscedasticity: float, shape: str) -> float:
    rng = np.random.default_rng(0)
    scale = np.exp(heteroscedasticity * rng.normal(size=CALIBRATION_DRAWS))
    first = _unit_draws(rng, shape, CALIBRATION_DRAWS) * scale
    second = _unit_draws(rng, shape, CALIBRATION_DRAWS) * scale
    return float(np.median(np.abs(first - second)))


# The two ends of the measured range, the low end with symmetric noise, and none.
LOW = Noise(accuracy_median=0.01, heteroscedasticity=0.3, log_seconds=0.175)
HIGH = Noise(accuracy_median=0.02, heteroscedasticity=0.4, log_seconds=0.175)
SYMMETRIC = Noise(accuracy_median=0.01, heteroscedasticity=0.5, log_seconds=0.175,
                  shape="symmetric")
NOISELESS = Noise(accuracy_median=0.0, heteroscedasticity=0.0, log_seconds=0.0)


def measured_levels(noise: Noise, configurations: list[tuple[float, float, dict[str, Any]]],
                    seed: int = 0) -> dict[str, float]:
    """Median and 90th percentile of the change between two runs of each configuration
    ((accuracy, seconds, params) triples): the check that `noise` meets its targets."""
    accuracy_changes, time_changes = [], []
    for index, (accuracy, seconds, params) in enumerate(configurations):
        first = noise.draw(accuracy, seconds, params, seed, 2 * index)
        second = noise.draw(accuracy, seconds, params, seed, 2 * index + 1)
        accuracy_changes.append(abs(first[0] - second[0]))
        time_changes.append(abs(second[1] / first[1] - 1))
    return {"accuracy_median": float(np.median(accuracy_changes)),
            "accuracy_p90": float(np.percentile(accuracy_changes, 90)),
            "time_median": float(np.median(time_changes)),
            "time_p90": float(np.percentile(time_changes, 90))}
