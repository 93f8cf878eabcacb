"""`hpsearch plot` and `hpsearch export`: an experiment as a picture or as a table of data."""

from __future__ import annotations

import os

import click

import spaces
from search.cli.common import (
    UserError,
    exp_key_option,
    experiment_trials,
    include_pruned_option,
    with_store,
)
from search.reports import queries
from search.reports.output import render
from search.store import Store
from search.trial import trial_columns


@click.command()
@with_store
@exp_key_option
@click.option("-o", "--output", "path", type=click.Path(dir_okay=False, writable=True),
              default="report.png", show_default=True, help="Image file to write.")
def plot(store: Store, exp_key: str | None, path: str) -> None:
    """Draw the search as one image: score per trial, accuracy against training time with
    the Pareto front, and the score against each hyperparameter."""
    # The image is drawn on a bare Figure, with no backend. One named in MPLBACKEND (a
    # notebook's inline backend, inherited by `!hpsearch plot`) may not load in this
    # environment, and matplotlib then refuses to import at all.
    os.environ.pop("MPLBACKEND", None)
    from search.reports.plots import (  # matplotlib: only here
        ImageFormatError,
        draw_report,
        image_path,
        plot_data,
    )

    try:
        path = image_path(path)
    except ImageFormatError as error:
        raise click.BadParameter(str(error), param_hint="'-o' / '--output'") from None
    experiment, trials = experiment_trials(store, exp_key)
    try:
        space: spaces.SearchSpace | None = spaces.space_from_record(experiment.space)
    except spaces.SpaceError as error:  # recorded by a release that accepted what this refuses
        click.echo("warning: this release cannot rebuild the recorded space, so the plot leaves "
                   f"out the hyperparameter panels:\n  {error}", err=True)
        space = None
    data = plot_data(trials, space, exp_key=experiment.exp_key,
                     min_accuracy=experiment.min_accuracy)
    try:
        draw_report(data, path)
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
    except ImageFormatError as error:
        raise UserError(str(error)) from None
    click.echo(f"wrote {path}: {data.title}", err=True)


@click.command()
@with_store
@exp_key_option
@click.option("--format", "output_format", type=click.Choice(["csv", "json"]), default="csv",
              show_default=True, help="Output format.")
@click.option("--by", "unit", type=click.Choice(["trial", "configuration"]), default="trial",
              show_default=True,
              help="trial: one row per run, as it was observed; configuration: one row per "
                   "set of hyperparameters, its runs pooled, ranked as `hpsearch best` ranks.")
@include_pruned_option
@click.option("-o", "--output", "path",
              type=click.Path(dir_okay=False, writable=True, allow_dash=True),
              help="File to write (default, or -: standard output).")
def export(store: Store, exp_key: str | None, output_format: str, unit: str,
           include_pruned: bool, path: str | None) -> None:
    """Every trial as one flat row (tid, state, each hyperparameter, accuracy, training
    seconds, score, device, worker, times), ready for pandas or a spreadsheet; or, with
    --by configuration, every configuration (rank, runs, mean accuracy and seconds with their
    spread, pooled score and lower bound, below the floor by mean accuracy, each
    hyperparameter, the tids of its runs)."""
    if path == "":
        raise click.BadParameter("the file name is empty: name one, or - for standard output",
                                 param_hint="'-o' / '--output'")
    if include_pruned and unit == "trial":
        raise click.UsageError("--include-pruned goes with --by configuration (every trial, "
                               "pruned ones included, is exported --by trial)")
    experiment, trials = experiment_trials(store, exp_key)
    if unit == "configuration":
        rows = queries.configuration_rows(trials, experiment.min_accuracy,
                                          include_pruned=include_pruned)
        header = queries.configuration_row_columns()
    else:
        rows = [trial.row() for trial in trials]
        header = trial_columns()
    text = render(rows, output_format, header=header)
    if path is None or path == "-":
        click.echo(text)
        return
    try:
        with open(path, "w", encoding="utf-8", newline="") as file:
            file.write(text + "\n")
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from None
    click.echo(f"wrote {len(rows)} {unit}s to {path}", err=True)

