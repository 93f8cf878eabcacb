"""A multivariate Parzen estimator: a weighted mixture of product kernels plus the prior.

Each observation is one component: a product, over the group's dimensions, of a kernel
centred on the observation. One extra component is the prior itself, weighted by
`prior_weight`, so the density never vanishes where nothing was tried yet.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from search.tpe._kernels import Categorical, Continuous, Kernel


@dataclasses.dataclass(frozen=True)
class Bandwidth:
    """How wide the kernels are.

    `numeric`: fraction of a dimension's width at n = 1 (wider explores, narrower exploits),
    shrinking as n^(-1/(d+4)) (Scott's rule for d dimensions).
    `continuous`: `numeric` for continuous dimensions only (those without finitely many
    values); None uses `numeric` for them too. Value lists gain from wider kernels (0.2 reaches
    the neighbouring values of a short list), smooth ranges from narrower ones (0.1 exploits a
    bowl faster): both chosen by benchmark, see benchmarks/RESULTS.md (issue 21). The known
    price: a short list on a smooth objective (the default space's 16 batch sizes on issue 8's
    bowl) would do better at 0.1, but 0.1 on lists costs far more on grids of training runs,
    whose integer ranges sit on coarse grids (RESULTS.md, issue 21, round three).
    `minimum`: floor as a fraction of the width, so kernels never collapse onto one point.
    `cells`: floor in cells for dimensions with finitely many values, so a kernel always
    reaches the neighbouring values.
    `categorical`: the share of a categorical kernel's mass moved off the observed index at
    n = 1, scaled by the same n^(-1/(d+4)) factor.
    `rule`: "scott", or "neighbours": each kernel as wide as the larger gap to its neighbours
    in that dimension (Hyperopt's adaptive Parzen estimator, Optuna's TPE), at least the
    width / min(100, n + 2) (Optuna's magic clip) and `minimum`.
    `shrink`: with "scott", the exponent of n instead of 1/(d+4) (faster shrinking: wide
    kernels while few trials are good, narrow ones once many are).
    `rule` "spread": Scott's rule proper, n^(-1/(d+4)) times `spread` times the standard
    deviation of the observations in that dimension (`numeric` of the width while there are
    fewer than two), within [`minimum`, 1] of the width: wide while the good trials are far
    apart, narrow once they gather.
    `shared`: good and bad trials' estimators take Scott's factor from the count of both
    together, so l(x) and g(x) have kernels of one width (otherwise each from its own count:
    l, with few trials, gets wider kernels than g). Off: it exploits a smooth bowl faster but
    costs the grids of training runs, which gain from l wider than g (RESULTS.md, issue 21,
    round three).
    """

    numeric: float = 0.2
    continuous: float | None = 0.1
    minimum: float = 0.01
    cells: float = 0.0
    categorical: float = 0.5
    rule: str = "scott"
    shrink: float | None = None
    spread: float = 1.0
    shared: bool = False


class ParzenEstimator:
    """The density of a set of observations (n, d), one kernel per dimension; Scott's factor
    counts `scott_count` observations where given (see `Bandwidth.shared`)."""

    def __init__(self, kernels: tuple[Kernel, ...], observations: np.ndarray,
                 prior_weight: float, bandwidth: Bandwidth,
                 weights: np.ndarray | None = None, scott_count: int | None = None) -> None:
        self._kernels = kernels
        self._observations = observations
        count = len(observations)
        # The prior alone while there are no observations, whatever its weight (it may be 0).
        weights = np.append(np.ones(count) if weights is None else weights,
                            prior_weight if count else 1.0)
        self._weights = weights / weights.sum()
        with np.errstate(divide="ignore"):  # a prior of weight 0 is a component of density 0
            self._log_weights = np.log(self._weights)
        exponent = 1.0 / (len(kernels) + 4) if bandwidth.shrink is None else bandwidth.shrink
        scott = max(count if scott_count is None else scott_count, 1) ** -exponent
        self._sigmas = [_sigmas(kernel, observations[:, column], bandwidth, scott)
                        for column, kernel in enumerate(kernels)]

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
        draws = np.empty((count, len(self._kernels)))
        for column, kernel in enumerate(self._kernels):
            if column in given:
                draws[:, column] = given[column]
                continue
            prior = kernel.prior_sample(rng, count)
            if len(self._observations) == 0:
                draws[:, column] = prior
                continue
            drawn = kernel.sample(rng, self._observations[rows, column],
                                  self._sigmas[column][rows])
            # A kernel may spread onto a value the prior never draws (a choice of weight 0):
            # such a draw is the prior's instead.
            draws[:, column] = np.where(from_prior | ~kernel.supported(drawn), prior, drawn)
        return draws

    def log_pdf(self, points: np.ndarray) -> np.ndarray:
        """The log density at each of `points` (m, d)."""
        joint = self._component_log_pdf(points, list(range(len(self._kernels))))
        joint += self._log_weights[None, :]
        largest = joint.max(axis=1)
        return np.asarray(largest + np.log(np.exp(joint - largest[:, None]).sum(axis=1)),
                          dtype=float)

    def _component_log_pdf(self, points: np.ndarray, columns: list[int]) -> np.ndarray:
        """(m, n + 1): each component's log density over `columns` (the prior's last);
        `points` holds those columns only."""
        component_log = np.zeros((len(points), len(self._observations)))
        prior_log = np.zeros(len(points))
        for index, column in enumerate(columns):
            kernel = self._kernels[column]
            values = points[:, index]
            kernels_log, kernel_prior_log = kernel.log_pdfs(
                values, self._observations[:, column], self._sigmas[column])
            component_log += kernels_log
            prior_log += kernel_prior_log
        return np.concatenate([component_log, prior_log[:, None]], axis=1)


def _sigmas(kernel: Kernel, centres: np.ndarray, bandwidth: Bandwidth, scott: float
            ) -> np.ndarray:
    """Each component's bandwidth in one dimension (a smoothing share for a categorical)."""
    count = len(centres)
    if isinstance(kernel, Categorical):
        choices = kernel.dimension.choices
        share = (1.0 - 1.0 / max(choices, 1)) * min(1.0, bandwidth.categorical * scott)
        return np.full(count, share)
    width = kernel.width
    if bandwidth.rule == "neighbours" and count:
        order = np.argsort(centres)
        ends = np.concatenate([[kernel.low], centres[order], [kernel.high]])
        gaps = np.diff(ends)
        sigmas = np.empty(count)
        sigmas[order] = np.maximum(gaps[:-1], gaps[1:])
        floor = max(width / min(100.0, count + 2.0), bandwidth.minimum * width)
        sigmas = np.clip(sigmas, floor, width)
    elif bandwidth.rule == "spread" and count >= 2:
        spread = bandwidth.spread * float(np.std(centres)) * scott
        sigmas = np.full(count, np.clip(spread, bandwidth.minimum * width, width))
    else:
        numeric = bandwidth.numeric if bandwidth.continuous is None or not isinstance(
            kernel, Continuous) else bandwidth.continuous
        sigmas = np.full(count, max(numeric * scott, bandwidth.minimum) * width)
    if bandwidth.cells:
        sigmas = np.maximum(sigmas, bandwidth.cells * kernel.cell_widths(centres))
    return np.asarray(sigmas, dtype=float)
