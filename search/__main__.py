"""`python -m search` is the `hpsearch` command."""

from search.cli import main

main(prog_name="hpsearch")
