"""Options and error handling shared by the `hpsearch` commands."""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click

import objectives
import spaces
from search.experiment import Experiment, ExperimentConflict
from search.farm.processes import GpuSpecError
from search.launch import InvalidSearchOptions
from search.reports import queries
from search.reports.output import FORMATS
from search.store import DEFAULT_LOCATION, Store, StoreError, opened_store
from search.trial import TRIAL_FIELDS, Trial, trials_of
from search.urls import redact


class UserError(click.ClickException):
    """A mistake the user can fix: one message, exit code 2, no traceback."""

    exit_code = 2

    def format_message(self) -> str:
        return redact(self.message)


class TrialsFailed(UserError):
    """A search whose trials failed (every one, or too many in a row): exit code 1."""

    exit_code = 1


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's user-facing errors into one clean line each."""
    try:
        yield
    except (StoreError, ExperimentConflict, spaces.SpaceError, objectives.ObjectiveError,
            GpuSpecError, InvalidSearchOptions) as error:
        raise UserError(str(error)) from None


class FiniteFloatRange(click.FloatRange):
    """`click.FloatRange` that also refuses nan and inf: nan compares false with any bound,
    so the range alone lets it through, and every later use of it fails far from here."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


include_pruned_option = click.option(
    "--include-pruned", is_flag=True,
    help="Also consider pruned trials (stopped early: their accuracy and seconds are those "
         "at the epoch they were stopped).")


def store_option(function: Any) -> Any:
    return click.option(
        "--store", envvar="HPSEARCH_STORE", default=DEFAULT_LOCATION, show_default=True,
        help="Where trials live: a directory (embedded search) or a mongodb:// URL (GPU farm). "
             "Env: HPSEARCH_STORE.",
    )(function)


def _absolute_directory(context: click.Context, parameter: click.Parameter,
                        value: str | None) -> str | None:
    # Absolute, so the path recorded in the experiment does not depend on where it ran.
    return str(Path(value).expanduser().absolute()) if value else None


def data_dir_option(function: Any) -> Any:
    return click.option(
        "--data-dir", envvar="HPSEARCH_DATA_DIR", callback=_absolute_directory,
        help="Directory holding the data sets in torchvision's layout (MNIST/raw, "
             "FashionMNIST/raw, cifar-10-batches-py); default ~/.cache/hpsearch/data. "
             "Env: HPSEARCH_DATA_DIR.",
    )(function)


def format_option(function: Any) -> Any:
    return click.option("--format", "output_format", type=click.Choice(FORMATS),
                        default="table", show_default=True, help="Output format.")(function)


def exp_key_option(function: Any) -> Any:
    return click.option("--exp-key", envvar="HPSEARCH_EXP_KEY",
                        help="Experiment key (default: the store's only experiment). "
                             "Env: HPSEARCH_EXP_KEY.")(function)


def with_store(function: Callable[..., Any]) -> Callable[..., Any]:
    """Give a command `--store` and call it with the opened store, closed afterwards; the
    library's user-facing errors become one clean line each."""

    @store_option
    @functools.wraps(function)
    def command(store: str, **options: Any) -> Any:
        with user_errors(), opened_store(store) as opened:
            return function(opened, **options)

    wrapped: Callable[..., Any] = command
    return wrapped


def experiment_trials(store: Store, exp_key: str | None) -> tuple[Experiment, list[Trial]]:
    """The experiment a query names (or the store's only one) and its trials."""
    if exp_key is None:
        if store.absent:
            raise StoreError(store.absent)
        known = store.experiments()
        if len(known) != 1:
            listing = ", ".join(e.exp_key for e in known) or "none yet"
            raise StoreError(f"{store.location} holds {len(known)} experiments ({listing}); "
                             "choose one with --exp-key")
        exp_key = known[0].exp_key
    experiment = store.experiment(exp_key)
    if experiment is None:
        raise queries.unknown_experiment(store, exp_key)
    return experiment, trials_of(store.jobs(exp_key, fields=TRIAL_FIELDS))
