"""Objectives are found by built-in name, entry point, or an operator-allowed module:function."""

from __future__ import annotations

from importlib.metadata import EntryPoint

import pytest

from objectives import (
    Objective,
    ObjectiveError,
    _registry,
    builtin_objective_names,
    list_objectives,
    resolve_objective,
)

RAISES = "tests.objectives_for_tests:raises"


def fake_entry_points(*entry_points: EntryPoint):
    def entry_points_for(group: str):
        assert group == "hpsearch.objectives"
        return list(entry_points)

    return entry_points_for


def test_builtins_are_digits_noop_and_the_vision_objectives():
    assert builtin_objective_names() == ["cifar10", "digits", "fashion-mnist", "mnist", "noop"]
    for name in builtin_objective_names():
        objective = resolve_objective(name)
        assert isinstance(objective, Objective) and objective.name == name
        assert objective.description


def test_listing_includes_builtins_with_the_real_entry_points():
    names = [objective.name for objective in list_objectives()]
    assert names[:5] == builtin_objective_names()


def test_listing_skips_an_entry_point_that_fails_to_load(monkeypatch):
    monkeypatch.setattr(
        _registry,
        "entry_points",
        fake_entry_points(
            EntryPoint(
                "broken", "no_such_package_hpsearch.module:objective", "hpsearch.objectives"
            ),
            EntryPoint("sleepy", "tests.objectives_for_tests:sleeps", "hpsearch.objectives"),
        ),
    )
    names = [objective.name for objective in list_objectives()]
    assert names == [*builtin_objective_names(), "sleepy"]


def test_entry_point_resolves_by_name_without_being_allowed(monkeypatch):
    monkeypatch.setattr(
        _registry,
        "entry_points",
        fake_entry_points(
            EntryPoint("sleepy", "tests.objectives_for_tests:sleeps", "hpsearch.objectives")
        ),
    )
    objective = resolve_objective("sleepy")
    assert objective.name == "sleepy"
    assert objective.description.startswith("Sleep $HPSEARCH_TEST_SLEEP")


def test_broken_entry_point_resolves_to_a_clear_error(monkeypatch):
    monkeypatch.setattr(
        _registry,
        "entry_points",
        fake_entry_points(
            EntryPoint("broken", "no_such_package_hpsearch.module:objective", "hpsearch.objectives")
        ),
    )
    with pytest.raises(ObjectiveError, match="'broken'.*failed to load"):
        resolve_objective("broken")


def test_module_function_is_refused_unless_allowed():
    with pytest.raises(ObjectiveError) as refused:
        resolve_objective(RAISES)
    assert "not allowed" in str(refused.value)
    assert f"--allow-objective {RAISES}" in str(refused.value)


def test_allowing_another_function_does_not_allow_this_one():
    with pytest.raises(ObjectiveError, match="not allowed"):
        resolve_objective(RAISES, allowed_modules=["tests.objectives_for_tests:sleeps"])


def test_allowed_module_function_resolves():
    objective = resolve_objective(RAISES, allowed_modules=[RAISES])
    assert objective.name == RAISES
    assert callable(objective.run)
    assert objective.warm_up is None


def test_allowed_module_that_cannot_be_imported_says_how_to_fix_it():
    name = "no_such_package_hpsearch.module:objective"
    with pytest.raises(ObjectiveError, match="cannot import module.*PYTHONPATH"):
        resolve_objective(name, allowed_modules=[name])


def test_missing_function_names_the_attribute():
    name = "tests.objectives_for_tests:no_such_function"
    with pytest.raises(ObjectiveError, match="no attribute 'no_such_function'"):
        resolve_objective(name, allowed_modules=[name])


def test_non_callable_attribute_is_refused():
    name = "tests.objectives_for_tests:SLEEP_ENV_VAR"
    with pytest.raises(ObjectiveError, match="is a str, not a function"):
        resolve_objective(name, allowed_modules=[name])


def test_malformed_module_function_is_refused():
    with pytest.raises(ObjectiveError, match="not of the form package.module:function"):
        resolve_objective("a:b:c", allowed_modules=["a:b:c"])


def test_unknown_name_lists_what_exists():
    with pytest.raises(ObjectiveError) as unknown:
        resolve_objective("cifar-resnet")
    message = str(unknown.value)
    assert "unknown objective 'cifar-resnet'" in message
    assert "digits" in message and "noop" in message
    assert "package.module:function" in message


def test_objective_error_is_a_value_error():
    assert issubclass(ObjectiveError, ValueError)
