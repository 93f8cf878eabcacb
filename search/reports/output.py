"""Rows out to the terminal: an aligned table, JSON, or CSV."""

from __future__ import annotations

import csv
import datetime
import io
import json
from collections.abc import Sequence
from typing import Any

from search.documents import CANCELLED
from search.reports.queries import ExperimentStatus, finished_count
from search.urls import redact

FORMATS = ("table", "json", "csv")


# Provenance columns stay in JSON and CSV but would push a terminal table off the screen.
_TABLE_HIDDEN = {"worker", "attempt", "started", "finished", "error", "error_type"}


def render(rows: Sequence[dict[str, Any]], output_format: str,
           columns: Sequence[str] | None = None, *, empty: str = "(no trials)",
           header: Sequence[str] = ()) -> str:
    """Rows as text. Columns default to every key seen, in first-seen order, or to `header`
    when there are no rows (a CSV of no rows still names its columns); a table of no rows is
    the `empty` line."""
    if columns is None:
        columns = [c for c in _columns(rows) or header
                   if output_format != "table" or c not in _TABLE_HIDDEN]
    # A trial's error (or a parameter) may quote a URL with its password, as objectives'
    # exceptions do: no table or file shows it, as the dashboard shows none.
    rows = [{key: redact(value) if isinstance(value, str) else value
             for key, value in row.items()} for row in rows]
    if output_format == "json":
        return json.dumps([{c: row.get(c) for c in columns} for row in rows], indent=2,
                          default=_json_default)
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows({c: _csv_cell(row.get(c)) for c in columns} for row in rows)
        return buffer.getvalue().rstrip("\n")
    return _table(rows, list(columns)) if rows else empty


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every key of every row, a key first seen in a later row placed after its neighbour
    there, so a conditional hyperparameter ("optimizer/momentum") sits beside its choice
    rather than after the last column."""
    columns: list[str] = []
    for row in rows:
        previous: str | None = None
        for key in row:
            if key not in columns:
                columns.insert(columns.index(previous) + 1 if previous is not None else 0, key)
            previous = key
    return columns


def _table(rows: Sequence[dict[str, Any]], columns: list[str]) -> str:
    columns = [c for c in columns if any(row.get(c) is not None for row in rows)]
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=False)).rstrip()]
    lines += ["  ".join(v.rjust(w) if _numeric(v) else v.ljust(w)
                        for v, w in zip(line, widths, strict=False)).rstrip()
              for line in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return (f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e5
                else f"{value:.4f}".rstrip("0").rstrip("."))
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)  # a line break or a tab in a value would break the table's alignment
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


def _numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _csv_cell(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return "" if value is None else value


def _json_default(value: Any) -> Any:
    """Times as ISO text; anything else JSON has no type for (an ObjectId another program
    stored in a trial's params) as its text, as a table shows it."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)


def render_status(status: ExperimentStatus) -> str:
    """A few lines a person reads at a glance: progress, best, pace, workers."""
    counts = status.counts
    finished = finished_count(counts)
    over = status.max_evals is not None and finished > status.max_evals  # a resume lowered it
    progress = f"{finished}/{status.max_evals}" if status.max_evals and not over else \
        f"{finished}"
    pruned = f", {counts['pruned']} pruned" if counts["pruned"] else ""
    lines = [
        f"{status.exp_key}: {status.objective} on space {status.space}: {progress} "
        f"finished ({counts['ok']} ok{pruned}, {counts['failed']} failed), "
        f"{counts['running']} running, "
        f"{counts['queued']} queued"
        + (f", {counts[CANCELLED]} cancelled" if counts.get(CANCELLED) else "")
        + (f"; more than --max-evals {status.max_evals}, which a resume lowered" if over
           else ""),
    ]
    if status.late_results:
        lines.append(f"  late results: {status.late_results} (kept, not counted; see "
                     f"`hpsearch trials --late`)")
    best = status.best
    if best is not None and best.below_floor:
        lines.append("  best: none above the accuracy floor yet")
    elif best is not None:
        runs = f", {best.runs} runs" if best.runs > 1 else ""
        lines.append(f"  best: trial {best.tid}, {best.score:.4g} acc/s "
                     f"(accuracy {best.accuracy:.4f} in {best.train_seconds:.3f} s{runs})")
    if status.max_train_seconds is not None:
        spent = status.train_seconds >= status.max_train_seconds
        lines.append(f"  trained: {status.train_seconds:.1f} of {status.max_train_seconds:g} s"
                     + (" (the budget is spent: no new trials)" if spent else ""))
    if status.trials_per_minute:
        left = (f", about {_duration(status.seconds_left)} left"
                if status.seconds_left is not None else "")
        lines.append(f"  pace: {status.trials_per_minute:.1f} trials/min{left}")
    for worker in status.workers:
        silent = worker.silent_for(status.read_at)
        live = worker.is_live(status.stale_after, status.read_at)
        state = worker.state if live or worker.state == "stopped" else "lost"
        doing = f"trial {worker.tid}" if worker.state == "busy" and worker.tid is not None else "-"
        lines.append(f"  worker {worker.worker_id:28} {state:7} {doing:10} "
                     f"{worker.jobs_done:4} done  heartbeat {silent:.1f} s ago  {worker.device}")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
