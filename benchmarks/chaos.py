"""Chaos run: a real search while workers are SIGKILLed and started at random.

The real driver (`hpsearch search --stale-after 3`) runs a search of `--max-evals` trials of
`tests.objectives_for_tests:sleeps` (each sleeps $HPSEARCH_TEST_SLEEP = `--sleep` seconds).
Every few seconds a random live worker gets SIGKILL and new ones are started to keep 2-3
alive (`hpsearch worker --heartbeat 0.5 --stale-after 3`). All random choices come from
`--seed`; process timing still varies from run to run. At the end it checks invariant 4 of
docs (a trial is never lost and never counted twice) from the database and prints: trials
requested, done, lost, duplicated, workers killed, jobs reclaimed, wall time.

    python benchmarks/chaos.py [--max-evals 60] [--seed 0] [--sleep 0.3] [--timeout 300]
                               [--store mongodb://HOST:PORT]

Exit code: 0 when nothing was lost or duplicated, 1 otherwise, 2 if the run did not finish
within --timeout (or the driver failed).
"""

from __future__ import annotations

import argparse
import collections
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _farm import (database, database_server, environment, start_hpsearch, start_worker,
                   stop_processes, tail)

OBJECTIVE = "tests.objectives_for_tests:sleeps"
EXP_KEY = "chaos"
STALE_AFTER = "3"
HEARTBEAT = "0.5"
DISCARDED = "already has a result; discarding this one"


class Farm:
    """The worker processes of the run, started and killed by the chaos loop."""

    def __init__(self, url: str, logdir: Path, env: dict[str, str], rng: random.Random) -> None:
        self.url = url
        self.logdir = logdir
        self.env = env
        self.rng = rng
        self.workers: list[subprocess.Popen] = []
        self.logs: list[Path] = []
        self.killed = 0
        self.killed_busy = 0
        self.exited_by_themselves = 0
        self._db = database(url)

    def live(self) -> list[subprocess.Popen]:
        return [worker for worker in self.workers if worker.poll() is None]

    def start(self) -> None:
        log = self.logdir / f"worker-{len(self.workers)}.log"
        self.workers.append(start_worker(
            self.url, log, self.env, "--exp-key", EXP_KEY, "--heartbeat", HEARTBEAT,
            "--stale-after", STALE_AFTER, "--allow-objective", OBJECTIVE))
        self.logs.append(log)

    def kill_one(self) -> None:
        live = self.live()
        if not live:
            return
        victim = self.rng.choice(live)
        busy = any(doc["_id"].split(":")[1] == str(victim.pid)
                   for doc in self._db.workers.find({"state": "busy"}, {"_id": 1}))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.killed += 1
        self.killed_busy += busy
        print(f"  t+{self.elapsed():5.1f}s SIGKILL worker pid {victim.pid}"
              f"{' (mid-trial)' if busy else ' (idle or starting)'}", flush=True)

    def top_up(self, target: int) -> None:
        while len(self.live()) < target:
            self.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    began = time.monotonic()


def check(url: str, max_evals: int, logs: list[Path]) -> dict[str, object]:
    """Read the outcome back from the database (and the workers' logs)."""
    db = database(url)
    jobs = list(db.jobs.find({"exp_key": EXP_KEY}))
    by_tid = collections.Counter(job["tid"] for job in jobs)
    finished = {job["tid"]: job for job in jobs if job.get("state") in (2, 3)}
    ok = [job for job in finished.values()
          if job.get("state") == 2 and (job.get("result") or {}).get("status") == "ok"]
    result_claims = [claim for claim in db.claims.find({}, {"_id": 1, "job": 1, "result": 1})
                     if str(claim["_id"]).endswith("/result")]
    claims_per_job = collections.Counter(claim["job"] for claim in result_claims)
    claim_of = {claim["job"]: claim for claim in result_claims}
    run_claims = collections.Counter(
        claim["job"] for claim in db.claims.find({}, {"_id": 1, "job": 1})
        if "/run/" in str(claim["_id"]))
    # The job document must show the one committed result, not a rival attempt's.
    view_mismatch = [
        job["tid"] for job in jobs if job.get("state") == 2 and (
            job["_id"] not in claim_of
            or (claim_of[job["_id"]].get("result") or {}) != (job.get("result") or {}))
    ]
    discarded = sum(log.read_text(errors="replace").count(DISCARDED)
                    for log in logs if log.exists())
    requested = set(range(max_evals))
    return {
        "requested": max_evals,
        "job documents": len(jobs),
        "done": len(ok),
        "failed": len(finished) - len(ok),
        "lost": sorted(requested - set(finished)),
        "duplicated": sorted({job for job, n in claims_per_job.items() if n > 1}
                             | {f"{EXP_KEY}/{tid}" for tid, n in by_tid.items() if n > 1}),
        "view mismatch": view_mismatch,
        "reclaimed": sorted(job["tid"] for job in jobs if job.get("attempt", 0) > 0),
        "run more than once": sum(1 for n in run_claims.values() if n > 1),
        "late results discarded": discarded,
        "max attempt": max((job.get("attempt", 0) for job in jobs), default=0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-evals", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0, help="seeds the chaos and the search")
    parser.add_argument("--sleep", type=float, default=0.3, help="seconds per trial")
    parser.add_argument("--kill-every", type=float, nargs=2, default=(2.0, 5.0),
                        metavar=("MIN", "MAX"), help="seconds between kills, drawn uniformly")
    parser.add_argument("--workers", type=int, nargs=2, default=(2, 3), metavar=("MIN", "MAX"),
                        help="live workers kept after each kill, drawn uniformly")
    parser.add_argument("--timeout", type=float, default=300.0, help="global time limit (s)")
    parser.add_argument("--store", help="an existing mongodb:// server to use (a fresh database "
                        "on it, dropped afterwards) instead of starting a test database")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="hpsearch-chaos-") as logdir, \
            database_server(args.store) as (databases, where):
        url = databases.new("chaos")
        env = environment(HPSEARCH_TEST_SLEEP=str(args.sleep))
        print(f"database: {where}")
        print(f"search: {args.max_evals} trials of {OBJECTIVE} ({args.sleep:g} s each), seed "
              f"{args.seed}; SIGKILL a random worker every {args.kill_every[0]:g}-"
              f"{args.kill_every[1]:g} s, keep {args.workers[0]}-{args.workers[1]} alive; "
              f"timeout {args.timeout:g} s", flush=True)
        farm = Farm(url, Path(logdir), env, rng)
        Farm.began = time.monotonic()
        driver_log = Path(logdir) / "driver.log"
        driver = start_hpsearch(
            ["search", "--store", url, "--exp-key", EXP_KEY, "--objective", OBJECTIVE,
             "--max-evals", str(args.max_evals), "--epochs", "1", "--min-accuracy", "0",
             "--device", "cpu", "--seed", str(args.seed), "--stale-after", STALE_AFTER],
            driver_log, env)
        farm.top_up(rng.randint(*args.workers))
        deadline = Farm.began + args.timeout
        timed_out = False
        try:
            next_kill = time.monotonic() + rng.uniform(*args.kill_every)
            while driver.poll() is None:
                now = time.monotonic()
                if now > deadline:
                    timed_out = True
                    break
                if now >= next_kill:
                    farm.kill_one()
                    farm.top_up(rng.randint(*args.workers))
                    next_kill = now + rng.uniform(*args.kill_every)
                dead = [w for w in farm.workers if w.poll() is not None and w.returncode != -9]
                if len(dead) > farm.exited_by_themselves:  # not our doing: note and replace
                    farm.exited_by_themselves = len(dead)
                    farm.top_up(args.workers[0])
                time.sleep(0.05)
            wall = time.monotonic() - Farm.began
        finally:
            stop_processes([driver, *farm.workers], timeout=15)
        driver_code = driver.returncode
        outcome = check(url, args.max_evals, farm.logs)

    print()
    rows = [
        ("trials requested", outcome["requested"]),
        ("done (status ok)", outcome["done"]),
        ("failed (e.g. abandoned after --max-attempts)", outcome["failed"]),
        ("lost (requested, never finished)", len(outcome["lost"])),
        ("duplicated (more than one accepted result)", len(outcome["duplicated"])),
        ("job view disagrees with its committed result", len(outcome["view mismatch"])),
        ("workers started", len(farm.workers)),
        ("workers killed (SIGKILL)", farm.killed),
        ("  of which mid-trial", farm.killed_busy),
        ("workers that exited by themselves", farm.exited_by_themselves),
        ("jobs reclaimed (attempt > 0)", len(outcome["reclaimed"])),
        ("jobs handed out more than once", outcome["run more than once"]),
        ("late results discarded", outcome["late results discarded"]),
        ("highest attempt", outcome["max attempt"]),
        ("driver exit code", driver_code if not timed_out else "killed at timeout"),
        ("wall time (s)", f"{wall:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for key in ("lost", "duplicated", "view mismatch", "reclaimed"):
        if outcome[key]:
            print(f"{key}: {outcome[key]}")
    if timed_out or driver_code != 0:
        print(f"\nFAILED: the search did not finish ({'timeout' if timed_out else 'driver error'})."
              f" driver log tail:\n{tail(driver_log)}", file=sys.stderr)
        return 2
    if outcome["lost"] or outcome["duplicated"]:
        print("\nFAILED: trials lost or counted twice", file=sys.stderr)
        return 1
    print("\nOK: no trial lost, none counted twice")
    return 0


if __name__ == "__main__":
    sys.exit(main())
