"""The built-in `default` space, as a built-in and as a YAML file: what objectives receive."""

import collections
import json
import math
from importlib import resources

import numpy as np
import pytest
from hyperopt import STATUS_OK, Trials, fmin, space_eval, tpe
from hyperopt.pyll import stochastic

from spaces import (
    SearchSpace,
    SpaceError,
    builtin_space_names,
    describe_space,
    load_space,
    sample_space,
    space_from_record,
)

DRAWS = 5000
SEED = 20240611
BATCH_SIZES = list(range(32, 513, 32))


@pytest.fixture(scope="module", params=["builtin", "file"])
def default_space(request, tmp_path_factory) -> SearchSpace:
    """`default` loaded by name, and the same YAML loaded as a user's file."""
    if request.param == "builtin":
        return load_space("default")
    path = tmp_path_factory.mktemp("spaces") / "mydefault.yaml"
    path.write_text(resources.files("spaces").joinpath("default.yaml").read_text())
    return load_space(str(path))


@pytest.fixture(scope="module")
def draws(default_space) -> list[dict]:
    return sample_space(default_space, DRAWS, SEED)


def test_default_is_a_builtin_space():
    assert "default" in builtin_space_names()


def test_builtin_record_names_the_builtin_only():
    space = load_space("default")
    assert space.name == "default"
    assert space.record == {"builtin": "default"}


def test_file_record_carries_the_whole_yaml_text(tmp_path):
    text = resources.files("spaces").joinpath("default.yaml").read_text()
    (tmp_path / "myspace.yaml").write_text(text)
    space = load_space(str(tmp_path / "myspace.yaml"))
    assert space.name == "myspace.yaml"
    assert space.record == {"file": "myspace.yaml", "yaml": text}


def test_params_dict_has_exactly_the_documented_shape(draws):
    for params in draws:
        assert set(params) == {"lr", "batch_size", "weight_decay", "optimizer", "scheduler"}
        assert params["optimizer"]["name"] in ("adamw", "sgd")
        assert params["scheduler"]["name"] in ("cosine", "plateau")


def test_lr_lies_in_its_log_range(draws):
    assert all(type(p["lr"]) is float and 1e-5 <= p["lr"] <= 1e-1 for p in draws)


def test_lr_is_log_uniform_about_half_below_1e_3(draws):
    below = sum(p["lr"] < 1e-3 for p in draws) / DRAWS
    assert below == pytest.approx(0.5, abs=0.03)


def test_lr_gives_each_decade_a_quarter_of_draws(draws):
    decades = collections.Counter(math.floor(math.log10(p["lr"])) for p in draws)
    assert set(decades) <= {-5, -4, -3, -2, -1}
    for decade in (-5, -4, -3, -2):
        assert decades[decade] / DRAWS == pytest.approx(0.25, abs=0.03), decades


def test_weight_decay_is_log_uniform_in_range(draws):
    values = [p["weight_decay"] for p in draws]
    assert all(type(v) is float and 1e-8 <= v <= 1e-4 for v in values)
    below = sum(v < 1e-6 for v in values) / DRAWS
    assert below == pytest.approx(0.5, abs=0.03)


def test_batch_size_is_int_multiple_of_32(draws):
    for params in draws:
        size = params["batch_size"]
        assert type(size) is int
        assert size % 32 == 0 and 32 <= size <= 512


def test_all_16_batch_sizes_are_equally_likely(draws):
    counts = collections.Counter(p["batch_size"] for p in draws)
    assert sorted(counts) == BATCH_SIZES
    expected = DRAWS / len(BATCH_SIZES)
    # the endpoints are where plain quniform(32, 512, 32) would give half weight
    for size in BATCH_SIZES:
        assert counts[size] == pytest.approx(expected, rel=0.2), counts


@pytest.mark.parametrize("choice, branch, knobs, other", [
    ("optimizer", "sgd", {"momentum": (float, 0.8, 0.99), "nesterov": (bool, None, None)}, "adamw"),
    ("scheduler", "plateau", {"patience": (int, 1, 5), "factor": (float, 0.1, 0.5)}, "cosine"),
])
def test_conditional_parameters_appear_only_under_their_branch(draws, choice, branch, knobs,
                                                                other):
    for params in draws:
        chosen = params[choice]
        if chosen["name"] == branch:
            assert set(chosen) == {"name", *knobs}
            for knob, (kind, low, high) in knobs.items():
                assert type(chosen[knob]) is kind
                if low is not None:
                    assert low <= chosen[knob] <= high
        else:
            assert chosen == {"name": other}


def test_both_optimizers_and_both_nesterov_settings_occur(draws):
    optimizers = collections.Counter(p["optimizer"]["name"] for p in draws)
    assert optimizers["sgd"] / DRAWS == pytest.approx(0.5, abs=0.03)
    nesterov = {p["optimizer"]["nesterov"] for p in draws if p["optimizer"]["name"] == "sgd"}
    assert nesterov == {True, False}


def test_patience_is_an_equally_likely_int_from_1_to_5(draws):
    patience = [p["scheduler"]["patience"] for p in draws if p["scheduler"]["name"] == "plateau"]
    assert all(type(value) is int for value in patience)
    counts = collections.Counter(patience)
    assert sorted(counts) == [1, 2, 3, 4, 5]
    for value in range(1, 6):
        assert counts[value] == pytest.approx(len(patience) / 5, rel=0.15), counts


def test_draws_survive_a_json_round_trip(draws):
    assert json.loads(json.dumps(draws, allow_nan=False)) == draws


def test_labels_are_valid_mongodb_keys(default_space):
    labels = [parameter.label for parameter in default_space.parameters]
    assert len(labels) == len(set(labels))
    assert not any("." in label or "$" in label for label in labels)
    assert {
        "optimizer", "optimizer/sgd/momentum", "optimizer/sgd/nesterov",
        "scheduler", "scheduler/plateau/patience", "scheduler/plateau/factor",
    } <= set(labels)


def test_parameters_describe_conditions_and_log_scales(default_space):
    by_label = {parameter.label: parameter for parameter in default_space.parameters}
    assert by_label["lr"].log and by_label["lr"].condition is None
    assert (by_label["lr"].low, by_label["lr"].high) == (1e-5, 1e-1)
    assert by_label["optimizer/sgd/momentum"].condition == "optimizer=sgd"
    assert by_label["scheduler/plateau/patience"].condition == "scheduler=plateau"
    assert by_label["optimizer"].values == ("adamw", "sgd")
    assert not by_label["optimizer/sgd/momentum"].log


def test_space_eval_of_a_tpe_point_gives_python_types(default_space):
    point = {
        "lr": 1e-3, "batch_size": 64.0, "weight_decay": 1e-6, "optimizer": 1,
        "optimizer/sgd/momentum": 0.9, "optimizer/sgd/nesterov": 0,
        "scheduler": 1, "scheduler/plateau/patience": 3.0, "scheduler/plateau/factor": 0.2,
    }
    params = space_eval(default_space.graph, point)
    assert params == {
        "lr": 1e-3, "batch_size": 64, "weight_decay": 1e-6,
        "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True},
        "scheduler": {"name": "plateau", "patience": 3, "factor": 0.2},
    }
    assert type(params["batch_size"]) is int and type(params["scheduler"]["patience"]) is int


def test_tpe_proposes_only_points_inside_the_space(default_space):
    seen = []

    def objective(params):
        seen.append(params)
        return {"loss": abs(math.log10(params["lr"]) + 3), "status": STATUS_OK}

    fmin(objective, default_space.graph, algo=tpe.suggest, max_evals=30, trials=Trials(),
         rstate=np.random.default_rng(0), show_progressbar=False)
    assert len(seen) == 30
    assert all(1e-5 <= p["lr"] <= 1e-1 and p["batch_size"] in BATCH_SIZES for p in seen)


def test_record_rebuilds_a_space_with_the_same_draws(default_space):
    rebuilt = space_from_record(default_space.record)
    assert rebuilt == default_space
    assert sample_space(rebuilt, 50, seed=7) == sample_space(default_space, 50, seed=7)


def test_record_survives_json_as_it_does_in_the_database(default_space):
    record = json.loads(json.dumps(default_space.record))
    assert space_from_record(record) == default_space


def test_same_seed_same_draws_other_seed_other_draws(default_space):
    assert sample_space(default_space, 20, seed=1) == sample_space(default_space, 20, seed=1)
    assert sample_space(default_space, 20, seed=1) != sample_space(default_space, 20, seed=2)


def test_describe_mentions_every_label_and_its_bounds(default_space):
    text = describe_space(default_space)
    for parameter in default_space.parameters:
        assert parameter.label in text
        if parameter.low is not None:
            assert f"{parameter.low:g}" in text and f"{parameter.high:g}" in text
        for value in parameter.values or ():
            assert repr(value) in text


def test_describe_indents_branch_parameters_under_their_choice(default_space):
    lines = describe_space(default_space).splitlines()
    header = next(i for i, line in enumerate(lines) if "when optimizer=sgd" in line)
    momentum = next(i for i, line in enumerate(lines) if "optimizer/sgd/momentum" in line)
    optimizer = next(i for i, line in enumerate(lines) if line.startswith("optimizer "))
    assert optimizer < header < momentum
    assert lines[momentum].startswith(" ") and not lines[optimizer].startswith(" ")


def test_unknown_name_lists_the_builtin_spaces(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpaceError) as error:
        load_space("defualt")
    message = str(error.value)
    assert "defualt" in message and "did you mean 'default'" in message
    assert all(name in message for name in builtin_space_names())


@pytest.mark.parametrize(
    "record",
    [
        None,
        "default",
        {},
        {"builtin": "nonexistent"},
        {"builtin": 3},
        {"builtin": "default", "extra": 1},
        {"file": "x.yaml"},
        {"file": "x.yaml", "yaml": 5},
        {"file": "x.yaml", "yaml": "parameters: [unclosed"},
    ],
)
def test_bad_record_raises_space_error(record):
    with pytest.raises(SpaceError, match="fix:"):
        space_from_record(record)


def test_draws_are_those_of_hyperopts_own_sampler(default_space):
    rng = np.random.default_rng(11)
    expected = [stochastic.sample(default_space.graph, rng=rng) for _ in range(5)]
    assert sample_space(default_space, 5, seed=11) == expected
