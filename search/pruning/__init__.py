"""Stopping trials that cannot win: pruners for a score of accuracy per second.

Pure code (no store, no CLI): a pruner decides from one `objectives.EpochReport` and the
experiment's `Evidence` (the incumbent, rung records and finished curves), both plain data.

- `bound`: the exact rule. Accuracy is at most a ceiling, so a trial that will have trained
  T seconds scores at most ceiling / T; once that falls below the incumbent it cannot win.
- `asha`: the bound, then rungs in training seconds on the projected score, which also
  stop fast trials that learn poorly.
- `curve`: the bound, then the accuracy a trial needs to win against the final accuracy of
  finished trials whose learning curves looked like its own so far.
- `none`.

Evidence is a fold of one immutable record per finished trial (`trial_evidence`, a pure
function of its result; `EvidenceBuilder` folds them), so a farm decides as one process
would, only from results older by the time they take to reach the worker. A worker reads it
through `CachedEvidence` (at most once a second; an unreadable store means no pruning) and
hands the trial ``should_prune(pruner, evidence)``.
"""

from search.pruning._bound import DEFAULT_MARGIN, BoundPruner
from search.pruning._cache import CachedEvidence
from search.pruning._curve import CurvePruner
from search.pruning._evidence import (
    MIN_EPOCHS,
    NO_EVIDENCE,
    Evidence,
    EvidenceBuilder,
    RungGrid,
    TrialEvidence,
    evidence_from_results,
    projected_score,
    pruned_estimate,
    trial_evidence,
)
from search.pruning._pruner import (
    DEFAULT_PRUNER,
    PRUNER_NAMES,
    PRUNERS,
    Pruner,
    PrunerKind,
    make_pruner,
    should_prune,
)
from search.pruning._rungs import RungPruner

__all__ = [
    "DEFAULT_PRUNER",
    "DEFAULT_MARGIN",
    "MIN_EPOCHS",
    "NO_EVIDENCE",
    "PRUNERS",
    "PRUNER_NAMES",
    "BoundPruner",
    "CachedEvidence",
    "CurvePruner",
    "Evidence",
    "EvidenceBuilder",
    "Pruner",
    "PrunerKind",
    "RungGrid",
    "RungPruner",
    "TrialEvidence",
    "evidence_from_results",
    "make_pruner",
    "projected_score",
    "pruned_estimate",
    "should_prune",
    "trial_evidence",
]
