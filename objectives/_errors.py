"""The one exception type for user mistakes about objectives."""

from __future__ import annotations


class ObjectiveError(ValueError):
    """A user mistake: unknown objective, malformed or disallowed ``module:function``, bad setting.

    ``str(error)`` is the complete message, written to be shown to the user as is.
    """
