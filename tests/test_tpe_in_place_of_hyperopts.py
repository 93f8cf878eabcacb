"""Ours in place of `hyperopt.tpe.suggest`: Hyperopt's keywords, and Hyperopt's own test domains
under the thresholds Hyperopt's TPE is held to there."""

import functools
import math

import numpy as np
import pytest
from hyperopt import Trials, fmin, hp, tpe
from hyperopt.tests.unit import test_domains
from hyperopt.tests.unit import test_tpe as hyperopts_tpe_tests

import search.tpe
from search.tpe._history import GOOD_CANDIDATE
from search.tpe._hyperopt_keywords import with_hyperopt_keywords
from search.tpe._sampler import _good_mask


def proposals(algo, max_evals=16, seed=0):
    trials = Trials()
    fmin(lambda x: (x - 0.3) ** 2, hp.uniform("x", 0, 1), algo=algo, trials=trials,
         max_evals=max_evals, rstate=np.random.default_rng(seed), show_progressbar=False)
    return [trial["misc"]["vals"]["x"][0] for trial in trials.trials]


def test_hyperopts_keywords_are_read_in_hyperopts_meaning():
    settings = with_hyperopt_keywords(
        search.tpe.DEFAULT_SETTINGS, prior_weight=2.5, n_startup_jobs=3, n_ei_candidates=64,
        gamma=0.25)
    assert (settings.prior_weight, settings.n_startup_trials, settings.n_ei_candidates) == (
        2.5, 3, 64)
    assert (settings.gamma, settings.split, settings.max_good) == (0.25, "sqrt", 25)
    # Hyperopt's gamma: ceil(0.25 * sqrt(100)) = 3 good trials of 100, not a quarter of them.
    losses = np.arange(100.0)
    outcomes = np.full(100, GOOD_CANDIDATE, dtype=np.int8)
    assert np.flatnonzero(_good_mask(losses, outcomes, settings)).tolist() == [0, 1, 2]
    assert _good_mask(losses, outcomes, search.tpe.Settings(gamma=0.25)).sum() == 25


def test_a_partial_of_hyperopts_suggest_keeps_working_with_ours():
    ours = functools.partial(search.tpe.suggest, n_startup_jobs=4, n_EI_candidates=8,
                             prior_weight=1.5, gamma=0.25, verbose=False)
    with_keywords, default = proposals(ours), proposals(search.tpe.suggest)
    # The first four are the same random startup draws; from the fifth on, ours models
    # where the default still draws at random until the tenth.
    assert with_keywords[:4] == default[:4]
    assert with_keywords[4:10] != default[4:10]
    assert proposals(functools.partial(search.tpe.suggest, n_startup_jobs=0))[0] != default[0]


def test_bad_hyperopt_keywords_are_refused_with_what_was_wrong():
    with pytest.raises(ValueError, match="invalid TPE settings: gamma -0.5 must be"):
        proposals(functools.partial(search.tpe.suggest, gamma=-0.5))
    with pytest.raises(ValueError, match="gamma inf must be .* finite"):
        proposals(functools.partial(search.tpe.suggest, gamma=math.inf))
    with pytest.raises(ValueError, match="n_startup_trials -1 must not be negative"):
        proposals(functools.partial(search.tpe.suggest, n_startup_jobs=-1))


def test_the_edge_values_hyperopts_tpe_takes_work_with_ours_too():
    # A prior of weight 0 (draws only near trials) and gamma 0 (no trial called good).
    for keywords in ({"prior_weight": 0.0}, {"gamma": 0.0}):
        suggest = functools.partial(search.tpe.suggest, n_startup_jobs=3, **keywords)
        with np.errstate(all="raise", under="ignore"):
            assert len(proposals(suggest)) == len(proposals(search.tpe.suggest))


@pytest.mark.parametrize("name", ["quadratic1", "q1_lognormal", "n_arms", "distractor",
                                  "gauss_wave", "gauss_wave2", "many_dists", "branin"])
def test_hyperopts_test_domains_reach_the_thresholds_its_tpe_is_held_to(name):
    # Hyperopt's own TestOpt, with ours as the algo: its keywords, trial counts and
    # thresholds, with floating-point errors raised as there.
    hyperopts = hyperopts_tpe_tests.TestOpt
    domain = getattr(test_domains, name)()
    algo = functools.partial(
        search.tpe.suggest,
        gamma=hyperopts.gammas.get(name, tpe._default_gamma),
        prior_weight=hyperopts.prior_weights.get(name, tpe._default_prior_weight),
        n_EI_candidates=hyperopts.n_EIs.get(name, tpe._default_n_EI_candidates))
    trials, evals = Trials(), hyperopts.LEN.get(name, 50)
    with np.errstate(all="raise", under="ignore"):
        fmin(lambda result: result, space=domain.expr, algo=algo, trials=trials,
             max_evals=evals, rstate=np.random.default_rng(0), show_progressbar=False)
    assert len(trials) == evals
    assert min(trials.losses()) < hyperopts.thresholds[name]
