"""Helpers shared by the dashboard benchmarks: Debian's headless Chromium, and the real
`hpsearch dashboard` command serving a store.

Playwright drives /usr/bin/chromium (`apt-get install chromium`), or $HPSEARCH_CHROMIUM;
`playwright install` (which downloads a browser) is never used.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _farm import HPSEARCH, environment

CHROMIUM = os.environ.get("HPSEARCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium for the whole run (a Playwright `Browser`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def dashboard_command(store: str, exp_key: str, *, trials: int, timeout: float = 1800,
                      checkout: Path | None = None
                      ) -> Iterator[tuple[str, subprocess.Popen[str], float]]:
    """`hpsearch dashboard` over `store`, once it has read the store: yields its address,
    its process, and the seconds from start until the experiment's `trials` were served.
    `checkout`: another checkout of hpsearch to run it from (a baseline version)."""
    started = time.perf_counter()
    env = environment() if checkout is None else environment(PYTHONPATH=str(checkout))
    process = subprocess.Popen([*HPSEARCH, "dashboard", "--store", store, "--port", "0"],
                               env=env, cwd=checkout, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(r" at (http://\S+/)$", line.strip())
        if not found:
            raise RuntimeError(f"hpsearch dashboard did not start: {line!r}")
        url = found.group(1)
        while True:
            try:
                answer = fetch_json(f"{url}api/experiments/{exp_key}")
            except urllib.error.HTTPError as refused:  # 503 while the first read runs
                answer = {}
                error = json.loads(refused.read() or b"{}").get("error", "")
                if refused.code != 503 or "still reading" not in error:
                    raise RuntimeError(f"the dashboard cannot serve {store}: {error}") from None
            if len(answer.get("trials", {}).get("tid", [])) >= trials:
                break
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"the dashboard served no {trials} trials in {timeout} s")
            time.sleep(0.5)
        yield url, process, time.perf_counter() - started
    finally:
        process.terminate()
        process.send_signal(signal.SIGCONT)  # a paused process only ends once resumed
        process.wait(timeout=60)


def fetch_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=600) as answer:
        decoded: dict[str, Any] = json.loads(answer.read())
        return decoded
