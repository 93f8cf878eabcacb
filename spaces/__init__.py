"""Search spaces: what hpsearch searches over, as hyperopt graphs.

A space is a built-in name (``default``) or a YAML file in the ``parameters:`` vocabulary
of W&B sweep files. Every space carries a plain-data ``record`` from which a worker on
another machine rebuilds the very same space, so the database never carries code.
"""

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
