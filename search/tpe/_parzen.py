"""A multivariate Parzen estimator: a weighted mixture of product kernels plus the prior.

Each observation is one component: a product, over the group's dimensions, of a kernel
centred on the observation. One extra component is the prior itself, weighted by
`prior_weight`, so the density never vanishes where nothing was tried yet. Bandwidths follow
Scott's rule for d dimensions, n^(-1/(d+4)), times a fraction of each dimension's width.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.special import logsumexp

from search.tpe import _kernels
from search.tpe._space import Dimension


@dataclasses.dataclass(frozen=True)
class Bandwidth:
    """How wide the kernels are.

    `numeric`: fraction of a dimension's width at n = 1 (wider explores, narrower exploits).
    `minimum`: floor as a fraction of the width, so kernels never collapse onto one point.
    `categorical`: the share of a categorical kernel's mass moved off the observed index at
    n = 1, scaled by the same n^(-1/(d+4)) factor.
    """

    numeric: float = 0.1
    minimum: float = 0.01
    categorical: float = 0.5


class ParzenEstimator:
    """The density of a set of observations (n, d) over `dimensions`."""

    def __init__(self, dimensions: tuple[Dimension, ...], observations: np.ndarray,
                 prior_weight: float, bandwidth: Bandwidth) -> None:
        self._dimensions = dimensions
        self._observations = observations
        count = len(observations)
        weights = np.append(np.ones(count), prior_weight)
        self._log_weights = np.log(weights / weights.sum())
        self._weights = weights / weights.sum()
        scott = max(count, 1) ** (-1.0 / (len(dimensions) + 4))
        self._sigmas = [
            max(bandwidth.numeric * scott, bandwidth.minimum) * dimension.scale
            for dimension in dimensions
        ]
        self._smoothing = [
            (1.0 - 1.0 / max(dimension.choices, 1)) * min(1.0, bandwidth.categorical * scott)
            for dimension in dimensions
        ]

    def sample(self, rng: np.random.Generator, count: int, given: dict[int, float] | None = None
               ) -> np.ndarray:
        """`count` joint draws (count, d): pick a component, then draw each of its kernels.

        With `given` (column -> value), the draws come from the conditional density: each
        component is weighted by how well it explains the given values, and those columns
        keep their values.
        """
        given = given or {}
        weights = self._weights
        if given:
            columns = sorted(given)
            points = np.array([[given[column] for column in columns]])
            log_weights = self._log_weights + self._component_log_pdf(points, columns)[0]
            weights = np.exp(log_weights - log_weights.max())
            weights /= weights.sum()
        components = rng.choice(len(weights), size=count, p=weights)
        from_prior = components == len(self._observations)
        rows = np.minimum(components, max(len(self._observations) - 1, 0))
        draws = np.empty((count, len(self._dimensions)))
        for column, dimension in enumerate(self._dimensions):
            if column in given:
                draws[:, column] = given[column]
                continue
            prior = _kernels.prior_sample(dimension, rng, count)
            if len(self._observations) == 0:
                draws[:, column] = prior
                continue
            centres = self._observations[rows, column]
            if dimension.categorical:
                kernel = _kernels.categorical_sample(dimension, rng, centres,
                                                     self._smoothing[column])
            else:
                kernel = _kernels.numeric_sample(dimension, rng, centres,
                                                 np.full(count, self._sigmas[column]))
            draws[:, column] = np.where(from_prior, prior, kernel)
        return draws

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """The log density at each of `points` (m, d)."""
        joint = self._component_log_pdf(points, list(range(len(self._dimensions))))
        return np.asarray(logsumexp(joint + self._log_weights[None, :], axis=1), dtype=float)

    def _component_log_pdf(self, points: np.ndarray, columns: list[int]) -> np.ndarray:
        """(m, n + 1): each component's log density over `columns` (the prior's last);
        `points` holds those columns only."""
        component_log = np.zeros((len(points), len(self._observations)))
        prior_log = np.zeros(len(points))
        for index, column in enumerate(columns):
            dimension = self._dimensions[column]
            values = points[:, index]
            centres = self._observations[:, column]
            if dimension.categorical:
                component_log += _kernels.categorical_log_pdf(dimension, values, centres,
                                                              self._smoothing[column])
            else:
                sigmas = np.full(len(centres), self._sigmas[column])
                component_log += _kernels.numeric_log_pdf(dimension, values, centres, sigmas)
            prior_log += _kernels.prior_log_pdf(dimension, values)
        return np.concatenate([component_log, prior_log[:, None]], axis=1)
