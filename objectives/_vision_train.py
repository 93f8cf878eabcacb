"""Training an image classifier the fast way, after Keller Jordan's airbench.

The whole data set sits on the training device as uint8; each epoch is augmented and
normalised there in a few whole-tensor kernels, and the steps take batches as slices.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ._context import TrialContext
from ._device import synchronize
from ._optimization import Optimization, raise_if_diverged, raise_if_weights_diverged
from ._recipe import TrainingRecipe

EVALUATION_BATCH = 2000


@dataclass(frozen=True)
class LabelledImages:
    """uint8 images (N, C, H, W) and their int64 labels (N,), on the training device."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class DeviceImages:
    """A data set on the training device, and its per-channel mean and std (float32, shape
    (1, C, 1, 1), [0, 255] units).

    Attributes:
        train: The training images, less the validation split.
        validation: Held out from the training files (see _vision_split); scores the trial.
        test: The official test split; evaluated once after training, never to choose.
    """

    train: LabelledImages
    validation: LabelledImages
    test: LabelledImages
    mean: torch.Tensor
    std: torch.Tensor


@dataclass(frozen=True)
class Augmentation:
    """Random translation by up to ``translate`` pixels (a crop of the zero-padded image) and
    random horizontal flips, drawn per image per epoch."""

    translate: int = 0
    flip: bool = False


@dataclass(frozen=True)
class SpeedSettings:
    """The device-dependent speed tricks, chosen once per trial."""

    autocast_dtype: torch.dtype | None
    channels_last: bool
    torch_compile: bool

    @classmethod
    def for_device(cls, device: torch.device, torch_compile: bool) -> SpeedSettings:
        cuda = device.type == "cuda"
        return cls(
            # bf16 halves memory traffic and runs on tensor cores, with fp32's range (no loss
            # scaling); only where the GPU does it natively (Ampere and later).
            autocast_dtype=torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else None,
            # NHWC is the layout cuDNN's tensor-core convolutions use: no transposes per layer.
            channels_last=cuda,
            torch_compile=torch_compile,
        )

    @property
    def input_dtype(self) -> torch.dtype:
        return self.autocast_dtype or torch.float32

    def autocast(self, device: torch.device) -> torch.autocast:
        return torch.autocast(
            device.type, dtype=self.autocast_dtype or torch.float32,
            enabled=self.autocast_dtype is not None,
        )


@dataclass
class TrainedModel:
    """The trained (uncompiled) model and the seconds of its untimed first step."""

    model: nn.Module
    warm_up_step_seconds: float
    images_seen: int


def augment(
    images: torch.Tensor, augmentation: Augmentation, generator: torch.Generator
) -> torch.Tensor:
    """Randomly translated and flipped copies of uint8 ``images`` (N, C, H, W), on their device.

    One gather does every crop: per image a random offset into the zero-padded batch.
    """
    count, channels, height, width = images.shape
    device = images.device
    if augmentation.translate:
        pad = augmentation.translate
        padded = nn.functional.pad(images, (pad, pad, pad, pad))
        shift_y = torch.randint(0, 2 * pad + 1, (count, 1), device=device, generator=generator)
        shift_x = torch.randint(0, 2 * pad + 1, (count, 1), device=device, generator=generator)
        rows = shift_y + torch.arange(height, device=device)  # (N, H)
        columns = shift_x + torch.arange(width, device=device)  # (N, W)
        images = padded[
            torch.arange(count, device=device)[:, None, None, None],
            torch.arange(channels, device=device)[None, :, None, None],
            rows[:, None, :, None],
            columns[:, None, None, :],
        ]
    if augmentation.flip:
        flipped = torch.rand(count, device=device, generator=generator) < 0.5
        images = torch.where(flipped[:, None, None, None], images.flip(-1), images)
    return images


def normalise(images: torch.Tensor, data: DeviceImages, speed: SpeedSettings) -> torch.Tensor:
    """uint8 images as normalised inputs in the compute dtype and layout."""
    inputs = ((images.float() - data.mean) / data.std).to(speed.input_dtype)
    if speed.channels_last:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    return inputs


@torch.no_grad()
def evaluate(
    model: nn.Module, split: LabelledImages, data: DeviceImages, speed: SpeedSettings
) -> float:
    """Fraction of ``split`` (one of ``data``'s) classified correctly; one host sync at the end."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=split.labels.device)
    # Large fixed chunks: few launches, and memory stays bounded for 10,000 test images.
    for start in range(0, len(split), EVALUATION_BATCH):
        chunk = slice(start, start + EVALUATION_BATCH)
        inputs = normalise(split.images[chunk], data, speed)
        with speed.autocast(inputs.device):
            predictions = model(inputs).argmax(dim=1)
        correct += (predictions == split.labels[chunk]).sum()
    model.train(was_training)
    return int(correct.item()) / len(split)


def train_classifier(
    model: nn.Module,
    recipe: TrainingRecipe,
    data: DeviceImages,
    augmentation: Augmentation,
    trial: TrialContext,
    speed: SpeedSettings,
    label_smoothing: float = 0.0,
) -> TrainedModel:
    """Train ``model`` (already on the device) for ``trial.epochs`` epochs, timing each epoch,
    and report each epoch's accuracy on the validation split.

    The first forward and backward pass runs untimed at the training batch shape (cuDNN
    autotuning, and compilation when ``speed.torch_compile``); its time is returned.

    Raises:
        FloatingPointError: The training loss or the weights became NaN or infinite.
    """
    device = trial.device
    train_size = len(data.train)
    batch_size = min(recipe.batch_size, train_size)
    # Whole batches only: one input shape, so cuDNN autotunes and torch.compile traces once.
    steps_per_epoch = train_size // batch_size
    optimization = Optimization(recipe, model.parameters(), steps_per_epoch * trial.epochs)
    # Fuses the network's kernels; its compile time is reported, not scored (see README).
    step_model = torch.compile(model) if speed.torch_compile else model
    # A device-side generator: permutations and augmentation are drawn where they are used.
    generator = torch.Generator(device=device)
    generator.manual_seed(trial.seed)

    def loss_of(inputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        with speed.autocast(device):
            logits = step_model(inputs)
        return nn.functional.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)

    warm_up_step_seconds = _untimed_first_step(model, loss_of, data, batch_size, speed)
    for epoch in range(1, trial.epochs + 1):
        with trial.timed():
            order = torch.randperm(train_size, device=device, generator=generator)
            # Augment and normalise the whole epoch at once: a handful of large kernels instead
            # of a few small ones per step; each batch below is then a free view.
            augmented = augment(data.train.images[order], augmentation, generator)
            inputs_epoch = normalise(augmented, data, speed)
            labels_epoch = data.train.labels[order]
            for step in range(steps_per_epoch):
                batch = slice(step * batch_size, (step + 1) * batch_size)
                loss = loss_of(inputs_epoch[batch], labels_epoch[batch])
                optimization.step(loss)
            if optimization.steers_on_accuracy:
                # This evaluation steers training, so it belongs inside the timed region.
                epoch_accuracy = evaluate(model, data.validation, data, speed)
                optimization.end_epoch(epoch_accuracy)
        raise_if_diverged(loss, epoch)
        if not optimization.steers_on_accuracy:
            epoch_accuracy = evaluate(model, data.validation, data, speed)
        trial.report_epoch(epoch_accuracy)
    raise_if_weights_diverged(model)
    return TrainedModel(model, warm_up_step_seconds, steps_per_epoch * batch_size * trial.epochs)


def _untimed_first_step(
    model: nn.Module,
    loss_of: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: DeviceImages,
    batch_size: int,
    speed: SpeedSettings,
) -> float:
    """Forward and backward once at the training shape, then undo every trace of it.

    The weights are untouched (no optimizer step); gradients are dropped and batch-norm
    statistics reset, so training starts from the model as built.
    """
    device = data.train.images.device
    synchronize(device)
    start = time.perf_counter()
    inputs = normalise(data.train.images[:batch_size], data, speed)
    loss_of(inputs, data.train.labels[:batch_size]).backward()
    synchronize(device)
    seconds = time.perf_counter() - start
    model.zero_grad(set_to_none=True)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.reset_running_stats()
    return seconds
