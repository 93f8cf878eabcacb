"""How the farm treats a trial that goes silent, fails or runs too long: one policy per experiment.

The policy is recorded in the experiment, so the driver and every worker, on any host, decide
alike: how often a running trial heartbeats, how long a reclaimer watches an unchanging
heartbeat before it gives the attempt up, how many attempts a trial gets, and how long one
trial may run. A resumed search may change it; processes pick the new values up as they
re-read the experiment.
"""

from __future__ import annotations

import dataclasses
from typing import Any

DEFAULT_HEARTBEAT_INTERVAL = 2.0
DEFAULT_STALE_AFTER = 5 * DEFAULT_HEARTBEAT_INTERVAL
DEFAULT_MAX_ATTEMPTS = 3
# The shortest heartbeat interval a search may ask for: each busy worker writes one per
# interval, so shorter would load the database for nothing a user can see.
MIN_HEARTBEAT_INTERVAL = 0.05
# The longest duration a search may now ask for, about 31 years: the timers and waits they
# become take no more (threading.TIMEOUT_MAX, setitimer's), and a longer one means "no
# limit", which leaving trial_timeout out says. A record an older release wrote with more
# still reads, and its trial timeout counts as none.
MAX_SECONDS = 1e9


class MalformedPolicy(ValueError):
    """A stored policy that is not one of ours, or was damaged."""


@dataclasses.dataclass(frozen=True)
class Policy:
    """The farm's rules for one experiment's trials."""

    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    stale_after: float = DEFAULT_STALE_AFTER  # seconds a heartbeat is watched not changing
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    trial_timeout: float | None = None  # seconds one trial may run; None: no limit

    def __post_init__(self) -> None:
        if not self.heartbeat_interval > 0:
            raise MalformedPolicy(f"heartbeat_interval must be positive, not "
                                  f"{self.heartbeat_interval!r}")
        if not self.stale_after > self.heartbeat_interval:
            raise MalformedPolicy(
                f"stale_after ({self.stale_after:g} s) must be longer than the heartbeat "
                f"interval ({self.heartbeat_interval:g} s), or live trials look dead")
        if self.max_attempts < 1:
            raise MalformedPolicy(f"max_attempts must be at least 1, not {self.max_attempts!r}")
        if self.trial_timeout is not None and not self.trial_timeout > 0:
            raise MalformedPolicy(f"trial_timeout must be positive, not {self.trial_timeout!r}")

    def to_document(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_document(cls, document: Any) -> Policy:
        """The policy a stored document records; the defaults fill in what an older hpsearch
        left out.

        Raises:
            MalformedPolicy: a value of the wrong type or out of range.
        """
        if document is None:
            return cls()
        if not isinstance(document, dict):
            raise MalformedPolicy(f"a policy is a document, not {document!r}")
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            value = document.get(field.name)
            if value is None:
                continue
            integral = field.name == "max_attempts"
            if isinstance(value, bool) or not isinstance(value, int if integral else (int, float)):
                raise MalformedPolicy(f"policy field {field.name!r} is {value!r}")
            values[field.name] = value
        return cls(**values)


def policy_for_run(recorded: Policy | None, *, heartbeat_interval: float | None = None,
                   stale_after: float | None = None, max_attempts: int | None = None,
                   trial_timeout: float | None = None) -> Policy:
    """The policy a run of a search records: the experiment's recorded one (the defaults for
    a new experiment) with the settings given for this run. A setting not given (None) keeps
    its recorded value, so a resume that names none changes nothing.

    Raises:
        MalformedPolicy: the result is not a valid policy (stale_after not longer than the
            heartbeat interval, say).
    """
    given: dict[str, Any] = {"heartbeat_interval": heartbeat_interval, "stale_after": stale_after,
             "max_attempts": max_attempts, "trial_timeout": trial_timeout}
    changes = {name: value for name, value in given.items() if value is not None}
    return dataclasses.replace(recorded or Policy(), **changes)
