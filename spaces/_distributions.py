"""The numeric distributions of the sweep-file vocabulary, and the hyperopt node for each.

Names and meanings follow W&B sweep files; each maps onto one ``hp.*`` function so that
TPE sees an ordinary hyperopt space.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from hyperopt import hp
from hyperopt.pyll import Apply, scope

from ._errors import Location
from ._space import Parameter


def _equally_likely_integers(label: str, low: int, high: int) -> Apply:
    # hp.uniformint rounds over [low, high], which gives both ends half the weight of the
    # integers between; widening by 1/2 on each side makes every integer equally likely.
    return scope.int(hp.quniform(label, low - 0.5, high + 0.5, 1))


@dataclass(frozen=True)
class Distribution:
    """How one distribution name turns its numbers into a hyperopt node.

    ``values_are_positive``: ``min``/``max`` are values whose logarithm hyperopt needs.
    ``bounds_are_logs``: ``min``/``max`` are already natural logs (W&B ``log_uniform``).
    """

    keys: tuple[str, ...]
    sampler: Callable[..., Apply]
    log: bool = False
    values_are_positive: bool = False
    bounds_are_logs: bool = False
    integer_bounds: bool = False

    def build(
        self, name: str, label: str, numbers: dict[str, float], at: Location, condition: str | None
    ) -> tuple[Apply, Parameter]:
        """The hyperopt node and its description; raises SpaceError for impossible numbers."""
        self._check(name, numbers, at)
        arguments = [numbers[key] for key in self.keys]
        if self.values_are_positive:
            arguments[:2] = math.log(numbers["min"]), math.log(numbers["max"])
        node = self.sampler(label, *arguments)
        if "q" in self.keys and self.draws_integers(numbers):
            node = scope.int(node)
        low, high = numbers.get("min"), numbers.get("max")
        if self.bounds_are_logs:
            low, high = math.exp(numbers["min"]), math.exp(numbers["max"])
        parameter = Parameter(
            label, name, low=low, high=high, q=numbers.get("q"), condition=condition,
            log=self.log, mu=numbers.get("mu"), sigma=numbers.get("sigma"),
        )
        return node, parameter

    def _check(self, name: str, numbers: dict[str, float], at: Location) -> None:
        for key in ("q", "sigma"):
            if key in numbers and numbers[key] <= 0:
                raise at.key(key).error(
                    f"{key} must be positive, got {numbers[key]!r}",
                    "use a number above 0"
                    + (", e.g. q: 32 for multiples of 32" if key == "q" else ""),
                )
        if "min" in numbers:
            self._check_bounds(name, numbers, at)
        elif self.log and numbers["mu"] + 10 * numbers["sigma"] > _LARGEST_NATURAL_LOG:
            raise at.key("mu").error(
                f"{name} takes mu and sigma of the natural log of the value, and "
                f"e**({numbers['mu']!r} + 10 * {numbers['sigma']!r}) overflows",
                "give mu and sigma as natural logs, e.g. mu: -6.9 for values around 1e-3",
            )
        if "q" in numbers and not math.isfinite(self._largest_draw(numbers) / numbers["q"]):
            raise at.key("q").error(
                f"q={numbers['q']!r} is too small for the range", "use a larger q"
            )
        if self.draws_integers(numbers) and "min" in numbers \
                and self._largest_draw(numbers) >= LARGEST_DRAWN_INTEGER:
            raise at.error(
                f"{name} draws integers up to about {self._largest_draw(numbers):.1e}, beyond "
                f"2**52 ({LARGEST_DRAWN_INTEGER}): draws are made in floating point, which "
                "skips integers there and can leave the range",
                "narrow the range, or write a bound with a decimal point (1.0e20) to draw floats",
            )
        if self.draws_integers(numbers) and self._largest_draw(numbers) >= LARGEST_STORED_INTEGER:
            raise at.error(
                f"{name} draws integers up to about {self._largest_draw(numbers):.1e}, beyond "
                "the 64-bit integers the database stores",
                "narrow the range, or write a number with a decimal point (1.0e20) to draw "
                "floats",
            )

    def draws_integers(self, numbers: dict[str, float]) -> bool:
        """Whether the draws are ints: integer bounds, or a quantized distribution written
        entirely in integers."""
        return self.integer_bounds or ("q" in self.keys
                                       and all(isinstance(numbers[key], int) for key in self.keys))

    def _largest_draw(self, numbers: dict[str, float]) -> float:
        """Roughly the largest magnitude a draw reaches (ten sigma for the normal family)."""
        if "mu" in numbers:
            if self.log:
                return math.exp(numbers["mu"] + 10 * numbers["sigma"])
            return abs(numbers["mu"]) + 10 * numbers["sigma"]
        if self.bounds_are_logs:
            return math.exp(numbers["max"])
        return max(abs(numbers["min"]), abs(numbers["max"]))

    def _check_bounds(self, name: str, numbers: dict[str, float], at: Location) -> None:
        low, high = numbers["min"], numbers["max"]
        if self.integer_bounds:
            for key in ("min", "max"):
                if not isinstance(numbers[key], int):
                    raise at.key(key).error(
                        f"{name} needs integer bounds, got {numbers[key]!r}",
                        f"write a whole number without a decimal point, e.g. {key}: "
                        f"{math.floor(numbers[key])}",
                    )
        if not low < high:
            raise at.error(
                f"min ({low!r}) must be less than max ({high!r})",
                "swap or correct the bounds; for a single value use `value:` instead",
            )
        if self.values_are_positive and low <= 0:
            raise at.key("min").error(
                f"{name} needs positive bounds (it samples their logarithm), got min {low!r}",
                "use a positive min such as 1.0e-8, or `uniform` if the range must include 0",
            )
        if self.bounds_are_logs and high > _LARGEST_NATURAL_LOG:
            raise at.key("max").error(
                f"{name} bounds are natural logs, and e**{high!r} overflows",
                "give bounds as natural logs (e.g. -11.5 for 1e-5), or use "
                f"{name}_values with min/max as plain values",
            )
        if self.bounds_are_logs and low < -_LARGEST_NATURAL_LOG:
            raise at.key("min").error(
                f"{name} bounds are natural logs, and e**{low!r} is 0 in floating point",
                "give bounds as natural logs (e.g. -11.5 for 1e-5), or use "
                f"{name}_values with min/max as plain values",
            )


# Far beyond any hyperparameter, and small enough that sums of bounds and draws stay finite.
LARGEST_NUMBER = 1e300
# MongoDB's (and BSON's) integers are 64-bit.
LARGEST_STORED_INTEGER = 2**63
# A range's integers are drawn as rounded floats (hyperopt's quniform), which stay exact, with
# the half steps the rounding needs, below 2**52. (The normal family's draws are rarely near
# their ten-sigma bound: for them only the database's limit holds.)
LARGEST_DRAWN_INTEGER = 2**52
_LARGEST_NATURAL_LOG = math.log(LARGEST_NUMBER)

DISTRIBUTIONS: dict[str, Distribution] = {
    "uniform": Distribution(("min", "max"), hp.uniform),
    "int_uniform": Distribution(("min", "max"), _equally_likely_integers, integer_bounds=True),
    # W&B semantics: round(X / q) * q with X ~ uniform(min, max), so min and max themselves
    # come up half as often as the values between; widen both by q/2 for equal weights.
    "q_uniform": Distribution(("min", "max", "q"), hp.quniform),
    "log_uniform_values": Distribution(
        ("min", "max"), hp.loguniform, log=True, values_are_positive=True
    ),
    "q_log_uniform_values": Distribution(
        ("min", "max", "q"), hp.qloguniform, log=True, values_are_positive=True
    ),
    "log_uniform": Distribution(("min", "max"), hp.loguniform, log=True, bounds_are_logs=True),
    "q_log_uniform": Distribution(
        ("min", "max", "q"), hp.qloguniform, log=True, bounds_are_logs=True
    ),
    "normal": Distribution(("mu", "sigma"), hp.normal),
    "q_normal": Distribution(("mu", "sigma", "q"), hp.qnormal),
    "log_normal": Distribution(("mu", "sigma"), hp.lognormal, log=True),
    "q_log_normal": Distribution(("mu", "sigma", "q"), hp.qlognormal, log=True),
}
