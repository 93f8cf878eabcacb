"""The search space as TPE sees it, read from a Hyperopt `Domain`.

Every label becomes one `Dimension` with an internal coordinate in which the Parzen kernels
live: the value itself for uniform and normal families, its natural log for the log families
(so a kernel spreads over orders of magnitude), and the index for a choice or randint.
Labels that are active under the same conditions form one `Group`, modelled jointly.
A label whose distribution this TPE cannot model (its bounds computed from other labels, or a
stochastic node it does not know) is still proposed: drawn from its prior, by Hyperopt's own
sampler, given the values chosen for the labels it depends on.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from hyperopt.base import Domain
from hyperopt.pyll import Literal, as_apply, dfs, rec_eval, scope

# Hyperopt's stochastic nodes, and the names of their arguments in order.
_ARGUMENTS = {
    "uniform": ("low", "high"),
    "quniform": ("low", "high", "q"),
    "loguniform": ("low", "high"),
    "qloguniform": ("low", "high", "q"),
    "normal": ("mu", "sigma"),
    "qnormal": ("mu", "sigma", "q"),
    "lognormal": ("mu", "sigma"),
    "qlognormal": ("mu", "sigma", "q"),
    "randint": ("low", "high"),
    "categorical": ("p", "upper"),
}

Condition = tuple[tuple[str, int], ...]  # (choice label, option index) pairs that must all hold


@dataclasses.dataclass(frozen=True, eq=False)
class PriorDraw:
    """A label drawn from its prior by Hyperopt's sampler: `distribution` is its stochastic
    node, `parents` the (label, hyperopt_param node) pairs its arguments are computed from."""

    distribution: Any
    parents: tuple[tuple[str, Any], ...]

    def __call__(self, chosen: dict[str, float], rng: np.random.Generator) -> float:
        """One draw, with the parents at their `chosen` values (a choice's as its index)."""
        memo = {node: chosen[label] for label, node in self.parents if label in chosen}
        arguments = [rec_eval(argument, memo=memo) for argument in self.distribution.pos_args]
        named = {name: rec_eval(argument, memo=memo)
                 for name, argument in self.distribution.named_args if name != "rng"}
        draw = rec_eval(getattr(scope, self.distribution.name)(*arguments, rng=rng, **named))
        value = np.asarray(draw).ravel()[0]  # some samplers return an array of one draw
        return int(value) if np.issubdtype(type(value), np.integer) else float(value)


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One label: how its values map to the coordinate the kernels use, and back.

    Numeric dimensions are bounded (`low`/`high` are the coordinate's bounds) or, for the normal
    families, unbounded with a Gaussian prior (`mu`, `sigma` in coordinate units). Categorical
    ones (choice, randint) have `choices` indices offset by `offset`, with `prior` weights.
    Ordered ones (a randint, or a choice among numbers) have `ranks`: the coordinate of stored
    index i is `ranks[i]`, its place in the order of the values.
    A dimension with a `prior_draw` is not modelled: it has no coordinate (NaN) and its values
    come from that draw.
    """

    label: str
    kind: str
    low: float = -math.inf
    high: float = math.inf
    mu: float = 0.0
    sigma: float = 1.0
    q: float | None = None
    log: bool = False
    choices: int = 0
    offset: int = 0
    prior: tuple[float, ...] = ()
    ranks: tuple[int, ...] = ()
    prior_draw: PriorDraw | None = None

    @property
    def modelled(self) -> bool:
        return self.prior_draw is None

    @property
    def categorical(self) -> bool:
        return self.choices > 0

    @property
    def ordered(self) -> bool:
        return bool(self.ranks)

    @property
    def ordered_prior(self) -> np.ndarray:
        """The prior weights by coordinate (by rank, for ordered choices)."""
        if not self.ranks:
            return np.asarray(self.prior)
        weights = np.empty(self.choices)
        weights[list(self.ranks)] = self.prior
        return weights

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low)

    @property
    def scale(self) -> float:
        """The width of the prior in coordinate units: bandwidths are fractions of it."""
        return self.high - self.low if self.bounded else 4.0 * self.sigma

    def coordinate(self, value: float) -> float:
        """The coordinate of a stored value (a choice's value is already its index); NaN,
        as if inactive, for an index the space no longer has (a `Trials` resumed after its
        space lost options)."""
        if not self.modelled:
            return math.nan
        if self.categorical:
            index = int(value) - self.offset
            if not 0 <= index < self.choices:
                return math.nan
            return float(self.ranks[index] if self.ranks else index)
        if self.log:
            value = math.log(value) if value > 0 else self._smallest_log
        if self.q is not None:  # a stored multiple of q may lie just outside the bounds
            return float(value)
        return min(max(float(value), self.low), self.high)

    def values(self, coordinates: np.ndarray) -> np.ndarray:
        """The values Hyperopt stores for coordinates: exp for logs, rounded to q (onto a value
        a draw in bounds can round to), or indices."""
        if self.categorical:
            indices = np.rint(coordinates).astype(int)
            if self.ranks:
                indices = np.argsort(self.ranks)[indices]
            return np.asarray(indices + self.offset, dtype=float)
        values = np.exp(coordinates) if self.log else np.asarray(coordinates, dtype=float)
        if self.q is not None:
            steps = np.round(values / self.q)
            if self.bounded:
                steps = np.clip(steps, *self.step_range)
            values = steps * self.q
        return np.asarray(values, dtype=float)

    @property
    def step_range(self) -> tuple[int, int]:
        """The multiples of q a bounded quantized draw can round to: those whose rounding
        cell [k q - q/2, k q + q/2] overlaps the bounds by more than a point."""
        assert self.q is not None
        low, high = (math.exp(self.low), math.exp(self.high)) if self.log else (self.low,
                                                                                  self.high)
        return math.floor(low / self.q - 0.5) + 1, math.ceil(high / self.q + 0.5) - 1

    def snap(self, coordinates: np.ndarray) -> np.ndarray:
        """Coordinates moved onto the values that can actually be stored (quantized, in bounds)."""
        if self.categorical:
            return np.asarray(np.clip(np.rint(coordinates), 0, self.choices - 1), dtype=float)
        if self.q is None:
            return np.asarray(np.clip(coordinates, self.low, self.high), dtype=float)
        values = self.values(coordinates)
        if self.log:
            return np.asarray(np.log(np.maximum(values, math.exp(self._smallest_log))), dtype=float)
        return values

    @property
    def _smallest_log(self) -> float:
        """Where a value of 0 (a quantized log draw rounded down) sits: its rounding cell."""
        if self.bounded:
            return self.low
        return math.log(self.q / 2) if self.q else -math.inf


@dataclasses.dataclass(frozen=True)
class Group:
    """Labels active under the same conditions, in one joint Parzen estimator.

    `conditions` is Hyperopt's: a set of alternatives, each a tuple of (choice label, index)
    requirements that must all hold; the empty tuple means always active.
    """

    dimensions: tuple[Dimension, ...]
    conditions: frozenset[Condition]

    @property
    def modelled(self) -> bool:
        return all(dimension.modelled for dimension in self.dimensions)

    @property
    def requires(self) -> set[str]:
        """The labels that must be chosen before this group: its switches and, for labels
        drawn from their prior, the labels their distributions depend on."""
        labels = {label for alternative in self.conditions for label, _ in alternative}
        for dimension in self.dimensions:
            if dimension.prior_draw is not None:
                labels.update(label for label, _ in dimension.prior_draw.parents)
        return labels

    @property
    def depth(self) -> int:
        return min(len(alternative) for alternative in self.conditions)

    def active(self, chosen: dict[str, float]) -> bool:
        """Whether the group applies, given the values chosen so far."""
        return any(
            all(label in chosen and int(chosen[label]) == index for label, index in alternative)
            for alternative in self.conditions
        )


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """Every dimension, and the groups in an order where a group's conditions come first."""

    dimensions: tuple[Dimension, ...]
    groups: tuple[Group, ...]

    def columns(self, group: Group) -> list[int]:
        """The columns of the history arrays that hold `group`'s coordinates."""
        return [self.dimensions.index(dimension) for dimension in group.dimensions]


def read_space(domain: Domain) -> SearchSpace:
    """The TPE view of a Hyperopt domain."""
    found: dict[str, _Found] = {}
    _walk(as_apply(domain.expr), (), found)
    dimensions = tuple(_dimension(label, found[label]) for label in sorted(found))
    choices = {dimension.label: dimension.choices for dimension in dimensions}
    by_conditions: dict[tuple[frozenset[Condition], bool], list[Dimension]] = {}
    for dimension in dimensions:
        conditions = _simplified(found[dimension.label].conditions, choices)
        by_conditions.setdefault((conditions, dimension.modelled), []).append(dimension)
    groups = [Group(tuple(members), conditions)
              for (conditions, _), members in by_conditions.items()]
    return SearchSpace(dimensions, _ordered(groups))


def _ordered(groups: list[Group]) -> tuple[Group, ...]:
    """The groups, shallowest first, each after the groups holding the labels it requires."""
    remaining = sorted(groups, key=lambda group: (group.depth, group.dimensions[0].label))
    placed: list[Group] = []
    chosen: set[str] = set()
    while remaining:
        ready = next((group for group in remaining if group.requires <= chosen), remaining[0])
        remaining.remove(ready)
        placed.append(ready)
        chosen.update(dimension.label for dimension in ready.dimensions)
    return tuple(placed)


@dataclasses.dataclass
class _Found:
    """A label's distribution node, every path of choices under which it is evaluated, and
    the options it picks from when it is a choice's index."""

    node: Any
    conditions: set[Condition]
    options: tuple[Any, ...] | None = None


def _walk(expr: Any, conditions: Condition, found: dict[str, _Found]) -> None:
    """Record every label under `expr` with the choices that lead to it (Hyperopt's
    `expr_to_config`, without its assumptions about argument nodes)."""
    if expr.name == "switch":
        index, *options = expr.inputs()
        if index.name == "hyperopt_param" and index.arg["obj"].name in ("randint", "categorical"):
            _walk(index, conditions, found)
            label = index.arg["label"].obj
            found[label].options = tuple(options)
            for position, option in enumerate(options):
                _walk(option, (*conditions, (label, position)), found)
            return
    if expr.name == "hyperopt_param":
        label = expr.arg["label"].obj
        node = expr.arg["obj"]
        entry = found.setdefault(label, _Found(node, set()))
        if conditions in entry.conditions:
            return
        entry.conditions.add(conditions)
        expr = node
    for child in expr.inputs():
        _walk(child, conditions, found)


def _simplified(alternatives: set[Condition], choices: dict[str, int]
                ) -> frozenset[Condition]:
    """The same conditions with paths that cover every option of a choice merged into their
    common prefix, and paths implied by shorter ones dropped: a label used under every
    option of a choice is active whenever the choice is."""
    current = {frozenset(alternative) for alternative in alternatives}
    changed = True
    while changed:
        changed = False
        for alternative in list(current):
            for label, index in alternative:
                rest = alternative - {(label, index)}
                siblings = {rest | {(label, other)} for other in range(choices.get(label, 0))}
                if siblings and siblings <= current:
                    current = (current - siblings) | {rest}
                    changed = True
                    break
            if changed:
                break
        kept = {alternative for alternative in current
                if not any(other < alternative for other in current)}
        changed = changed or kept != current
        current = kept
    return frozenset(tuple(sorted(alternative)) for alternative in current)


def _dimension(label: str, found: _Found) -> Dimension:
    node = found.node
    kind = node.name
    parents = tuple((parent.arg["label"].obj, parent) for parent in dfs(node)
                    if parent.name == "hyperopt_param")
    if kind not in _ARGUMENTS or parents:
        return Dimension(label, kind, prior_draw=PriorDraw(node, parents))
    arguments = dict(zip(_ARGUMENTS[kind], (rec_eval(arg) for arg in node.pos_args), strict=False))
    arguments.update((name, rec_eval(arg)) for name, arg in node.named_args)
    if kind == "randint":
        low, high = (0, arguments["low"]) if arguments.get("high") is None else (
            arguments["low"], arguments["high"])
        count = int(high) - int(low)
        return Dimension(label, kind, choices=count, offset=int(low), prior=(1.0 / count,) * count,
                         ranks=_ranks(found.options) if found.options else tuple(range(count)))
    if kind == "categorical":
        weights = np.asarray(arguments["p"], dtype=float).ravel()
        return Dimension(label, kind, choices=len(weights), prior=tuple(weights / weights.sum()),
                         ranks=_ranks(found.options or ()))
    log = kind.removeprefix("q").startswith("log")
    q = float(arguments["q"]) if "q" in arguments else None
    if "low" in arguments:
        return Dimension(label, kind, low=float(arguments["low"]), high=float(arguments["high"]),
                         q=q, log=log)
    return Dimension(label, kind, mu=float(arguments["mu"]), sigma=float(arguments["sigma"]),
                     q=q, log=log)


def _ranks(options: tuple[Any, ...]) -> tuple[int, ...]:
    """Each option's place in the order of the options' values, when they are all distinct
    plain numbers (a choice of batch sizes is ordered); otherwise () (unordered)."""
    numbers: list[float] = [float(option.obj) for option in options if isinstance(option, Literal)
               and isinstance(option.obj, int | float | np.number)
               and not isinstance(option.obj, bool | np.bool_)]
    if not options or len(numbers) < len(options) or len(set(numbers)) < len(numbers):
        return ()
    return tuple(int(rank) for rank in np.argsort(np.argsort(numbers)))
