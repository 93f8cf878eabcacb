"""How fast the dashboard's experiment page paints in a browser, on a big experiment.

Builds one experiment of N finished trials (default 10,000: benchmarks/query_speed.py's
synthetic trials, each with a 20-epoch curve) in each store, an embedded directory and a
MongoDB database (the tests' FerretDB unless --store names a server), serves each with the
real `hpsearch dashboard` command, and loads the experiment page in headless Chromium, each
time in a fresh browser context (nothing cached). The figure is the first complete paint:
from navigation to the mark the page sets once every plot in the window (1440 x 900) has
rendered (a page that sets no such mark: once every plot has); *all plots* is to the mark it
sets once every plot on the page has, down to the last below the window. (Since 2026-12-06
17:00 the page sets each mark after the next frame, once the browser has shown the plots; an
older page set them as the last plot's drawing returned, before any frame.) The server has read
the store once before the first load (it reads in the background; a page never waits on the
store); how long that first read took is shown too.

Baseline from the same run, with --baseline: optuna-dashboard (pip install optuna-dashboard)
over an Optuna journal holding the same trials (the flat params, value = our score, the curve
as intermediate values), timed from navigation to its history plot holding every trial.

Another version of the dashboard, with --compare-with CHECKOUT (say `git worktree add
/tmp/hpsearch-main main`): its `hpsearch dashboard`, run from that checkout, serves the same
stores and is timed the same way, interleaved with ours; the ratio is printed.

Only the server being measured runs: the others are paused (SIGSTOP) meanwhile. Runs are
interleaved; medians shown.

    python benchmarks/dashboard_speed.py [--trials 10000] [--repeats 3] [--baseline]
        [--baseline-timeout 900] [--compare-with CHECKOUT] [--store mongodb://HOST:PORT]
        [--skip-mongodb]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _browser import chromium, dashboard_command, fetch_json
from _farm import database_server, environment
from query_speed import EXP_KEY, build_embedded, build_mongodb, finished_jobs

from search.documents import flatten

TARGET_SECONDS = 2.0
PAINTED = "body[data-painted]"
# optuna-dashboard sets no mark: its history plot holding every trial stands in for one.
BASELINE_PAINTED = (
    "(trials) => { const plot = document.getElementById('plot-history');"
    " if (plot && plot.data && plot.data.some((t) => (t.x || []).length >= trials))"
    " { window.__paintedAt = window.__paintedAt || performance.now(); return true; }"
    " return false; }")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline", action="store_true", help="also time optuna-dashboard")
    parser.add_argument("--baseline-timeout", type=float, default=900)
    parser.add_argument("--compare-with", type=Path, metavar="CHECKOUT",
                        help="another checkout of hpsearch whose dashboard to time as well")
    parser.add_argument("--store", help="an existing mongodb:// server instead of the test one")
    parser.add_argument("--skip-mongodb", action="store_true")
    args = parser.parse_args()

    jobs = finished_jobs(args.trials)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="hpsearch-dashboard-bench-") as root, \
            database_server(args.store) as (databases, where), contextlib.ExitStack() as stack:
        stores = {"embedded": build_embedded(Path(root), jobs)}
        if not args.skip_mongodb:
            stores["mongodb"] = build_mongodb(databases.new("dashboard"), jobs)
        versions: dict[str, Path | None] = {"": None}
        if args.compare_with is not None:
            versions[" @" + revision(args.compare_with)] = args.compare_with.resolve()
        targets: dict[str, Target] = {}
        for kind, store in stores.items():
            for suffix, checkout in versions.items():
                url, process, ready = stack.enter_context(
                    dashboard_command(store, EXP_KEY, trials=args.trials, checkout=checkout))
                targets[kind + suffix] = Target(f"{url}#/experiments/{EXP_KEY}", process, ready,
                                                ours=True)
                pause(process)
        if args.baseline:
            targets["optuna-dashboard"] = stack.enter_context(
                optuna_dashboard(Path(root), jobs))
            pause(targets["optuna-dashboard"].process)
        browser = stack.enter_context(chromium())
        print(f"{args.trials} finished trials; database: {where}; {os.cpu_count()} CPU cores; "
              f"Chromium {browser.version}; load average {load_before[0]:.1f} at start",
              flush=True)
        floors = {}  # Plotly alone, as each version serves it
        for suffix in versions:
            first = targets[next(iter(stores)) + suffix]
            floors[suffix] = Target(first.url.split("#")[0] + "static/plotly.min.js",
                                    first.process, 0.0, ours=False)
        for round_ in range(args.repeats):
            for floor in floors.values():
                with running(floor.process):
                    floor.loads.append(plotly_alone(browser, floor.url))
            for name, target in targets.items():
                if not target.ours and round_ > 0:
                    continue  # the baseline takes minutes: once is enough
                with running(target.process):
                    target.loads.append(load_page(browser, target, args))
                last = target.loads[-1]
                print(f"  round {round_ + 1}: {name}: {last['paint']:.2f} s"
                      + (f", all plots {last['all']:.2f} s" if "all" in last else ""),
                      flush=True)
    print_report(targets, floors, list(stores), args.trials, load_before, os.getloadavg())
    return 0


def revision(checkout: Path) -> str:
    """The checkout's branch (or commit) and commit, to name its figures."""
    def git(*command: str) -> str:
        return subprocess.run(["git", "-C", str(checkout), *command], capture_output=True,
                              text=True, check=True).stdout.strip()
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    if branch == "HEAD":  # detached, as `git worktree add --detach DIR main` leaves it
        branch = git("name-rev", "--name-only", "--exclude=tags/*", "HEAD")
    return f"{branch}@{git('rev-parse', '--short', 'HEAD')}"


class Target:
    """One server to time: our dashboard over a store, or the baseline."""

    def __init__(self, url: str, process: subprocess.Popen[Any], ready: float, ours: bool
                 ) -> None:
        self.url = url
        self.process = process
        self.ready = ready
        self.ours = ours
        self.loads: list[dict[str, Any]] = []


def load_page(browser: Any, target: Target, args: argparse.Namespace) -> dict[str, Any]:
    """Loads in a fresh context: seconds from navigation to the complete paint and the CPU
    seconds the browser's processes spent meanwhile (which a busy machine inflates far less
    than the wall time), cold (nothing cached) and, for our page, warm (loaded again in the
    same context: Plotly comes from the browser's cache, compiled); for our page also when
    Plotly and the data were ready and how long each plot took to draw."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    cpu = browser.new_browser_cdp_session()
    try:
        page = context.new_page()
        if not target.ours:
            before = browser_cpu(cpu)
            page.goto(target.url, wait_until="commit")
            try:
                page.wait_for_function(BASELINE_PAINTED, arg=args.trials,
                                       timeout=args.baseline_timeout * 1000)
            except Exception:  # Playwright's TimeoutError: report it as "more than"
                return {"paint": float("inf"), "cpu": float("inf")}
            return {"paint": page.evaluate("window.__paintedAt") / 1000,
                    "cpu": spent(before, browser_cpu(cpu))}
        load = ours_once(page, target.url, cpu)
        page.goto("about:blank")
        warm = ours_once(page, target.url, cpu)
        return {**load, "warm": warm["paint"], "warm_all": warm["all"], "warm_cpu": warm["cpu"]}
    finally:
        cpu.detach()
        context.close()


def plotly_alone(browser: Any, script: str) -> dict[str, Any]:
    """The floor under any page that draws with this Plotly: a blank page that only loads
    and runs plotly.min.js (from the same server), cold."""
    context = browser.new_context()
    cpu = browser.new_browser_cdp_session()
    try:
        page = context.new_page()
        before = browser_cpu(cpu)
        page.set_content(f'<script src="{script}"></script>'
                         "<script>window.__ran = performance.now()</script>")
        page.wait_for_function("window.Plotly !== undefined && window.__ran !== undefined")
        return {"paint": page.evaluate("window.__ran") / 1000,
                "cpu": spent(before, browser_cpu(cpu))}
    finally:
        cpu.detach()
        context.close()


def ours_once(page: Any, url: str, cpu: Any) -> dict[str, Any]:
    before = browser_cpu(cpu)
    page.goto(url, wait_until="commit")
    page.wait_for_selector(PAINTED, state="attached", timeout=600_000)
    after = browser_cpu(cpu)
    timings = page.evaluate("({first: window.hpsearchFirstPaintAt, all: window.hpsearchPaintedAt, "
                            "plotly: window.hpsearchPlotlyAt, data: window.hpsearchDataAt, "
                            "draws: window.hpsearchDrawTimes})")
    return {"paint": (timings["first"] or timings["all"]) / 1000, "all": timings["all"] / 1000,
            "cpu": spent(before, after),
            "plotly": (timings["plotly"] or 0) / 1000, "data": timings["data"] / 1000,
            "draws": timings["draws"]}


def browser_cpu(session: Any) -> dict[int, float]:
    """CPU seconds so far of each of the browser's processes (renderers, GPU, network...)."""
    info = session.send("SystemInfo.getProcessInfo")["processInfo"]
    return {process["id"]: process["cpuTime"] for process in info}


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def pause(process: subprocess.Popen[Any]) -> None:
    os.kill(process.pid, signal.SIGSTOP)


@contextlib.contextmanager
def running(process: subprocess.Popen[Any]) -> Iterator[None]:
    os.kill(process.pid, signal.SIGCONT)
    try:
        yield
    finally:
        os.kill(process.pid, signal.SIGSTOP)


@contextlib.contextmanager
def optuna_dashboard(root: Path, jobs: list[dict[str, Any]]) -> Iterator[Target]:
    """optuna-dashboard over an Optuna journal holding the same trials."""
    journal = root / "optuna-journal.log"
    started = time.perf_counter()
    write_optuna_journal(journal, jobs)
    built = time.perf_counter() - started
    with socket.socket() as probe:  # optuna-dashboard does not say which port 0 gave it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(["optuna-dashboard", str(journal), "--host", "127.0.0.1",
                                "--port", str(port)], env=environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.perf_counter() + 300
        while True:
            try:
                fetch_json(f"http://127.0.0.1:{port}/api/studies")
                break
            except OSError:
                if time.perf_counter() > deadline or process.poll() is not None:
                    raise RuntimeError("optuna-dashboard did not start") from None
                time.sleep(0.5)
        print(f"optuna-dashboard: journal of {len(jobs)} trials written in {built:.0f} s",
              flush=True)
        yield Target(f"http://127.0.0.1:{port}/dashboard/studies/0", process,
                     time.perf_counter() - started, ours=False)
    finally:
        process.terminate()
        process.send_signal(signal.SIGCONT)  # a paused process only ends once resumed
        process.wait(timeout=60)


def write_optuna_journal(path: Path, jobs: list[dict[str, Any]]) -> None:
    import optuna
    from optuna.distributions import (
        BaseDistribution,
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = [flatten(job["misc"]["params"]) for job in jobs]
    columns: dict[str, list[Any]] = {}
    for row in rows:
        for column, value in row.items():
            columns.setdefault(column, []).append(value)
    distributions: dict[str, BaseDistribution] = {}
    for column, values in columns.items():
        if all(isinstance(value, str | bool) for value in values):
            distributions[column] = CategoricalDistribution(sorted(set(values), key=str))
        elif all(isinstance(value, int) for value in values):
            distributions[column] = IntDistribution(min(values), max(values))
        else:
            distributions[column] = FloatDistribution(
                min(values), max(values), log=column in ("lr", "weight_decay", "scheduler/factor"))
    study = optuna.create_study(study_name=EXP_KEY, direction="maximize",
                                storage=JournalStorage(JournalFileBackend(str(path))))
    study.add_trials([
        optuna.trial.create_trial(
            params=row, distributions={column: distributions[column] for column in row},
            value=-job["result"]["loss"],
            intermediate_values=dict(enumerate(job["result"]["val_accuracy_per_epoch"])))
        for row, job in zip(rows, jobs, strict=True)])


def print_report(targets: dict[str, Target], floors: dict[str, Target], kinds: list[str],
                 trials: int, load_before: tuple[float, ...], load_after: tuple[float, ...]
                 ) -> None:
    now = datetime.datetime.now().astimezone().isoformat(timespec="minutes")
    print(f"\n{trials} trials, {now}; load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after; seconds, median of the loads")
    header = (f"{'server':<30} {'first read':>10} {'loads':>5} {'paint':>6} {'(min-max)':>11} "
              f"{'cpu':>6} {'all':>6} {'warm':>6} {'all':>6} {'cpu':>6} {'plotly':>6} "
              f"{'data':>5} {'< 2 s: first/all':>16}")
    print(header)
    print("-" * len(header))

    def median(target: Target, key: str) -> float:
        return statistics.median(load[key] for load in target.loads)

    for suffix, floor in floors.items():
        print(f"{'plotly.min.js alone' + suffix:<30} {'':>10} {len(floor.loads):>5} "
              f"{median(floor, 'paint'):>6.2f} {'':>11} {median(floor, 'cpu'):>6.2f}")
    for name, target in targets.items():
        paints = [load["paint"] for load in target.loads]
        paint = statistics.median(paints)
        shown = "   >limit" if paint == float("inf") else f"{paint:>6.2f}"
        spread = "" if paint == float("inf") else f"{min(paints):.2f}-{max(paints):.2f}"
        cpu = "" if paint == float("inf") else f"{median(target, 'cpu'):.2f}"
        line = f"{name:<30} {target.ready:>10.1f} {len(paints):>5} {shown} {spread:>11} {cpu:>6}"
        if target.ours:
            verdict = "/".join("ok" if seconds < TARGET_SECONDS else "MISSED"
                               for seconds in (paint, median(target, "all")))
            line += (f" {median(target, 'all'):>6.2f} {median(target, 'warm'):>6.2f} "
                     f"{median(target, 'warm_all'):>6.2f} {median(target, 'warm_cpu'):>6.2f} "
                     f"{median(target, 'plotly'):>6.2f} {median(target, 'data'):>5.2f} "
                     f"{verdict:>16}")
        print(line)
    baseline = targets.get("optuna-dashboard")
    if baseline is not None and baseline.loads:
        base = median(baseline, "paint")
        for name, target in targets.items():
            if target.ours:
                ratio = base / median(target, "paint")
                print(f"optuna-dashboard / {name} (cold paint): {ratio:.1f}x")
    for suffix in list(floors)[1:]:
        for kind in kinds:
            theirs, ours = targets[kind + suffix], targets[kind]
            print(f"{kind}: cold paint{suffix} / this checkout's: "
                  f"{median(theirs, 'paint') / median(ours, 'paint'):.2f}x; all plots: "
                  f"{median(theirs, 'all') / median(ours, 'all'):.2f}x")
    for name, target in targets.items():
        if target.ours:
            print(f"{name}: drawing times of the last cold load, ms: {target.loads[-1]['draws']}")
    print("paint: navigation to every plot in the window drawn (a page without that mark: "
          "every plot; optuna-dashboard: its history plot holding every trial; plotly.min.js "
          "alone: a blank page loading and running only "
          "Plotly, the floor of any page drawn with it), in a fresh browser context; cpu: CPU "
          "seconds of all the browser's processes until every plot was drawn; all: navigation "
          "to every plot on the page drawn; warm: the same page loaded again "
          "in that context (Plotly cached); plotly: when Plotly had loaded and run; data: when "
          "the trials had arrived and been parsed (cold load); first read: server start to the "
          "trials being served.")


if __name__ == "__main__":
    sys.exit(main())
