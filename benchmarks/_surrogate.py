"""Where the LCBench surrogate is, for every benchmark that replays it.

YAHPO Gym's model of LCBench's training runs lives outside the repository, in
`../shared/data/lcbench-surrogate/` beside it (its README says how it is called and where it
is weak); `HPSEARCH_LCBENCH_DIR` names another place. Its task list is written out here, so
that a benchmark's `--help`, and its families that do not replay the surrogate, run without it.
"""

from __future__ import annotations

import os
from pathlib import Path

SURROGATE_DIR = Path(os.environ.get("HPSEARCH_LCBENCH_DIR") or
                     Path(__file__).resolve().parents[2] / "shared" / "data" / "lcbench-surrogate")

# The OpenML tasks the surrogate models: `config_space.json`'s OpenML_task_id choices, in order.
TASKS = ("3945", "7593", "34539", "126025", "126026", "126029", "146212", "167104", "167149",
         "167152", "167161", "167168", "167181", "167184", "167185", "167190", "167200",
         "167201", "168329", "168330", "168331", "168335", "168868", "168908", "168910",
         "189354", "189862", "189865", "189866", "189873", "189905", "189906", "189908",
         "189909")


def surrogate_file(name: str) -> Path:
    """The surrogate's file `name`; a missing one ends the benchmark with where to put it."""
    path = SURROGATE_DIR / name
    if not path.is_file():
        raise SystemExit(f"error: the LCBench surrogate has no {name} in {SURROGATE_DIR}: put "
                         "its directory at ../shared/data/lcbench-surrogate beside the "
                         "repository, or name it with HPSEARCH_LCBENCH_DIR")
    return path
