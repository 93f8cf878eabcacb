"""Commands import only what they use: `--help` and the queries never load torch, Hyperopt or
matplotlib, which take seconds to import and which those commands never need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hpsearch_processes import REPO_ROOT
from stored_trials import record_trials

HEAVY = ("torch", "hyperopt", "matplotlib", "sklearn", "scipy", "pymongo")

# Runs one command in-process, then prints which heavy modules it loaded.
PROBE = """
import json, sys
from search.cli import main
try:
    main(sys.argv[1:], prog_name="hpsearch")
except SystemExit:
    pass
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & set(HEAVY))),
      file=sys.stderr)
"""


def heavy_modules_loaded(*args: str) -> list[str]:
    completed = subprocess.run([sys.executable, "-c", f"HEAVY = {HEAVY!r}\n{PROBE}", *args],
                               capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
                               env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""})
    return json.loads(completed.stderr.strip().splitlines()[-1])


def test_help_imports_no_heavy_module() -> None:
    assert heavy_modules_loaded("--help") == []


@pytest.mark.parametrize("command", ["best", "trials", "status", "pareto", "export"])
def test_queries_on_a_directory_store_import_no_heavy_module(tmp_path: Path, command: str
                                                             ) -> None:
    store = str(tmp_path / "store")
    record_trials(store, "light", [(0.9, 1.0), (0.8, 0.5), None])
    assert heavy_modules_loaded(command, "--store", store) == []


@pytest.mark.slow  # an hpsearch process that trains
def test_the_search_command_does_load_the_trainer_it_runs(tmp_path: Path) -> None:
    """The probe can tell: a command that trains imports torch."""
    loaded = heavy_modules_loaded("search", "--store", str(tmp_path / "store"), "--objective",
                                  "noop", "--max-evals", "1", "--epochs", "1")
    assert "torch" in loaded and "hyperopt" in loaded


# Loads the console script's entry as the installed script does, with a Ctrl-C arriving while
# the commands load (an import hook raises it, as SIGINT would at that moment).
INTERRUPTED = """
import sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "search.cli":
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
from search._console import run
run()
"""


def test_a_ctrl_c_while_the_commands_load_exits_130_without_a_traceback() -> None:
    completed = subprocess.run([sys.executable, "-c", INTERRUPTED, "--help"],
                               capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
                               env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""})
    assert (completed.returncode, completed.stderr) == (130, "")


def test_the_console_script_runs_the_commands() -> None:
    completed = subprocess.run([sys.executable, "-m", "search", "--help"], capture_output=True,
                               text=True, cwd=REPO_ROOT, timeout=300,
                               env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""})
    assert completed.returncode == 0 and completed.stdout.startswith("Usage: hpsearch ")
