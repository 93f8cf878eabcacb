"""Whatever a space file or record holds, the loader gives a working space or a SpaceError."""

import json

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spaces import SearchSpace, SpaceError, describe_space, sample_space, space_from_record

# Hundreds of generated documents per test: the full suite's tier, not `make test-fast`.
pytestmark = pytest.mark.slow

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words of the vocabulary make random documents reach deep into the loader, not just fail
# at the top.
VOCABULARY = st.sampled_from([
    "parameters", "distribution", "min", "max", "q", "mu", "sigma", "value", "values", "name",
    "mn", "lr", "sgd", "categorical", "constant", "uniform", "int_uniform", "q_uniform",
    "log_uniform", "log_uniform_values", "q_log_uniform_values", "normal", "q_normal",
    "log_normal", "q_log_normal", "a.b", "$x", "a/b",
])
SCALARS = (
    st.none() | st.booleans() | st.integers() | st.integers(-3, 600)
    | st.floats() | st.floats(-10, 10) | st.text(max_size=8) | VOCABULARY
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(VOCABULARY | SCALARS, children, max_size=5),
    max_leaves=30,
)
# Space-shaped documents: right keys with odd numbers, wrong keys, bad names, nesting.
NUMBERS = st.integers(-3, 40) | st.floats(-5, 50) | st.integers() | st.floats()
BOUNDS = st.one_of(*[NUMBERS] * 6, SCALARS, st.lists(NUMBERS, max_size=2))
NAMES = st.sampled_from([
    "lr", "x", "y", "width", "sgd", "on", "depth", "act", "lr2", "rate", "sigma",
    "a.b", "$x", "", "name",
])
KEYS_OF = {
    "uniform": ("min", "max"), "int_uniform": ("min", "max"), "q_uniform": ("min", "max", "q"),
    "log_uniform": ("min", "max"), "log_uniform_values": ("min", "max"),
    "q_log_uniform": ("min", "max", "q"), "q_log_uniform_values": ("min", "max", "q"),
    "normal": ("mu", "sigma"), "q_normal": ("mu", "sigma", "q"),
    "log_normal": ("mu", "sigma"), "q_log_normal": ("mu", "sigma", "q"),
}


def numeric(distribution, keys):
    exact = {"distribution": st.just(distribution), **{key: BOUNDS for key in keys}}
    stray = {key: BOUNDS for key in ("mn", "q", "value") if key not in keys}
    return st.fixed_dictionaries(exact) | st.fixed_dictionaries(exact, optional=stray)


PARAMETER = st.deferred(lambda: st.one_of(
    *(numeric(distribution, keys) for distribution, keys in KEYS_OF.items()),
    st.fixed_dictionaries({"value": DOCUMENTS}),
    st.fixed_dictionaries({"values": st.lists(SCALARS | st.lists(SCALARS, max_size=2))}),
    st.fixed_dictionaries(
        {"distribution": st.just("categorical"), "values": st.lists(BRANCH, max_size=3)}
    ),
    st.fixed_dictionaries({"parameters": PARAMETERS}),
    st.fixed_dictionaries({"min": BOUNDS, "max": BOUNDS}),
    DOCUMENTS,
))
BRANCH = st.fixed_dictionaries(
    {"name": NAMES | SCALARS}, optional={"parameters": st.deferred(lambda: PARAMETERS)}
) | DOCUMENTS
PARAMETERS = st.dictionaries(NAMES, PARAMETER, max_size=3)
SPACE_LIKE = st.fixed_dictionaries({"parameters": PARAMETERS})


def load_or_space_error(text: str) -> SearchSpace | None:
    try:
        return space_from_record({"file": "fuzz.yaml", "yaml": text})
    except SpaceError as error:
        assert str(error).startswith("fuzz.yaml") and "fix:" in str(error)
        return None


def check_working_space(space: SearchSpace) -> None:
    labels = [parameter.label for parameter in space.parameters]
    assert len(labels) == len(set(labels))
    assert not any("." in label or "$" in label for label in labels)
    assert all(label in describe_space(space) for label in labels)
    assert space_from_record(space.record) == space
    json.dumps(sample_space(space, 2, seed=0))


@FUZZ
@given(SPACE_LIKE | DOCUMENTS)
def test_any_document_loads_or_raises_space_error(document):
    space = load_or_space_error(yaml.safe_dump(document))
    if space is not None:
        check_working_space(space)


TEXT_PIECES = st.sampled_from([
    "parameters:", "\n", "\n  ", "\n    ", "  ", "lr: ", "x: ", "- ", "name: sgd", "{", "}", "[",
    "]", ", ", "distribution: ", "uniform", "log_uniform_values", "categorical", "min: ", "max: ",
    "q: ", "values: ", "value: ", "1", "0.5", "1e-5", "-3", "'", '"', "&a ", "*a", "!!python/none",
    "#", ":", "\t", "\x00", "\ufeff",
])


@FUZZ
@given(st.lists(TEXT_PIECES | st.characters(), max_size=40).map("".join))
def test_any_text_loads_or_raises_space_error(text):
    space = load_or_space_error(text)
    if space is not None:
        check_working_space(space)


@FUZZ
@given(DOCUMENTS | st.dictionaries(st.sampled_from(["builtin", "file", "yaml"]), SCALARS))
def test_any_record_rebuilds_or_raises_space_error(record):
    try:
        space_from_record(record)
    except SpaceError:
        pass
