"""Noisy landscapes with an accuracy floor whose truth is known, for the confirmation benchmark.

Each observes a run as a trial result (accuracy, training seconds, the floored loss) with the
noise of `_noise`, and knows each configuration's true mean accuracy and time, so the true
score of whatever a search reports is exact: mean accuracy / mean seconds, or 0 when the mean
accuracy is below the floor.

- Synthetic training models (`_training_models`) over the `default` space, each with LOW and
  HIGH noise, with symmetric noise at the low level (`/sym`, a stress test of lucky runs) and
  without noise (`/none`, where the cost of confirmation is measured).
- The LCBench surrogate on 8 OpenML tasks, with MID noise (the middle of the measured range)
  and without. Each task's floor is the 75th percentile of the accuracy of the 100 best-scoring
  (accuracy per second, unfloored) of 10,000 random configurations (seed 1): where the fast
  configurations thin out, which is where a lucky run matters.

Half the cases choose the confirmation settings (`chooses`), the other half report them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import spaces
from benchmarks import _lcbench_truth, _noise, _training_models

Params = dict[str, Any]
MID = _noise.Noise(accuracy_median=0.015, heteroscedasticity=0.3, log_seconds=0.175)

# task -> floor (see the module docstring); the first four choose the settings.
LCBENCH_FLOORS = {"3945": 0.744, "34539": 0.541, "167104": 0.885, "189909": 0.697,
                  "7593": 0.754, "126025": 0.827, "168868": 0.973, "146212": 0.766}
LCBENCH_CHOOSING = ("3945", "34539", "167104", "189909")


@dataclasses.dataclass(frozen=True)
class NoisyLandscape:
    name: str
    graph: Any
    floor: float
    noise: _noise.Noise
    truth: Callable[[Params], tuple[float, float]]  # true mean (accuracy, seconds)
    chooses: bool

    def observe(self, params: Params, seed: int, evaluation: int) -> dict[str, Any]:
        """The result of one run: the `evaluation`-th of run `seed`."""
        accuracy, seconds = self.noise.draw(*self.truth(params), params, seed, evaluation)
        return trial_result(accuracy, seconds, self.floor)

    def true_score(self, params: Params) -> tuple[float, bool]:
        """(The true score, whether the true mean accuracy is below the floor)."""
        accuracy, seconds = self.truth(params)
        below = accuracy < self.floor
        return (0.0 if below else accuracy / seconds), below


def trial_result(accuracy: float, seconds: float, floor: float) -> dict[str, Any]:
    """A result as the objectives write it."""
    below = accuracy < floor
    return {"status": "ok", "loss": 0.0 if below else -accuracy / seconds,
            "accuracy": accuracy, "train_seconds": seconds, "below_accuracy_floor": below}


def _model_truth(model: _training_models.TrainingModel) -> Callable[[Params], tuple[float, float]]:
    return lambda params: (model.accuracy(params), model.seconds(params))


@functools.cache
def landscapes() -> dict[str, NoisyLandscape]:
    """Every landscape by name (`family/noise`)."""
    graph = spaces.load_space("default").graph
    found: dict[str, NoisyLandscape] = {}
    for chooses, models in ((True, _training_models.TUNING), (False, _training_models.HELD_OUT)):
        for family, (model, floor) in models.items():
            for level, noise in (("low", _noise.LOW), ("high", _noise.HIGH),
                                 ("sym", _noise.SYMMETRIC), ("none", _noise.NOISELESS)):
                name = f"{family}/{level}"
                found[name] = NoisyLandscape(name, graph, floor, noise, _model_truth(model),
                                             chooses)
    for task, floor in LCBENCH_FLOORS.items():
        for level, noise in (("mid", MID), ("none", _noise.NOISELESS)):
            name = f"lcbench-{task}/{level}"
            found[name] = NoisyLandscape(name, _lcbench_truth.SPACE, floor, noise,
                                         _lazy_surrogate(task), task in LCBENCH_CHOOSING)
    return found


def _lazy_surrogate(task: str) -> Callable[[Params], tuple[float, float]]:
    return lambda params: _lcbench_truth.surrogate(task).truth(params)
