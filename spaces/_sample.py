"""Drawing parameter dicts straight from a space's prior, for tests and benchmarks."""

from __future__ import annotations

from typing import Any

import numpy as np
from hyperopt.pyll import as_apply, clone, rec_eval
from hyperopt.pyll.stochastic import recursive_set_rng_kwarg

from ._space import SearchSpace


def sample_space(space: SearchSpace, n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` params dicts as an objective would receive them; the same seed gives the same draws.

    The draws are those of ``n`` calls to ``hyperopt.pyll.stochastic.sample`` sharing one
    ``numpy`` Generator; its per-call preparation (clone the graph, attach the Generator) is
    done once here, because it costs more than the draw itself.
    """
    rng = np.random.default_rng(seed)
    graph = recursive_set_rng_kwarg(clone(as_apply(space.graph)), as_apply(rng))
    return [rec_eval(graph) for _ in range(n)]
