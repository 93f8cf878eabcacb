"""Running the real `hpsearch` command in subprocesses, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


class HpsearchProcesses:
    """Starts `hpsearch` with the repository importable, so `tests.objectives_for_tests:…`
    objectives resolve in worker processes too."""

    def __init__(self) -> None:
        self.command = [sys.executable, "-m", "search"]
        # The sleeping test objective takes $HPSEARCH_TEST_SLEEP seconds per trial.
        self.environment = {"HPSEARCH_TEST_SLEEP": "0.5", **os.environ,
                            "PYTHONPATH": str(REPO_ROOT)}

    def __call__(self, *args: str, timeout: float = 300, **options: Any
                 ) -> subprocess.CompletedProcess[str]:
        """Run to completion and capture its output."""
        return subprocess.run([*self.command, *args], capture_output=True, text=True,
                              timeout=timeout, env=self.environment, **options)

    def start(self, *args: str, **options: Any) -> subprocess.Popen[str]:
        """Start in the background; the caller waits for it or kills it."""
        return subprocess.Popen([*self.command, *args], env=self.environment, text=True,
                                **options)
