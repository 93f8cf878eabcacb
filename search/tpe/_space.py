"""The search space as TPE sees it, read from a Hyperopt `Domain`.

Every label becomes one `Dimension` with an internal coordinate in which the Parzen kernels
live: the value itself for uniform and normal families, its natural log for the log families
(so a kernel spreads over orders of magnitude), and the index for a choice or randint.
Labels that are active under the same conditions form one `Group`, modelled jointly.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
from hyperopt.base import Domain
from hyperopt.pyll import as_apply, rec_eval

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


@dataclasses.dataclass(frozen=True)
class Dimension:
    """One label: how its values map to the coordinate the kernels use, and back.

    Numeric dimensions are bounded (`low`/`high` are the coordinate's bounds) or, for the normal
    families, unbounded with a Gaussian prior (`mu`, `sigma` in coordinate units). Categorical
    ones (choice, randint) have `choices` indices offset by `offset`, with `prior` weights.
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

    @property
    def categorical(self) -> bool:
        return self.choices > 0

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.low)

    @property
    def scale(self) -> float:
        """The width of the prior in coordinate units: bandwidths are fractions of it."""
        return self.high - self.low if self.bounded else 4.0 * self.sigma

    def coordinate(self, value: float) -> float:
        """The coordinate of a stored value (a choice's value is already its index)."""
        if self.categorical:
            return float(value) - self.offset
        if self.log:
            value = math.log(value) if value > 0 else self._smallest_log
        return min(max(float(value), self.low), self.high)

    def values(self, coordinates: np.ndarray) -> np.ndarray:
        """The values Hyperopt stores for coordinates: exp for logs, rounded to q, or indices."""
        if self.categorical:
            return np.asarray(np.rint(coordinates) + self.offset, dtype=float)
        values = np.exp(coordinates) if self.log else np.asarray(coordinates, dtype=float)
        if self.q is not None:
            values = np.round(values / self.q) * self.q
        return np.asarray(values, dtype=float)

    def snap(self, coordinates: np.ndarray) -> np.ndarray:
        """Coordinates moved onto the values that can actually be stored (quantized, in bounds)."""
        if self.categorical:
            return np.asarray(np.clip(np.rint(coordinates), 0, self.choices - 1), dtype=float)
        if self.q is None:
            return np.asarray(np.clip(coordinates, self.low, self.high), dtype=float)
        values = self.values(coordinates)
        if self.log:
            values = np.log(np.maximum(values, math.exp(self._smallest_log)))
        return np.asarray(np.clip(values, self.low, self.high), dtype=float)

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
    conditions: frozenset[tuple[tuple[str, int], ...]]

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
    """The TPE view of a Hyperopt domain.

    Raises:
        ValueError: for a stochastic node this TPE does not model.
    """
    found: dict[str, _Found] = {}
    _walk(as_apply(domain.expr), (), found)
    choices = {label: _dimension(label, entry.node).choices for label, entry in found.items()
               if entry.node.name in ("randint", "categorical")}
    dimensions = tuple(_dimension(label, found[label].node) for label in sorted(found))
    by_conditions: dict[frozenset[tuple[tuple[str, int], ...]], list[Dimension]] = {}
    for dimension in dimensions:
        conditions = _simplified(found[dimension.label].conditions, choices)
        by_conditions.setdefault(conditions, []).append(dimension)
    groups = [Group(tuple(members), conditions) for conditions, members in by_conditions.items()]
    groups.sort(key=lambda group: (group.depth, group.dimensions[0].label))
    return SearchSpace(dimensions, tuple(groups))


Condition = tuple[tuple[str, int], ...]  # (choice label, option index) pairs that must all hold


@dataclasses.dataclass
class _Found:
    """A label's distribution node and every path of choices under which it is evaluated."""

    node: Any
    conditions: set[Condition]


def _walk(expr: Any, conditions: Condition, found: dict[str, _Found]) -> None:
    """Record every label under `expr` with the choices that lead to it (Hyperopt's
    `expr_to_config`, without its assumptions about argument nodes)."""
    if expr.name == "switch":
        index, *options = expr.inputs()
        if index.name == "hyperopt_param" and index.arg["obj"].name in ("randint", "categorical"):
            _walk(index, conditions, found)
            label = index.arg["label"].obj
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


def _dimension(label: str, node: Any) -> Dimension:
    kind = node.name
    if kind not in _ARGUMENTS:
        raise ValueError(f"search.tpe cannot model {kind!r} (label {label!r})")
    arguments = dict(zip(_ARGUMENTS[kind], (rec_eval(arg) for arg in node.pos_args), strict=False))
    arguments.update((name, rec_eval(arg)) for name, arg in node.named_args)
    if kind == "randint":
        low, high = (0, arguments["low"]) if arguments.get("high") is None else (
            arguments["low"], arguments["high"])
        count = int(high) - int(low)
        return Dimension(label, kind, choices=count, offset=int(low), prior=(1.0 / count,) * count)
    if kind == "categorical":
        weights = np.asarray(arguments["p"], dtype=float).ravel()
        return Dimension(label, kind, choices=len(weights), prior=tuple(weights / weights.sum()))
    log = kind.removeprefix("q").startswith("log")
    q = float(arguments["q"]) if "q" in arguments else None
    if "low" in arguments:
        return Dimension(label, kind, low=float(arguments["low"]), high=float(arguments["high"]),
                         q=q, log=log)
    return Dimension(label, kind, mu=float(arguments["mu"]), sigma=float(arguments["sigma"]),
                     q=q, log=log)
