"""Grid landscapes from LCBench: accuracy of real MLP training runs, through YAHPO Gym's surrogate.

`../shared/data/lcbench-surrogate/` (see its README) models the validation accuracy of SGD
runs of funnel MLPs on 34 OpenML tasks. For each task this module builds a `Grid` over
learning rate (13 values, 1e-4 to 1e-1) x batch size (16 to 512) x weight decay (1e-5 to 1e-1)
x depth (1 to 5 layers) x width (64 to 1024 units), 9,750 cells, as a recorded grid of runs:
- accuracy: the surrogate's at epoch `EPOCHS`, momentum 0.9, no dropout, plus a fixed per-cell
  noise (sd 0.5 points) standing for run-to-run variation baked into a recording;
- seconds: `EPOCHS` epochs of `_grid_landscapes.seconds_per_epoch` (the surrogate's own time
  hardly moves with the batch size, while in real runs larger batches are markedly faster),
  scaled so the task's median matches the median of the surrogate's time per epoch (which
  carries the task's size), times a fixed per-cell noise (sd 5%);
- floor: the accuracy that three quarters of the cells miss.

The tasks were split once, before any result was seen, by a seeded shuffle: `TUNING` chooses
settings, `HELD_OUT` reports them.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import numpy as np

from benchmarks._grid_landscapes import (
    Grid,
    floor_missed_by,
    linear_axis,
    log_axis,
    mesh,
    seconds_per_epoch,
)
from benchmarks._surrogate import TASKS, surrogate_file

EPOCHS = 20
FLOOR_MISSED_BY = 0.75
AXES = (
    log_axis("lr", 1e-4, 1e-1, 13),
    log_axis("batch_size", 16, 512, 6, integer=True),
    log_axis("weight_decay", 1e-5, 1e-1, 5),
    linear_axis("num_layers", range(1, 6)),
    log_axis("max_units", 64, 1024, 5, integer=True),
)


def _split() -> tuple[list[str], list[str]]:
    tasks = sorted(TASKS, key=int)
    order = np.random.default_rng(21).permutation(len(tasks))
    shuffled = [tasks[i] for i in order]
    return sorted(shuffled[: len(tasks) // 2], key=int), sorted(shuffled[len(tasks) // 2:], key=int)


TUNING, HELD_OUT = _split()


@functools.cache
def _session() -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(surrogate_file("model.onnx")), options)


def _surrogate(task: str, epoch: int, lr: np.ndarray, batch: np.ndarray, decay: np.ndarray,
               layers: np.ndarray, units: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The surrogate's cumulative seconds and validation accuracy (fraction) at `epoch`."""
    encoding = json.loads(surrogate_file("encoding.json").read_text())["OpenML_task_id"]
    count = lr.size
    inputs = np.column_stack([np.full(count, epoch), batch.ravel(), lr.ravel(),
                              np.full(count, 0.9), decay.ravel(), layers.ravel(), units.ravel(),
                              np.zeros(count)]).astype(np.float32)
    tasks = np.full((count, 1), encoding[task], np.int32)
    output = _session().run(None, {"x_cat": tasks, "x_cont": inputs})[0]
    return output[:, 0].reshape(lr.shape), output[:, 1].reshape(lr.shape) / 100.0


@functools.cache
def grid(task: str) -> Grid:
    lr, batch, decay, layers, units = mesh(AXES)
    _, accuracy = _surrogate(task, EPOCHS, lr, batch, decay, layers, units)
    surrogate_seconds, _ = _surrogate(task, 52, lr, batch, decay, layers, units)
    model = seconds_per_epoch(1.0, batch, layers, units)
    samples = np.median(surrogate_seconds / 52) / np.median(model)
    recording = np.random.default_rng([int(task), 21])
    accuracy = np.clip(accuracy + recording.normal(0, 0.005, accuracy.shape), 0, 1)
    seconds = EPOCHS * samples * model * np.exp(recording.normal(0, 0.05, model.shape))
    return Grid(f"lcbench/{task}", AXES, accuracy, seconds,
                floor_missed_by(accuracy, FLOOR_MISSED_BY))
