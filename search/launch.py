"""Launching or resuming a search: the library's one entry point, which the CLI calls too.

    import search

    results = search.optimize("digits", "default",
                              search.SearchOptions(exp_key="demo", max_evals=30, epochs=5))
    results.best(3)                        # as search.results("./hpsearch-runs", "demo") reads

`optimize` is to hpsearch what `study.optimize` is to Optuna and `fmin` to Hyperopt. With a
directory store the trials run in this process, and the objective may be a function of the
caller's; with a `mongodb://` store they are queued for `hpsearch worker` processes, which
build the objective by name from their own installed code, so it must be given by name.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import math
import os
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import objectives
import spaces
from search.algorithms import ALGORITHMS, DEFAULT_ALGO
from search.confirmation import DEFAULT, parse_confirm
from search.experiment import Experiment, ExperimentConflict, check_same_definition
from search.policy import MAX_SECONDS, MIN_HEARTBEAT_INTERVAL, MalformedPolicy, policy_for_run
from search.pruning import DEFAULT_PRUNER, PRUNER_NAMES
from search.reports.results import ExperimentResults
from search.store import DEFAULT_LOCATION, Store, exp_key_problem, opened_store
from search.urls import is_mongodb_url, redact, redact_location, redact_message

if TYPE_CHECKING:
    from search.farm.driver import SearchProgress
    from search.farm.worker import Worker

log = logging.getLogger(__name__)

ObjectiveFunction = Callable[[dict[str, Any], "objectives.TrialContext"], Mapping[str, Any]]


class InvalidSearchOptions(ValueError):
    """Options that no search can run with; the message says which and how to fix them."""


class RecordedChoiceKept(UserWarning):
    """A resume asked for another algo, pruner, confirmation, seed or number of startup trials
    than its experiment recorded; it keeps the recorded ones, which its proposals follow."""


class SearchFailed(Exception):
    """The search ended without a successful trial, or stopped because its trials kept failing
    (embedded); the message says how. Its trials are in the store for `search.results`."""


@dataclasses.dataclass(frozen=True)
class SearchOptions:
    """How a search runs; each field is the `hpsearch search` option of the same name, with
    the same default.

    Attributes:
        store: A directory (embedded: trials run in this process; a `pathlib.Path` will do)
            or a `mongodb://` URL (a farm: trials are queued for `hpsearch worker` processes).
        exp_key: Names the search; the same key resumes it.
        max_evals: Trials to finish in all, counting those of earlier runs.
        epochs: Training epochs per trial.
        min_accuracy: Accuracy floor: a trial below it scores the worst possible (loss 0).
        seed: Seed of the proposals. Recorded; a resume keeps it.
        device: `auto`, `cpu`, `cuda` or `cuda:N`.
        startup_trials: Random trials before the algorithm starts modelling. Recorded; a
            resume keeps it.
        algo: What proposes trials (search.algorithms.ALGORITHMS). Recorded; a resume keeps it.
        pruner: What stops trials that cannot win (search.pruning.PRUNER_NAMES; "none" runs
            every trial to its end). Recorded; a resume keeps it.
        max_queue: Cap on the trials queued ahead of the workers (farm only).
        max_train_seconds: Stop once the experiment's finished trials have trained this many
            seconds in all (pruned and failed ones included; earlier runs' too); trials
            queued or running then still finish. None: no budget.
        heartbeat_interval, stale_after, max_attempts, trial_timeout: The experiment's
            policy (search.policy.Policy). None keeps the recorded value (the default for a
            new experiment); a value given is recorded, and every worker uses it.
        max_consecutive_failures: Stop after this many failed trials in a row (embedded;
            workers have their own); None: never.
        data_dir: Where the data sets are (None: the objectives' default); a worker's own
            HPSEARCH_DATA_DIR wins over it.
        torch_compile: Ask objectives that support it to `torch.compile` their model.
        confirm: Confirmation runs (search.confirmation): `default`, `none`, or the fraction
            of the trials that may repeat leading configurations (0.1 or "0.1"). Recorded; a
            resume keeps it.
    """

    store: str | os.PathLike[str] = DEFAULT_LOCATION
    exp_key: str = "default"
    max_evals: int = 20
    epochs: int = 20
    min_accuracy: float = 0.5
    seed: int = 0
    device: str = "auto"
    startup_trials: int = 10
    algo: str = DEFAULT_ALGO
    pruner: str = DEFAULT_PRUNER
    max_queue: int | None = None
    max_train_seconds: float | None = None
    heartbeat_interval: float | None = None
    stale_after: float | None = None
    max_attempts: int | None = None
    trial_timeout: float | None = None
    max_consecutive_failures: int | None = 5
    data_dir: str | os.PathLike[str] | None = None
    torch_compile: bool = False
    confirm: str | float = DEFAULT

    def __repr__(self) -> str:
        # Options are shown in notebooks, logs and error trackers: the store's password is not.
        shown = {field.name: repr(getattr(self, field.name))
                 for field in dataclasses.fields(self)}
        shown["store"] = repr(redact_location(os.fspath(self.store)))
        return f"{type(self).__name__}({', '.join(f'{k}={v}' for k, v in shown.items())})"

    def __post_init__(self) -> None:
        # Every field is checked here, before anything is written: a value the store would
        # refuse to read back must never reach an experiment's record. Paths become text.
        for name in ("store", "data_dir"):
            value = getattr(self, name)
            if isinstance(value, os.PathLike):
                object.__setattr__(self, name, os.fspath(value))
        if not isinstance(self.store, str) or not self.store:
            _refuse("store", self.store, "a directory path or a mongodb:// URL")
        if self.data_dir is not None and (not isinstance(self.data_dir, str) or not self.data_dir):
            _refuse("data_dir", self.data_dir, "a directory path, or None for the default")
        for name in ("exp_key", "device"):
            if not isinstance(getattr(self, name), str):
                _refuse(name, getattr(self, name), "a string")
        problem = exp_key_problem(self.exp_key)  # before the store opens, or torch loads
        if problem is not None:
            raise InvalidSearchOptions(problem)
        try:  # its form only: a farm's workers, not its driver, need the device
            object.__setattr__(self, "device", objectives.device_setting(self.device))
        except objectives.ObjectiveError as error:
            raise InvalidSearchOptions(str(error)) from None
        for name in ("max_evals", "epochs", "startup_trials"):  # recorded: 64-bit integers
            _check_whole(name, getattr(self, name), least=1, below=2**63)
        for name in ("max_queue", "max_consecutive_failures", "max_attempts"):
            if getattr(self, name) is not None:
                _check_whole(name, getattr(self, name), least=1, below=2**63)
        _check_whole("seed", self.seed, least=0, below=2**63)  # recorded: a 64-bit integer
        if not _is_number(self.min_accuracy) or not 0.0 <= self.min_accuracy <= 1.0:
            _refuse("min_accuracy", self.min_accuracy, "a fraction in [0, 1], such as 0.5")
        for name in ("max_train_seconds", "heartbeat_interval", "stale_after", "trial_timeout"):
            value = getattr(self, name)
            if value is not None and (not _is_number(value) or not value > 0):
                _refuse(name, value, "a number of seconds above 0, or None")
        if self.max_train_seconds is not None and not self.max_train_seconds < math.inf:
            _refuse("max_train_seconds", self.max_train_seconds,  # recorded: finite
                    "a finite number of seconds, or None for no budget")
        for name in ("heartbeat_interval", "stale_after", "trial_timeout"):
            value = getattr(self, name)
            if value is not None and not value <= MAX_SECONDS:
                _refuse(name, value, f"at most {MAX_SECONDS:g} s (about 31 years), or None")
        if self.heartbeat_interval is not None and self.heartbeat_interval < MIN_HEARTBEAT_INTERVAL:
            _refuse("heartbeat_interval", self.heartbeat_interval,
                    f"at least {MIN_HEARTBEAT_INTERVAL} s (as --heartbeat-interval), or None")
        if not isinstance(self.torch_compile, bool):
            _refuse("torch_compile", self.torch_compile, "True or False")
        if self.algo not in ALGORITHMS:
            raise InvalidSearchOptions(f"unknown algo {self.algo!r}; choose one of "
                                       f"{', '.join(ALGORITHMS)}")
        if self.pruner not in PRUNER_NAMES:
            raise InvalidSearchOptions(f"unknown pruner {self.pruner!r}; choose one of "
                                       f"{', '.join(PRUNER_NAMES)}")
        try:
            parse_confirm(self.confirm)
        except ValueError as error:
            raise InvalidSearchOptions(str(error)) from None

    @property
    def is_farm(self) -> bool:
        """Whether workers elsewhere run the trials (a `mongodb://` store)."""
        return is_mongodb_url(os.fspath(self.store))

    def experiment(self, recorded: Experiment | None, space: spaces.SearchSpace,
                   objective: str) -> Experiment:
        """The experiment this run asks for, its policy merged over the `recorded` one's.

        Raises:
            InvalidSearchOptions: the merged policy is invalid.
        """
        try:
            policy = policy_for_run(
                recorded.policy if recorded else None,
                heartbeat_interval=self.heartbeat_interval, stale_after=self.stale_after,
                max_attempts=self.max_attempts, trial_timeout=self.trial_timeout)
        except MalformedPolicy as error:  # each value is valid alone: this is how they relate
            raise InvalidSearchOptions(f"{error}; adjust stale_after or heartbeat_interval "
                                       "(--stale-after, --heartbeat-interval)") from None
        return Experiment(exp_key=self.exp_key, space=space.record, objective=objective,
                          epochs=self.epochs, min_accuracy=self.min_accuracy,
                          device=self.device, algo=self.algo, pruner=self.pruner,
                          seed=self.seed, startup_trials=self.startup_trials,
                          # Where the data is may move; left out, it stays where recorded.
                          data_dir=_text(self.data_dir) if self.data_dir is not None
                          or not recorded else recorded.data_dir,
                          torch_compile=self.torch_compile, max_evals=self.max_evals,
                          max_train_seconds=self.max_train_seconds, policy=policy,
                          confirmation=parse_confirm(self.confirm))


def kept_choices(recorded: Experiment, options: SearchOptions) -> dict[str, str]:
    """The choices a resume keeps (algo, pruner, confirm, seed, startup_trials) that `options`
    names otherwise than `recorded`, each with the recorded one as text."""
    kept = {"algo": (recorded.algo, options.algo), "pruner": (recorded.pruner, options.pruner),
            "confirm": (recorded.confirmation, parse_confirm(options.confirm)),
            "seed": (recorded.seed, options.seed),
            "startup_trials": (recorded.startup_trials, options.startup_trials)}
    return {name: _recorded_choice(name, recorded) for name, (was, asked) in kept.items()
            if was is not None and was != asked}


def _warn_of_kept_choices(recorded: Experiment, options: SearchOptions) -> None:
    """Say which choices a resume keeps over those `options` names. A default names nothing:
    `SearchOptions` cannot tell it from a value given."""
    for name, was in kept_choices(recorded, options).items():
        if not _is_default(options, name):
            warnings.warn(f"{name}={getattr(options, name)!r} is ignored: a resume of "
                          f"{options.exp_key!r} keeps its recorded {name} ({was}); choose a "
                          "new exp_key to search with another", RecordedChoiceKept,
                          stacklevel=4)  # the caller of optimize (a notebook's cell)


def _is_default(options: SearchOptions, name: str) -> bool:
    defaults = SearchOptions()
    if name == "confirm":
        return parse_confirm(options.confirm) == parse_confirm(defaults.confirm)
    return bool(getattr(options, name) == getattr(defaults, name))


def _recorded_choice(name: str, experiment: Experiment) -> str:
    if name != "confirm":
        return str(getattr(experiment, name))
    fraction = experiment.confirmation.fraction
    return "none" if fraction == 0 else f"{fraction:g} of the trials"


def _text(path: str | os.PathLike[str] | None) -> str | None:
    """A path field as the text `__post_init__` made it (typed as given, so a Path type-checks)."""
    return None if path is None else os.fspath(path)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_whole(name: str, value: object, *, least: int, below: int | None = None) -> None:
    if (isinstance(value, bool) or not isinstance(value, int) or value < least
            or (below is not None and value >= below)):
        _refuse(name, value, f"a whole number of at least {least}"
                + ("" if below is None else f" and below {below}"))


def _refuse(name: str, value: object, expected: str) -> None:
    raise InvalidSearchOptions(redact_message(f"{name} must be {expected}, not {value!r}"))


def optimize(
    objective: str | objectives.Objective | ObjectiveFunction,
    space: str | os.PathLike[str] | spaces.SearchSpace = "default",
    options: SearchOptions | None = None,
    *,
    on_progress: Callable[[SearchProgress], None] | None = None,
) -> ExperimentResults:
    """Run a search, or resume the one `options.exp_key` names, until `options.max_evals`
    trials have finished (or `options.max_train_seconds` are spent); return its results, as
    `search.results` reads them.

    Args:
        objective: What a trial trains: a built-in name, an installed entry point or
            `package.module:function`; for a directory store also a function
            `(params, trial) -> {"accuracy": ...}` or an `objectives.Objective`.
        space: A built-in space name, a YAML space file, or a loaded `spaces.SearchSpace`.
        options: How the search runs (the defaults of `hpsearch search`).
        on_progress: Called after each change with the trials finished and the best so far.

    Warns:
        RecordedChoiceKept: a resume names another algo, pruner, confirm, seed or
            startup_trials than recorded (the recorded ones are kept); a default is taken
            as naming nothing.

    Raises:
        InvalidSearchOptions: options no search can run with (or an `on_progress` that is
            not a function).
        StoreError: the store cannot be opened or written, or the key is invalid.
        ExperimentConflict: the key names an experiment with another definition, or jobs
            that no hpsearch experiment recorded (Hyperopt's own MongoTrials wrote them).
        SpaceError: the space cannot be loaded, or the objective cannot read what it
            proposes (a misspelt hyperparameter).
        ObjectiveError: the objective is unknown, given as a function to a farm, or cannot
            run here (its data is missing; a farm only logs that, its workers have their own).
        SearchFailed: no trial succeeded, or (embedded) too many failed in a row.
    """
    return _optimize(objective, space, options, on_progress, owns_process=False)


def optimize_in_own_process(
    objective: str | objectives.Objective | ObjectiveFunction,
    space: str | os.PathLike[str] | spaces.SearchSpace = "default",
    options: SearchOptions | None = None,
    *,
    on_progress: Callable[[SearchProgress], None] | None = None,
) -> ExperimentResults:
    """`optimize`, for a caller that owns its process (the `hpsearch search` command): an
    embedded trial stuck in native code past its timeout ends the process, as a worker's does,
    rather than hang it for good (a resume goes on from there). A caller's process (a
    notebook's kernel, a script) is never ended: that is `optimize`."""
    return _optimize(objective, space, options, on_progress, owns_process=True)


def _optimize(objective: str | objectives.Objective | ObjectiveFunction,
              space: str | os.PathLike[str] | spaces.SearchSpace,
              options: SearchOptions | None,
              on_progress: Callable[[SearchProgress], None] | None,
              owns_process: bool) -> ExperimentResults:
    options = SearchOptions() if options is None else options
    if not isinstance(options, SearchOptions):
        raise InvalidSearchOptions(redact_message(
            f"options must be a search.SearchOptions, not {type(options).__name__} "
            f"{options!r}: write SearchOptions(max_evals=..., ...)"))
    if on_progress is not None and not callable(on_progress):
        raise InvalidSearchOptions(f"on_progress must be a function of the progress, or None, "
                                   f"not {type(on_progress).__name__} {on_progress!r}")
    chosen = _objective(objective, options.is_farm)
    loaded = _space(space)
    if not options.is_farm:
        objectives.resolve_device(options.device)  # this process trains on it
    with opened_store(options.store) as store:
        recorded = store.experiment(options.exp_key)
        if recorded is None:
            _refuse_foreign_jobs(store, options.exp_key)
        experiment = options.experiment(recorded, loaded, chosen.name)
        if recorded is not None:
            check_same_definition(recorded, experiment)  # before any note on what it would run
            _warn_of_kept_choices(recorded, options)
        _check_params(chosen, loaded, resumed=recorded is not None)
        _check(chosen, experiment, runs_here=not options.is_farm)
        if options.is_farm:
            _drive(store, experiment, loaded, options, None, on_progress)
        else:
            with objectives.every_core_for_this_process():
                _drive(store, experiment, loaded, options,
                       _local_worker(store, chosen, options, owns_process), on_progress)
        results = ExperimentResults.read(store, options.exp_key)
    failed = [trial for trial in results.trials if trial.state == "failed"]
    if failed and not any(trial.state in ("ok", "pruned") for trial in results.trials):
        last = failed[-1]
        raise SearchFailed(redact(
            f"no trial succeeded; the last failure, trial {last.tid}: "
            f"{objectives.describe_failure(last.job.get('result') or {})}"))
    return results


def _drive(store: Store, experiment: Experiment, space: spaces.SearchSpace,
           options: SearchOptions, local_worker: Worker | None,
           on_progress: Callable[[SearchProgress], None] | None) -> None:
    from search.farm.driver import DriverOptions, TrialsKeepFailing, run_search  # Hyperopt

    try:
        run_search(store, experiment, space.graph,
                   DriverOptions(seed=options.seed, startup_trials=options.startup_trials,
                                 max_queue=options.max_queue),
                   local_worker=local_worker, on_progress=on_progress)
    except TrialsKeepFailing as error:
        raise SearchFailed(str(error)) from None


def _objective(given: str | objectives.Objective | ObjectiveFunction, farm: bool
               ) -> objectives.Objective:
    """The objective a search runs, by name or as given (embedded only)."""
    if isinstance(given, str):
        if farm and given.split(":")[0] in ("__main__", "__mp_main__"):
            raise objectives.ObjectiveError(
                f"objective {given!r}: a farm's workers would import their own __main__ (the "
                "hpsearch command), not this notebook or script: move the function into a "
                "module on the workers' PYTHONPATH or in an installed package, and name it "
                "package.module:function")
        return objectives.resolve_objective(given, allowed_modules=(given,))
    if farm:
        raise objectives.ObjectiveError(
            "a farm's workers build the objective by name from their own installed code: pass "
            "its name (a built-in, an installed entry point or package.module:function), not "
            f"{type(given).__name__} {given!r}")
    if isinstance(given, objectives.Objective):
        return given
    if callable(given):
        return objectives.objective_from_function(_function_name(given), given)
    raise objectives.ObjectiveError(
        f"an objective is a name, a function (params, trial) -> dict or an "
        f"objectives.Objective, not {type(given).__name__} {given!r}")


def _space(given: str | os.PathLike[str] | spaces.SearchSpace) -> spaces.SearchSpace:
    if isinstance(given, spaces.SearchSpace):
        return given
    if isinstance(given, str | os.PathLike):
        return spaces.load_space(os.fspath(given))
    raise spaces.SpaceError(
        f"a space is a built-in space name, a YAML space file or a spaces.SearchSpace, not "
        f"{type(given).__name__}: an experiment records its space as data, so that workers "
        "can rebuild it; write Hyperopt expressions as YAML (docs/spaces.md), or pass "
        "search.tpe.suggest to hyperopt.fmin (docs/python.md)")


def _function_name(function: Callable[..., Any]) -> str:
    """`module:qualname`, the same in every process, so that a resume recognizes the objective:
    a partial is named by the function it wraps (as a closure is, whatever it closes over), a
    callable object by its class."""
    while isinstance(function, functools.partial):
        function = function.func
    named = function if hasattr(function, "__qualname__") else type(function)
    return f"{named.__module__}:{named.__qualname__}"


def _check(objective: objectives.Objective, experiment: Experiment, runs_here: bool) -> None:
    """Ask the objective whether its trials can run (its data is there), before any trial.

    Embedded, the trials run here, so a failed check stops the search. In a farm the workers
    run them with their own data directories, so here it is only a note.
    """
    settings = experiment.trial_settings()  # the settings themselves are checked either way
    if objective.check is None:
        return
    try:
        objective.check(settings)
    except objectives.ObjectiveError as error:
        if runs_here:
            raise
        log.warning("not found on this machine, which is fine if the workers have it (each "
                    "worker reads its own HPSEARCH_DATA_DIR): %s", error)


def _refuse_foreign_jobs(store: Store, exp_key: str) -> None:
    """A new search must not take over jobs another program filed under its key (Hyperopt's
    own fmin with MongoTrials writes such, and no experiment record): they would count
    toward its max_evals and mix into its tables."""
    foreign = store.jobs(exp_key, fields=("tid",))
    if foreign and store.experiment(exp_key) is None:  # not a driver started beside this one
        raise ExperimentConflict(
            f"{store.location} holds {len(foreign)} jobs under the key {exp_key!r} but no "
            "hpsearch experiment of that name (Hyperopt's own fmin with MongoTrials writes "
            "such): choose another exp_key (--exp-key), or delete those jobs (in mongosh: "
            f"db.jobs.deleteMany({{exp_key: {json.dumps(exp_key)}}}))")


SPACE_DRAWS_CHECKED = 32  # enough to reach every branch of a space a person writes


def _check_params(objective: objectives.Objective, space: spaces.SearchSpace, *,
                  resumed: bool) -> None:
    """Ask the objective whether it can read what the space proposes, before any trial.

    A misspelt hyperparameter would otherwise fail every trial (on a farm, every worker's),
    or be searched and recorded while training ignored it. The draws are the prior's, from
    their own generator, so the search's proposals are unchanged. A new search is refused;
    a resumed one (an older release recorded it, its other trials may run) is warned: its
    recorded space is kept, so the fix is a new key.
    """
    if objective.check_params is None:
        return
    for params in spaces.sample_space(space, SPACE_DRAWS_CHECKED, seed=0):
        plain = objectives.plain_data(params, "params")
        try:
            objective.check_params(plain)
        except (ValueError, TypeError) as error:  # float(None): a null the space offers
            misfit = (f"the space {space.name} does not fit the objective {objective.name}: "
                      f"{error}\n  a draw of the space: {plain}")
            if not resumed:
                raise spaces.SpaceError(misfit) from None
            log.warning("%s\n  this resume goes on, and the trials that draw such params fail; "
                        "a resume keeps the recorded space, so search a corrected one under a "
                        "new exp_key", misfit)
            return


def _local_worker(store: Store, objective: objectives.Objective, options: SearchOptions,
                  owns_process: bool) -> Worker:
    """The worker that runs an embedded search's trials in this process, which it may end
    (see `WorkerOptions.end_when_stuck`) only if its caller `owns_process`."""
    from search.farm.worker import Worker, WorkerOptions, worker_id

    return Worker(store, worker_id(None),
                  WorkerOptions(exp_keys=(options.exp_key,), data_dir=_text(options.data_dir),
                                max_consecutive_failures=options.max_consecutive_failures,
                                end_when_stuck=owns_process),
                  given_objectives=(objective,))
