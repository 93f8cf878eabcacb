"""Pruning evidence between the driver and the workers, through the store.

The driver folds every finished result into the experiment's evidence (search.pruning) and
publishes it as one document; each worker reads that document by key when a trial starts and
then at most about once a second (`evidence_for`), and decides pruning locally from it. So a
farm decides as one process would, with evidence older by at most the driver's publishing
interval, its poll, and the worker's refresh period: about two seconds. Stale evidence holds
fewer results and a lower incumbent, so the exact bound prunes less, save in the seconds after
a confirmation run pulled the leader's pooled score down. A worker that cannot read the store
does not prune; the trial goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from objectives import ShouldPrune
from search.clock import SYSTEM_CLOCK, Clock
from search.configurations import configuration_key
from search.documents import JobDoc, is_finished
from search.experiment import Experiment
from search.pruning import (
    NO_EVIDENCE,
    CachedEvidence,
    Evidence,
    EvidenceBuilder,
    Pruner,
    make_pruner,
    should_prune,
)
from search.store import EvidenceTooLarge, Store, StoreError
from search.trial import Trial

log = logging.getLogger(__name__)

FARM_PUBLISH_INTERVAL = 1.0  # seconds between two publications of a farm's evidence


def experiment_pruner(experiment: Experiment) -> Pruner | None:
    """The pruner the experiment records, built by name (None: it prunes nothing)."""
    return make_pruner(experiment.pruner, min_accuracy=experiment.min_accuracy)


class EvidencePublisher:
    """The driver's side: the evidence of every finished trial, published when it changed,
    at most once per `min_interval` seconds (0 for an embedded search, whose one trial at a
    time must see every result before it)."""

    def __init__(self, store: Store, experiment: Experiment, min_interval: float,
                 clock: Clock = SYSTEM_CLOCK) -> None:
        self._store = store
        self._clock = clock
        self._exp_key = experiment.exp_key
        pruner = experiment_pruner(experiment)
        self._builder = (EvidenceBuilder(pruner.grid, experiment.min_accuracy)
                         if pruner is not None else None)
        self._folded: set[int] = set()
        self._min_interval = min_interval
        self._changed = False
        self._published_at = float("-inf")
        self._refused = False  # too large for the store: it is not sent again
        self._failing = False  # the last publication was refused (said once)

    def record(self, jobs: Iterable[JobDoc]) -> None:
        """Fold the results of jobs that finished ok (final: each is folded once; a failed
        trial's result may still be replaced by a late one, and adds no evidence anyway),
        the runs of one configuration pooled as `best` pools them."""
        if self._builder is None:
            return
        for job in jobs:
            result = job.get("result")
            if (is_finished(job) and job["tid"] not in self._folded
                    and isinstance(result, dict) and result.get("status") == "ok"):
                self._folded.add(job["tid"])
                self._builder.add(result, configuration_key(Trial.from_job(job)))
                self._changed = True

    def publish_if_due(self) -> None:
        """Publish the evidence if it changed and the interval has passed."""
        if self._clock.now() - self._published_at >= self._min_interval:
            self.flush()

    def flush(self) -> None:
        """Publish the evidence now if it changed: when a search ends, so that what it leaves
        in the store holds every result (a later search or worker starts from all of them)."""
        if self._builder is None or not self._changed or self._refused:
            return
        now = self._clock.now()
        self._published_at = now
        try:
            self._store.publish_pruning_evidence(self._exp_key,
                                                 self._builder.evidence().to_document())
        except EvidenceTooLarge as error:  # pruning is a saving: the search goes on without it
            log.warning("%s; workers now prune by the evidence published last (stale evidence "
                        "prunes less), and the search goes on", error)
            self._refused = True
        except StoreError as error:  # refused this once: sent again at the next interval
            if not self._failing:
                log.warning("%s; it is sent again until it is taken, and workers prune by "
                            "the evidence published last meanwhile", error)
            self._failing = True
            return
        self._failing = False
        self._changed = False


def evidence_for(store: Store, exp_key: str, clock: Clock = SYSTEM_CLOCK) -> CachedEvidence:
    """The worker's side: the experiment's published evidence, read at most once a second
    (None while the store cannot be read: no pruning then)."""

    def read() -> Evidence:
        document = store.pruning_evidence(exp_key)
        return NO_EVIDENCE if document is None else Evidence.from_document(document)

    return CachedEvidence(read, clock=clock.now)


def trial_pruning(pruner: Pruner | None, evidence: CachedEvidence, job: JobDoc
                  ) -> ShouldPrune | None:
    """What a trial's `report_epoch` asks, or None when nothing may stop it: the experiment
    prunes nothing, or the trial is a confirmation run (`repeat_of`). A repeat is there to
    measure its configuration again; judged against the incumbent, which is often its own
    original, it would be stopped whenever it ran slower, and only the runs that agree with
    a lucky original would ever count."""
    if pruner is None or job.get("repeat_of") is not None:
        return None
    return should_prune(pruner, evidence)
