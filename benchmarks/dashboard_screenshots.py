"""Screenshots of the dashboard for the README: docs/dashboard-*.png.

Builds an embedded store that looks like a farm three hours into a search: real TPE proposals
on the built-in `cifar10` space, scored by a made-up but plausible model of CIFAR-10 training
(accuracy grows with epochs and falls away from a good learning rate; larger batches run
faster), a few diverged and pruned trials, four H100 workers busy (heartbeating while the
photos are taken), one lost; and a finished search on `mnist` beside it. The trials are
written as the embedded store's journal lines with times spread over the hours (the Store API
would stamp them all "now"); the experiments and the workers go through the Store API. Then
serves it and photographs the experiments, experiment and workers pages.

    python benchmarks/dashboard_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import copy
import datetime
import math
import random
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from _browser import chromium
from _farm import REPO_ROOT
from bson import json_util

import spaces
from search.dashboard import Dashboard
from search.documents import flatten
from search.experiment import Experiment
from search.farm.proposals import Proposer
from search.store import WorkerStatus, open_store

EXP_KEY = "cifar10-resnet"
TRIALS, RUNNING, QUEUED = 260, 4, 36
FLOOR = 0.85
WORKERS = [f"gpu-node-0{n}" for n in range(1, 5)]
H100 = "NVIDIA H100 80GB HBM3"


def outcome(params: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A made-up CIFAR-10 result for these hyperparameters: a curve, an accuracy, a time."""
    flat = flatten(params)
    sgd = flat["optimizer"] == "sgd"
    best_lr = 0.08 if sgd else 3e-3
    lr_fit = math.exp(-(math.log10(flat["lr"] / best_lr) ** 2) / 0.6)
    decay_fit = math.exp(-(math.log10(flat["weight_decay"] / 5e-4) ** 2) / 8)
    smoothing = 0.01 * (1 - abs(flat["label_smoothing"] - 0.2) / 0.2)
    epochs = int(flat["epochs"])
    ceiling = 0.945 - 0.32 * math.exp(-epochs / 3.2) + smoothing
    final = 0.1 + (ceiling - 0.1) * lr_fit * decay_fit + rng.gauss(0, 0.006)
    per_epoch = 0.75 + 200 / flat["batch_size"]  # an H100, airbench-style: big batches pay
    seconds = epochs * per_epoch * rng.uniform(0.97, 1.05)
    common = {"device": H100, "device_type": "cuda", "epochs": epochs, "min_accuracy": FLOOR,
              "timing": "wall time of the training loop, device synchronized"}
    if flat["lr"] > 0.25 and not sgd or flat["lr"] > 0.4:
        return {**common, "status": "fail", "reason": "diverged", "loss": None,
                "accuracy": None, "train_seconds": seconds * 0.3,
                "error": "the loss is nan after epoch 3", "error_type": "FloatingPointError",
                "val_accuracy_per_epoch": [round(0.1 + rng.uniform(0, 0.05), 4)] * 3}
    curve = [min(0.99, final * (1 - math.exp(-(k + 1) / 2.2)) / (1 - math.exp(-epochs / 2.2))
                 + rng.gauss(0, 0.004)) for k in range(epochs)]
    pruned = epochs >= 8 and curve[3] < 0.5
    if pruned:  # stopped after four epochs: it could not reach the incumbent
        curve, seconds = curve[:4], seconds * 4 / epochs
    accuracy = curve[-1]
    below = accuracy < FLOOR
    return {**common, "status": "ok", "accuracy": accuracy, "train_seconds": seconds,
            "loss": 0.0 if below else -accuracy / seconds, "below_accuracy_floor": below,
            "pruned": pruned, "val_accuracy_per_epoch": [round(v, 4) for v in curve]}


def build(location: str, exp_key: str, space_name: str, floor: float, hours: float,
          trials: int, running: int, queued: int) -> None:
    """One experiment through the Store API, its jobs as journal lines."""
    space = spaces.load_space(space_name)
    now = datetime.datetime.now(datetime.UTC)
    started = now - datetime.timedelta(hours=hours)
    store = open_store(location)
    try:
        store.record_experiment(Experiment(
            exp_key=exp_key, space=space.record, objective=space_name, epochs=20,
            min_accuracy=floor, max_evals=trials + running + queued, created=started))
    finally:
        store.close()
    rng = random.Random(7)
    proposer = Proposer(exp_key, space.graph, seed=7, startup_trials=24)
    free_at = dict.fromkeys(WORKERS, started)
    jobs: list[dict[str, Any]] = []
    lines = []
    for tid in range(trials + running + queued):
        job = proposer.propose(tid)
        queued = {**copy.deepcopy(job), "state": 0, "owner": None, "book_time": None,
                  "refresh_time": started, "result": {"status": "new"}}
        lines.append(queued)
        if tid >= trials + running:
            jobs.append(queued)
            continue
        worker = min(free_at, key=lambda name: free_at[name])
        booked = free_at[worker] + datetime.timedelta(seconds=rng.uniform(4, 9))
        owner = f"{worker}:{4100 + WORKERS.index(worker)}:0"
        reserved = {**queued, "state": 1, "owner": owner, "book_time": booked,
                    "refresh_time": booked}
        lines.append(reserved)
        if tid >= trials:
            jobs.append(reserved)
            continue
        result = {**outcome(job["misc"]["params"], rng), "worker": owner}
        if space_name != "cifar10":  # a smaller task: every step about ten times faster
            result = {**result, "train_seconds": result["train_seconds"] / 10,
                      "accuracy": result.get("accuracy") and 0.9 + result["accuracy"] * 0.095}
            if result["status"] == "ok":
                result["below_accuracy_floor"] = result["accuracy"] < floor
                result["loss"] = (0.0 if result["below_accuracy_floor"]
                                  else -result["accuracy"] / result["train_seconds"])
                result["val_accuracy_per_epoch"] = [
                    round(0.9 + value * 0.095, 4) for value in result["val_accuracy_per_epoch"]]
        finished = booked + datetime.timedelta(seconds=result["train_seconds"] + 14)
        free_at[worker] = finished
        done = {**reserved, "state": 2, "result": result, "refresh_time": finished}
        lines.append(done)
        jobs.append(done)
    journal = Path(location) / exp_key / "jobs.jsonl"
    with journal.open("a", encoding="utf-8") as file:
        for line in lines:
            file.write(json_util.dumps(line, json_options=json_util.RELAXED_JSON_OPTIONS,
                                       sort_keys=True) + "\n")


def heartbeat(location: str, stop: threading.Event) -> None:
    """The four busy workers report every second, as live workers do; two old ones are
    reported once: one lost, one stopped."""
    now = datetime.datetime.now(datetime.UTC)
    store = open_store(location)
    try:
        store.report_worker(WorkerStatus(
            worker_id="gpu-node-05:4104:0", host="gpu-node-05", device=H100, state="busy",
            exp_key=EXP_KEY, tid=None, jobs_done=12,
            last_seen=now - datetime.timedelta(minutes=14)))
        store.report_worker(WorkerStatus(
            worker_id="laptop:811:cpu", host="laptop", device="cpu", state="stopped",
            exp_key=None, tid=None, jobs_done=3, last_seen=now - datetime.timedelta(hours=2)))
        while not stop.is_set():
            for tid, worker in enumerate(WORKERS, start=TRIALS):
                store.report_worker(WorkerStatus(
                    worker_id=f"{worker}:{4100 + WORKERS.index(worker)}:0", host=worker,
                    device=H100, state="busy", exp_key=EXP_KEY, tid=tid,
                    jobs_done=TRIALS // 4, last_seen=datetime.datetime.now(datetime.UTC)))
            stop.wait(1.0)
    finally:
        store.close()


def shrink(path: Path) -> None:
    """256 colours are plenty for flat UI and thin plot lines: a third of the bytes."""
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    quantized.save(path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "docs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hpsearch-screenshots-") as root, chromium() as browser:
        location = str(Path(root) / "store")
        build(location, "mnist-cnn", "mnist", 0.97, 6, 120, 0, 0)
        build(location, EXP_KEY, "cifar10", FLOOR, 3, TRIALS, RUNNING, QUEUED)
        stop = threading.Event()
        beating = threading.Thread(target=heartbeat, args=(location, stop), daemon=True)
        beating.start()
        store = open_store(location)
        dashboard = Dashboard(store, port=0, interval=0.5)
        dashboard.start()
        try:
            assert dashboard.live.wait_until_read(120)
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            page = context.new_page()
            shots = [("dashboard-experiments.png", "", "main"),
                     ("dashboard-experiment.png", f"#/experiments/{EXP_KEY}",
                      "#trials tbody tr:nth-child(8)"),
                     ("dashboard-workers.png", "#/workers", "main")]
            for name, route, last in shots:
                page.goto(dashboard.url + route)
                page.wait_for_selector("body[data-painted]", state="attached", timeout=300_000)
                page.wait_for_timeout(1500)  # let Plotly's transitions settle before the photo
                box = page.locator(last).bounding_box()
                assert box is not None
                bottom = box["y"] + box["height"] + page.evaluate("window.scrollY")
                path = args.out / name
                page.screenshot(path=str(path), full_page=True,
                                clip={"x": 0, "y": 0, "width": 1440, "height": bottom})
                shrink(path)
                print(f"wrote {path}")
                page.goto("about:blank")
            context.close()
        finally:
            stop.set()
            beating.join()
            dashboard.close()
            store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
