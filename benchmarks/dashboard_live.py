"""How long a trial that lands takes to reach an open dashboard, with a big experiment.

For each store (embedded, and MongoDB: the test database, FerretDB, unless --store names
another server) holding `--trials` finished trials, `hpsearch dashboard` is started and has read
them; then, `--landings` times, a trial is queued, reserved and finished as a worker does, and
the time from its result being stored to the dashboard's API answering with it finished is
measured, polling as the page does (long polls from the version it last had). With
`--compare-with CHECKOUT` the same is done, interleaved, for another checkout's dashboard.

    python benchmarks/dashboard_live.py --trials 10000 --compare-with /tmp/base
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import copy
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _browser import dashboard_command, fetch_json
from _farm import database_server
from dashboard_speed import revision
from query_speed import EXP_KEY, build_embedded, build_mongodb, finished_jobs

from search.store import open_store


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--landings", type=int, default=5)
    parser.add_argument("--compare-with", type=Path, metavar="CHECKOUT")
    parser.add_argument("--store", help="an existing mongodb:// server instead of the test one")
    args = parser.parse_args()

    jobs = finished_jobs(args.trials + args.landings)
    done, spare = jobs[:args.trials], jobs[args.trials:]
    load_before = os.getloadavg()
    versions: dict[str, Path | None] = {"this checkout": None}
    if args.compare_with is not None:
        versions[revision(args.compare_with)] = args.compare_with.resolve()
    waits: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="hpsearch-dashboard-live-") as root, \
            database_server(args.store) as (databases, where), contextlib.ExitStack() as stack:
        stores = {"embedded": build_embedded(Path(root), done),
                  "mongodb": build_mongodb(databases.new("live"), done)}
        print(f"{args.trials} finished trials; database: {where}; load average "
              f"{load_before[0]:.1f} at start", flush=True)
        servers = {}
        for kind, store in stores.items():
            for name, checkout in versions.items():
                url, _, _ = stack.enter_context(dashboard_command(
                    store, EXP_KEY, trials=args.trials, checkout=checkout))
                servers[(kind, name)] = url
        for landing in range(args.landings):
            for kind, store in stores.items():
                job = copy.deepcopy(spare[landing])  # the next tid in each store
                answers = {name: fetch_json(f"{servers[(kind, name)]}api/experiments/{EXP_KEY}")
                           for name in versions}  # each page is up to date before it lands
                stored_at = land(store, job)
                with concurrent.futures.ThreadPoolExecutor(len(versions)) as pool:
                    seen = {name: pool.submit(served_at, servers[(kind, name)], answers[name],
                                              job["tid"]) for name in versions}
                for name, future in seen.items():
                    seconds = future.result() - stored_at
                    waits.setdefault(f"{kind}, {name}", []).append(seconds)
                    print(f"  landing {landing + 1}: {kind}, {name}: {seconds:.2f} s",
                          flush=True)
    print(f"\n{args.trials} trials, median of {args.landings} landings, seconds from a result "
          f"stored to the dashboard's API serving it (load average {load_before[0]:.1f} "
          f"before, {os.getloadavg()[0]:.1f} after):")
    for name, values in waits.items():
        print(f"  {name:40} {statistics.median(values):6.2f}  "
              f"({min(values):.2f}-{max(values):.2f})")
    return 0


def served_at(url: str, answer: dict[str, Any], tid: int) -> float:
    """Poll the dashboard at `url` as a page does, from `answer`, until it serves trial `tid`
    finished; when it did."""
    while True:
        trials = answer.get("trials", {})
        for index, found in enumerate(trials.get("tid", [])):
            if found == tid and trials["state"][index] == "ok":
                return time.perf_counter()
        answer = fetch_json(f"{url}api/experiments/{EXP_KEY}?since={answer['version']}"
                            f"&instance={answer['instance']}&wait=20")


def land(location: str, job: dict[str, Any]) -> float:
    """Queue `job`, reserve and finish it as a worker does; when its result was stored."""
    store = open_store(location)
    try:
        store.queue_jobs([{**job, "state": 0, "owner": None, "book_time": None,
                           "result": {"status": "new"}}])
        reservation = store.reserve_next_job("host:9:cpu", [EXP_KEY])
        if reservation is None or reservation.tid != job["tid"]:
            sys.exit(f"could not reserve trial {job['tid']}")
        store.finish_job(reservation, job["result"])
        return time.perf_counter()
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
