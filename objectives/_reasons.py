"""Why a trial failed, named once, and the one function that builds a failed result (and the
one that says it in a line).

Every failed result, whoever writes it (the objective machinery, a worker that cannot run or
store a trial, a store that gives a trial up), has the same shape: ``status`` "fail", no
``loss`` and no ``accuracy``, a ``reason`` from :class:`Reason` and an ``error`` message.
`objectives` defines them, since it may import nothing from `search`; `search` uses them.
Torch-free, so the stores and the query commands can import it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

STATUS_OK = "ok"  # the values of hyperopt.STATUS_OK / STATUS_FAIL, without importing hyperopt
STATUS_FAIL = "fail"


class Reason(enum.StrEnum):
    """The ``reason`` of a failed result; stored as its plain string value."""

    DIVERGED = "diverged"  # a NaN or infinite loss or accuracy
    DATA_MISSING = "data missing"  # the objective's data set is not on the worker
    OUT_OF_MEMORY = "out of memory"
    EXCEPTION = "exception"  # the objective raised
    TIMEOUT = "timeout"  # the trial ran past the experiment's trial timeout
    MALFORMED_JOB = "malformed job"  # the job document is not one a worker can trust
    UNSTORABLE_PARAMETERS = "unstorable parameters"  # the database cannot store the params
    UNSTORABLE_RESULT = "unstorable result"  # the database cannot store the result
    ABANDONED = "abandoned"  # every attempt was given up; a real result that comes later wins


def failed_result(reason: Reason, error: str, **details: Any) -> dict[str, Any]:
    """A failed trial's result: no loss and no accuracy (never NaN or inf, which TPE and the
    database choke on), the reason, what went wrong, and any `details` (plain data)."""
    return {"status": STATUS_FAIL, "reason": str(reason), "loss": None, "accuracy": None,
            "error": error, **details}


def describe_failure(result: Mapping[str, Any]) -> str:
    """A failed result in one line, `reason (ErrorType): message`: the type, because many
    exceptions say little without it (a KeyError's message is the key alone)."""
    kind = f" ({result['error_type']})" if result.get("error_type") else ""
    error = result.get("error")
    return f"{result.get('reason')}{kind}" + (f": {error}" if error else "")
