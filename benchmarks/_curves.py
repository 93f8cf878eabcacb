"""Learning curves to replay, for the pruning benchmark: each family maps a trial's
hyperparameters to a per-epoch validation accuracy and per-epoch training seconds.

- `lcbench`: accuracy curves of real MLP runs (LCBench, 34 OpenML tasks, 52 epochs) through
  the YAHPO Gym surrogate in ../shared/data/lcbench-surrogate/. Its time output is weak
  (batch size barely moves it), so only its per-task scale is kept: per-epoch seconds follow
  `step_time_model` (a fixed cost per optimizer step plus a cost per sample and parameter, so
  larger batches are markedly faster and larger networks slower), scaled so that the median
  configuration of a task takes the surrogate's median time per epoch for that task.
- `fast-poor`: fast configurations (large batches, narrow networks) reach a low accuracy.
- `late-bloomers`: strongly regularised configurations start slowly and end highest; the
  quick starters plateau lower, above the floor.

Per-epoch seconds carry noise shaped like the measured `digits` epochs on a loaded machine:
a few percent of jitter and occasional slow epochs (disturbances add time, never remove it).
Every draw is seeded by the instance and the hyperparameters, so two searches proposing the
same trial see the same curve. An instance's accuracy floor is part of the task.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hyperopt import hp

from benchmarks._surrogate import TASKS, surrogate_file

Params = dict[str, Any]
Curve = tuple[list[float], list[float]]  # accuracy per epoch, training seconds per epoch



@dataclasses.dataclass(frozen=True)
class Task:
    """One instance of a family: a curve for every configuration, and its accuracy floor."""

    name: str
    epochs: int
    min_accuracy: float
    curve: Callable[[Params], Curve]


@dataclasses.dataclass(frozen=True)
class Family:
    """Curves of one kind: a search space and instances, half for tuning, half reporting."""

    name: str
    space: Any  # a hyperopt space graph
    task: Callable[[int, bool], Task]  # (seed, reporting half?) -> instance


def _rng(*keys: Any) -> np.random.Generator:
    digest = hashlib.sha256(json.dumps(keys, sort_keys=True, default=str).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def noisy_epoch_seconds(steady: float, epochs: int, rng: np.random.Generator) -> list[float]:
    """``epochs`` epochs of ``steady`` seconds with 3% jitter and, one epoch in 30, a slow one
    (up to a few times longer): disturbances add time."""
    jitter = np.exp(rng.normal(0.0, 0.03, epochs))
    slow = rng.random(epochs) < 1 / 30
    spikes = 1.0 + slow * rng.exponential(1.0, epochs)
    return [float(value) for value in steady * jitter * spikes]


def noisy_accuracy(curve: np.ndarray, rng: np.random.Generator, sd: float = 0.003) -> list[float]:
    return [float(value) for value in np.clip(curve + rng.normal(0.0, sd, len(curve)), 0, 1)]


# LCBench ---------------------------------------------------------------------------------------

LCBENCH_EPOCHS = 52
LCBENCH_SPACE = {
    "batch_size": hp.loguniform("batch_size", math.log(16), math.log(512)),
    "learning_rate": hp.loguniform("learning_rate", math.log(1e-4), math.log(1e-1)),
    "momentum": hp.uniform("momentum", 0.1, 0.99),
    "weight_decay": hp.uniform("weight_decay", 1e-5, 0.1),
    "num_layers": hp.uniform("num_layers", 0.5, 5.5),
    "max_units": hp.loguniform("max_units", math.log(64), math.log(1024)),
    "max_dropout": hp.uniform("max_dropout", 0.0, 1.0),
}
STEP_SECONDS = 1e-3  # fixed cost of one optimizer step (launches, optimizer, Python)
SAMPLE_PARAMETER_SECONDS = 3e-10  # forward and backward: ~6 flops per sample and parameter


def lcbench_tasks() -> list[str]:
    return list(TASKS)


def _lcbench_row(params: Params) -> list[float]:
    return [float(round(params["batch_size"])), params["learning_rate"], params["momentum"],
            params["weight_decay"], float(round(params["num_layers"])),
            float(round(params["max_units"])), params["max_dropout"]]


def step_time_model(params: Params) -> float:
    """Seconds per training sample: a step's fixed cost shared by the batch, plus compute
    proportional to the funnel-shaped MLP's parameters (64 inputs, widths shrinking from
    max_units, 10 outputs)."""
    layers, units = round(params["num_layers"]), round(params["max_units"])
    widths = [64] + [max(units * (layers - i) // layers, 8) for i in range(layers)] + [10]
    parameters = sum(a * b for a, b in zip(widths, widths[1:], strict=False))
    return STEP_SECONDS / round(params["batch_size"]) + SAMPLE_PARAMETER_SECONDS * parameters


class LCBench:
    """The surrogate, one ONNX session per process, asked for whole curves at once."""

    def __init__(self) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(surrogate_file("model.onnx")), options)
        self._codes = json.loads(surrogate_file("encoding.json").read_text())["OpenML_task_id"]

    def curves(self, task: str, rows: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
        """(accuracy, cumulative seconds) per row and epoch, as the surrogate predicts."""
        epochs = np.arange(1, LCBENCH_EPOCHS + 1, dtype=np.float32)
        x_cont = np.array([[epoch, *row] for row in rows for epoch in epochs], np.float32)
        x_cat = np.full((len(x_cont), 1), self._codes[task], np.int32)
        out = self._session.run(None, {"x_cat": x_cat, "x_cont": x_cont})[0]
        shape = (len(rows), LCBENCH_EPOCHS)
        return out[:, 1].reshape(shape) / 100.0, out[:, 0].reshape(shape)


@functools.cache
def _lcbench() -> LCBench:
    return LCBench()


@functools.cache
def _lcbench_calibration(task: str) -> tuple[float, float]:
    """(accuracy floor, seconds per unit of `step_time_model`) for a task, from 500 random
    configurations: the floor is their median final accuracy (a trial must beat a typical
    configuration), and the time scale gives the median configuration the surrogate's median
    per-epoch time."""
    rng = np.random.default_rng(0)
    samples = [{"batch_size": math.exp(rng.uniform(math.log(16), math.log(512))),
                "learning_rate": math.exp(rng.uniform(math.log(1e-4), math.log(1e-1))),
                "momentum": rng.uniform(0.1, 0.99), "weight_decay": rng.uniform(1e-5, 0.1),
                "num_layers": rng.uniform(0.5, 5.5),
                "max_units": math.exp(rng.uniform(math.log(64), math.log(1024))),
                "max_dropout": rng.uniform(0, 1)} for _ in range(500)]
    accuracy, seconds = _lcbench().curves(task, [_lcbench_row(p) for p in samples])
    per_epoch = np.median(seconds[:, -1]) / LCBENCH_EPOCHS
    scale = per_epoch / np.median([step_time_model(p) for p in samples])
    return float(np.median(accuracy[:, -1])), float(scale)


def lcbench_task(seed: int, reporting: bool) -> Task:
    tasks = lcbench_tasks()[int(reporting)::2]  # alternate tasks: tuning half, reporting half
    task = tasks[seed % len(tasks)]
    floor, scale = _lcbench_calibration(task)

    def curve(params: Params) -> Curve:
        rng = _rng("lcbench", task, seed, params)
        accuracy, _ = _lcbench().curves(task, [_lcbench_row(params)])
        steady = scale * step_time_model(params)
        return noisy_accuracy(accuracy[0], rng), noisy_epoch_seconds(steady, LCBENCH_EPOCHS, rng)

    return Task(f"lcbench/{task}", LCBENCH_EPOCHS, floor, curve)


# Synthetic families ------------------------------------------------------------------------------

SYNTHETIC_EPOCHS = 30
SYNTHETIC_SPACE = {
    "lr": hp.loguniform("lr", math.log(1e-4), math.log(1.0)),
    "batch_size": hp.loguniform("batch_size", math.log(16), math.log(1024)),
    "width": hp.loguniform("width", math.log(32), math.log(1024)),
    "regularization": hp.uniform("regularization", 0.0, 1.0),
}


def _synthetic_coordinates(params: Params) -> tuple[float, float, float, float]:
    """(log10 lr, batch in [0, 1], width in [0, 1], regularization in [0, 1])."""
    return (math.log10(params["lr"]), (math.log2(params["batch_size"]) - 4) / 6,
            (math.log2(params["width"]) - 5) / 5, params["regularization"])


def _synthetic_seconds(params: Params) -> float:
    """Per-epoch seconds for 50,000 samples: 1 ms per step plus 3 ns per sample and unit."""
    return 50_000 * (1e-3 / params["batch_size"] + 3e-9 * params["width"] * 64)


def _saturating(start: float, final: float, scale: float, shape: float, epochs: int) -> np.ndarray:
    e = np.arange(1, epochs + 1)
    return start + (final - start) * (1 - np.exp(-((e / scale) ** shape)))


def fast_poor_task(seed: int, reporting: bool) -> Task:
    """Large batches and narrow networks train fast and plateau low; the best learning rate
    grows with the batch size."""
    instance = _rng("fast-poor", seed, reporting)
    lr_shift, batch_knee = instance.uniform(-0.5, 0.5), instance.uniform(0.4, 0.7)

    def curve(params: Params) -> Curve:
        lr, batch, width, reg = _synthetic_coordinates(params)
        best_lr = -3.0 + 1.5 * batch + lr_shift
        poor = 0.35 / (1 + math.exp(-10 * (batch - batch_knee))) * (1 - 0.6 * width)
        final = 0.98 - poor - 0.06 * (lr - best_lr) ** 2 - 0.04 * (reg - 0.3) ** 2
        scale = 2 + 5 * abs(lr - best_lr) + 3 * batch
        rng = _rng("fast-poor", seed, reporting, params)
        accuracy = _saturating(0.1, max(final, 0.1), scale, 1.0, SYNTHETIC_EPOCHS)
        seconds = noisy_epoch_seconds(_synthetic_seconds(params), SYNTHETIC_EPOCHS, rng)
        return noisy_accuracy(accuracy, rng), seconds

    return Task(f"fast-poor/{seed}", SYNTHETIC_EPOCHS, 0.85, curve)


def late_bloomers_task(seed: int, reporting: bool) -> Task:
    """Regularisation slows the start (an S-shaped curve, its rise late) and raises the
    plateau by up to 9%: the best trials look worst for the first third of their epochs,
    and quick starters that plateau lower still clear the floor."""
    instance = _rng("late-bloomers", seed, reporting)
    lr_shift, best_width = instance.uniform(-0.5, 0.5), instance.uniform(0.2, 0.6)

    def curve(params: Params) -> Curve:
        lr, batch, width, reg = _synthetic_coordinates(params)
        best_lr = -2.5 + 1.0 * batch + lr_shift
        final = (0.88 + 0.08 * reg - 0.08 * (lr - best_lr) ** 2 - 0.15 * batch ** 2 * (1 - width)
                 - 0.05 * (width - best_width) ** 2)
        scale = 1.5 + 0.6 * SYNTHETIC_EPOCHS * reg ** 2
        rng = _rng("late-bloomers", seed, reporting, params)
        accuracy = _saturating(0.1, max(final, 0.1), scale, 1 + 3 * reg, SYNTHETIC_EPOCHS)
        seconds = noisy_epoch_seconds(_synthetic_seconds(params), SYNTHETIC_EPOCHS, rng)
        return noisy_accuracy(accuracy, rng), seconds

    return Task(f"late-bloomers/{seed}", SYNTHETIC_EPOCHS, 0.85, curve)


FAMILIES = {
    "lcbench": Family("lcbench", LCBENCH_SPACE, lcbench_task),
    "fast-poor": Family("fast-poor", SYNTHETIC_SPACE, fast_poor_task),
    "late-bloomers": Family("late-bloomers", SYNTHETIC_SPACE, late_bloomers_task),
}
