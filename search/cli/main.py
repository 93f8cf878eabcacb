"""The `hpsearch` command line. Commands parse, call the library, and print; nothing more."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import pathlib
import shlex
import signal
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

import click

import objectives
import spaces
from search.algorithms import ALGORITHMS
from search.cli.common import (
    FiniteFloatRange,
    TrialsFailed,
    UserError,
    data_dir_option,
    exp_key_option,
    experiment_trials,
    format_option,
    include_pruned_option,
    store_option,
    user_errors,
    with_store,
)
from search.cli.dashboard import dashboard
from search.cli.progress import progress_on_stderr
from search.cli.reports import export, plot
from search.configurations import configuration_columns
from search.experiment import ExperimentConflict, check_same_definition
from search.farm.spool import check_spool_root, default_spool_root
from search.farm.stopping import StopNow, stop_signals
from search.farm.worker import WorkerOptions
from search.launch import (
    InvalidSearchOptions,
    RecordedChoiceKept,
    SearchFailed,
    SearchOptions,
    kept_choices,
    optimize_in_own_process,
)
from search.logs import configure_logging
from search.policy import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_STALE_AFTER,
    MIN_HEARTBEAT_INTERVAL,
)
from search.pruning import PRUNER_NAMES, PRUNERS
from search.reports import queries
from search.reports.output import render, render_status
from search.store import Store, StoreError, opened_store
from search.trial import trial_columns
from search.urls import is_mongodb_url, redact_location, redact_message

# Every command's module is imported inside the command that needs it: `hpsearch --help` and
# the queries must not pay for torch, Hyperopt or matplotlib (tests/test_cli_imports.py).


class _Commands(click.Group):
    """The command group, whose usage errors (click's own: an unexpected argument, a value not
    among the choices) hide a password as every other message does: a URL typed in the wrong
    place comes back in them. A Ctrl-C that no command handles (one while a store connects)
    exits 130, as the shell says a command stopped by SIGINT did, not click's 1, which
    hpsearch gives to a search whose trials all failed."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        with _redacted_usage_errors():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        with _redacted_usage_errors():
            try:
                return super().invoke(ctx)
            except KeyboardInterrupt:
                click.echo("interrupted", err=True)
                raise click.exceptions.Exit(130) from None


@contextlib.contextmanager
def _redacted_usage_errors() -> Iterator[None]:
    try:
        yield
    except click.ClickException as error:
        # click declares `message` final: it sets it once, as this rewrites it once.
        setattr(error, "message", redact_message(error.message))  # noqa: B010
        raise


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="hpsearch")
def main(verbose: int) -> None:
    """Bayesian hyperparameter search (TPE) for the most accuracy per second of training.

    Runs embedded on one machine with a directory store, or as a farm of GPU workers
    sharing a MongoDB store.
    """
    configure_logging([logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)])
    for stream in (sys.stdout, sys.stderr):  # a latin-1 terminal still gets every table
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")


# -- search -------------------------------------------------------------------------------------

DEFAULTS = SearchOptions()


@main.command()
@store_option
@click.option("--exp-key", envvar="HPSEARCH_EXP_KEY", default=DEFAULTS.exp_key, show_default=True,
              help="Names the search; rerun with the same key to resume it. Env: HPSEARCH_EXP_KEY.")
@click.option("--space", "space_name", default="default", show_default=True,
              help="A built-in space name or a YAML space file (see `hpsearch spaces`).")
@click.option("--objective", "objective_name", default="digits", show_default=True,
              help="What a trial trains: a built-in, an entry point, or package.module:function.")
@click.option("--max-evals", type=click.IntRange(min=1), default=DEFAULTS.max_evals,
              show_default=True,
              help="Total trials to finish, counting those of earlier runs of this experiment.")
@click.option("--epochs", type=click.IntRange(min=1), default=DEFAULTS.epochs, show_default=True,
              help="Training epochs per trial.")
@click.option("--min-accuracy", type=FiniteFloatRange(0, 1), default=DEFAULTS.min_accuracy,
              show_default=True,
              help="Accuracy floor: trials below it score the worst possible (loss 0).")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True,
              help="Seed of the TPE proposals. Recorded; a resume keeps it.")
@click.option("--device", default=DEFAULTS.device, show_default=True,
              help="Training device: auto, cpu, cuda or cuda:N.")
@click.option("--startup-trials", type=click.IntRange(min=1), default=DEFAULTS.startup_trials,
              show_default=True,
              help="Random trials before TPE starts modelling. Recorded; a resume keeps it.")
@click.option("--algo", type=click.Choice(list(ALGORITHMS)), default=DEFAULTS.algo,
              show_default=True, help="What proposes trials: " + ", ".join(
                  f"{algorithm.name} ({algorithm.description})"
                  for algorithm in ALGORITHMS.values()) + ". Recorded; a resume keeps it.")
@click.option("--pruner", type=click.Choice(list(PRUNER_NAMES)), default=DEFAULTS.pruner,
              show_default=True,
              help="What stops trials that cannot win, at the epochs they report: " + "; ".join(
                  f"{kind.name} ({kind.description})" for kind in PRUNERS.values())
                   + ". Recorded; a resume keeps it. See docs/pruning.md.")
@click.option("--max-train-seconds", type=FiniteFloatRange(min=0, min_open=True),
              help="Stop once the trials have trained this many seconds in all (pruned and "
                   "failed ones, and earlier runs', included); trials already queued or "
                   "running finish. Default: no budget.")
@click.option("--max-queue", type=click.IntRange(min=1), envvar="HPSEARCH_MAX_QUEUE",
              help="Cap on trials queued ahead of the workers (farm only). "
                   "Env: HPSEARCH_MAX_QUEUE.")
@click.option("--stale-after", type=FiniteFloatRange(min=0.1),
              help=f"Seconds a running trial's heartbeat may stay unchanged before its attempt "
                   f"is given up (default {DEFAULT_STALE_AFTER:g}). Recorded; workers use it.")
@click.option("--max-attempts", type=click.IntRange(min=1),
              help=f"Attempts a trial gets before it is abandoned (default "
                   f"{DEFAULT_MAX_ATTEMPTS}). Recorded; workers use it.")
@click.option("--heartbeat-interval", type=FiniteFloatRange(min=MIN_HEARTBEAT_INTERVAL),
              help=f"Seconds between a running trial's heartbeats (default "
                   f"{DEFAULT_HEARTBEAT_INTERVAL:g}). Recorded; workers use it.")
@click.option("--trial-timeout", type=FiniteFloatRange(min=0.1),
              help="Seconds a trial may run before it is stopped and failed with reason "
                   "timeout (default: no limit). Recorded; workers use it.")
@click.option("--max-consecutive-failures", type=click.IntRange(min=1),
              default=DEFAULTS.max_consecutive_failures, show_default=True,
              help="Stop after this many failed trials in a row (embedded search; workers have "
                   "their own option).")
@data_dir_option
@click.option("--compile", "torch_compile", is_flag=True,
              help="torch.compile the model (objectives that support it); compile time is "
                   "recorded as compile_seconds, not counted in train_seconds.")
@click.option("--confirm", default=DEFAULTS.confirm, show_default=True,
              help="Confirmation runs: leading configurations run again with fresh seeds, so "
                   "`best` ranks what reproduces. 'default' (at most 15% of the trials), "
                   "'none', or a fraction such as 0.1. Recorded; a resume keeps it.")
def search(store: str, exp_key: str, space_name: str, objective_name: str, max_evals: int,
           epochs: int, min_accuracy: float, seed: int, device: str, startup_trials: int, algo: str,
           pruner: str, max_train_seconds: float | None, max_queue: int | None,
           stale_after: float | None, max_attempts: int | None,
           heartbeat_interval: float | None, trial_timeout: float | None,
           max_consecutive_failures: int, data_dir: str | None, torch_compile: bool,
           confirm: str) -> None:
    """Run (or resume) a search and print the best trials.

    With a directory store the trials run in this process. With a mongodb:// store they are
    queued for `hpsearch worker` processes on any number of machines. A search whose every
    finished trial failed exits 1 and shows the last failure.
    """
    with user_errors():
        options = SearchOptions(
            store=store, exp_key=exp_key, max_evals=max_evals, epochs=epochs,
            min_accuracy=min_accuracy, seed=seed, device=device, startup_trials=startup_trials,
            algo=algo, pruner=pruner, max_train_seconds=max_train_seconds, max_queue=max_queue,
            heartbeat_interval=heartbeat_interval,
            stale_after=stale_after, max_attempts=max_attempts, trial_timeout=trial_timeout,
            max_consecutive_failures=max_consecutive_failures, data_dir=data_dir,
            torch_compile=torch_compile, confirm=confirm)
        _warn_of_kept_choices(options, space_name, objective_name, {
            name: str(value) for name, value in (
                ("algo", algo), ("pruner", pruner), ("confirm", confirm), ("seed", seed),
                ("startup_trials", startup_trials))
            if click.get_current_context().get_parameter_source(name)
            is not click.core.ParameterSource.DEFAULT})
        header = (f"search {exp_key!r}: {objective_name} on space {space_name}, {max_evals} "
                  f"trials, store {redact_location(store)}")
        if options.is_farm:
            header += ("\ntrials are queued for workers; "
                       + _attach_hint(store, exp_key, objective_name))
        with _signals_stop_now():
            try:
                with (progress_on_stderr(header) as on_progress,
                      warnings.catch_warnings()):  # said above, for the options given only
                    warnings.simplefilter("ignore", RecordedChoiceKept)
                    results = optimize_in_own_process(objective_name, space_name, options,
                                                      on_progress=on_progress)
            except (KeyboardInterrupt, StopNow) as stop:
                click.echo("interrupted: finished trials are saved, a running one goes back "
                           "to the queue; rerun the same command to resume", err=True)
                sys.exit(128 + stop.signum if isinstance(stop, StopNow) else 130)
            except SearchFailed as error:
                raise TrialsFailed(str(error)) from None
    pruned = sum(trial.state == "pruned" for trial in results.trials)
    click.echo(render([configuration.row() for configuration in results.best(5)], "table",
                      empty=f"(no configuration with a score yet: {pruned} trial(s) were "
                            "pruned, which `hpsearch best --include-pruned` ranks; `hpsearch "
                            "trials` lists every run)"))


def _warn_of_kept_choices(options: SearchOptions, space_name: str, objective_name: str,
                          given: dict[str, str]) -> None:
    """A resume keeps the recorded algo, pruner, confirmation, seed and startup trials; say
    so when this run names others on its command line, rather than ignore them silently. Not
    for a run with another definition: that is no resume, and its refusal says why."""
    if not given:
        return
    with opened_store(options.store) as store:
        recorded = store.experiment(options.exp_key)
    if recorded is None:
        return
    try:
        check_same_definition(recorded, options.experiment(
            recorded, spaces.load_space(space_name), objective_name))
    except (ExperimentConflict, spaces.SpaceError, InvalidSearchOptions):
        return
    for name, was in kept_choices(recorded, options).items():
        if name in given:
            flag = name.replace("_", "-")
            click.echo(f"warning: --{flag} {given[name]} is ignored: a resume keeps the "
                       f"recorded {flag} ({was}); choose a new --exp-key to search with "
                       "another", err=True)


def _attach_hint(store: str, exp_key: str, objective_name: str) -> str:
    """The worker command that serves this search, as far as it can be shown: a store from
    HPSEARCH_STORE stays there, and a password is never printed, so the hint says where it
    goes rather than offer a command that would log in with `***`."""
    allow = (f" --allow-objective {shlex.quote(objective_name)}"
             if objectives.is_module_function(objective_name) else "")
    serving = f"--exp-key {shlex.quote(exp_key)}{allow}"
    source = click.get_current_context().get_parameter_source("store")
    if source is click.core.ParameterSource.ENVIRONMENT:
        return f"attach some with: hpsearch worker {serving} (and the same HPSEARCH_STORE)"
    shown = redact_location(store)
    hint = f"attach some with: hpsearch worker --store '{shown}' {serving}"
    if shown != store:
        hint += " (with the password for ***; on a shared host set HPSEARCH_STORE instead)"
    return hint


@contextlib.contextmanager
def _signals_stop_now() -> Iterator[None]:
    """SIGTERM (a `kill`, a scheduler's stop) and SIGHUP (a closed terminal, unless started
    under `nohup`) interrupt a search as Ctrl-C does, so a trial running in this process is
    handed back to the queue rather than left to look dead."""
    def stop_now(signum: int, frame: FrameType | None) -> None:
        raise StopNow(signum)

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may handle signals
        return
    previous = {stop: signal.signal(stop, stop_now) for stop in stop_signals()
                if stop != signal.SIGINT}  # Ctrl-C raises KeyboardInterrupt already
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


# -- worker -------------------------------------------------------------------------------------

@main.command()
@store_option
@click.option("--exp-key", "exp_keys", multiple=True, envvar="HPSEARCH_EXP_KEY",
              help="Serve only this experiment (repeatable); default: every experiment. "
                   "Env: HPSEARCH_EXP_KEY.")
@click.option("--gpus", default="all" , envvar="HPSEARCH_GPUS", show_default=True,
              help="GPUs to use, one process each: all, none, or indices like 0,1. "
                   "'all' falls back to CPU when no GPU is visible. Env: HPSEARCH_GPUS.")
@click.option("--cpu-workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="CPU worker processes when no GPU is used.")
@click.option("--threads-per-worker", type=click.IntRange(min=1),
              help="Torch threads per CPU worker (default: cores / worker processes).")
@click.option("--max-jobs", type=click.IntRange(min=1),
              help="Stop after this many trials (each worker process counts its own).")
@click.option("--idle-timeout", type=FiniteFloatRange(min=0),
              help="Stop after this many seconds without a job, counted from its first poll "
                   "(start-up is not idle time).")
@click.option("--max-consecutive-failures", type=click.IntRange(min=1),
              help="Stop after this many failed trials in a row.")
@click.option("--spool-dir", type=click.Path(file_okay=False, path_type=pathlib.Path),
              default=default_spool_root, envvar="HPSEARCH_SPOOL_DIR",
              show_default="~/.local/state/hpsearch/spool",
              help="Where finished results wait on local disk until the database has them; "
                   "a restarted worker resends what it finds there. Env: HPSEARCH_SPOOL_DIR.")
@click.option("--allow-objective", "allowed", multiple=True, envvar="HPSEARCH_ALLOW_OBJECTIVE",
              help="Allow an objective named module:function (repeatable). Built-ins and "
                   "installed entry points are always allowed. Env: HPSEARCH_ALLOW_OBJECTIVE.")
@data_dir_option
@click.option("--lookahead/--no-lookahead", default=True, show_default=True,
              help="Reserve the next trial while one runs, so the next starts at once.")
def worker(store: str, exp_keys: Sequence[str], gpus: str, cpu_workers: int,
           threads_per_worker: int | None, max_jobs: int | None, idle_timeout: float | None,
           max_consecutive_failures: int | None, spool_dir: pathlib.Path,
           allowed: Sequence[str], data_dir: str | None, lookahead: bool) -> None:
    """Attach workers to a farm: reserve trials from MongoDB, train them, report results.

    Start one on every GPU box, at any time; each GPU gets its own process. Stop with
    SIGTERM or Ctrl-C: the current trial finishes first (a second signal requeues it).
    How trials heartbeat, when they count as dead and how long they may run is each
    experiment's policy, set by `hpsearch search`.
    """
    from search.farm.processes import (
        cpu_workers_on_this_host,
        parse_gpus,
        plan_processes,
        run_processes,
        serve,
    )

    with user_errors():
        if not is_mongodb_url(store):
            raise UserError("hpsearch worker needs a mongodb:// store; a directory store runs "
                            "its trials inside `hpsearch search`")
        wrong = [name for name in allowed if not objectives.is_module_function(name)]
        if wrong:
            raise UserError(f"--allow-objective {wrong[0]}: name an objective as "
                            "package.module:function, e.g. mypackage.train:objective")
        import torch

        available = torch.cuda.device_count()
        asked_all = gpus.strip().lower() == "all"
        gpu_list = parse_gpus("none" if asked_all and available == 0 else gpus, available)
        options = WorkerOptions(
            exp_keys=tuple(exp_keys) or None, max_jobs=max_jobs, idle_timeout=idle_timeout,
            max_consecutive_failures=max_consecutive_failures,
            allowed_objectives=tuple(allowed), data_dir=data_dir, lookahead=lookahead,
            spool_root=spool_dir,
        )
        plans = plan_processes(gpu_list, cpu_workers, threads_per_worker)
        try:
            check_spool_root(spool_dir)
        except OSError as error:
            raise UserError(f"cannot spool results in --spool-dir {spool_dir}: "
                            f"{error.strerror or error}; give a directory this user can write "
                            "(env HPSEARCH_SPOOL_DIR)") from None
        with opened_store(store) as opened:  # a wrong URL fails here, before any process
            sharing = cpu_workers_on_this_host(opened) \
                if plans[0].gpu is None and threads_per_worker is None else 0
        if sharing:
            click.echo(f"warning: {sharing} CPU worker process(es) of another command already "
                       f"run on this host; each command shares out all {os.cpu_count()} cores "
                       "among its own processes, so together they oversubscribe them, and "
                       "every trial's training seconds grow and vary with what else runs: "
                       "start one command with --cpu-workers "
                       f"{sharing + len(plans)} instead, or give each --threads-per-worker",
                       err=True)
        if len(plans) == 1 and plans[0].gpu is None and available == 0:
            outcome = serve(store, options, plans[0])
            click.echo(f"worker stopped after {outcome.jobs_done} trials: {outcome.reason}",
                       err=True)
            sys.exit(outcome.exit_code)
        # Beside a GPU, every worker gets a process of its own, even a CPU one (which must not
        # train on the GPU its `--device auto` finds): counting the GPUs above initialised
        # CUDA here, so only a fresh process honours its CUDA_VISIBLE_DEVICES.
        sys.exit(run_processes(store, options, plans))


# -- queries ------------------------------------------------------------------------------------

@main.command()
@with_store
@exp_key_option
@click.option("-n", "count", type=click.IntRange(min=1), default=5, show_default=True,
              help="How many configurations.")
@click.option("--min-accuracy", type=FiniteFloatRange(0, 1),
              help="Only configurations whose mean accuracy reaches this.")
@click.option("--sort", type=click.Choice(queries.SORT_KEYS), default="score", show_default=True,
              help="score: accuracy per second, by what the runs show together (the lower "
                   "bound); accuracy; time: fastest training.")
@include_pruned_option
@format_option
def best(store: Store, exp_key: str | None, count: int, min_accuracy: float | None, sort: str,
         include_pruned: bool, output_format: str) -> None:
    """The best configurations with their hyperparameters, runs, mean accuracy, mean training
    seconds and score.

    Every run of the same hyperparameters (confirmation runs, `search --confirm`) is pooled:
    a configuration whose mean accuracy is below the floor is below it, whatever its luckiest
    run did. Pruned runs are left out unless --include-pruned. Single runs: `hpsearch
    trials`."""
    experiment, trials = experiment_trials(store, exp_key)
    chosen = queries.best_configurations(trials, count, experiment.min_accuracy,
                                         min_accuracy=min_accuracy, sort=sort,
                                         include_pruned=include_pruned)
    wanted = "" if min_accuracy is None else f" reaching accuracy {min_accuracy:g}"
    click.echo(render([configuration.row(pruned_runs=include_pruned) for configuration in chosen],
                      output_format,
                      empty=f"(no configuration{wanted} with a score yet: `hpsearch trials` "
                            "lists every run)", header=configuration_columns()))


@main.command()
@with_store
@exp_key_option
@click.option("--state", "states", multiple=True,
              type=click.Choice(queries.SELECTABLE_STATES),
              help="Only trials in this state (repeatable).")
@click.option("--late", is_flag=True,
              help="List the late results instead: results that arrived after their trial "
                   "already had one (from a worker presumed dead). Kept, never counted.")
@format_option
def trials(store: Store, exp_key: str | None, states: Sequence[str], late: bool,
           output_format: str) -> None:
    """Every trial of an experiment, in order."""
    experiment, found = experiment_trials(store, exp_key)
    late_results = store.late_results(experiment.exp_key)
    if late:
        click.echo(render([queries.late_result_row(result) for result in late_results],
                          output_format, header=queries.LATE_RESULT_COLUMNS))
        return
    rows = [trial.row() for trial in queries.select_trials(found, states)]
    click.echo(render(rows, output_format, header=trial_columns()))
    if late_results and output_format == "table":
        click.echo(f"({len(late_results)} late results kept, not counted: "
                   f"hpsearch trials --late)", err=True)


@main.command()
@with_store
@exp_key_option
@click.option("--below-floor", is_flag=True,
              help="Also consider trials below the experiment's accuracy floor.")
@include_pruned_option
@format_option
def pareto(store: Store, exp_key: str | None, below_floor: bool, include_pruned: bool,
           output_format: str) -> None:
    """Trials on the accuracy-vs-training-time Pareto front, fastest first.

    Trials below the accuracy floor are left out unless --below-floor asks for them: a model
    that learnt nothing is fast, but no trade-off anyone wants. Pruned runs too, unless
    --include-pruned."""
    experiment, trials = experiment_trials(store, exp_key)
    front = queries.configuration_front(trials, experiment.min_accuracy, below_floor=below_floor,
                                        include_pruned=include_pruned)
    click.echo(render([configuration.row(pruned_runs=include_pruned) for configuration in front],
                      output_format,
                      empty="(no configuration with a score"
                            + ("" if below_floor else " above the accuracy floor (--below-floor "
                               "takes the rest)") + " yet: `hpsearch trials` lists every run)",
                      header=configuration_columns()))


# -- spaces and objectives ---------------------------------------------------------------------

@main.group("spaces", invoke_without_command=True)
@click.pass_context
def spaces_command(context: click.Context) -> None:
    """List the built-in search spaces (`spaces show NAME|FILE` prints one)."""
    if context.invoked_subcommand is None:
        for name in spaces.builtin_space_names():
            click.echo(name)


@spaces_command.command("show")
@click.argument("name_or_file")
def spaces_show(name_or_file: str) -> None:
    """Print a built-in space or a YAML space file with its ranges."""
    with user_errors():
        click.echo(spaces.describe_space(spaces.load_space(name_or_file)))


@main.command("objectives")
def objectives_command() -> None:
    """List the objectives a trial can run: built-ins and installed entry points."""
    for objective in objectives.list_objectives():
        click.echo(f"{objective.name:12} {objective.description}")


# -- status and experiments --------------------------------------------------------------------

@main.command()
@with_store
@exp_key_option
@click.option("--watch", is_flag=True, help="Refresh in place until Ctrl-C.")
@click.option("--interval", type=FiniteFloatRange(min=0.5), default=2.0, show_default=True,
              help="Seconds between refreshes with --watch.")
def status(store: Store, exp_key: str | None, watch: bool, interval: float) -> None:
    """Per experiment: trials by state, best score, pace, time left, and the live workers."""
    if store.absent and not watch:
        raise UserError(store.absent)
    try:
        while True:  # each refresh lists the experiments there are now
            keys = [exp_key] if exp_key is not None else [e.exp_key for e in store.experiments()]
            try:
                text = "\n\n".join(
                    render_status(queries.experiment_status(store, key))
                    for key in keys
                ) or f"no experiments in {store.location}"
            except StoreError as error:
                if not watch:
                    raise
                text = f"{error} (yet: watching)"  # a watch started before its search
            if not watch:
                click.echo(text)
                return
            click.clear()
            click.echo(f"{text}\n\n(refreshing every {interval:g} s; Ctrl-C to stop)")
            time.sleep(interval)
    except KeyboardInterrupt:
        return


@main.command()
@with_store
@format_option
def experiments(store: Store, output_format: str) -> None:
    """Every experiment in the store with its objective, space, trial counts and best score."""
    if store.absent:
        raise UserError(store.absent)
    rows = []
    for experiment in store.experiments():
        state = queries.experiment_status(store, experiment.exp_key)
        rows.append({
            "exp_key": experiment.exp_key, "objective": experiment.objective,
            "space": state.space, "epochs": experiment.epochs, **state.counts,
            "max_evals": experiment.max_evals,
            "best_score": state.best.score if state.best else None,
            "created": experiment.created,
        })
    click.echo(render(rows, output_format, empty=f"no experiments in {store.location}"))


main.add_command(plot)
main.add_command(export)
main.add_command(dashboard)
