"""The results of one experiment for a notebook: typed trials, the best, the front, a DataFrame.

    import search
    results = search.results("./hpsearch-runs", "demo")
    results.best(3)              # [Configuration(tid=17, runs=3, accuracy=0.97, ...), ...]
    # one row per trial, needs pandas (pip install 'hpsearch[dataframe]')
    results.trials_dataframe()

The same queries the CLI prints, read once from either store.
"""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING

from search.configurations import Configuration
from search.experiment import Experiment
from search.reports import queries
from search.store import Store, check_exp_key, opened_store
from search.trial import Trial, trials_of

if TYPE_CHECKING:
    import pandas


@dataclasses.dataclass(frozen=True)
class ExperimentResults:
    """A snapshot of an experiment's trials; call `search.results` again for a fresh one."""

    experiment: Experiment
    trials: tuple[Trial, ...]

    @classmethod
    def read(cls, store: Store, exp_key: str) -> ExperimentResults:
        """The experiment's trials as `store` holds them now.

        Raises:
            StoreError: the store holds no experiment `exp_key`.
        """
        experiment = store.experiment(exp_key)
        if experiment is None:
            raise queries.unknown_experiment(store, exp_key)
        return cls(experiment, tuple(trials_of(store.jobs(exp_key))))

    def __repr__(self) -> str:
        """One line, as a notebook shows it: every trial's fields would run to a megabyte."""
        counts = queries.count_by_state(self.trials)
        states = ", ".join(f"{count} {state}" for state, count in counts.items() if count)
        return (f"ExperimentResults(exp_key={self.experiment.exp_key!r}, "
                f"trials={len(self.trials)}{f' ({states})' if states else ''})")

    def best(self, n: int = 5, *, min_accuracy: float | None = None,
             sort: str = "score", include_pruned: bool = False) -> list[Configuration]:
        """The `n` best configurations (every run of the same hyperparameters pooled) by
        score (the evidence's ranking: a lucky single run does not head it), `accuracy` or
        `time`; pruned runs only if `include_pruned`; see `queries.best_configurations`.
        Single runs are in `trials`."""
        return queries.best_configurations(self.trials, n, self.experiment.min_accuracy,
                                           min_accuracy=min_accuracy, sort=sort,
                                           include_pruned=include_pruned)

    def pareto_front(self, *, below_floor: bool = False,
                     include_pruned: bool = False) -> list[Configuration]:
        """The accuracy-vs-training-time front of the configurations (their means), fastest
        first (see `queries.pareto_front`)."""
        return queries.configuration_front(self.trials, self.experiment.min_accuracy,
                                           below_floor=below_floor,
                                           include_pruned=include_pruned)

    def trials_dataframe(self) -> pandas.DataFrame:
        """One row per trial, each hyperparameter a column, as `hpsearch export` writes them.

        Raises:
            ImportError: pandas is not installed (it is the `dataframe` extra).
        """
        try:
            import pandas
        except ImportError:
            raise ImportError("trials_dataframe() needs pandas: pip install 'hpsearch[dataframe]'"
                              ) from None
        rows = [trial.row() for trial in self.trials]
        return pandas.DataFrame(rows, columns=None if rows else ["tid"]).set_index("tid")


def results(store_location: str | os.PathLike[str], exp_key: str) -> ExperimentResults:
    """Read an experiment's trials from a store directory or a `mongodb://` URL.

    Raises:
        StoreError: the store cannot be opened, or holds no experiment `exp_key` (or the key
            is not one).
    """
    check_exp_key(exp_key)
    with opened_store(store_location) as store:
        return ExperimentResults.read(store, exp_key)
