"""The networks of the vision objectives: a small CNN for 28x28 digits and clothes, and a
compact residual network for CIFAR-10 in the spirit of ResNet-9 / airbench.

``width`` scales every layer's channels (1.0 is the shipped size); tests use a narrow net.
"""

from __future__ import annotations

import torch
from torch import nn


def _channels(base: int, width: float) -> int:
    return max(4, round(base * width))


def conv_bn(in_channels: int, out_channels: int) -> nn.Sequential:
    """3x3 convolution, batch norm, GELU. No conv bias: the batch norm's shift replaces it."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.GELU(),
    )


def small_cnn(in_channels: int = 1, classes: int = 10, width: float = 1.0) -> nn.Module:
    """Three conv-bn blocks (32, 64, 128 channels), two 2x2 max-pools, global max-pool, linear.

    About 94k parameters at width 1; a few epochs reach ~99% on MNIST.
    """
    c1, c2, c3 = (_channels(base, width) for base in (32, 64, 128))
    return nn.Sequential(
        conv_bn(in_channels, c1),
        nn.MaxPool2d(2),
        conv_bn(c1, c2),
        nn.MaxPool2d(2),
        conv_bn(c2, c3),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(c3, classes),
    )


class ResidualStage(nn.Module):
    """Conv-bn to the new width, 2x2 max-pool, then a residual conv-bn: x + f(x).

    Pooling right after the first conv halves the cost of the second (airbench's order).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.widen = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.MaxPool2d(2),
            nn.BatchNorm2d(out_channels),
            nn.GELU(),
        )
        self.residual = conv_bn(out_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        widened: torch.Tensor = self.widen(x)
        residual: torch.Tensor = self.residual(widened)
        return widened + residual


def residual_net(in_channels: int = 3, classes: int = 10, width: float = 1.0) -> nn.Module:
    """Stem (24 channels), three residual stages (64, 256, 256), global max-pool, linear.

    About 2.0M parameters and 0.15 GMAC per 32x32 image at width 1 (airbench94's budget).
    """
    stem, c1, c2, c3 = (_channels(base, width) for base in (24, 64, 256, 256))
    return nn.Sequential(
        conv_bn(in_channels, stem),
        ResidualStage(stem, c1),
        ResidualStage(c1, c2),
        ResidualStage(c2, c3),
        nn.AdaptiveMaxPool2d(1),
        nn.Flatten(),
        nn.Linear(c3, classes, bias=False),
    )
