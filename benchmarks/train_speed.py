"""How much faster the built-in objectives train than a plain DataLoader loop.

Same model, hyperparameters, epochs, data and device; both timed the same way (device
synchronized, after a warm-up, training only). Repeats are interleaved so that machine noise
hits both alike; the medians are compared. `digits` compares train seconds; `mnist`,
`fashion-mnist` and `cifar10` compare images per second (see _vision_speed.py), on the real
data set when --data-dir holds it, else on synthetic images of the real shape.

    python benchmarks/train_speed.py [--device cpu] [--epochs 20] [--repeats 5] [--batch-size 64]
    python benchmarks/train_speed.py --objective cifar10 --train-size 2048 --epochs 1 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.utils.data import DataLoader, TensorDataset

# Run from a checkout without installing: make the repository root importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _vision_speed import vision_main  # noqa: E402

from objectives import TrialSettings, resolve_device, resolve_objective, run_trial  # noqa: E402
from objectives._device import device_description, synchronize  # noqa: E402
from objectives._digits import accuracy, build_model  # noqa: E402
from objectives._digits_data import digits_arrays, digits_tensors  # noqa: E402
from objectives._recipe import TrainingRecipe  # noqa: E402

Measurement = tuple[float, float]  # (train seconds, validation accuracy)


def dataloader_trial(
    params: dict, epochs: int, device: torch.device, seed: int, fused_optimizer: bool
) -> Measurement:
    """The loop most tutorials write: host tensors, DataLoader(shuffle=True), copy per batch."""
    torch.manual_seed(seed)
    recipe = TrainingRecipe.from_params(params)
    arrays = digits_arrays()
    dataset = TensorDataset(torch.from_numpy(arrays.x_train), torch.from_numpy(arrays.y_train))
    loader = DataLoader(dataset, batch_size=recipe.batch_size, shuffle=True)
    model = build_model().to(device)
    optimizer = recipe.build_optimizer(model.parameters(), fused=fused_optimizer)
    scheduler = recipe.build_scheduler(optimizer, total_steps=len(loader) * epochs)
    if not isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
        raise SystemExit("this benchmark compares the cosine schedule only")
    synchronize(device)
    start = time.perf_counter()
    for _ in range(epochs):
        for inputs, labels in loader:
            inputs, labels = inputs.to(device), labels.to(device)
            loss = torch.nn.functional.cross_entropy(model(inputs), labels)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
    synchronize(device)
    seconds = time.perf_counter() - start
    data = digits_tensors(device)
    return seconds, accuracy(model, data.x_val, data.y_val)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objective", default="digits",
                        choices=["digits", "mnist", "fashion-mnist", "cifar10"])
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, help="default 64 (digits), 512 (others)")
    parser.add_argument("--lr", type=float, help="default 3e-3 (digits, AdamW), 0.05 (others, SGD)")
    parser.add_argument("--data-dir", help="vision data sets (else synthetic images)")
    parser.add_argument("--train-size", type=int, default=50_000,
                        help="vision: training images used (synthetic or a prefix of the real)")
    parser.add_argument("--width", type=float, default=1.0, help="vision: channel multiplier")
    parser.add_argument("--loader-workers", type=int, default=0,
                        help="vision: DataLoader worker processes for the baseline")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    if args.objective != "digits":
        args.batch_size = args.batch_size or 512
        args.lr = args.lr or 0.05
        vision_main(args, device)
        return
    args.batch_size = args.batch_size or 64
    args.lr = args.lr or 3e-3
    params = {
        "lr": args.lr,
        "batch_size": args.batch_size,
        "weight_decay": 1e-6,
        "optimizer": {"name": "adamw"},
        "scheduler": {"name": "cosine"},
    }
    digits = resolve_objective("digits")

    def ours(seed: int) -> Measurement:
        settings = TrialSettings(args.epochs, device=str(device), seed=seed)
        result = run_trial(digits, params, settings)
        if result["status"] != "ok":
            raise SystemExit(f"digits trial failed: {result}")
        return result["train_seconds"], result["accuracy"]

    methods: dict[str, Callable[[int], Measurement]] = {
        "digits objective (data on device, fused AdamW)": ours,
        "plain DataLoader loop (torch's default AdamW)": lambda seed: dataloader_trial(
            params, args.epochs, device, seed, fused_optimizer=False
        ),
        "DataLoader loop with fused AdamW (data path only)": lambda seed: dataloader_trial(
            params, args.epochs, device, seed, fused_optimizer=True
        ),
    }
    for method in methods.values():  # warm-up, untimed: lazy init, allocator, kernels
        method(0)
    measurements: dict[str, list[Measurement]] = {name: [] for name in methods}
    for repeat in range(args.repeats):  # interleaved, so noise hits every method alike
        for name, method in methods.items():
            measurements[name].append(method(repeat))

    print(
        f"device {device_description(device)} ({device}), torch {torch.__version__}, "
        f"{torch.get_num_threads()} CPU threads; digits MLP, AdamW lr {args.lr}, cosine, "
        f"batch {args.batch_size}, {args.epochs} epochs, {args.repeats} repeats"
    )
    baseline = statistics.median(seconds for seconds, _ in measurements[next(iter(methods))])
    print(f"{'method':52} {'median s':>9} {'min s':>8} {'max s':>8} {'accuracy':>9} {'x ours':>7}")
    for name, runs in measurements.items():
        seconds = [s for s, _ in runs]
        median = statistics.median(seconds)
        print(
            f"{name:52} {median:9.4f} {min(seconds):8.4f} {max(seconds):8.4f} "
            f"{statistics.median(a for _, a in runs):9.4f} {median / baseline:7.2f}"
        )
    plain = statistics.median(
        s for s, _ in measurements["plain DataLoader loop (torch's default AdamW)"]
    )
    print(f"ratio DataLoader / ours (train time, medians): {plain / baseline:.2f}")


if __name__ == "__main__":
    main()
