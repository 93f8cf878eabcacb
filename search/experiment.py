"""An experiment's definition: what every worker needs to rebuild the search by name.

The definition is plain data. A worker reads it and builds the space and the objective from its
own installed code; nothing in it is ever executed or unpickled, since anyone who can write
to the database could otherwise run code on every worker.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import json
from importlib import metadata
from typing import Any, ClassVar

import yaml

import objectives
import spaces
from search.algorithms import ALGO_OF_OLD_EXPERIMENTS, ALGORITHMS, DEFAULT_ALGO
from search.confirmation import DISABLED, ConfirmationSettings
from search.documents import typed, utcnow
from search.policy import MalformedPolicy, Policy
from search.pruning import DEFAULT_PRUNER, PRUNER_NAMES

METRIC = "loss = -accuracy / train_seconds"
# An experiment recorded before experiments recorded their pruner ran every trial to its end.
PRUNER_OF_OLD_EXPERIMENTS = "none"


def hpsearch_version() -> str:
    try:
        return metadata.version("hpsearch")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclasses.dataclass(frozen=True)
class Experiment:
    """One search: its key, the space it samples, and the objective that scores a trial."""

    exp_key: str
    space: dict[str, Any]
    objective: str
    epochs: int
    min_accuracy: float
    device: str = "auto"
    algo: str = DEFAULT_ALGO  # proposes trials; a resume keeps it, so not a definition
    pruner: str = DEFAULT_PRUNER  # stops trials that cannot win; a resume keeps it, like algo
    # The proposals' seed and random start: a resume keeps them, so that it proposes what
    # an uninterrupted search would. None: recorded before they were (the run's own then).
    seed: int | None = None
    startup_trials: int | None = None
    # Where the driver's machine keeps data sets; a worker's own HPSEARCH_DATA_DIR wins, since
    # hosts may mount data in different places. Not part of the definition: data, not meaning.
    data_dir: str | None = None
    torch_compile: bool = False
    max_evals: int | None = None  # the latest target; a resume may raise it, so not a definition
    # The latest budget of training seconds (None: none), recorded like max_evals so that
    # `status` and the dashboard can tell a search that spent it from a stalled one.
    max_train_seconds: float | None = None
    policy: Policy = dataclasses.field(default_factory=Policy)  # latest too, like max_evals
    # Which leading configurations the driver runs again (search.confirmation). A resume keeps
    # it, like algo, so the schedule stays; experiments recorded before it had none.
    confirmation: ConfirmationSettings = DISABLED
    metric: str = METRIC
    version: str = dataclasses.field(default_factory=hpsearch_version)
    # By the recording process's clock; the MongoDB store records the server's instead.
    created: datetime.datetime = dataclasses.field(default_factory=lambda: utcnow())

    # What a resumed search may change: its budgets, the policy and where the data is.
    RESUMABLE: ClassVar[tuple[str, ...]] = ("max_evals", "max_train_seconds", "policy",
                                            "data_dir")

    def to_document(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> Experiment:
        """The experiment a stored document records.

        Raises:
            MalformedExperiment: a field is missing or of the wrong type (any program can
                write to a shared database).
        """
        names = {field.name for field in dataclasses.fields(cls)}
        if not isinstance(document, dict):
            raise MalformedExperiment(f"an experiment is a document, not {document!r}")
        for name, kinds in _FIELD_TYPES.items():
            value = document.get(name)
            if value is None and name not in _REQUIRED:
                continue
            if not isinstance(value, kinds) or (isinstance(value, bool) and kinds is not bool):
                key = document.get("exp_key", document.get("_id"))
                raise MalformedExperiment(f"experiment {key!r} is malformed: field {name!r} is "
                                          f"{value!r}")
        document = {"algo": ALGO_OF_OLD_EXPERIMENTS, "pruner": PRUNER_OF_OLD_EXPERIMENTS,
                    **document}
        if document["algo"] not in ALGORITHMS:
            raise MalformedExperiment(f"experiment {document.get('exp_key')!r} is malformed: "
                                      f"unknown algo {document['algo']!r}")
        if document["pruner"] not in PRUNER_NAMES:
            raise MalformedExperiment(f"experiment {document.get('exp_key')!r} is malformed: "
                                      f"unknown pruner {document['pruner']!r}")
        try:
            policy = Policy.from_document(document.get("policy"))
        except MalformedPolicy as error:
            raise MalformedExperiment(f"experiment {document.get('exp_key')!r} is malformed: "
                                      f"{error}") from None
        try:
            confirmation = ConfirmationSettings.from_document(document.get("confirmation")
                                                              or DISABLED.to_document())
        except (TypeError, ValueError) as error:
            raise MalformedExperiment(f"experiment {document.get('exp_key')!r} is malformed: "
                                      f"{error}") from None
        return cls(**{**{key: value for key, value in document.items() if key in names},
                      "policy": policy, "confirmation": confirmation})

    def latest(self, requested: Experiment) -> Experiment:
        """This recorded experiment with the settings a resume may change (RESUMABLE) taken
        from `requested`."""
        return dataclasses.replace(
            self, **{name: getattr(requested, name) for name in self.RESUMABLE})

    def trial_settings(self, *, seed: int = 0, data_dir: str | None = None
                       ) -> objectives.TrialSettings:
        """What every trial of this experiment runs with; the seed is the trial's own.

        `data_dir` is where this host keeps the data sets: a worker's own wins over the one
        the experiment recorded, since hosts may mount data in different places.

        Raises:
            ObjectiveError: a recorded setting is out of range.
        """
        return objectives.TrialSettings(
            epochs=self.epochs, min_accuracy=self.min_accuracy, device=self.device, seed=seed,
            data_dir=data_dir or self.data_dir, torch_compile=self.torch_compile)

    def definition(self) -> dict[str, Any]:
        """The fields that decide what a trial means; a resumed search must not change them.

        The version and creation time are left out: upgrading hpsearch or rerunning later is
        a resume, not a different experiment.

        Raises:
            SpaceError: the recorded space cannot be rebuilt here.
        """
        space = spaces.space_from_record(self.space)
        return {
            "space": space.document,  # what the file means: not its comments or its name
            "objective": self.objective,
            # A space that searches epochs gives each trial its own; the experiment's go unused.
            "epochs": None if space.searches_epochs else self.epochs,
            "min_accuracy": self.min_accuracy,
            "device": self.device,
            "torch_compile": self.torch_compile,
            "metric": self.metric,
        }


_REQUIRED = ("exp_key", "space", "objective", "epochs", "min_accuracy")
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "exp_key": str, "space": dict, "objective": str, "epochs": int,
    "min_accuracy": (int, float), "device": str, "max_evals": int, "metric": str,
    "max_train_seconds": (int, float),
    "version": str, "created": datetime.datetime, "algo": str, "data_dir": str,
    "torch_compile": bool, "pruner": str, "confirmation": dict, "seed": int,
    "startup_trials": int,
}


class MalformedExperiment(ValueError):
    """A stored experiment document that is not one of ours, or was damaged."""


class ExperimentConflict(ValueError):
    """A search was started under an existing key with a different definition."""


def check_same_definition(recorded: Experiment, requested: Experiment) -> None:
    """Raise ExperimentConflict, showing each difference, unless the two definitions agree."""
    try:
        old = recorded.definition()
    except spaces.SpaceError as error:  # recorded by a release that accepted what this refuses
        raise ExperimentConflict(
            f"experiment {recorded.exp_key!r} was recorded with a space this hpsearch release "
            f"does not accept:\n  {error}\nResume it with the release that started it, or "
            "start a new experiment (--exp-key) with the space fixed.") from None
    new = requested.definition()
    # The space by type too; the other fields by value (a min_accuracy of 0 is 0.0).
    changed = [key for key in old if (typed(old[key]) != typed(new[key]) if key == "space"
                                      else old[key] != new[key])]
    if not changed:
        return
    lines = [
        f"experiment {recorded.exp_key!r} already exists with a different definition:",
    ]
    for key in changed:
        if key == "space":
            lines.append("  space: the parameters differ (- recorded, + requested):")
            lines += [f"    {line}" for line in _difference(old[key], new[key])]
        else:
            lines.append(f"  {key}: recorded {_short(old[key])}, requested {_short(new[key])}")
    lines.append("Rerun with the recorded settings to resume it, or choose a new experiment key "
                 "(--exp-key).")
    raise ExperimentConflict("\n".join(lines))


def _difference(recorded: Any, requested: Any, most: int = 30) -> list[str]:
    """The changed lines of two parsed space files, written out as YAML."""
    lines = list(difflib.unified_diff(
        yaml.safe_dump(recorded, sort_keys=False, allow_unicode=True).splitlines(),
        yaml.safe_dump(requested, sort_keys=False, allow_unicode=True).splitlines(),
        lineterm="", n=1))[2:]
    return lines if len(lines) <= most else [*lines[:most], f"... ({len(lines) - most} more)"]


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
