"""Functions shaped like training landscapes over the `default` space, each with a known
optimum of 0, for benchmarking proposal algorithms without training anything.

Each is 1 - exp(-q) for a sum of squares q in the coordinates training practice cares about
(log10 lr, log2 batch size, log10 weight decay, the optimizer's knobs): near the optimum the
value grows like q, far from it the value saturates at 1 as a diverged or stalled run would,
so a search gets no slope to follow from its worst trials. The "tuning" set chose the first
TPE settings and the "held_out" set, of the same kinds, checked them; the current settings
were chosen over all eight on seeds 0-99 and checked on seeds 100-199.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

Params = dict[str, Any]


def _coordinates(params: Params) -> tuple[float, float, float]:
    return (math.log10(params["lr"]), math.log2(params["batch_size"]),
            math.log10(params["weight_decay"]))


def _saturate(q: float) -> float:
    return 1.0 - math.exp(-q)


def bowl(params: Params) -> float:
    """Separable: each knob has its own best value, whatever the others are."""
    lr, batch, decay = _coordinates(params)
    q = ((lr + 2.5) / 0.5) ** 2 + ((batch - 7) / 1.5) ** 2 + ((decay + 6) / 2) ** 2
    q += 0.3 * (params["optimizer"]["name"] == "sgd")
    q += 0.1 * (params["scheduler"]["name"] == "plateau")
    return _saturate(q)


def lr_batch(params: Params) -> float:
    """The best learning rate grows linearly with the batch size: a narrow diagonal ridge."""
    lr, batch, decay = _coordinates(params)
    best_lr = -3 + (batch - 5) * math.log10(2)
    q = ((lr - best_lr) / 0.25) ** 2 + ((batch - 8) / 2) ** 2 + ((decay + 5) / 2) ** 2
    q += 0.2 * (params["optimizer"]["name"] == "sgd")
    q += 0.05 * (params["scheduler"]["name"] == "plateau")
    return _saturate(q)


def branch(params: Params) -> float:
    """adamw is easy and decent; the optimum is sgd with the right momentum and step size."""
    lr, batch, decay = _coordinates(params)
    optimizer = params["optimizer"]
    q = ((batch - 7) / 2) ** 2 + ((decay + 5) / 2) ** 2
    if optimizer["name"] == "adamw":
        q += 0.5 + ((lr + 3) / 0.5) ** 2
    else:
        momentum = optimizer["momentum"]
        step = math.log10(params["lr"] / (1 - momentum))
        q += (step / 0.4) ** 2 + ((momentum - 0.93) / 0.04) ** 2 + 0.1 * (not optimizer["nesterov"])
    q += 0.05 * (params["scheduler"]["name"] == "plateau")
    return _saturate(q)


def bowl_shifted(params: Params) -> float:
    """Held out, separable: other optima, and the best scheduler is the conditional one."""
    lr, batch, decay = _coordinates(params)
    scheduler = params["scheduler"]
    q = ((lr + 4) / 0.6) ** 2 + ((batch - 6) / 1.5) ** 2 + ((decay + 7.5) / 1.5) ** 2
    if scheduler["name"] == "plateau":
        q += ((math.log10(scheduler["factor"]) + 0.6) / 0.3) ** 2
        q += ((scheduler["patience"] - 3) / 2) ** 2
    else:
        q += 0.3
    return _saturate(q + 0.2 * (params["optimizer"]["name"] == "sgd"))


def sqrt_scaling(params: Params) -> float:
    """Held out, interaction: lr grows as the square root of the batch size, and the best
    weight decay moves with the learning rate."""
    lr, batch, decay = _coordinates(params)
    best_lr = -3.5 + 0.5 * (batch - 5) * math.log10(2)
    q = ((lr - best_lr) / 0.3) ** 2 + ((batch - 6) / 2) ** 2 + ((decay - (lr - 3)) / 1.0) ** 2
    return _saturate(q + 0.2 * (params["optimizer"]["name"] == "sgd"))


def branch_momentum(params: Params) -> float:
    """Held out, branch: sgd's optimum needs lower momentum and a larger batch."""
    lr, batch, decay = _coordinates(params)
    optimizer = params["optimizer"]
    q = ((batch - 8) / 2) ** 2 + ((decay + 4.5) / 1.5) ** 2
    if optimizer["name"] == "adamw":
        q += 0.4 + ((lr + 3.3) / 0.4) ** 2
    else:
        momentum = optimizer["momentum"]
        step = math.log10(params["lr"] / (1 - momentum))
        q += ((step + 0.3) / 0.5) ** 2 + ((momentum - 0.88) / 0.05) ** 2
    return _saturate(q)


# Name -> (function, observation noise sd). Noisy variants report f + noise to the search;
# the benchmark scores the noiseless value of the trial the search would pick.
TUNING: dict[str, tuple[Callable[[Params], float], float]] = {
    "bowl": (bowl, 0.0),
    "lr_batch": (lr_batch, 0.0),
    "branch": (branch, 0.0),
    "lr_batch_noisy": (lr_batch, 0.05),
}
HELD_OUT: dict[str, tuple[Callable[[Params], float], float]] = {
    "bowl_shifted": (bowl_shifted, 0.0),
    "sqrt_scaling": (sqrt_scaling, 0.0),
    "branch_momentum": (branch_momentum, 0.0),
    "branch_noisy": (branch, 0.05),
}
LANDSCAPES = {**TUNING, **HELD_OUT}


def noise(seed: int, evaluation: int, sd: float) -> float:
    """The observation noise of one evaluation: fixed by the run's seed and its index."""
    return float(np.random.default_rng([seed, evaluation]).normal(0.0, sd)) if sd else 0.0
