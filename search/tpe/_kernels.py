"""The kernels of the Parzen estimator: one kind per way a dimension's values are spread.

- `Continuous`: Gaussians over the coordinate, truncated to the bounds where the prior has
  bounds (so no mass is wasted outside the space); densities.
- `Cells`: the dimension takes finitely many ordered values (a quantized range, a randint, a
  choice among numbers), each owning a cell of the coordinate; a Gaussian's mass over a
  value's cell is that value's probability, so a kernel spreads to the neighbouring values
  and a candidate's score does not depend on where in its cell it was drawn.
- `Categorical`: an Aitchison-Aitken kernel: the observed index keeps 1 - smoothing of the
  mass, the rest is shared by the other indices.

Each takes `points` (m,) and per-component parameters (n,): `log_pdfs` returns the components'
log densities (m, n) and the prior's (m,) (a value's probability, for cells).
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

from search.tpe._space import Dimension

_LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)


class Continuous:
    """A numeric dimension with any value in its bounds (or on a grid too fine to matter)."""

    def __init__(self, dimension: Dimension) -> None:
        self.dimension = dimension
        self.low, self.high = dimension.low, dimension.high
        self.width = dimension.scale

    def log_pdfs(self, points: np.ndarray, centres: np.ndarray, sigmas: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        z = (points[:, None] - centres[None, :]) / sigmas[None, :]
        log_pdf = -0.5 * z * z - np.log(sigmas)[None, :] - _LOG_SQRT_2PI
        if self.dimension.bounded:
            log_pdf -= np.log(_mass_between(self.low, self.high, centres, sigmas))[None, :]
        return np.asarray(log_pdf, dtype=float), self._prior_log_pdf(points)

    def sample(self, rng: np.random.Generator, centres: np.ndarray, sigmas: np.ndarray
               ) -> np.ndarray:
        if not self.dimension.bounded:
            return self.snap(rng.normal(centres, sigmas))
        return self.snap(_truncated_normal(rng, self.low, self.high, centres, sigmas))

    def _prior_log_pdf(self, points: np.ndarray) -> np.ndarray:
        dimension = self.dimension
        if dimension.bounded:
            return np.full(len(points), -np.log(self.width))
        z = (points - dimension.mu) / dimension.sigma
        return np.asarray(-0.5 * z * z - np.log(dimension.sigma) - _LOG_SQRT_2PI, dtype=float)

    def prior_sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        dimension = self.dimension
        if dimension.bounded:
            return self.snap(rng.uniform(self.low, self.high, size=count))
        return self.snap(rng.normal(dimension.mu, dimension.sigma, size=count))

    def snap(self, coordinates: np.ndarray) -> np.ndarray:
        return self.dimension.snap(coordinates)

    def supported(self, points: np.ndarray) -> np.ndarray:
        return np.ones(len(points), dtype=bool)

    def cell_widths(self, centres: np.ndarray) -> np.ndarray:
        return np.zeros(len(centres))


class Cells:
    """Finitely many ordered values, each owning a cell [left, right) of the coordinate.

    With `full_edges`, the lowest and highest values of a quantized range own whole cells,
    as the inner ones do (Hyperopt's `quniform` gives them half a cell: `uniformint(1, 5)`
    draws 1 from [1, 1.5) only), so a range's ends get their share of the candidates.
    """

    def __init__(self, dimension: Dimension, full_edges: bool) -> None:
        self.dimension = dimension
        if dimension.categorical:  # ordered indices: cell i is [i - 1/2, i + 1/2)
            self.low, self.high = -0.5, dimension.choices - 0.5
        elif full_edges:
            q = dimension.q or 0.0
            lowest, highest = (q * step for step in dimension.step_range)
            self.low = dimension.low if lowest - q / 2 <= 0 and dimension.log else (
                float(_coordinate(dimension, lowest - q / 2)))
            self.high = float(_coordinate(dimension, highest + q / 2))
        else:
            self.low, self.high = dimension.low, dimension.high
        self.width = self.high - self.low

    def cells(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (left, right) coordinates of the cells holding `points` (snapped points)."""
        dimension = self.dimension
        if dimension.categorical:
            left, right = points - 0.5, points + 0.5
        else:
            assert dimension.q is not None
            values = dimension.values(points)
            with np.errstate(divide="ignore"):
                left = _coordinate(dimension, values - dimension.q / 2)
                right = _coordinate(dimension, values + dimension.q / 2)
        return np.clip(left, self.low, self.high), np.clip(right, self.low, self.high)

    def log_pdfs(self, points: np.ndarray, centres: np.ndarray, sigmas: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        # Centres sit on a few cells, and kernels on the same cell with the same width are
        # one kernel: each distinct one is computed once (thousands of trials share a handful
        # of batch sizes), then spread back to every component. The (centre, width) pairs are
        # told apart as complex numbers, which a one-dimensional unique sorts fastest.
        kernels, component = np.unique(centres + 1j * sigmas, return_inverse=True)
        unique_centres, unique_sigmas = kernels.real, kernels.imag
        left, right = self.cells(points)
        mass = _log_mass(left[:, None], right[:, None], unique_centres[None, :],
                         unique_sigmas[None, :]) - np.log(
            _mass_between(self.low, self.high, unique_centres, unique_sigmas))[None, :]
        if self.dimension.categorical:
            prior = _log_prior(self.dimension, points)
        else:
            prior = np.log(np.maximum(right - left, 1e-300) / self.width)
        return (np.asarray(mass[:, component.reshape(-1)], dtype=float),
                np.asarray(prior, dtype=float))

    def sample(self, rng: np.random.Generator, centres: np.ndarray, sigmas: np.ndarray
               ) -> np.ndarray:
        return self.snap(_truncated_normal(rng, self.low, self.high, centres, sigmas))

    def prior_sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        if self.dimension.categorical:
            return rng.choice(self.dimension.choices, size=count,
                              p=self.dimension.ordered_prior).astype(float)
        return self.snap(rng.uniform(self.low, self.high, size=count))

    def snap(self, coordinates: np.ndarray) -> np.ndarray:
        if self.dimension.categorical:
            return np.asarray(np.clip(np.rint(coordinates), 0, self.dimension.choices - 1),
                              dtype=float)
        return self.dimension.snap(coordinates)

    def supported(self, points: np.ndarray) -> np.ndarray:
        if self.dimension.categorical:
            return _supported(self.dimension, points)
        return np.ones(len(points), dtype=bool)

    def cell_widths(self, centres: np.ndarray) -> np.ndarray:
        left, right = self.cells(centres)
        return np.asarray(right - left, dtype=float)


class Categorical:
    """Unordered choices; the `sigmas` a Parzen estimator passes are smoothing shares."""

    def __init__(self, dimension: Dimension) -> None:
        self.dimension = dimension
        self.width = 1.0

    def log_pdfs(self, points: np.ndarray, centres: np.ndarray, smoothing: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray]:
        others = max(self.dimension.choices - 1, 1)
        same = points[:, None] == centres[None, :]
        with np.errstate(divide="ignore"):  # one choice: no smoothing, no other index
            moved = np.log(smoothing / others)
        log_pdf = np.where(same, np.log1p(-smoothing)[None, :], moved[None, :])
        prior = _log_prior(self.dimension, points)
        return np.asarray(log_pdf, dtype=float), np.asarray(prior, dtype=float)

    def sample(self, rng: np.random.Generator, centres: np.ndarray, smoothing: np.ndarray
               ) -> np.ndarray:
        """Keep each observed index with probability 1 - smoothing, else move to another."""
        choices = self.dimension.choices
        moved = rng.random(len(centres)) < smoothing
        shift = rng.integers(1, max(choices, 2), size=len(centres))
        return np.where(moved, (centres + shift) % choices, centres).astype(float)

    def prior_sample(self, rng: np.random.Generator, count: int) -> np.ndarray:
        return rng.choice(self.dimension.choices, size=count,
                          p=self.dimension.ordered_prior).astype(float)

    def snap(self, coordinates: np.ndarray) -> np.ndarray:
        return coordinates

    def supported(self, points: np.ndarray) -> np.ndarray:
        return _supported(self.dimension, points)

    def cell_widths(self, centres: np.ndarray) -> np.ndarray:
        return np.zeros(len(centres))


Kernel = Continuous | Cells | Categorical


def kernel_for(dimension: Dimension, ordinal: bool, full_edges: bool) -> Kernel:
    """The kernel kind for a dimension: cells for a quantized range and (with `ordinal`) for
    ordered indices, categorical for other choices, continuous otherwise."""
    if dimension.categorical:
        return Cells(dimension, full_edges) if ordinal and dimension.ordered else (
            Categorical(dimension))
    if dimension.q is not None and dimension.bounded:
        return Cells(dimension, full_edges)
    return Continuous(dimension)


def _supported(dimension: Dimension, points: np.ndarray) -> np.ndarray:
    """Which indices of a choice its prior can draw: `hp.pchoice` may give an option weight 0,
    and a kernel centred next to it must not propose it."""
    return np.asarray(dimension.ordered_prior[points.astype(int)] > 0, dtype=bool)


def _log_prior(dimension: Dimension, points: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # an option of weight 0: -inf, never proposed
        return np.asarray(np.log(dimension.ordered_prior[points.astype(int)]), dtype=float)


def _coordinate(dimension: Dimension, values: np.ndarray | float) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if dimension.log:
        return np.asarray(np.log(np.where(values > 0, values, 0.0)), dtype=float)
    return values


def _truncated_normal(rng: np.random.Generator, low: float, high: float, centres: np.ndarray,
                      sigmas: np.ndarray) -> np.ndarray:
    """One draw from each (centre, sigma) Gaussian truncated to [low, high], by inverting the
    CDF."""
    below = ndtr((low - centres) / sigmas)
    above = ndtr((high - centres) / sigmas)
    uniform = below + rng.random(len(centres)) * (above - below)
    draws = centres + sigmas * ndtri(np.clip(uniform, 1e-300, 1 - 1e-16))
    return np.asarray(np.clip(draws, low, high), dtype=float)


def _mass_between(low: float, high: float, centres: np.ndarray, sigmas: np.ndarray
                  ) -> np.ndarray:
    mass = ndtr((high - centres) / sigmas) - ndtr((low - centres) / sigmas)
    return np.asarray(np.maximum(mass, 1e-300), dtype=float)


def _log_mass(left: np.ndarray, right: np.ndarray, centres: np.ndarray, sigmas: np.ndarray
              ) -> np.ndarray:
    """log of a Gaussian's mass over [left, right], accurate far in either tail."""
    a, b = (left - centres) / sigmas, (right - centres) / sigmas
    # In the upper tail, use the mirror image so both CDFs stay away from 1.
    flip = a > 0
    a, b = np.where(flip, -b, a), np.where(flip, -a, b)
    return np.asarray(np.log(np.maximum(ndtr(b) - ndtr(a), 1e-300)), dtype=float)
