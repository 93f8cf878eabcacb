"""Search spaces: what hpsearch searches over, as hyperopt graphs.

A space is a built-in name (``default``) or a YAML file in the ``parameters:`` vocabulary
of W&B sweep files. Every space carries a plain-data ``record`` from which a worker on
another machine rebuilds the very same space, so the database never carries code.
"""

import lazy_loader

# Names load on first use (PEP 562), so that `import spaces` does not import hyperopt:
# the CLI's query commands and `--help` never build a space.
# The names and their modules are listed once, in __init__.pyi.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
