"""Objectives: what one trial does (build data and model, train, time the training, evaluate).

The objective protocol
======================
An objective is a function ``run(params, trial) -> dict``:

``params``
    The hyperparameters proposed for this trial, as plain data, e.g. for the ``default``
    space ``{"lr": 3e-3, "batch_size": 64, "weight_decay": 1e-6, "optimizer": {"name":
    "adamw"}, "scheduler": {"name": "cosine"}}``.
``trial``
    A :class:`TrialContext`: ``trial.device`` (train there), ``trial.epochs`` (the
    experiment's ``--epochs``, or the params' ``epochs`` when the space searches it),
    ``trial.seed`` (``random``, numpy and torch are already seeded with it),
    ``trial.data_dir`` (``--data-dir``, or None) and ``trial.torch_compile`` (``--compile``).

Mark the training loop, and nothing else, with ``with trial.timed():``. The device is
synchronized on entry and exit; blocks may be entered many times (e.g. once per epoch) and
their times add up to ``train_seconds``. Keep data loading, model construction and the
final evaluation outside; evaluation that steers training (ReduceLROnPlateau) goes inside.
Call ``trial.report_epoch(val_accuracy)`` after each epoch, outside ``timed()``: it records
the curve and lets the experiment's pruner stop a trial that cannot win. When it does,
``report_epoch`` raises :class:`TrialPruned`; let it propagate (as ``FloatingPointError``)
and the trial is recorded as pruned: a finished trial (``status`` "ok", ``pruned`` True,
``loss`` 0.0, the worst score) with its partial curve, last accuracy, ``train_seconds`` so
far, ``epochs`` done, ``epochs_planned``, ``pruner``, ``prune_reason`` and ``score_bound``
(the most accuracy per second it could have reached). Once the pruner has said stop, the
trial is pruned whatever the objective does then: return, or raise another error (the
``TrialPruned`` wrapped in its own, say). An objective that never reports is never pruned.

Return ``{"accuracy": fraction_correct_on_held_out_data}`` (in [0, 1]), plus any extra keys
of plain data (numbers, strings, booleans, None, flat lists, dicts; keys without "." or "$").
A key hpsearch writes itself (``loss``, ``train_seconds``, ``epochs``, ``worker``,
``objective``, ``attempt``, ...) is refused: the trial fails, naming it.

hpsearch scores it as ``loss = -accuracy / train_seconds`` (see :func:`timing_definition`).
If training diverges, stop and raise ``FloatingPointError`` (or return a NaN accuracy); the
trial is then recorded as failed with reason "diverged". Any other exception, out of memory
included, is recorded as a failed trial too; the worker carries on. So is a ``sys.exit`` (an
argparse given bad arguments, say): it fails the trial, saying where, and ends no process.

Use your own objective as ``package.module:function`` (the worker must be started with
``--allow-objective package.module:function``) or install it under the entry-point group
``hpsearch.objectives``; either may point at a function or at an :class:`Objective` (which
can also carry a ``warm_up(device)`` run once per process before its first timed trial, and a
``check(settings)`` that ``hpsearch search`` calls before any trial, raising ObjectiveError,
e.g. DataMissingError, when no trial could run, and a ``check_params(params)`` it calls on
draws of the space, raising ValueError for params the objective could not read)::

    def objective(params, trial):
        data, model, optimizer = build(params, trial.device)
        for epoch in range(trial.epochs):
            with trial.timed():
                train_one_epoch(model, optimizer, data)
            trial.report_epoch(evaluate(model, data))
        return {"accuracy": evaluate(model, data)}
"""

import lazy_loader

# Names load on first use (PEP 562), so that `import objectives` does not import torch:
# the CLI's query commands and `--help` never train anything.
# The names and their modules are listed once, in __init__.pyi.
__getattr__, __dir__, __all__ = lazy_loader.attach_stub(__name__, __file__)
