"""A repeat's job document: its original's hyperparameters under a tid (and seed) of its own.

A repeat is an ordinary Hyperopt job, so the job schema, the claims and the workers do not
change: only `repeat_of` links it to the trial it repeats. Its own tid gives it its own seed
(a trial's seed is its tid), and `avoid_worker` names the worker that ran the original, which
a farm's queue hands the repeat to last, so that the device and host vary too where there are
other workers.
"""

from __future__ import annotations

import copy

from search.documents import AVOID_WORKER, JOB_STATE_NEW, REPEAT_OF, JobDoc, utcnow
from search.trial import Trial

# What a repeat copies of its original's `misc`: how Hyperopt drew the values, and the values.
_COPIED_MISC = ("cmd", "workdir", "vals", "params")


def repeat_job(original: JobDoc, tid: int) -> JobDoc:
    """A queued job that runs `original`'s values again as trial `tid`."""
    misc = {key: copy.deepcopy(original["misc"][key])
            for key in _COPIED_MISC if key in original["misc"]}
    misc["tid"] = tid
    misc["idxs"] = {label: [tid] if values else []
                    for label, values in original["misc"]["idxs"].items()}
    result = original.get("result")
    worker = result.get("worker") if isinstance(result, dict) else None
    return {"tid": tid, "spec": copy.deepcopy(original.get("spec")), "result": {"status": "new"},
            "misc": misc, "state": JOB_STATE_NEW, "exp_key": original["exp_key"], "owner": None,
            "version": 0, "book_time": None, "refresh_time": None, "attempt": 0,
            "created": utcnow(), REPEAT_OF: original["tid"],
            AVOID_WORKER: worker if isinstance(worker, str) else None}


def is_repeat(trial: Trial) -> bool:
    """The trial was scheduled to confirm another (its job links to the original)."""
    return isinstance(trial.job.get(REPEAT_OF), int)
