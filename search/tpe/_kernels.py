"""The kernels of the Parzen estimator: one per dimension, vectorised over components.

Numeric dimensions use Gaussians, truncated to the bounds where the prior has bounds (so no
mass is wasted outside the space). Categorical ones use an Aitchison-Aitken kernel: the
observed index keeps 1 - smoothing of the mass, the rest is shared by the other indices.
Each function takes `points` (m,) and kernel parameters over components (n,) and returns
log densities (m, n).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from search.tpe._space import Dimension

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


def numeric_log_pdf(dimension: Dimension, points: np.ndarray, means: np.ndarray,
                    sigmas: np.ndarray) -> np.ndarray:
    z = (points[:, None] - means[None, :]) / sigmas[None, :]
    log_pdf = -0.5 * z * z - np.log(sigmas)[None, :] - _LOG_SQRT_2PI
    if dimension.bounded:
        log_pdf -= np.log(_mass_in_bounds(dimension, means, sigmas))[None, :]
    return np.asarray(log_pdf, dtype=float)


def numeric_sample(dimension: Dimension, rng: np.random.Generator, means: np.ndarray,
                   sigmas: np.ndarray) -> np.ndarray:
    """One draw from each (mean, sigma) kernel, by inverting the truncated normal's CDF."""
    if not dimension.bounded:
        return rng.normal(means, sigmas)
    low = ndtr((dimension.low - means) / sigmas)
    high = ndtr((dimension.high - means) / sigmas)
    uniform = low + rng.random(len(means)) * (high - low)
    draws = means + sigmas * ndtri(np.clip(uniform, 1e-300, 1 - 1e-16))
    return np.asarray(np.clip(draws, dimension.low, dimension.high), dtype=float)


def categorical_log_pdf(dimension: Dimension, points: np.ndarray, observed: np.ndarray,
                        smoothing: float) -> np.ndarray:
    others = max(dimension.choices - 1, 1)
    same = points[:, None] == observed[None, :]
    return np.asarray(np.where(same, np.log1p(-smoothing), np.log(smoothing / others)), dtype=float)


def categorical_sample(dimension: Dimension, rng: np.random.Generator, observed: np.ndarray,
                       smoothing: float) -> np.ndarray:
    """Keep each observed index with probability 1 - smoothing, else move to another index."""
    moved = rng.random(len(observed)) < smoothing
    shift = rng.integers(1, max(dimension.choices, 2), size=len(observed))
    return np.where(moved, (observed + shift) % dimension.choices, observed).astype(float)


def prior_log_pdf(dimension: Dimension, points: np.ndarray) -> np.ndarray:
    """The prior: uniform over bounds, the space's own Gaussian, or the choice's weights."""
    if dimension.categorical:
        return np.asarray(np.log(np.asarray(dimension.prior))[points.astype(int)], dtype=float)
    if dimension.bounded:
        return np.full(len(points), -np.log(dimension.high - dimension.low))
    z = (points - dimension.mu) / dimension.sigma
    return np.asarray(-0.5 * z * z - np.log(dimension.sigma) - _LOG_SQRT_2PI, dtype=float)


def prior_sample(dimension: Dimension, rng: np.random.Generator, count: int) -> np.ndarray:
    if dimension.categorical:
        return rng.choice(dimension.choices, size=count, p=dimension.prior).astype(float)
    if dimension.bounded:
        return rng.uniform(dimension.low, dimension.high, size=count)
    return rng.normal(dimension.mu, dimension.sigma, size=count)


def _mass_in_bounds(dimension: Dimension, means: np.ndarray, sigmas: np.ndarray) -> np.ndarray:
    mass = ndtr((dimension.high - means) / sigmas) - ndtr((dimension.low - means) / sigmas)
    return np.asarray(np.maximum(mass, 1e-300), dtype=float)
