"""What a loaded search space is: the hyperopt graph plus a flat, plain-data description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Parameter:
    """One searched (or constant) value, described for listings and plots.

    ``low`` and ``high`` are in the units the objective receives, so a ``log_uniform``
    declared with natural-log bounds reports them exponentiated; quantized draws are
    rounded to a multiple of ``q`` and may lie up to ``q/2`` outside them. ``mu`` and
    ``sigma`` are set only for the normal family, ``values`` only for ``categorical``
    (the branch names for a nested choice) and ``constant`` (the one value).
    """

    label: str
    distribution: str
    low: float | None = None
    high: float | None = None
    q: float | None = None
    values: tuple[Any, ...] | None = None
    condition: str | None = None
    log: bool = False
    mu: float | None = None
    sigma: float | None = None


@dataclass(frozen=True)
class SearchSpace:
    """A search space ready for hyperopt, and the record that rebuilds it elsewhere.

    ``record`` is plain data (``{"builtin": name}`` or ``{"file": name, "yaml": text}``)
    so the database never has to carry pickled code; ``graph`` is left out of equality
    because ``record`` already determines it.
    """

    name: str
    record: dict[str, Any]
    graph: object = field(compare=False, repr=False)
    parameters: tuple[Parameter, ...]
