"""Where log lines go, and the one thing each one must never hold: a password."""

from __future__ import annotations

import logging
import sys
import warnings

from search.urls import redact

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Log lines, tracebacks included, with the password of every URL in them replaced."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def configure_logging(level: int) -> None:
    """Log to stderr at `level`, redacted: for the command line, and for each worker process
    it spawns (a spawned process starts with no logging of its own)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    warnings.formatwarning = _one_line


def _one_line(message: Warning | str, category: type[Warning], filename: str, lineno: int,
              line: str | None = None) -> str:
    """A warning as `Category: message`, without the file and source line of a library's
    code (pymongo's, on an option of a URL it does not know), which say nothing to a user."""
    return f"{category.__name__}: {message}\n"
