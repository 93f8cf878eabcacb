"""`python -m search` is the `hpsearch` command."""

from search._console import run

run()
