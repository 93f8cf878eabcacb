"""The `experiments` collection: one document per experiment, its `_id` the experiment key."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection

from search.experiment import Experiment, MalformedExperiment, check_same_definition
from search.store._base import StoreError, check_exp_key
from search.store._mongo._connection import Connection
from search.store._mongo._server_clock import ServerClock

log = logging.getLogger(__name__)


class Experiments:
    """Records experiments and reads them back."""

    def __init__(self, connection: Connection, experiments: Collection[dict[str, Any]],
                 location: str, clock: ServerClock) -> None:
        self._connection = connection
        self._experiments = experiments
        self._location = location
        self._clock = clock

    def record(self, experiment: Experiment) -> Experiment:
        """Record a new experiment, or resume the recorded one (see Store.record_experiment).
        A new one is `created` by the server's clock: experiments list oldest first, whichever
        hosts their drivers ran on."""
        check_exp_key(experiment.exp_key)
        experiment = dataclasses.replace(experiment, created=self._clock.now())
        document = {"_id": experiment.exp_key, **experiment.to_document()}
        if self._connection.insert_once(self._experiments, document):
            return experiment
        recorded = self.get(experiment.exp_key)
        assert recorded is not None
        check_same_definition(recorded, experiment)
        latest = recorded.latest(experiment)
        document = latest.to_document()
        resumed = {name: document[name] for name in Experiment.RESUMABLE}
        self._connection.call(lambda: self._experiments.update_one(
            {"_id": experiment.exp_key}, {"$set": resumed}))
        return latest

    def get(self, exp_key: str) -> Experiment | None:
        """The recorded experiment, or None.

        Raises:
            StoreError: its document is malformed.
        """
        document = self._connection.call(lambda: self._experiments.find_one({"_id": exp_key}))
        try:
            return Experiment.from_document(document) if document else None
        except MalformedExperiment as error:
            raise StoreError(f"{error} in {self._location}; repair or delete that document "
                             "in the experiments collection") from None

    def all(self) -> list[Experiment]:
        """Every well-formed experiment, oldest first; a malformed one is logged, left out."""
        documents = self._connection.call(
            lambda: list(self._experiments.find().sort("created", ASCENDING)))
        found = []
        for document in documents:
            try:
                found.append(Experiment.from_document(document))
            except MalformedExperiment as error:
                log.warning("skipping it: %s", error)
        return found
