"""One real trial of a vision objective on synthetic data of the real shape, checked.

Writes learnable synthetic images (each class its own brightness, under heavy noise) in the
data set's on-disk format to a temporary directory, so the whole path runs: file reading,
the copy to the device, augmentation, training, evaluation, the result. Prints images per
second and the training time of the fixed number of epochs, and exits non-zero unless the
trial succeeded and learned (accuracy >= --min-accuracy). gpu_check.sh runs it on CUDA; on
the CPU a tiny size checks the same path:

    python benchmarks/vision_trial.py --objective cifar10 --device cuda --epochs 8
    python benchmarks/vision_trial.py --device cpu --train-size 256 --test-size 64 --width 0.25
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

# Run from a checkout without installing: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from objectives import TrialSettings, resolve_objective, run_trial  # noqa: E402
from objectives._vision import VISION_TASKS  # noqa: E402
from objectives._vision_data import synthetic_arrays, write_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default="cifar10", choices=sorted(VISION_TASKS))
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--train-size", type=int, default=50_000)
    parser.add_argument("--test-size", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--width", type=float, default=1.0, help="channel multiplier")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model")
    parser.add_argument("--min-accuracy", type=float, default=0.9,
                        help="fail below this validation accuracy (the synthetic classes are "
                        "easy)")
    args = parser.parse_args(argv)

    task = VISION_TASKS[args.objective]
    params = {"lr": 0.05, "batch_size": args.batch_size, "weight_decay": 5e-5,
              "optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True},
              "scheduler": {"name": "cosine"}, "label_smoothing": 0.1, "width": args.width}
    with tempfile.TemporaryDirectory() as data_dir:
        started = time.perf_counter()
        write_files(task.dataset, synthetic_arrays(task.dataset, args.train_size, args.test_size),
                    data_dir)
        print(f"wrote {args.train_size} + {args.test_size} synthetic {args.objective} images "
              f"of shape {task.dataset.image_shape} in {time.perf_counter() - started:.1f} s")
        settings = TrialSettings(epochs=args.epochs, device=args.device, seed=1,
                                 data_dir=data_dir, torch_compile=args.compile)
        started = time.perf_counter()
        result = run_trial(resolve_objective(args.objective), params, settings)
        wall = time.perf_counter() - started

    shown = {key: result.get(key) for key in (
        "status", "reason", "error", "accuracy", "test_accuracy", "train_seconds", "epochs",
        "images_per_second", "compile_seconds", "warm_up_step_seconds", "device", "autocast",
        "channels_last", "compiled", "parameter_count", "train_size", "validation_size",
        "test_size", "val_accuracy_per_epoch")}
    print(json.dumps(shown, indent=1))
    if result["status"] != "ok":
        print(f"FAIL: the trial failed: {result.get('traceback') or result.get('error')}")
        return 1
    print(f"{args.objective}: {result['epochs']} epochs of {result['train_size']} images in "
          f"{result['train_seconds']:.2f} s of training ({result['images_per_second']:.0f} "
          f"images/s), validation accuracy {result['accuracy']:.4f}, test accuracy "
          f"{result['test_accuracy']:.4f}; whole trial {wall:.1f} s wall "
          f"(warm-up, data loading and evaluation included)")
    failures = []
    if result["epochs"] != args.epochs or len(result["val_accuracy_per_epoch"]) != args.epochs:
        failures.append(f"trained {result['epochs']} epochs, asked for {args.epochs}")
    if not result["train_seconds"] > 0 or not result["images_per_second"] > 0:
        failures.append("no training time was measured")
    if result["accuracy"] < args.min_accuracy:
        failures.append(
            f"accuracy {result['accuracy']:.4f} < {args.min_accuracy}: it did not learn")
    if args.device.startswith("cuda") and not result["channels_last"]:
        failures.append("channels_last is off on CUDA")
    if args.compile != result["compiled"] or (args.compile and result["compile_seconds"] is None):
        failures.append("--compile was not honoured or its time was not recorded")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
