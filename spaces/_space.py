"""What a loaded search space is: the hyperopt graph plus a flat, plain-data description."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EPOCHS = "epochs"  # the label whose draws are a trial's epochs (see docs/spaces.md)


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
    because ``record`` already determines it. ``document`` is the parsed file: what the
    space means, its comments, layout and file name aside, which is what a resume compares.
    """

    name: str
    record: dict[str, Any]
    graph: object = field(compare=False, repr=False)
    parameters: tuple[Parameter, ...]
    document: Any = field(default=None, compare=False, repr=False)

    @property
    def searches_epochs(self) -> bool:
        """Each trial trains the epochs it draws (the `epochs` label), not the experiment's."""
        return any(parameter.label == EPOCHS for parameter in self.parameters)
