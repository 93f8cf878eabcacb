"""The one error the dashboard raises for a user to read."""

from __future__ import annotations


class DashboardError(Exception):
    """A dashboard that cannot be served as asked: a port in use, a missing token. The
    message says what to do and holds no password."""
