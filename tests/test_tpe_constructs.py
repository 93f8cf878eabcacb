"""Every construct of `hyperopt.hp` runs through `fmin` with `algo=search.tpe.suggest`."""

import numpy as np
from hyperopt import Trials, fmin, hp
from hyperopt.pyll import scope

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


def test_an_option_of_weight_zero_is_never_proposed_even_beside_the_best():
    # Kernels on the good option 2 reach its neighbour 1, which the prior never draws.
    space = {"n": hp.pchoice("n", [(0.0, 1), (0.5, 2), (0.5, 3)]),
             "opt": hp.pchoice("opt", [(0.0, "sgd"), (1.0, "adam")]),
             "x": hp.uniform("x", 0, 1)}
    trials = search_with_ours(lambda p: p["x"] + (p["n"] != 2), space, max_evals=60)
    proposed = modelled_vals(trials)
    assert all(vals["n"] != 0 and vals["opt"] != 0 for vals in proposed)
    assert sum(vals["n"] == 1 for vals in proposed) > len(proposed) / 2  # the good one, 2


def test_spaces_with_one_option_or_an_option_of_weight_zero_raise_no_float_error():
    for space in ({"c": hp.choice("c", ["adam"]), "x": hp.uniform("x", 0, 1)},
                  {"c": hp.pchoice("c", [(0.0, "sgd"), (1.0, "adam")]),
                   "x": hp.uniform("x", 0, 1)}):
        with np.errstate(all="raise"):
            search_with_ours(lambda p: p["x"], space, max_evals=15)


def test_a_trials_resumed_with_fewer_options_goes_on_as_hyperopts_own():
    for before, after, allowed in ((hp.choice("c", [0, 1, 2, 3]), hp.choice("c", [0, 1]), {0, 1}),
                                   (hp.randint("c", 10), hp.randint("c", 3), {0, 1, 2})):
        trials = Trials()
        for space, max_evals in ((before, 15), (after, 30)):
            fmin(lambda c: float(c), space, algo=search.tpe.suggest, max_evals=max_evals,
                 trials=trials, rstate=np.random.default_rng(0), show_progressbar=False)
        assert len(trials.trials) == 30
        assert {trial["misc"]["vals"]["c"][0] for trial in trials.trials[15:]} <= allowed


def test_integer_constructs_give_integers_in_their_ranges():
    space = {"uniformint": hp.uniformint("uniformint", 2, 9),
             "randint": hp.randint("randint", 5),
             "randint_low_high": hp.randint("randint_low_high", 12, 25)}

    def loss(p):
        return abs(p["uniformint"] - 8) + abs(p["randint"] - 1) + abs(p["randint_low_high"] - 20)

    trials = search_with_ours(loss, space, max_evals=40)
    for vals in modelled_vals(trials):
        assert vals["uniformint"] in range(2, 10)
        assert vals["randint"] in range(5)
        assert vals["randint_low_high"] in range(12, 25)
        assert float(vals["randint"]).is_integer()
    assert min(trials.losses()[10:]) < min(trials.losses()[:10])


def on_grid(value, q):
    return np.isclose(value / q, round(value / q), atol=1e-9)


def test_quantized_and_log_constructs_stay_on_their_grids_and_bounds():
    space = {"quniform": hp.quniform("quniform", 0, 10, 3),
             "loguniform": hp.loguniform("loguniform", -2, 0),
             "qloguniform": hp.qloguniform("qloguniform", 0, 3, 2),
             "normal": hp.normal("normal", 4, 7),
             "qnormal": hp.qnormal("qnormal", 0, 10, 2),
             "lognormal": hp.lognormal("lognormal", -2, 2),
             "qlognormal": hp.qlognormal("qlognormal", 0, 2, 1)}
    trials = search_with_ours(lambda p: (p["normal"] - 1) ** 2 + p["quniform"], space)
    for vals in modelled_vals(trials):
        assert on_grid(vals["quniform"], 3) and 0 <= vals["quniform"] <= 9
        assert np.exp(-2) <= vals["loguniform"] <= 1
        assert on_grid(vals["qloguniform"], 2) and 0 <= vals["qloguniform"] <= 20
        assert on_grid(vals["qnormal"], 2)
        assert vals["lognormal"] > 0
        assert on_grid(vals["qlognormal"], 1) and vals["qlognormal"] >= 0


def test_nested_choices_propose_each_label_only_under_its_path():
    space = hp.choice("model", [
        {"kind": "linear", "c": hp.loguniform("c", -5, 2)},
        {"kind": "tree", "depth": hp.choice("depth", [
            {"fixed": hp.randint("levels", 2, 8)},
            {"grown": hp.uniform("min_leaf", 0.0, 1.0)},
        ])},
    ])

    def loss(params):
        if params["kind"] == "linear":
            return abs(np.log(params["c"]))
        depth = params["depth"]
        return 0.5 * depth["fixed"] if "fixed" in depth else depth["grown"]

    for vals in modelled_vals(search_with_ours(loss, space, max_evals=30)):
        tree = vals["model"] == 1
        assert ("c" in vals) == (not tree)
        assert ("depth" in vals) == tree
        assert ("levels" in vals) == (tree and vals["depth"] == 0)
        assert ("min_leaf" in vals) == (tree and vals["depth"] == 1)


def test_choices_of_dicts_lists_and_tuples_are_searched_as_spaces():
    space = {"options": hp.choice("shape", [
        {"x": hp.uniform("dict_x", -1, 1)},
        ["list", hp.uniform("list_x", -1, 1), hp.uniform("list_y", -1, 1)],
        ("tuple", hp.normal("tuple_x", 0, 1)),
    ])}

    def loss(params):
        options = params["options"]  # Hyperopt evaluates lists and tuples alike, as tuples
        if isinstance(options, dict):
            return options["x"] ** 2 + 0.5
        if options[0] == "list":
            return options[1] ** 2 + options[2] ** 2
        return options[1] ** 2 + 1.0

    trials = search_with_ours(loss, space, max_evals=30)
    assert {vals["shape"] for vals in modelled_vals(trials)} <= {0, 1, 2}
    assert min(trials.losses()[10:]) < min(trials.losses()[:10])


def test_scope_arithmetic_over_parameters_as_in_hyperopts_test_domains():
    x = hp.uniform("x", -20, 20)
    curve = hp.choice("curve", [x, x + np.pi])  # gauss_wave: one label under both options
    gauss_wave = -(scope.sin(curve) + 2 * scope.exp(-((curve / 5) ** 2)))
    pair = hp.choice("o_x", [(-3, hp.uniform("x_neg", -5, 5)), (3, hp.uniform("x_pos", -5, 5))])
    q1_choice = (pair[0] - pair[1]) ** 2  # q1_choice: indexing into a chosen tuple
    total = (hp.randint("b", 10) + hp.randint("bb", 12, 25) + hp.qloguniform("f", 0, 3, 2)
             + hp.pchoice("k", [(0.1, 0), (0.9, 1)]))  # many_dists: a sum of every kind
    many_dists = scope.float(scope.log(1e-12 + (total - 20) ** 2))
    scaled = hp.uniform("scaled", 0, scope.int(2) * 5)  # constant arithmetic in the bounds
    space = gauss_wave + q1_choice + scope.min(many_dists, 10) + (scaled - 7) ** 2
    trials = search_with_ours(lambda loss: loss, space, max_evals=40)
    for vals in modelled_vals(trials):
        assert "x" in vals and ("x_neg" in vals) == (vals["o_x"] == 0)
        assert 0 <= vals["scaled"] <= 10
    assert min(trials.losses()[10:]) < min(trials.losses()[:10])


def test_label_used_under_two_branches_is_active_under_exactly_those():
    rate = hp.loguniform("rate", -7, 0)
    space = hp.choice("optimizer", [
        {"name": "sgd", "rate": rate, "momentum": hp.uniform("momentum", 0.5, 0.99)},
        {"name": "adam", "rate": rate},
        {"name": "fixed"},
    ])

    def loss(params):
        return abs(np.log(params["rate"]) + 3) if "rate" in params else 5.0

    trials = search_with_ours(loss, space, max_evals=30)
    for vals in modelled_vals(trials):
        assert ("rate" in vals) == (vals["optimizer"] in (0, 1))
        assert ("momentum" in vals) == (vals["optimizer"] == 0)
    rates = [vals["rate"] for vals in modelled_vals(trials) if "rate" in vals]
    assert np.median(np.abs(np.log(rates) + 3)) < 1.5  # the rate is learned across branches


def test_labels_it_cannot_model_are_drawn_from_their_prior_given_their_parents():
    limit = hp.uniform("limit", 1, 2)
    space = {"limit": limit,
             "below_limit": hp.uniform("below_limit", 0, limit),  # bounds from another label
             "count": hp.randint("count", scope.int(limit) + 3),
             "unknown": scope.hyperopt_param("unknown", scope.randint_via_categorical([0.3, 0.7]))}
    trials = search_with_ours(lambda p: p["below_limit"] + p["limit"], space, max_evals=25)
    for vals in modelled_vals(trials):
        assert 0 <= vals["below_limit"] <= vals["limit"] <= 2
        assert vals["count"] in range(int(vals["limit"]) + 3)
        assert vals["unknown"] in (0, 1)


def test_trials_of_one_tid_merged_from_two_searches_are_two_trials_not_a_crash():
    """Two Trials merged (insert_trial_docs) repeat tids; stock TPE takes them as they come."""
    def loss(params):
        return (params["x"] - 1) ** 2

    space = {"x": hp.uniform("x", -5, 5)}
    first, second, merged = Trials(), Trials(), Trials()
    for trials, seed in ((first, 1), (second, 2)):
        fmin(loss, space, algo=search.tpe.suggest, max_evals=10, trials=trials,
             rstate=np.random.default_rng(seed), show_progressbar=False)
    merged.insert_trial_docs([*first.trials, *second.trials])
    merged.refresh()
    fmin(loss, space, algo=search.tpe.suggest, max_evals=25, trials=merged,
         rstate=np.random.default_rng(3), show_progressbar=False)
    assert len(merged.trials) == 25


def test_a_loss_of_minus_infinity_is_the_best_there_is_as_stock_tpe_ranks_it():
    def loss(params):
        return -np.inf if -3 <= params["x"] < -2 else (params["x"] - 1) ** 2

    trials = search_with_ours(loss, {"x": hp.uniform("x", -5, 5)}, max_evals=40)
    modelled = [trial["misc"]["vals"]["x"][0] for trial in trials.trials[20:]]
    assert sum(-3 <= x < -2 for x in modelled) >= 3
