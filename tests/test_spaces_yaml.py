"""Space files: the W&B `parameters:` vocabulary, and one clear SpaceError for every mistake."""

import collections
import json
import math
import statistics
import textwrap

import pytest

from spaces import SpaceError, describe_space, load_space, sample_space, space_from_record


def write(tmp_path, text):
    path = tmp_path / "myspace.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def load(tmp_path, text):
    return load_space(str(write(tmp_path, text)))


def draw(tmp_path, text, n=2000):
    return sample_space(load(tmp_path, text), n, seed=0)


WANDB_EXAMPLE = """\
parameters:
  lr: {distribution: log_uniform_values, min: 1.0e-5, max: 1.0e-1}
  batch_size: {distribution: q_uniform, min: 32, max: 512, q: 32}
  epochs_hint: {value: 3}
  hidden: {values: [64, 128, 256]}
  dropout: {distribution: uniform, min: 0.0, max: 0.5}
  layers: {distribution: int_uniform, min: 1, max: 4}
  optimizer:
    distribution: categorical
    values:
      - name: adamw
      - name: sgd
        parameters:
          momentum: {distribution: uniform, min: 0.8, max: 0.99}
          nesterov: {values: [true, false]}
"""


def test_wandb_style_example_yields_the_documented_values(tmp_path):
    for params in draw(tmp_path, WANDB_EXAMPLE, n=500):
        assert params["epochs_hint"] == 3
        assert params["hidden"] in (64, 128, 256)
        assert 0.0 <= params["dropout"] <= 0.5
        assert type(params["layers"]) is int and 1 <= params["layers"] <= 4
        assert type(params["batch_size"]) is int and params["batch_size"] % 32 == 0
        assert params["optimizer"]["name"] in ("adamw", "sgd")
        json.dumps(params, allow_nan=False)


def test_q_uniform_follows_wandb_rounding_so_bounds_get_half_weight(tmp_path):
    text = "parameters: {b: {distribution: q_uniform, min: 32, max: 512, q: 32}}"
    draws = draw(tmp_path, text, 4000)
    counts = collections.Counter(params["b"] for params in draws)
    assert sorted(counts) == list(range(32, 513, 32))
    assert counts[32] / counts[256] == pytest.approx(0.5, abs=0.15)


def test_q_uniform_with_a_fractional_step_yields_floats(tmp_path):
    draws = draw(tmp_path, "parameters: {x: {distribution: q_uniform, min: 0, max: 1, q: 0.25}}")
    assert {params["x"] for params in draws} == {0.0, 0.25, 0.5, 0.75, 1.0}
    assert all(type(params["x"]) is float for params in draws)


def test_int_uniform_gives_each_integer_equal_weight(tmp_path):
    draws = draw(tmp_path, "parameters: {n: {distribution: int_uniform, min: 1, max: 4}}", 4000)
    counts = collections.Counter(params["n"] for params in draws)
    assert sorted(counts) == [1, 2, 3, 4]
    assert all(count == pytest.approx(1000, rel=0.15) for count in counts.values()), counts


def test_log_uniform_takes_natural_log_bounds(tmp_path):
    low, high = math.log(1e-5), math.log(1e-1)
    text = f"parameters: {{lr: {{distribution: log_uniform, min: {low}, max: {high}}}}}"
    space = load(tmp_path, text)
    assert space.parameters[0].low == pytest.approx(1e-5)
    assert space.parameters[0].high == pytest.approx(1e-1)
    draws = [params["lr"] for params in sample_space(space, 2000, seed=0)]
    assert all(1e-5 <= lr <= 1e-1 for lr in draws)
    assert sum(lr < 1e-3 for lr in draws) / 2000 == pytest.approx(0.5, abs=0.05)


def test_q_log_uniform_values_yields_int_multiples(tmp_path):
    draws = draw(
        tmp_path, "parameters: {w: {distribution: q_log_uniform_values, min: 8, max: 1024, q: 8}}"
    )
    assert all(type(p["w"]) is int and p["w"] % 8 == 0 and 8 <= p["w"] <= 1024 for p in draws)
    assert sum(p["w"] < 91 for p in draws) / len(draws) == pytest.approx(0.5, abs=0.05)


def test_normal_has_the_given_mean_and_spread(tmp_path):
    text = "parameters: {x: {distribution: normal, mu: 2.0, sigma: 0.5}}"
    draws = [params["x"] for params in draw(tmp_path, text)]
    assert statistics.fmean(draws) == pytest.approx(2.0, abs=0.05)
    assert statistics.stdev(draws) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(
    "spec, check",
    [
        ("{distribution: q_normal, mu: 10, sigma: 3, q: 2}",
         lambda x: type(x) is int and x % 2 == 0),
        ("{distribution: log_normal, mu: 0.0, sigma: 1.0}", lambda x: x > 0),
        ("{distribution: q_log_normal, mu: 2.0, sigma: 0.5, q: 1.0}", lambda x: x == round(x)),
        ("{distribution: q_log_uniform, min: 0, max: 5, q: 1}",
         lambda x: type(x) is int and 1 <= x <= 148),
    ],
)
def test_other_wandb_distributions_sample_as_named(tmp_path, spec, check):
    assert all(check(p["x"]) for p in draw(tmp_path, f"parameters: {{x: {spec}}}", n=200))


def test_constant_may_be_written_as_value_or_as_distribution_lists_arrive_as_tuples(tmp_path):
    text = """\
    parameters:
      a: {value: 3}
      b: {distribution: constant, value: [1, 2]}
      c: {value: {depth: 2}}
    """
    assert draw(tmp_path, text, n=3) == [{"a": 3, "b": (1, 2), "c": {"depth": 2}}] * 3


def test_categorical_values_may_be_scalars_or_lists_which_arrive_as_tuples(tmp_path):
    text = "parameters: {act: {values: [relu, gelu]}, widths: {values: [[64, 64], [128]]}}"
    draws = draw(tmp_path, text, n=300)
    assert {p["act"] for p in draws} == {"relu", "gelu"}
    assert {p["widths"] for p in draws} == {(64, 64), (128,)}


def test_distribution_is_inferred_from_integer_or_float_bounds(tmp_path):
    space = load(tmp_path, "parameters: {n: {min: 1, max: 3}, x: {min: 0.0, max: 1.0}}")
    assert [p.distribution for p in space.parameters] == ["int_uniform", "uniform"]


def test_exponent_without_a_dot_is_a_number(tmp_path):
    text = "parameters: {lr: {distribution: log_uniform_values, min: 1e-5, max: 1e-1}}"
    space = load(tmp_path, text)
    assert (space.parameters[0].low, space.parameters[0].high) == (1e-5, 1e-1)


def test_a_group_yields_a_nested_dict(tmp_path):
    text = """\
    parameters:
      model:
        parameters:
          width: {values: [64, 128]}
          depth: {distribution: int_uniform, min: 1, max: 3}
    """
    space = load(tmp_path, text)
    assert [p.label for p in space.parameters] == ["model/width", "model/depth"]
    for params in sample_space(space, 100, seed=0):
        assert set(params) == {"model"} and set(params["model"]) == {"width", "depth"}


def test_choices_nest_inside_branches_with_their_own_conditions(tmp_path):
    text = """\
    parameters:
      model:
        values:
          - name: mlp
          - name: cnn
            parameters:
              block:
                values:
                  - name: plain
                  - name: residual
                    parameters:
                      skip_scale: {distribution: uniform, min: 0.1, max: 1.0}
    """
    space = load(tmp_path, text)
    conditions = {p.label: p.condition for p in space.parameters}
    assert conditions == {
        "model": None,
        "model/cnn/block": "model=cnn",
        "model/cnn/block/residual/skip_scale": "model/cnn/block=residual",
    }
    residual = 0
    for params in sample_space(space, 200, seed=0):
        model = params["model"]
        if model["name"] == "mlp":
            assert model == {"name": "mlp"}
        elif model["block"]["name"] == "residual":
            residual += 1
            assert 0.1 <= model["block"]["skip_scale"] <= 1.0
        else:
            assert model["block"] == {"name": "plain"}
    assert residual > 20
    assert "when model/cnn/block=residual:" in describe_space(space)


def test_describe_heads_a_branch_once_though_a_nested_branch_comes_between(tmp_path):
    text = describe_space(load(tmp_path, """\
        parameters:
          opt:
            values:
              - name: sgd
                parameters:
                  momentum: {distribution: uniform, min: 0.8, max: 0.99}
                  sched:
                    values:
                      - name: step
                        parameters:
                          step_size: {distribution: int_uniform, min: 1, max: 5}
                      - name: none
                  nesterov: {values: [true, false]}
              - name: adam
        """))
    assert text.count("when opt=sgd:") == 1
    lines = text.splitlines()
    assert lines.index("  when opt=sgd:") < lines.index("      when opt/sgd/sched=step:")


def test_file_record_rebuilds_the_same_space(tmp_path):
    space = load(tmp_path, WANDB_EXAMPLE)
    rebuilt = space_from_record(space.record)
    assert rebuilt == space
    assert sample_space(rebuilt, 100, seed=3) == sample_space(space, 100, seed=3)


def test_describe_shows_every_distribution_kind(tmp_path):
    space = load(tmp_path, WANDB_EXAMPLE)
    text = describe_space(space)
    for parameter in space.parameters:
        assert parameter.label in text and parameter.distribution in text
    assert "[0.8, 0.99]" in text and "= 3" in text and "one of: 64, 128, 256" in text


def test_a_log_normal_of_integers_loads_though_its_ten_sigma_bound_is_past_2_to_52(tmp_path):
    """Only a range's integers are held under 2**52; a normal family's draws are rarely near
    their ten-sigma bound (e**37 here), and loaded before that limit came."""
    space = load(tmp_path, "parameters: {hidden: {distribution: q_log_normal, mu: 7, sigma: 3, "
                           "q: 1}}")
    assert all(isinstance(draw["hidden"], int) for draw in sample_space(space, 200, seed=0))


def test_describe_shows_bounds_with_every_digit_they_were_written_with(tmp_path):
    text = describe_space(load(tmp_path, """\
        parameters:
          steps: {distribution: int_uniform, min: 1000000, max: 1000005}
          lr: {distribution: uniform, min: 0.1234567, max: 0.1234569}
          m: {distribution: q_uniform, min: 0.1, max: 0.9, q: 0.1}
        """))
    assert "[1000000, 1000005]" in text and "[0.1234567, 0.1234569]" in text
    assert "(values 0.1 to 0.9)" in text


# -- mistakes -----------------------------------------------------------------------------

MOMENTUM = "parameters.optimizer.values[1].parameters.momentum"


def nested(momentum_spec):
    return f"""\
    parameters:
      optimizer:
        values:
          - name: adamw
          - name: sgd
            parameters:
              momentum: {momentum_spec}
    """


@pytest.mark.parametrize(
    "text, where, problem, fix",
    [
        (nested("{distribution: unifrom, min: 0.8, max: 0.99}"), MOMENTUM + ".distribution",
         "unknown distribution 'unifrom' (did you mean 'uniform'?)", "log_uniform_values"),
        (nested("{distribution: uniform, min: 0.8}"), MOMENTUM,
         "missing `max`", "add `max: <number>`"),
        (nested("{distribution: uniform, mn: 0.8, max: 0.99}"), MOMENTUM + ".mn",
         "unknown key 'mn' (did you mean 'min'?)", "use only: distribution, min, max"),
        (nested("{distribution: uniform, min: low, max: 0.99}"), MOMENTUM + ".min",
         "expected a number, got string 'low'", "write a number"),
        (nested("{distribution: uniform, min: '0.8', max: 0.99}"), MOMENTUM + ".min",
         "expected a number", "no quotes"),
        (nested("{distribution: uniform, min: true, max: 0.99}"), MOMENTUM + ".min",
         "expected a number", "write a number"),
        (nested("{distribution: uniform, min: .nan, max: 0.99}"), MOMENTUM + ".min",
         "got float nan, which is not finite", "write a number"),
        (nested("{distribution: uniform, min: -1.0e+301, max: 0.99}"), MOMENTUM + ".min",
         "beyond ±1e+300", "write a number"),
        (nested("{distribution: q_log_normal, mu: 1000, sigma: 1, q: 1}"), MOMENTUM + ".mu",
         "natural log", "mu: -6.9"),
        (nested("{distribution: q_uniform, min: 0.0, max: 1.0e+300, q: 1.0e-300}"), MOMENTUM + ".q",
         "too small for the range", "larger q"),
        (nested("{distribution: uniform, min: 0.99, max: 0.8}"), MOMENTUM,
         "min (0.99) must be less than max (0.8)", "swap"),
        (nested("{distribution: uniform, min: 0.9, max: 0.9}"), MOMENTUM,
         "must be less than max", "`value:`"),
        (nested("{distribution: log_uniform_values, min: 0, max: 0.9}"), MOMENTUM + ".min",
         "needs positive bounds", "positive min"),
        (nested("{distribution: q_uniform, min: 0, max: 1, q: 0}"), MOMENTUM + ".q",
         "q must be positive", "above 0"),
        (nested("{distribution: q_uniform, min: 0, max: 1, q: -0.5}"), MOMENTUM + ".q",
         "q must be positive", "above 0"),
        (nested("{distribution: normal, mu: 0, sigma: 0}"), MOMENTUM + ".sigma",
         "sigma must be positive", "above 0"),
        (nested("{distribution: int_uniform, min: 1.5, max: 4}"), MOMENTUM + ".min",
         "needs integer bounds", "min: 1"),
        (nested("{distribution: log_uniform, min: 0, max: 1000}"), MOMENTUM + ".max",
         "natural logs", "log_uniform_values"),
        (nested("{values: []}"), MOMENTUM + ".values",
         "expected a non-empty list", "list the choices"),
        (nested("{distribution: categorical}"), MOMENTUM + ".values",
         "expected a non-empty list", "list the choices"),
        (nested("{distribution: constant}"), MOMENTUM, "without `value:`", "add `value:"),
        (nested("{value: 2020-01-01}"), MOMENTUM + ".value", "not plain data", "quote dates"),
        (nested("0.9"), MOMENTUM, "expected a mapping describing the parameter", "{value: 0.9}"),
        (nested("{}"), MOMENTUM, "cannot tell what kind", "add `distribution:`"),
        (nested("{values: [a, {name: b}]}"), MOMENTUM + ".values[1]",
         "mixes plain values with `name:` branches", "- name: adamw"),
        (nested("{values: [{parameters: {x: {value: 1}}}]}"), MOMENTUM + ".values[0]",
         "has no `name:`", "give each branch a `name:`"),
        (nested("{values: [{name: a}, {name: a}]}"), MOMENTUM + ".values[1].name",
         "duplicate branch name 'a'", "different name"),
        (nested("{values: [{name: a, parameter: {}}]}"), MOMENTUM + ".values[0].parameter",
         "unknown key 'parameter' (did you mean 'parameters'?)", "use only: name, parameters"),
        (nested("{values: [{name: a.b}]}"), MOMENTUM + ".values[0].name",
         "contains '.'", "use letters"),
        (nested("{values: [{name: a, parameters: {name: {value: 1}}}]}"),
         MOMENTUM + ".values[0].parameters.name", "`name` is reserved", "rename"),
        (nested("{parameters: {}}"), MOMENTUM + ".parameters",
         "expected a non-empty mapping", "list parameters"),
        ("parameters: {lr.max: {value: 1}}", "parameters", "'lr.max' contains '.'", "use letters"),
        ("parameters: {$lr: {value: 1}}", "parameters", "'$lr' contains", "use letters"),
        ("parameters: {yes: {value: 1}}", "parameters", "True is not a non-empty string",
         "quote it"),
        ("parameters: {lr: {value: 1}}\nmethod: bayes", "method", "unknown key 'method'",
         "use only: parameters"),
        ("parameters: {}", "parameters", "expected a non-empty mapping", "list parameters"),
        ("parameters:\n", "parameters", "got nothing", "list parameters"),
        ("parameters: [lr, wd]", "parameters", "got list", "list parameters"),
        ("[1, 2]", "", "expected a mapping with a `parameters:` key", "start the file"),
        ("", "", "got an empty file", "start the file with `parameters:`"),
        ("lr: {value: 1}", "lr", "unknown key 'lr'", "use only: parameters"),
        ("{}", "", "no `parameters:` key", "add `parameters:`"),
        # What the database cannot store is refused here, not by every trial.
        (nested("{value: [[1, 2], [3, 4]]}"), MOMENTUM + ".value[0]",
         "a list inside a list", "mapping of flat lists"),
        (nested("{value: {a.b: 1}}"), MOMENTUM + ".value", "mapping key 'a.b' contains '.'",
         "use letters"),
        (nested("{values: [1, 100000000000000000000]}"), MOMENTUM + ".values[1]",
         "beyond the 64-bit integers", "as a float (1.0e+20)"),
        (nested("{distribution: int_uniform, min: 0, max: 100000000000000000000}"), MOMENTUM,
         "draws integers up to about 1.0e+20", "decimal point"),
        (nested("{distribution: int_uniform, min: 0, max: 9007199254740993}"), MOMENTUM,
         "beyond 2**52", "decimal point"),
        (nested('{value: "lone \\ud800"}'), MOMENTUM + ".value", "not valid Unicode",
         "pair of \\u escapes"),
        (nested('{value: {"a\\0b": 1}}'), MOMENTUM + ".value", "or a NUL byte", "use letters"),
        (nested("{distribution: log_uniform, min: -1000, max: -999}"), MOMENTUM + ".min",
         "is 0 in floating point", "natural logs"),
        (nested("{values: [on, off, yes]}"), MOMENTUM + ".values[2]",
         "true is already a choice (YAML reads on, off, yes and no as booleans)", "quote"),
        (nested("{values: [32, 32, 64]}"), MOMENTUM + ".values[1]", "32 is already a choice",
         "give each choice once"),
        (nested("{distribution: }"), MOMENTUM + ".distribution", "`distribution:` is empty",
         "use one of"),
        # A searched `epochs` is each trial's epochs.
        ("parameters: {epochs: {distribution: uniform, min: 1, max: 3}}", "parameters.epochs",
         "whole numbers of at least 1", "int_uniform"),
        ("parameters: {epochs: {distribution: int_uniform, min: 0, max: 3}}", "parameters.epochs",
         "whole numbers of at least 1", "int_uniform"),
        ("parameters: {epochs: {values: [5, 10.5]}}", "parameters.epochs",
         "whole numbers of at least 1", "values: [5, 10]"),
        ("parameters: {epochs: {parameters: {a: {value: 1}}}}", "parameters.epochs",
         "whole numbers of at least 1", "int_uniform"),
    ],
)
def test_mistake_names_file_key_and_fix(tmp_path, text, where, problem, fix):
    with pytest.raises(SpaceError) as error:
        load(tmp_path, text)
    message = str(error.value)
    head, _, advice = message.partition("\n  fix: ")
    assert head.startswith(f"{tmp_path / 'myspace.yaml'}: {where}".rstrip(": ") + ":"), message
    assert problem in head, message
    assert fix in advice, message


def test_unknown_distribution_lists_the_valid_ones(tmp_path):
    with pytest.raises(SpaceError) as error:
        load(tmp_path, "parameters: {x: {distribution: beta, min: 0, max: 1}}")
    for name in ("constant", "categorical", "uniform", "int_uniform", "q_uniform",
                 "log_uniform_values", "q_log_uniform_values", "normal", "log_uniform"):
        assert name in str(error.value)


@pytest.mark.parametrize(
    "text, line",
    [
        ("parameters:\n  lr: {distribution: uniform, min: 0, max: 1\n  wd: {value: 1}\n", 3),
        ("parameters:\n  lr: {value: 1}\n   wd: {value: 2}\n", 3),
        ("parameters:\n  lr: {value: 1}\n  lr: {value: 2}\n", 3),
        ("parameters:\n  lr: {value: 'unclosed}\n", 3),
    ],
)
def test_invalid_yaml_names_the_file_and_line(tmp_path, text, line):
    with pytest.raises(SpaceError) as error:
        load(tmp_path, text)
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'myspace.yaml'}: line {line}: not valid YAML"), message
    assert "fix:" in message


def test_duplicate_key_is_reported_not_silently_dropped(tmp_path):
    with pytest.raises(SpaceError, match="duplicate key 'lr'"):
        load(tmp_path, "parameters:\n  lr: {value: 1}\n  lr: {value: 2}\n")


@pytest.mark.parametrize("text", [
    "parameters:\n  <<: {lr: {value: 1}}\n  lr: {value: 2}\n",
    "parameters:\n  lr: {value: 2}\n  <<: {lr: {value: 1}}\n"])
def test_a_merge_key_cannot_override_a_parameter_unseen(tmp_path, text):
    with pytest.raises(SpaceError, match=r"merge keys \(<<\) are not allowed"):
        load(tmp_path, text)


def test_missing_file_that_is_no_builtin_is_a_space_error(tmp_path):
    with pytest.raises(SpaceError, match="no built-in space and no file") as error:
        load_space(str(tmp_path / "absent.yaml"))
    assert "default" in str(error.value)


def test_directory_is_an_unreadable_space_file(tmp_path):
    with pytest.raises(SpaceError, match="cannot read the file") as error:
        load_space(str(tmp_path))
    assert str(error.value).startswith(str(tmp_path)) and "fix:" in str(error.value)


def test_non_utf8_file_is_a_space_error(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("parameters: {caf\xe9: {value: 1}}".encode("latin-1"))
    with pytest.raises(SpaceError, match="cannot read the file"):
        load_space(str(path))


def test_self_referring_alias_is_a_space_error(tmp_path):
    with pytest.raises(SpaceError, match="aliases"):
        load(tmp_path, "parameters:\n  x: {value: &loop [*loop]}\n")


def test_yaml_aliases_are_refused_so_stored_spaces_cannot_explode(tmp_path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text("a: &a [1, 2]\nb: [*a, *a]\nparameters:\n  lr: {values: [1, 2]}\n")
    with pytest.raises(SpaceError, match="aliases"):
        load_space(str(path))


@pytest.mark.parametrize("epochs", ["{distribution: int_uniform, min: 1, max: 3}",
                                    "{distribution: q_uniform, min: 0.5, max: 10.5, q: 1}",
                                    "{values: [5, 10]}", "{value: 3}"])
def test_epochs_that_are_whole_numbers_load(tmp_path, epochs):
    for params in sample_space(load(tmp_path, f"parameters: {{epochs: {epochs}}}"), 50, seed=0):
        assert float(params["epochs"]).is_integer() and params["epochs"] >= 1
