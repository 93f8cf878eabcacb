"""Grids of training configurations scored as the mission scores them, for the search benchmark.

A `Grid` holds, for every cell of a full grid (learning rate x batch size x weight decay x
depth x width, and for some synthetic ones the epochs), the accuracy and the training seconds a
run there gives. The score is accuracy per second, and 0 below an accuracy floor that most
cells miss. A search is measured by the rank of the cell it reports as best: how many cells
score strictly more (0: it found the best cell). That is the measure of recorded real runs,
where nothing else about the optimum is known.

Each grid can be searched through three encodings of the same cells:
- `values`: log-uniform learning rate and weight decay, `qloguniform` batch size and width
  (integers), `uniformint` depth; the objective snaps each value to the nearest grid value
  (in log for the log axes), as a user searching real values would;
- `index`: every axis an ordinal index, `hp.randint(name, len(values))`;
- `choice`: every axis an `hp.choice` of its values, as a space file's `values: [...]` is.

The time model (`seconds_per_epoch`) is ours, stated here because the surrogate's time output
is weak (see `_lcbench.py`): a step costs a fixed overhead plus a little per layer (kernel
launches, the optimizer step), and each sample costs the forward and backward flops of the
network, 6 per parameter. With small MLPs the overhead dominates, so larger batches are
markedly faster, and the cost grows with depth and width: the best cells sit on the edges
(largest batch, smallest network) with an interior learning rate, as in recorded runs.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hyperopt import hp

ENCODINGS = ("values", "index", "choice")
STEP_OVERHEAD_SECONDS = 3e-4  # per optimizer step: launches, optimizer, Python (CPU or GPU)
LAYER_OVERHEAD_SECONDS = 5e-5  # per step and layer: forward, backward and update kernels
FLOPS_PER_SECOND = 2e10  # the throughput small matrix products reach
INPUT_FEATURES, CLASSES = 100, 10  # a typical tabular task, for the parameter count


@dataclasses.dataclass(frozen=True)
class Axis:
    """One hyperparameter of the grid: its increasing `values`, spaced by ratio if `log`."""

    name: str
    values: tuple[float, ...]
    log: bool
    integer: bool

    def nearest(self, value: float) -> int:
        """The index of the grid value nearest to `value` (in log for a log axis)."""
        values = np.asarray(self.values)
        if self.log:
            return int(np.argmin(np.abs(np.log(values) - math.log(max(value, 1e-300)))))
        return int(np.argmin(np.abs(values - value)))


@dataclasses.dataclass(frozen=True, eq=False)
class Grid:
    """Accuracy (fraction) and training seconds over the cells of `axes`, with the floor and
    the noise a repeated run adds (sd of the accuracy, sd of the log of the seconds)."""

    name: str
    axes: tuple[Axis, ...]
    accuracy: np.ndarray
    seconds: np.ndarray
    floor: float
    accuracy_noise: float = 0.0
    seconds_noise: float = 0.0

    @functools.cached_property
    def score(self) -> np.ndarray:
        return np.where(self.accuracy >= self.floor, self.accuracy / self.seconds, 0.0)

    @functools.cached_property
    def rank(self) -> np.ndarray:
        """For every cell, how many cells score strictly more."""
        ordered = np.sort(self.score.ravel())
        return np.asarray(len(ordered) - np.searchsorted(ordered, self.score, side="right"))

    def space(self, encoding: str) -> dict[str, Any]:
        return {axis.name: _encoded(axis, encoding) for axis in self.axes}

    def cell(self, encoding: str, vals: dict[str, Any]) -> tuple[int, ...]:
        """The grid cell of a point of `space(encoding)`, from its values as Hyperopt stores
        them (a randint's or a choice's as the index)."""
        if encoding in ("index", "choice"):
            return tuple(int(vals[axis.name]) for axis in self.axes)
        return tuple(axis.nearest(float(vals[axis.name])) for axis in self.axes)

    def evaluator(self, encoding: str, seed: int) -> Callable[[dict[str, Any]], tuple[dict, float]]:
        """What a trial at a point (its stored values) returns: the mission's result, with this
        run's noise, and the rank of its cell (what the benchmark scores)."""
        count = iter(range(10**9))

        def evaluate(vals: dict[str, Any]) -> tuple[dict, float]:
            cell = self.cell(encoding, vals)
            accuracy, seconds = self.run(cell, seed, next(count))
            below_floor = accuracy < self.floor
            result = {"status": "ok", "loss": 0.0 if below_floor else -accuracy / seconds,
                      "accuracy": accuracy, "train_seconds": seconds,
                      "below_accuracy_floor": below_floor, "min_accuracy": self.floor}
            return result, float(self.rank[cell])
        return evaluate

    def run(self, cell: tuple[int, ...], seed: int, count: int) -> tuple[float, float]:
        """The accuracy and seconds of the `count`-th evaluation of search `seed`, at `cell`:
        the same noise for the same evaluation whatever the algorithm (common random numbers)."""
        noise = np.random.default_rng([seed, count]).normal(size=2)
        return (float(self.accuracy[cell] + self.accuracy_noise * noise[0]),
                float(self.seconds[cell] * math.exp(self.seconds_noise * noise[1])))


def _encoded(axis: Axis, encoding: str) -> Any:
    values = axis.values
    if encoding == "index":
        return hp.randint(axis.name, len(values))
    if encoding == "choice":
        return hp.choice(axis.name, [int(v) if axis.integer else v for v in values])
    if axis.log and axis.integer:
        return hp.qloguniform(axis.name, math.log(values[0]), math.log(values[-1]), 1)
    if axis.log:
        return hp.loguniform(axis.name, math.log(values[0]), math.log(values[-1]))
    if axis.integer:
        return hp.uniformint(axis.name, values[0], values[-1])
    return hp.uniform(axis.name, values[0], values[-1])


def log_axis(name: str, low: float, high: float, count: int, integer: bool = False) -> Axis:
    values = np.geomspace(low, high, count)
    return Axis(name, tuple(float(np.rint(v)) if integer else float(v) for v in values), True,
                integer)


def linear_axis(name: str, values: range) -> Axis:
    return Axis(name, tuple(float(v) for v in values), False, True)


def parameter_count(layers: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Parameters of a funnel MLP (LCBench's shape): widths fall linearly from `units`."""
    layers, units = np.broadcast_arrays(np.asarray(layers, float), np.asarray(units, float))
    total = np.zeros(layers.shape)
    for position in range(int(layers.max())):
        width = units * (1 - position / layers)
        previous = INPUT_FEATURES if position == 0 else units * (1 - (position - 1) / layers)
        total += np.where(position < layers, previous * width + width, 0.0)
    last = units / layers  # the narrowest hidden layer feeds the classifier
    return np.asarray(total + last * CLASSES + CLASSES)


def seconds_per_epoch(samples: float, batch: np.ndarray, layers: np.ndarray,
                      units: np.ndarray) -> np.ndarray:
    """Training seconds of one epoch of `samples` under the time model of this module."""
    per_step = STEP_OVERHEAD_SECONDS + LAYER_OVERHEAD_SECONDS * np.asarray(layers, float)
    per_sample = 6.0 * parameter_count(layers, units) / FLOPS_PER_SECOND
    return np.asarray(samples * (per_step / np.asarray(batch, float) + per_sample))


def floor_missed_by(accuracy: np.ndarray, share: float) -> float:
    """The accuracy floor that `share` of the cells miss."""
    return float(np.quantile(accuracy, share))


def mesh(axes: tuple[Axis, ...]) -> list[np.ndarray]:
    """Each axis's value at every cell, in the grid's shape."""
    return list(np.meshgrid(*(np.asarray(axis.values) for axis in axes), indexing="ij"))
