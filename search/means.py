"""The mean that pooled runs are judged by, in the reports and in the pruners alike."""

from __future__ import annotations

import math
from collections.abc import Sequence


def pooled_mean(values: Sequence[float]) -> float:
    """The mean, exactly the value when all are equal (so one run, or equal runs, sit on the
    same side of the floor as each run does), and the same in any order (so the pruners'
    incumbent, which folds runs as they come, puts a configuration on the side of the floor
    `best` does)."""
    base = min(values)
    return base + math.fsum(value - base for value in values) / len(values)
