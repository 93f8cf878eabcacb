"""The LCBench surrogate (`../shared/data/lcbench-surrogate/`, YAHPO Gym's model of 2,000
funnel-shaped MLPs trained for 52 epochs on each of 34 OpenML tasks) as a landscape with known
truth: the true mean of a configuration is the surrogate's balanced validation accuracy after
52 epochs, and its true mean time the surrogate's cumulative training time at epoch 52 (its
own time model, which grows with the network's size and barely with the batch size; only the
last epoch's value is used, so the surrogate's occasional non-increasing curves do not
matter). Needs onnxruntime.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import numpy as np
from hyperopt import hp
from hyperopt.pyll import scope

from benchmarks._surrogate import surrogate_file

EPOCHS = 52
MIN_SECONDS = 1.0  # the surrogate's time can dip towards 0 at the edges of the space

# LCBench's space (`config_space.json`), as Hyperopt draws it.
SPACE = {
    "batch_size": scope.int(hp.qloguniform("batch_size", math.log(16), math.log(512), 1)),
    "learning_rate": hp.loguniform("learning_rate", math.log(1e-4), math.log(1e-1)),
    "momentum": hp.uniform("momentum", 0.1, 0.99),
    "weight_decay": hp.uniform("weight_decay", 1e-5, 0.1),
    "num_layers": scope.int(hp.quniform("num_layers", 0.5, 5.5, 1)),
    "max_units": scope.int(hp.qloguniform("max_units", math.log(64), math.log(1024), 1)),
    "max_dropout": hp.uniform("max_dropout", 0.0, 1.0),
}
INPUT_ORDER = ("batch_size", "learning_rate", "momentum", "weight_decay", "num_layers",
               "max_units", "max_dropout")


class Surrogate:
    """One OpenML task's surrogate: true (mean balanced accuracy, mean seconds) per config."""

    def __init__(self, task: str) -> None:
        import onnxruntime

        encoding = json.loads(surrogate_file("encoding.json").read_text())["OpenML_task_id"]
        self.task = task
        self._code = encoding[task]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(str(surrogate_file("model.onnx")), options)
        self._cache: dict[tuple[float, ...], tuple[float, float]] = {}

    def truth(self, params: dict[str, Any]) -> tuple[float, float]:
        row = tuple(float(params[name]) for name in INPUT_ORDER)
        if row not in self._cache:
            (self._cache[row],) = self.truths([row])
        return self._cache[row]

    def truths(self, rows: list[tuple[float, ...]]) -> list[tuple[float, float]]:
        inputs = np.array([(EPOCHS, *row) for row in rows], np.float32)
        codes = np.full((len(rows), 1), self._code, np.int32)
        output = self._session.run(None, {"x_cat": codes, "x_cont": inputs})[0]
        return [(float(np.clip(accuracy, 0, 1)), max(MIN_SECONDS, float(seconds)))
                for seconds, accuracy in zip(output[:, 0], output[:, 3], strict=True)]


@functools.cache
def surrogate(task: str) -> Surrogate:
    return Surrogate(task)
