"""The TPE policy: split the trials into good and bad, model each, propose where good wins.

For each group of labels (those active together), in the order the conditions require, two
Parzen estimators are fitted: l(x) over the group's coordinates in the good trials and g(x)
over the bad ones. Candidates are drawn jointly from l and the one with the largest
log l(x) - log g(x) is proposed, so interactions between the group's labels are learned.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from search.tpe._history import BELOW_FLOOR, GOOD_CANDIDATE, IGNORED
from search.tpe._kernels import Continuous, Kernel, kernel_for
from search.tpe._parzen import Bandwidth, ParzenEstimator
from search.tpe._space import Group, SearchSpace

SPLITS = ("linear", "sqrt")


@dataclasses.dataclass(frozen=True)
class Settings:
    """TPE's settings, named after the terms of Bergstra et al. and Watanabe (2023).

    The defaults were chosen on the tuning half of the grids of training runs in
    benchmarks/search_quality.py (17 LCBench tasks, 8 synthetic grids; the other half reports
    them, see benchmarks/RESULTS.md and docs/proposals.md): ordered value lists modelled by
    their order (`ordinal`), and kernels 0.2 of the width at n = 1 for dimensions with
    finitely many values (`Bandwidth.numeric`) and 0.1 for continuous ones
    (`Bandwidth.continuous`, which keeps issue 8's smooth landscapes as good as before),
    shrinking by Scott's n^(-1/(d+4)); gamma 0.1, as Optuna's and Watanabe's; and
    `distinct_cells`, chosen on the tuning half of the HPOBench-shaped grids (issue 21).

    n_startup_trials: random trials (Hyperopt's random search) before TPE models anything;
        fewer starts exploiting sooner, more guards against an early wrong guess.
    gamma: the fraction of trials called good (at most `max_good`), counting running ones
        in the total; smaller exploits harder (0, as Hyperopt allows, calls none good: the
        proposals come from the prior, weighed against the trials).
    split: how the count of good trials grows with the n trials: "linear", ceil(gamma n)
        (Optuna's and Watanabe's), or "sqrt", ceil(gamma sqrt(n)) (Hyperopt's, so that
        Hyperopt's `gamma` keeps its meaning; see `search.tpe.suggest`).
    prior_weight: the weight of the prior among the components of each estimator (each
        trial weighs 1); larger keeps exploring unvisited regions, 0 (as Hyperopt allows)
        draws only near trials, or from the prior while there are none.
    n_ei_candidates: candidates drawn from l(x) per proposal; more picks the maximum of
        l/g more greedily, fewer keeps more randomness.
    bandwidth: kernel widths (see `Bandwidth`).
    joint_conditionals: model a conditional group (a choice's branch) jointly with the labels
        active wherever it is, drawing it given their chosen values, so that e.g. sgd's
        momentum is learned together with the learning rate; False models each group on its
        own (as Optuna's group decomposition does), which needs fewer trials per estimator.
    ordinal: model ordered indices (a randint, a choice among numbers) by their order, with
        cell kernels that reach neighbouring values, rather than as unordered categories.
    full_edge_cells: give the end values of a quantized range whole cells (see `Cells`).
    floor_information: rank below-floor trials by accuracy (see `_good_mask`).
    distinct_cells: where every label of a group (with the labels it is modelled jointly
        with) takes finitely many values, propose no combination of them that a trial,
        finished or running, already has, while a candidate elsewhere exists: a repeat adds no
        new configuration, and on a noisy objective only a luckier draw of a known one.
    """

    n_startup_trials: int = 10
    gamma: float = 0.1
    split: str = "linear"
    max_good: int = 25
    prior_weight: float = 1.0
    n_ei_candidates: int = 24
    bandwidth: Bandwidth = Bandwidth()
    joint_conditionals: bool = True
    ordinal: bool = True
    full_edge_cells: bool = False
    floor_information: bool = False
    distinct_cells: bool = True

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"TPE split must be one of {', '.join(SPLITS)}, got {self.split!r}")
        problems = []
        if not 0 <= self.gamma < math.inf or self.split == "linear" and self.gamma > 1:
            problems.append(f"gamma {self.gamma!r} must be in [0, 1] (0 or more, and finite, "
                            "with the sqrt split)")
        if not 0 <= self.prior_weight < math.inf:
            problems.append(f"prior_weight {self.prior_weight!r} must be 0 or more, and finite")
        if self.n_ei_candidates < 1:
            problems.append(f"n_ei_candidates {self.n_ei_candidates!r} must be at least 1")
        if self.n_startup_trials < 0:
            problems.append(f"n_startup_trials {self.n_startup_trials!r} must not be negative")
        if problems:
            raise ValueError(f"invalid TPE settings: {'; '.join(problems)}")

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> Settings:
        """Settings from plain data, as a benchmark's command line gives them:
        `{"gamma": 0.15, "bandwidth": {"numeric": 0.2}}`."""
        named: dict[str, Any] = {name: Bandwidth(**value) if name == "bandwidth" else value
                                 for name, value in values.items()}
        return cls(**named)


def propose(space: SearchSpace, coordinates: np.ndarray, losses: np.ndarray,
            outcomes: np.ndarray, settings: Settings, rng: np.random.Generator) -> dict[str, float]:
    """Values for every active label of one new trial (choices as indices), by TPE."""
    known = outcomes != IGNORED
    coordinates, losses, outcomes = coordinates[known], losses[known], outcomes[known]
    good = _good_mask(losses, outcomes, settings)
    chosen: dict[str, float] = {}
    chosen_columns: dict[int, float] = {}  # column -> coordinate, of the labels chosen so far
    for group in space.groups:
        if not group.active(chosen):
            continue
        if not group.modelled:
            for dimension in group.dimensions:
                assert dimension.prior_draw is not None
                chosen[dimension.label] = dimension.prior_draw(chosen, rng)
            continue
        columns = space.columns(group)
        present = ~np.isnan(coordinates[:, columns]).any(axis=1)
        parents = _parents(space, group, chosen_columns, coordinates[present]) if (
            settings.joint_conditionals) else []
        observed = coordinates[:, parents + columns]
        dimensions = tuple(space.dimensions[column] for column in parents) + group.dimensions
        kernels = tuple(kernel_for(dimension, settings.ordinal, settings.full_edge_cells)
                        for dimension in dimensions)
        given = {index: chosen_columns[column] for index, column in enumerate(parents)}
        best = _best_candidate(kernels, observed[present & good], observed[present & ~good],
                               given, settings, rng)[len(parents):]
        for column, dimension, coordinate in zip(columns, group.dimensions, best, strict=False):
            value = dimension.values(np.array([coordinate]))[0]
            chosen[dimension.label] = int(value) if dimension.categorical else float(value)
            chosen_columns[column] = coordinate
    return chosen


def _parents(space: SearchSpace, group: Group, chosen_columns: dict[int, float],
             rows: np.ndarray) -> list[int]:
    """The chosen labels that were active in every trial where `group` was, except the
    choices that switch it on (constant there): the labels it is modelled jointly with."""
    switches = {label for alternative in group.conditions for label, _ in alternative}
    return [column for column in sorted(chosen_columns)
            if space.dimensions[column].label not in switches
            and not np.isnan(rows[:, column]).any()]


def _good_mask(losses: np.ndarray, outcomes: np.ndarray, settings: Settings) -> np.ndarray:
    """The best ceil(gamma * n) finished trials, or ceil(gamma * sqrt(n)) by `split` (pending
    and failed ones are never good).

    With `floor_information`, while too few trials qualify, the below-floor trials with the
    highest accuracy fill the good set: they are the nearest to qualifying."""
    candidates = np.flatnonzero(outcomes == GOOD_CANDIDATE)
    order = candidates[np.argsort(losses[candidates], kind="stable")]
    if settings.floor_information:
        below = np.flatnonzero((outcomes == BELOW_FLOOR) & ~np.isnan(losses))
        order = np.concatenate([order, below[np.argsort(losses[below], kind="stable")]])
    trials = len(losses) if settings.split == "linear" else math.sqrt(len(losses))
    count = min(math.ceil(settings.gamma * trials), settings.max_good, len(order))
    good = np.zeros(len(losses), dtype=bool)
    good[order[:count]] = True
    return good


def _best_candidate(kernels: tuple[Kernel, ...], good: np.ndarray, bad: np.ndarray,
                    given: dict[int, float], settings: Settings, rng: np.random.Generator
                    ) -> np.ndarray:
    """The candidate drawn from l(x | given) with the largest log l(x) - log g(x)."""
    count = len(good) + len(bad) if settings.bandwidth.shared else None
    below = ParzenEstimator(kernels, good, settings.prior_weight, settings.bandwidth,
                            scott_count=count)
    above = ParzenEstimator(kernels, bad, settings.prior_weight, settings.bandwidth,
                            scott_count=count)
    candidates = below.sample(rng, settings.n_ei_candidates, given)
    scores = below.log_pdf(candidates) - above.log_pdf(candidates)
    if settings.distinct_cells and not any(isinstance(k, Continuous) for k in kernels):
        tried = np.concatenate([good, bad])
        repeats = (candidates[:, None, :] == tried[None, :, :]).all(axis=2).any(axis=1)
        if not repeats.all():
            scores = np.where(repeats, -np.inf, scores)
    best: np.ndarray = candidates[int(np.argmax(scores))]
    return best

