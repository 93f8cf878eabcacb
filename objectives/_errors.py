"""The exception types for user mistakes about objectives."""

from __future__ import annotations


class ObjectiveError(ValueError):
    """A user mistake: unknown objective, malformed or disallowed ``module:function``, bad setting.

    ``str(error)`` is the complete message, written to be shown to the user as is.
    """


class DataMissingError(ObjectiveError):
    """An objective's data set is not on this machine and could not be downloaded.

    The message says where the files are expected and how to get them. Inside a trial it
    becomes a failed trial with reason "data missing"; before a search, a one-line error.
    """
