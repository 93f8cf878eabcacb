"""The public names of `spaces`: read by type checkers, and by `lazy_loader` at run time
to load each name from its module on first use."""

from ._describe import describe_space
from ._errors import SpaceError
from ._load import builtin_space_names, load_space, space_from_record
from ._sample import sample_space
from ._space import Parameter, SearchSpace

__all__ = [
    "Parameter",
    "SearchSpace",
    "SpaceError",
    "builtin_space_names",
    "describe_space",
    "load_space",
    "sample_space",
    "space_from_record",
]
