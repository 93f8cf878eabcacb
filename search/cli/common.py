"""Options and error handling shared by the `hpsearch` commands."""

from __future__ import annotations

import contextlib
from typing import Any, Collection, Iterator

import click

import objectives
import spaces
from search.reports import queries
from search.documents import JobDoc
from search.experiment import Experiment, ExperimentConflict
from search.reports.output import FORMATS
from search.store import DEFAULT_LOCATION, Store, StoreError, open_store
from search.urls import redact
from search.farm.processes import GpuSpecError


class UserError(click.ClickException):
    """A mistake the user can fix: one message, exit code 2, no traceback."""

    exit_code = 2

    def format_message(self) -> str:
        return redact(self.message)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's user-facing errors into one clean line each."""
    try:
        yield
    except (StoreError, ExperimentConflict, spaces.SpaceError, objectives.ObjectiveError,
            GpuSpecError) as error:
        raise UserError(str(error)) from None


def store_option(function: Any) -> Any:
    return click.option(
        "--store", envvar="HPSEARCH_STORE", default=DEFAULT_LOCATION, show_default=True,
        help="Where trials live: a directory (embedded search) or a mongodb:// URL (GPU farm). "
             "Env: HPSEARCH_STORE.",
    )(function)


def format_option(function: Any) -> Any:
    return click.option("--format", "output_format", type=click.Choice(FORMATS),
                        default="table", show_default=True, help="Output format.")(function)


def exp_key_option(function: Any) -> Any:
    return click.option("--exp-key", envvar="HPSEARCH_EXP_KEY",
                        help="Experiment key (default: the store's only experiment). "
                             "Env: HPSEARCH_EXP_KEY.")(function)


@contextlib.contextmanager
def opened_store(location: str) -> Iterator[Store]:
    store = open_store(location)
    try:
        yield store
    finally:
        store.close()


def experiment_jobs(store: Store, exp_key: str | None, fields: Collection[str] | None = None
                    ) -> tuple[Experiment, list[JobDoc]]:
    """The experiment a query names (or the store's only one) and its jobs (with `fields`)."""
    if exp_key is None:
        known = store.experiments()
        if len(known) != 1:
            listing = ", ".join(e.exp_key for e in known) or "none yet"
            raise StoreError(f"{store.location} holds {len(known)} experiments ({listing}); "
                             "choose one with --exp-key")
        exp_key = known[0].exp_key
    experiment = store.experiment(exp_key)
    if experiment is None:
        raise queries.unknown_experiment(store, exp_key)
    return experiment, store.jobs(exp_key, fields=fields)
