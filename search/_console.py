"""The `hpsearch` console script, outside `search.cli` so that it loads the commands itself:
a Ctrl-C while they load (a few tenths of a second) then exits as one during a command does,
not with a traceback."""

from __future__ import annotations

import sys


def run() -> None:
    """Run the `hpsearch` command line (as `python -m search` too)."""
    try:
        from search.cli import main
    except KeyboardInterrupt:
        sys.exit(130)  # the shell's code for a command stopped by SIGINT
    main(prog_name="hpsearch")
