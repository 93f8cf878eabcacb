"""search.tpe: our multivariate, parallel-aware TPE, as a Hyperopt algo."""

import dataclasses
import functools
import itertools
import math

import numpy as np
import pytest
from hyperopt import JOB_STATE_DONE, JOB_STATE_RUNNING, STATUS_FAIL, STATUS_OK, Trials, fmin, hp
from hyperopt.base import Domain

import search.tpe
from search.experiment import Experiment
from search.farm.proposals import Proposer
from search.store import open_store
from search.tpe._kernels import Cells
from search.tpe._space import read_space
from spaces import load_space

EVERY_KIND = """\
parameters:
  uniform: {distribution: uniform, min: -2.0, max: 3.0}
  int_uniform: {distribution: int_uniform, min: 1, max: 6}
  q_uniform: {distribution: q_uniform, min: 16, max: 528, q: 32}
  log_uniform_values: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-1}
  q_log_uniform_values: {distribution: q_log_uniform_values, min: 8, max: 1024, q: 8}
  log_uniform: {distribution: log_uniform, min: -3.0, max: 1.0}
  q_log_uniform: {distribution: q_log_uniform, min: 0.0, max: 4.0, q: 0.5}
  normal: {distribution: normal, mu: 1.0, sigma: 2.0}
  q_normal: {distribution: q_normal, mu: 0.0, sigma: 3.0, q: 0.25}
  log_normal: {distribution: log_normal, mu: 0.0, sigma: 1.0}
  q_log_normal: {distribution: q_log_normal, mu: 1.0, sigma: 0.5, q: 1}
  constant: {value: 7}
  optimizer:
    values:
      - name: adamw
      - name: sgd
        parameters:
          momentum: {distribution: uniform, min: 0.8, max: 0.99}
          nesterov: {values: [true, false]}
"""


def every_kind_search(tmp_path, max_evals=40):
    path = tmp_path / "every.yaml"
    path.write_text(EVERY_KIND)
    space = load_space(str(path))

    def loss(params):
        return (params["uniform"] - 1) ** 2 + abs(math.log(params["log_uniform_values"]) + 5)

    trials = Trials()
    fmin(loss, space.graph, algo=search.tpe.suggest, max_evals=max_evals, trials=trials,
         rstate=np.random.default_rng(0), show_progressbar=False)
    return [trial["misc"]["vals"] for trial in trials.trials]


def on_grid(value, q):
    return math.isclose(value / q, round(value / q), abs_tol=1e-9)


def test_every_distribution_kind_is_proposed_within_bounds_and_quantization(tmp_path):
    proposals = every_kind_search(tmp_path)
    assert len(proposals) == 40
    for vals in proposals[10:]:  # after the random startup: TPE's own proposals
        value = {label: values[0] for label, values in vals.items() if values}
        assert -2.0 <= value["uniform"] <= 3.0
        assert value["int_uniform"] in {1, 2, 3, 4, 5, 6}
        assert value["q_uniform"] in range(32, 513, 32)
        assert 1e-5 <= value["log_uniform_values"] <= 1e-1
        assert on_grid(value["q_log_uniform_values"], 8)
        assert 8 <= value["q_log_uniform_values"] <= 1024
        assert math.exp(-3.0) <= value["log_uniform"] <= math.exp(1.0)
        assert on_grid(value["q_log_uniform"], 0.5) and 0.5 <= value["q_log_uniform"] <= 55
        assert math.isfinite(value["normal"])
        assert on_grid(value["q_normal"], 0.25)
        assert value["log_normal"] > 0
        assert on_grid(value["q_log_normal"], 1) and value["q_log_normal"] >= 0
        assert value["optimizer"] in (0, 1)
        assert isinstance(value["optimizer"], int)


def test_conditional_parameter_appears_only_under_its_branch(tmp_path):
    proposals = every_kind_search(tmp_path)
    branches = set()
    for vals in proposals[10:]:
        sgd = vals["optimizer"] == [1]
        branches.add(sgd)
        assert bool(vals["optimizer/sgd/momentum"]) == sgd
        assert bool(vals["optimizer/sgd/nesterov"]) == sgd
        if sgd:
            assert 0.8 <= vals["optimizer/sgd/momentum"][0] <= 0.99
    assert branches == {True, False}


SQUARE = {"x": hp.uniform("x", 0.0, 10.0), "y": hp.uniform("y", 0.0, 10.0)}


def history(points, losses, states=None, results=None):
    """A Trials object holding finished trials at `points` with `losses`."""
    trials = Trials()
    domain = Domain(lambda params: 0.0, SQUARE)
    documents = []
    for tid, ((x, y), loss) in enumerate(zip(points, losses, strict=False)):
        misc = {"tid": tid, "cmd": domain.cmd, "workdir": None,
                "idxs": {"x": [tid], "y": [tid]}, "vals": {"x": [x], "y": [y]}}
        result = (results or {}).get(tid, {"status": STATUS_OK, "loss": loss})
        (document,) = trials.new_trial_docs([tid], [None], [result], [misc])
        document["state"] = (states or {}).get(tid, JOB_STATE_DONE)
        documents.append(document)
    trials.insert_trial_docs(documents)
    trials.refresh()
    return trials, domain


def proposed_points(documents):
    return np.array([[doc["misc"]["vals"]["x"][0], doc["misc"]["vals"]["y"][0]]
                     for doc in documents])


def bowl_points(seed):
    return np.random.default_rng(seed).uniform(0, 10, size=(30, 2))


def bowl_history(seed):
    points = bowl_points(seed)
    losses = ((points - 3.0) ** 2).sum(axis=1)
    return history(points, losses)


def mean_pairwise_distance(points):
    return np.mean([np.linalg.norm(a - b) for a, b in itertools.combinations(points, 2)])


def test_proposals_made_while_trials_run_are_more_spread_out():
    apart, together = [], []
    for seed in range(5):
        trials, domain = bowl_history(seed)
        # Eight asked at once: each counts the ones before it as running.
        apart.append(mean_pairwise_distance(
            proposed_points(search.tpe.suggest(list(range(30, 38)), domain, trials, seed))))
        # Eight asked with the same history and no running trials.
        together.append(mean_pairwise_distance(proposed_points(
            [search.tpe.suggest([30], domain, trials, seed * 100 + i)[0] for i in range(8)])))
    assert np.mean(apart) > 1.5 * np.mean(together)


def test_running_trials_in_the_history_count_as_running():
    rng = np.random.default_rng(0)
    cluster = 3.0 + rng.uniform(-0.2, 0.2, size=(3, 2))  # the three best trials, near (3, 3)
    points = np.vstack([rng.uniform(5, 10, size=(27, 2)), cluster])
    losses = [float(p.sum()) for p in points[:27]] + [0.0, 0.0, 0.0]

    def share_near_cluster(trials, domain):
        proposals = proposed_points(
            [search.tpe.suggest([30], domain, trials, seed)[0] for seed in range(40)])
        return np.mean(np.linalg.norm(proposals - 3.0, axis=1) < 1.0)

    running = {tid: JOB_STATE_RUNNING for tid in range(27, 30)}
    assert share_near_cluster(*history(points, losses, states=running)) < 0.5 * share_near_cluster(
        *history(points, losses))


def test_same_seed_and_history_give_the_same_proposals():
    def propose(seed):
        trials, domain = bowl_history(0)
        documents = search.tpe.suggest([30, 31, 32], domain, trials, seed)
        return [doc["misc"]["vals"] for doc in documents]

    assert propose(4) == propose(4)
    assert propose(4) != propose(5)


def test_fmin_with_our_suggest_improves_on_its_random_startup():
    trials = Trials()
    fmin(lambda p: (p["x"] - 3) ** 2 + (p["y"] - 7) ** 2, SQUARE, algo=search.tpe.suggest,
         max_evals=40, trials=trials, rstate=np.random.default_rng(1), show_progressbar=False)
    losses = trials.losses()
    assert len(losses) == 40
    assert min(losses[10:]) < min(losses[:10])
    assert np.median(losses[10:]) < np.median(losses[:10])


def test_other_settings_make_a_variant_algo():
    def fmin_proposals(algo):
        trials = Trials()
        fmin(lambda p: p["x"], SQUARE, algo=algo, max_evals=8, trials=trials,
             rstate=np.random.default_rng(0), show_progressbar=False)
        return [trial["misc"]["vals"] for trial in trials.trials]

    early = functools.partial(search.tpe.suggest, settings=search.tpe.Settings(n_startup_trials=3))
    default_proposals, early_proposals = fmin_proposals(search.tpe.suggest), fmin_proposals(early)
    # Both start from the same random trials; only the variant models from the fourth on.
    assert early_proposals[:3] == default_proposals[:3]
    assert early_proposals[3] != default_proposals[3]
    with pytest.raises(ValueError):
        search.tpe.Settings(gamma=-0.1)


def test_defaults_are_the_settings_chosen_on_the_tuning_half_and_each_one_acts():
    # A batch size from a list of numbers (modelled by its order) beside a log-uniform rate.
    space = {"batch_size": hp.choice("batch_size", [16, 32, 64, 128, 256, 512]),
             "lr": hp.loguniform("lr", math.log(1e-4), math.log(1e-1))}

    def fmin_proposals(settings=None):
        algo = search.tpe.suggest if settings is None else functools.partial(
            search.tpe.suggest, settings=settings)
        trials = Trials()
        fmin(lambda p: abs(math.log2(p["batch_size"]) - 8) + abs(math.log10(p["lr"]) + 2),
             space, algo=algo, max_evals=25, trials=trials, rstate=np.random.default_rng(0),
             show_progressbar=False)
        return [trial["misc"]["vals"] for trial in trials.trials]

    chosen = search.tpe.Settings(ordinal=True, bandwidth=search.tpe.Bandwidth(
        numeric=0.2, continuous=0.1))
    assert fmin_proposals() == fmin_proposals(chosen)
    unordered = dataclasses.replace(chosen, ordinal=False)
    narrower_lists = dataclasses.replace(chosen, bandwidth=search.tpe.Bandwidth(
        numeric=0.1, continuous=0.1))
    wider_ranges = dataclasses.replace(chosen, bandwidth=search.tpe.Bandwidth(
        numeric=0.2, continuous=None))
    assert fmin_proposals(unordered) != fmin_proposals()
    assert fmin_proposals(narrower_lists) != fmin_proposals()
    assert fmin_proposals(wider_ranges) != fmin_proposals()


def test_bandwidth_setting_changes_how_far_proposals_stray_from_the_good_trials():
    def spread(bandwidth):
        settings = search.tpe.Settings(bandwidth=search.tpe.Bandwidth(
            numeric=bandwidth, continuous=bandwidth, minimum=bandwidth))
        distances = []
        for seed in range(10):
            trials, domain = bowl_history(seed)
            (document,) = search.tpe.suggest([30], domain, trials, seed, settings=settings)
            distances.append(np.linalg.norm(proposed_points([document])[0] - 3.0))
        return np.median(distances)

    assert spread(0.5) > 2 * spread(0.02)


def test_shared_bandwidth_narrows_the_good_trials_kernels_to_the_bad_ones_width():
    # 3 good trials of 30: by their own count their kernels are wider than the bad ones';
    # from the count of all 30 they are as narrow, so proposals stay nearer the good trials.
    def stray(shared):
        settings = search.tpe.Settings(bandwidth=search.tpe.Bandwidth(shared=shared))
        distances = []
        for seed in range(20):
            trials, domain = bowl_history(seed)
            good = np.array(sorted(bowl_points(seed), key=lambda p: ((p - 3.0) ** 2).sum())[:3])
            (document,) = search.tpe.suggest([30], domain, trials, seed, settings=settings)
            point = proposed_points([document])[0]
            distances.append(np.linalg.norm(good - point, axis=1).min())
        return np.median(distances)

    assert stray(True) < 0.85 * stray(False)


@pytest.mark.parametrize("bad", [
    {"status": STATUS_FAIL, "loss": -100.0},
    {"status": STATUS_OK, "loss": float("nan")},
    {"status": STATUS_OK, "loss": None},
    {"status": STATUS_OK, "loss": 0.0, "below_accuracy_floor": True},
], ids=["failed", "nan", "no-loss", "below-floor"])
def test_failed_and_below_floor_trials_never_draw_proposals_to_themselves(bad):
    rng = np.random.default_rng(0)
    good_points = rng.uniform(0, 5, size=(20, 2))  # ordinary trials, the best near (0, 0)
    bad_points = rng.uniform(7.5, 8.5, size=(3, 2))  # the bad trials, around (8, 8)
    points = np.vstack([good_points, bad_points])
    losses = [1.0 + p.sum() for p in good_points] + [-100.0] * 3
    results = {tid: dict(bad) for tid in range(20, 23)}

    def share_near_bad(trials, domain):
        proposals = proposed_points(
            [search.tpe.suggest([23], domain, trials, seed)[0] for seed in range(40)])
        return np.mean(np.abs(proposals - 8.0).max(axis=1) < 1.5)

    assert share_near_bad(*history(points, losses, results=results)) < 0.1
    # The same points scored as ordinary, excellent trials would attract the proposals.
    assert share_near_bad(*history(points, losses)) > 0.5


def recorded_experiment(store, exp_key):
    opened = open_store(str(store))
    try:
        return opened.experiment(exp_key), opened.jobs(exp_key)
    finally:
        opened.close()


def test_search_proposes_with_ours_by_default_and_records_the_algo(tmp_path, hpsearch):
    def search(exp_key, *extra):
        completed = hpsearch("search", "--store", str(tmp_path), "--exp-key", exp_key,
                             "--objective", "noop", "--epochs", "1", "--max-evals", "3",
                             "--startup-trials", "2", *extra)
        assert completed.returncode == 0, completed.stderr
        return recorded_experiment(tmp_path, exp_key)

    experiment, jobs = search("default")
    assert experiment.algo == "tpe"
    assert len(jobs) == 3
    experiment, _ = search("random", "--algo", "random")
    assert experiment.algo == "random"
    # A resume keeps the algorithm the experiment was recorded with.
    experiment, jobs = search("random", "--algo", "anneal", "--max-evals", "4")
    assert experiment.algo == "random" and len(jobs) == 4


def test_experiment_recorded_before_the_algo_field_reads_as_hyperopt_tpe():
    document = Experiment(exp_key="old", space={}, objective="digits", epochs=1,
                          min_accuracy=0.5).to_document()
    del document["algo"]
    assert Experiment.from_document(document).algo == "hyperopt-tpe"


@pytest.mark.parametrize("algo", ["tpe", "hyperopt-tpe", "anneal", "random"])
def test_proposer_honours_startup_trials_and_keeps_one_trials_object(algo):
    proposer = Proposer("key", SQUARE, seed=0, startup_trials=3, algo=algo)
    jobs = []
    for tid in range(6):
        job = proposer.propose(tid)
        assert 0 <= job["misc"]["params"]["x"] <= 10
        jobs.append({**job, "state": JOB_STATE_DONE,
                     "result": {"status": STATUS_OK, "loss": job["misc"]["params"]["x"]}})
        proposer.record(jobs[-1:])  # only the job that changed
    assert len(proposer._trials.trials) == 6  # every proposal saw every earlier job
    assert [doc["result"]["loss"] for doc in proposer._trials.trials] == [
        job["result"]["loss"] for job in jobs]


def test_distinct_cells_proposes_no_cell_already_tried_while_another_is_left():
    space = {"a": hp.randint("a", 5), "b": hp.quniform("b", 0, 4, 1)}  # 25 cells

    def cells(settings):
        trials = Trials()
        fmin(lambda p: (p["a"] - 2) ** 2 + (p["b"] - 2) ** 2, space, max_evals=25,
             algo=functools.partial(search.tpe.suggest, settings=settings), trials=trials,
             rstate=np.random.default_rng(3), show_progressbar=False)
        return [(t["misc"]["vals"]["a"][0], t["misc"]["vals"]["b"][0]) for t in trials.trials]

    startup = search.tpe.Settings().n_startup_trials
    distinct = cells(search.tpe.Settings())
    assert all(cell not in distinct[:i] for i, cell in enumerate(distinct) if i >= startup)
    repeating = cells(search.tpe.Settings(distinct_cells=False))
    assert any(cell in repeating[:i] for i, cell in enumerate(repeating) if i >= startup)


def test_cell_kernels_on_shared_cells_give_each_component_its_own_density() -> None:
    """Kernels on the same cell with the same width are computed once and spread back: every
    component's log density is the one it has alone, in the order given."""
    space = read_space(Domain(lambda params: 0.0,
                              {"batch": hp.quniform("batch", 16, 528, 32)}))
    kernel = Cells(space.dimensions[0], full_edges=False)
    rng = np.random.default_rng(3)
    centres = kernel.snap(rng.uniform(kernel.low, kernel.high, 300))
    sigmas = np.where(rng.random(300) < 0.5, 40.0, 90.0)
    points = kernel.snap(rng.uniform(kernel.low, kernel.high, 24))
    together, prior = kernel.log_pdfs(points, centres, sigmas)
    assert len(np.unique(centres + 1j * sigmas)) < 40  # many components share a kernel
    alone = np.column_stack([kernel.log_pdfs(points, centres[[i]], sigmas[[i]])[0][:, 0]
                             for i in range(len(centres))])
    np.testing.assert_array_equal(together, alone)
    np.testing.assert_array_equal(prior, kernel.log_pdfs(points, centres[:1], sigmas[:1])[1])
