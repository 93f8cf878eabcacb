"""Every construct of `hyperopt.hp` runs through `fmin` with `algo=search.tpe.suggest`."""

import numpy as np
from hyperopt import Trials, fmin, hp

import search.tpe


def search_with_ours(loss, space, max_evals=25, seed=0):
    """The trials of a small fmin search with our algo (10 random startup trials, then TPE)."""
    trials = Trials()
    fmin(loss, space, algo=search.tpe.suggest, max_evals=max_evals, trials=trials,
         rstate=np.random.default_rng(seed), show_progressbar=False)
    assert len(trials.trials) == max_evals
    return trials


def modelled_vals(trials):
    """The values of the trials TPE proposed (after the random startup), label -> value."""
    return [{label: values[0] for label, values in trial["misc"]["vals"].items() if values}
            for trial in trials.trials[10:]]


def test_pchoice_is_proposed_and_its_better_option_is_preferred():
    trials = search_with_ours(lambda option: {"a": 1.0, "b": 0.0, "c": 2.0}[option],
                              hp.pchoice("option", [(0.2, "a"), (0.1, "b"), (0.7, "c")]),
                              max_evals=30)
    chosen = [vals["option"] for vals in modelled_vals(trials)]
    assert set(chosen) <= {0, 1, 2}
    assert chosen.count(1) > len(chosen) / 2
