"""Chaos run: a real search while workers are killed or frozen and the database goes away.

The real driver (`hpsearch search --stale-after 3 --heartbeat-interval 0.5`) runs a search of
`--max-evals` trials of `tests.objectives_for_tests:records_run_then_sleeps`, which sleeps
`--sleep` seconds and appends its tid to a run log, so every run of every trial is counted by
the objective itself. Every few seconds one event happens at random: a live worker gets
SIGKILL (and new ones are started to keep 2-3 alive), a worker is frozen with SIGSTOP for
longer than stale_after and then resumed, or the database is stopped for 1.5 × stale_after
and started again (`--outages`, on the test database only). All random choices come from
`--seed`; process timing still varies from run to run.

At the end it checks invariant 4 (a trial is never lost and never counted twice) from the
database and the run log, and prints: trials requested, done, lost, duplicated, re-run
because of an outage (a trial run again although no process that ran it was killed or
frozen), late results kept, workers killed and frozen, outages, wall time.

    python benchmarks/chaos.py [--max-evals 80] [--seed 0] [--sleep 2] [--outages 2]
                               [--freezes 3] [--timeout 600] [--store mongodb://HOST:PORT]

Exit code: 0 when nothing was lost, duplicated or re-run because of an outage, 1 otherwise,
2 if the run did not finish within --timeout (or the driver failed).
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

from _farm import (
    database,
    database_server,
    environment,
    start_hpsearch,
    start_worker,
    stop_processes,
    tail,
)

OBJECTIVE = "tests.objectives_for_tests:records_run_then_sleeps"
EXP_KEY = "chaos"
STALE_AFTER = 3.0
HEARTBEAT = 0.5


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
        self.frozen = 0
        self.exited_by_themselves = 0
        self.disturbed: set[int] = set()  # pids killed or frozen: their trials may run again
        self._db = database(url)

    def live(self) -> list[subprocess.Popen]:
        return [worker for worker in self.workers if worker.poll() is None]

    def start(self) -> None:
        log = self.logdir / f"worker-{len(self.workers)}.log"
        self.workers.append(start_worker(
            self.url, log, self.env, "--exp-key", EXP_KEY, "--allow-objective", OBJECTIVE))
        self.logs.append(log)

    def kill_one(self) -> None:
        live = self.live()
        if not live:
            return
        victim = self.rng.choice(live)
        busy = any(doc["_id"].split(":")[1] == str(victim.pid)
                   for doc in self._db.workers.find({"state": "busy"}, {"_id": 1}))
        self.disturbed.add(victim.pid)
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.killed += 1
        self.killed_busy += busy
        print(f"  t+{self.elapsed():5.1f}s SIGKILL worker pid {victim.pid}"
              f"{' (mid-trial)' if busy else ' (idle or starting)'}", flush=True)

    def freeze_one(self, seconds: float) -> None:
        """SIGSTOP a live worker for `seconds` (longer than stale_after), then SIGCONT it."""
        live = self.live()
        if not live:
            return
        victim = self.rng.choice(live)
        self.disturbed.add(victim.pid)
        print(f"  t+{self.elapsed():5.1f}s SIGSTOP worker pid {victim.pid} for {seconds:g} s",
              flush=True)
        victim.send_signal(signal.SIGSTOP)
        time.sleep(seconds)
        victim.send_signal(signal.SIGCONT)
        self.frozen += 1

    def top_up(self, target: int) -> None:
        while len(self.live()) < target:
            self.start()

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    began = time.monotonic()


def check(url: str, max_evals: int, run_log: Path, disturbed: set[int]) -> dict[str, object]:
    """Read the outcome back from the database and the objective's run log."""
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
    # An abandoned trial has no result claim (a real result may still take it).
    view_mismatch = [
        job["tid"] for job in jobs if job.get("state") == 2 and (
            (job["_id"] not in claim_of
             and (job.get("result") or {}).get("reason") != "abandoned")
            or (job["_id"] in claim_of
                and (claim_of[job["_id"]].get("result") or {}) != (job.get("result") or {})))
    ]
    runs: dict[int, list[int]] = collections.defaultdict(list)
    for line in (run_log.read_text() if run_log.exists() else "").splitlines():
        tid, pid = map(int, line.split())
        runs[tid].append(pid)
    # A trial runs again rightly only when a process that ran it was killed or frozen.
    rerun_undisturbed = sorted(tid for tid, pids in runs.items()
                               if len(pids) > 1 and not disturbed & set(pids[:-1]))
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
        "runs": sum(len(pids) for pids in runs.values()),
        "re-run because of an outage": rerun_undisturbed,
        "late results kept": db.late_results.count_documents({}),
        "max attempt": max((job.get("attempt", 0) for job in jobs), default=0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-evals", type=int, default=80)
    parser.add_argument("--seed", type=int, default=0, help="seeds the chaos and the search")
    parser.add_argument("--sleep", type=float, default=2.0, help="seconds per trial")
    parser.add_argument("--event-every", type=float, nargs=2, default=(3.0, 6.0),
                        metavar=("MIN", "MAX"), help="seconds between events, drawn uniformly")
    parser.add_argument("--workers", type=int, nargs=2, default=(2, 3), metavar=("MIN", "MAX"),
                        help="live workers kept after each kill, drawn uniformly")
    parser.add_argument("--outages", type=int, default=2,
                        help="database outages of 1.5 x stale_after (test database only)")
    parser.add_argument("--freezes", type=int, default=3,
                        help="workers frozen (SIGSTOP) for 2 x stale_after")
    parser.add_argument("--timeout", type=float, default=600.0, help="global time limit (s)")
    parser.add_argument("--store", help="an existing mongodb:// server to use (a fresh database "
                        "on it, dropped afterwards) instead of starting a test database")
    args = parser.parse_args()
    rng = random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="hpsearch-chaos-") as logdir, \
            database_server(args.store) as (databases, where):
        url = databases.new("chaos")
        run_log = Path(logdir) / "runs.log"
        env = environment(HPSEARCH_TEST_SLEEP=str(args.sleep), HPSEARCH_TEST_RUN_LOG=str(run_log),
                          HPSEARCH_SPOOL_DIR=str(Path(logdir) / "spool"))
        server = databases.server
        outages_left = args.outages if server is not None else 0
        print(f"database: {where}")
        print(f"search: {args.max_evals} trials of {OBJECTIVE} ({args.sleep:g} s each), seed "
              f"{args.seed}; stale_after {STALE_AFTER:g} s; an event every "
              f"{args.event_every[0]:g}-{args.event_every[1]:g} s: SIGKILL a worker, "
              f"{args.freezes} SIGSTOPs, {outages_left} database outages; keep "
              f"{args.workers[0]}-{args.workers[1]} workers alive; timeout {args.timeout:g} s",
              flush=True)
        farm = Farm(url, Path(logdir), env, rng)
        Farm.began = time.monotonic()
        driver_log = Path(logdir) / "driver.log"
        driver = start_hpsearch(
            ["search", "--store", url, "--exp-key", EXP_KEY, "--objective", OBJECTIVE,
             "--max-evals", str(args.max_evals), "--epochs", "1", "--min-accuracy", "0",
             "--device", "cpu", "--seed", str(args.seed), "--stale-after", str(STALE_AFTER),
             "--heartbeat-interval", str(HEARTBEAT)],
            driver_log, env)
        farm.top_up(rng.randint(*args.workers))
        deadline = Farm.began + args.timeout
        timed_out = False
        freezes_left, outages = args.freezes, 0
        try:
            next_event = time.monotonic() + rng.uniform(*args.event_every)
            while driver.poll() is None:
                now = time.monotonic()
                if now > deadline:
                    timed_out = True
                    break
                if now >= next_event:
                    event = rng.choice(["kill"] + ["freeze"] * bool(freezes_left)
                                       + ["outage"] * bool(outages_left))
                    if event == "outage" and server is not None:
                        outages_left -= 1
                        outages += 1
                        print(f"  t+{farm.elapsed():5.1f}s database stopped for "
                              f"{1.5 * STALE_AFTER:g} s", flush=True)
                        server.stop()
                        time.sleep(1.5 * STALE_AFTER)
                        server.start()
                    elif event == "freeze":
                        freezes_left -= 1
                        farm.freeze_one(2 * STALE_AFTER)
                    else:
                        farm.kill_one()
                        farm.top_up(rng.randint(*args.workers))
                    next_event = time.monotonic() + rng.uniform(*args.event_every)
                dead = [w for w in farm.workers if w.poll() is not None and w.returncode != -9]
                if len(dead) > farm.exited_by_themselves:  # not our doing: note and replace
                    farm.exited_by_themselves = len(dead)
                    farm.top_up(args.workers[0])
                time.sleep(0.05)
            wall = time.monotonic() - Farm.began
        finally:
            stop_processes([driver, *farm.workers], timeout=15)
        driver_code = driver.returncode
        outcome = check(url, args.max_evals, run_log, farm.disturbed)

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
        ("workers frozen (SIGSTOP) past stale_after", farm.frozen),
        ("database outages past stale_after", outages),
        ("workers that exited by themselves", farm.exited_by_themselves),
        ("jobs reclaimed (attempt > 0)", len(outcome["reclaimed"])),
        ("jobs handed out more than once", outcome["run more than once"]),
        ("runs of the objective", outcome["runs"]),
        ("re-run because of an outage", len(outcome["re-run because of an outage"])),
        ("late results kept", outcome["late results kept"]),
        ("highest attempt", outcome["max attempt"]),
        ("driver exit code", driver_code if not timed_out else "killed at timeout"),
        ("wall time (s)", f"{wall:.1f}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    for key in ("lost", "duplicated", "view mismatch", "reclaimed", "re-run because of an outage"):
        if outcome[key]:
            print(f"{key}: {outcome[key]}")
    if timed_out or driver_code != 0:
        print(f"\nFAILED: the search did not finish ({'timeout' if timed_out else 'driver error'})."
              f" driver log tail:\n{tail(driver_log)}", file=sys.stderr)
        return 2
    if outcome["lost"] or outcome["duplicated"] or outcome["re-run because of an outage"]:
        print("\nFAILED: trials lost, counted twice or re-run because of an outage",
              file=sys.stderr)
        return 1
    print("\nOK: no trial lost, none counted twice, none re-run because of an outage")
    return 0


if __name__ == "__main__":
    sys.exit(main())
