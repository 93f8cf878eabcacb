"""The `_id`s of the store's documents, chosen, never generated: a retried insert cannot add a
job twice, and each decision about a job has one name, which only one insert can take."""

from __future__ import annotations

from typing import Any


def job_id(exp_key: str, tid: int) -> str:
    """A job queued by our driver. (Jobs Hyperopt wrote keep their ObjectIds.)"""
    return f"{exp_key}/{tid}"


def run_claim_id(job: Any, attempt: int) -> str:
    """Who runs `attempt` of the job: exactly one worker inserts it."""
    return f"{job}/run/{attempt}"


def start_claim_id(job: Any, attempt: int) -> str:
    """That `attempt` of the job, reserved ahead, started running."""
    return f"{job}/start/{attempt}"


def requeue_claim_id(job: Any, attempt: int) -> str:
    """Who gave `attempt` of the job up, and whether it was requeued or abandoned."""
    return f"{job}/requeue/{attempt}"


def result_claim_id(job: Any) -> str:
    """The job's result, committed once."""
    return f"{job}/result"


def late_result_id(job: Any, attempt: int) -> str:
    """A result `attempt` of the job offered after another attempt's result was committed."""
    return f"{result_claim_id(job)}/{attempt}"
