"""Synthetic grids of training runs: the kinds recorded runs show, with known causes.

Every instance is drawn from one family with its own seed (`grid(seed)`), so the kinds mix:
- five or six dimensions: learning rate, batch size, weight decay, depth, width, and for some
  the epochs (integers and ordinals, 3 to 25 values each);
- a narrow coupled ridge: the best learning rate grows with the batch size (linearly or as its
  square root, as the scaling rules go) and falls with depth; off the ridge by a few tenths of
  a decade, accuracy falls away;
- accuracy needs capacity (depth x width) and optimizer steps (epochs x samples / batch), and
  beyond a critical batch size more batch stops helping, so the fastest qualifying cells sit
  on the edges of one or several ranges (largest batch, smallest network, fewest epochs), or
  inside the batch range when the critical batch size is small;
- a floor that 75% or 90% of the cells miss;
- training times from a fraction of a second to hours (the samples per epoch range over
  three orders of magnitude), so scores span orders of magnitude;
- noise in accuracy and time on every evaluation, for some instances.

`TUNING` (even seeds) chooses settings, `HELD_OUT` (odd seeds) reports them; both were fixed
before any result was seen.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from benchmarks._grid_landscapes import (
    Axis,
    Grid,
    floor_missed_by,
    linear_axis,
    log_axis,
    mesh,
    parameter_count,
    seconds_per_epoch,
)

INSTANCES = 16
TUNING = [f"synthetic/{seed}" for seed in range(0, INSTANCES, 2)]
HELD_OUT = [f"synthetic/{seed}" for seed in range(1, INSTANCES, 2)]


@functools.cache
def grid(seed: int) -> Grid:
    draw = np.random.default_rng([seed, 2104])
    axes: list[Axis] = [
        log_axis("lr", 1e-4, 1e-1, int(draw.choice([13, 17, 25]))),
        log_axis("batch_size", 16, 1024 if draw.random() < 0.5 else 512,
                 7 if draw.random() < 0.5 else 6, integer=True),
        log_axis("weight_decay", 1e-6, 1e-2, int(draw.choice([3, 5, 9]))),
        linear_axis("num_layers", range(1, int(draw.choice([5, 7])))),
        log_axis("max_units", 32, 1024, int(draw.choice([6, 11])), integer=True),
    ]
    with_epochs = draw.random() < 0.5
    if with_epochs:
        axes.append(log_axis("epochs", 2, 64, 6, integer=True))
    values = mesh(tuple(axes))
    lr, batch, decay, layers, units = (np.log10(values[0]), np.log2(values[1]),
                                       np.log10(values[2]), values[3], values[4])
    epochs = values[5] if with_epochs else np.full(lr.shape, 16.0)
    samples = 10 ** draw.uniform(3, 6)

    # The ridge: the best log10 learning rate grows with log2 batch size and falls with depth.
    # Below it training is slower (fewer effective steps); above it, runs soon diverge.
    slope = math.log10(2) * (1.0 if draw.random() < 0.5 else 0.5)
    best_lr = draw.uniform(-3.0, -2.0) + slope * (batch - 4) - 0.1 * (layers - 1)
    diverged = np.exp(-((np.maximum(lr - best_lr, 0) / draw.uniform(0.1, 0.3)) ** 2))
    slower = 10.0 ** np.minimum(lr - best_lr, 0)
    # Capacity saturates with the parameter count; training with the effective steps.
    capacity = 1 - np.exp(-np.sqrt(parameter_count(layers, units) / 10 ** draw.uniform(3, 5)))
    steps = epochs * samples / values[1] * slower
    training = 1 - np.exp(-steps / (draw.uniform(0.01, 0.1) * epochs.max() * samples / 16))
    critical = 2 ** draw.uniform(6, 11)
    too_large = np.exp(-np.maximum(values[1] / critical - 1, 0) * draw.uniform(0.05, 0.3))
    decay_fit = np.exp(-(((decay - draw.uniform(-5, -3)) / 2.0) ** 2))
    chance, best = 0.1, draw.uniform(0.7, 0.99)
    accuracy = chance + (best - chance) * diverged * capacity * training * too_large * (
        0.9 + 0.1 * decay_fit)
    seconds = epochs * seconds_per_epoch(samples, values[1], values[3], values[4])
    noisy = draw.random() < 0.5
    return Grid(f"synthetic/{seed}", tuple(axes), accuracy, seconds,
                floor_missed_by(accuracy, 0.75 if draw.random() < 0.5 else 0.9),
                accuracy_noise=0.005 if noisy else 0.0, seconds_noise=0.1 if noisy else 0.0)
