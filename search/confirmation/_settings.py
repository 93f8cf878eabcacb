"""How much of a search confirmation may spend, and on what: plain data an experiment records."""

from __future__ import annotations

import dataclasses
from typing import Any

from search.configurations import REPRODUCIBLE_SPREAD

OFF = "none"
DEFAULT = "default"


@dataclasses.dataclass(frozen=True)
class ConfirmationSettings:
    """The confirmation schedule's settings (chosen by `benchmarks/confirmed_best.py`).

    Attributes:
        fraction: At most this share of the trials, at every point of the search, are
            repeats; 0 turns confirmation off. More confirms better and explores less.
        leaders: How many of the best configurations (by pooled mean score) are candidates
            for a repeat. More spreads repeats over challengers; fewer keeps them on the
            incumbent.
        runs: A leader is repeated until it has this many runs (finished, failed or pending).
        start_after: No repeat before this many configurations have finished: the first
            leaders of a search are rarely the last.
        negligible_spread: When the runs measured so far spread by less than this fraction
            of the score (seed to seed), the objective reproduces and repeats stop.
    """

    fraction: float = 0.15
    leaders: int = 3
    runs: int = 3
    start_after: int = 10
    negligible_spread: float = REPRODUCIBLE_SPREAD

    def __post_init__(self) -> None:
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError(f"the confirmation fraction must be in [0, 1), got {self.fraction!r}")
        for name in ("leaders", "runs", "start_after"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"confirmation {name} must be a positive integer, got {value!r}")
        if self.negligible_spread < 0:
            raise ValueError("confirmation negligible_spread must not be negative, got "
                             f"{self.negligible_spread!r}")

    @property
    def enabled(self) -> bool:
        return self.fraction > 0

    def to_document(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> ConfirmationSettings:
        """The settings an experiment recorded.

        Raises:
            ValueError: a field is unknown or out of range (any program can write the
                database).
        """
        unknown = set(document) - {field.name for field in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown confirmation settings: {', '.join(sorted(unknown))}")
        return cls(**document)


DISABLED = ConfirmationSettings(fraction=0.0)


def parse_confirm(choice: str | float) -> ConfirmationSettings:
    """`--confirm`: `none` (off), `default`, or the fraction of trials to spend (`0.1`, as
    text or as a number).

    Raises:
        ValueError: anything else, with what is accepted.
    """
    fraction = -1.0
    if isinstance(choice, int | float) and not isinstance(choice, bool):
        fraction = float(choice)
    elif isinstance(choice, str):
        text = choice.strip().lower()
        if text == OFF:
            return DISABLED
        if text == DEFAULT:
            return ConfirmationSettings()
        try:
            fraction = float(text)
        except ValueError:
            pass
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"confirm (--confirm) takes {OFF!r}, {DEFAULT!r} or a fraction of the "
                         f"trials in [0, 1) such as 0.15, not {choice!r}")
    return dataclasses.replace(ConfirmationSettings(), fraction=fraction)
