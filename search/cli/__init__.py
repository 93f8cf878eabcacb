"""The `hpsearch` command line: thin click commands over the library."""

from search.cli.main import main

__all__ = ["main"]
