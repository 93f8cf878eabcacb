"""The hyperparameters of the `default` space, parsed and turned into torch objects."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class TrainingRecipe:
    """Optimizer, learning-rate schedule and batch size for one trial.

    Build it with ``TrainingRecipe.from_params``; the optimizer and scheduler are exactly the
    ones proposed (AdamW, or SGD with momentum/Nesterov; cosine annealing, ReduceLROnPlateau
    on validation accuracy, or a constant learning rate).
    """

    lr: float
    batch_size: int
    weight_decay: float
    optimizer: str
    momentum: float = 0.0
    nesterov: bool = False
    scheduler: str = "none"
    plateau_patience: int = 10
    plateau_factor: float = 0.1

    @classmethod
    def from_params(cls, params: Mapping[str, Any], also_reads: Collection[str] = ()
                    ) -> TrainingRecipe:
        """Parse a params dict of the `default` space.

        ``optimizer`` and ``scheduler`` may be ``{"name": ..., knobs...}`` (as the default
        space's ``hp.choice`` yields) or a bare name; a missing ``scheduler`` means constant lr.
        ``also_reads`` names the other hyperparameters the objective reads itself; any
        other key is refused, since a misspelt ``weight_decy`` would otherwise be searched
        and recorded while training used the default.

        Raises:
            ValueError: A key is missing or unknown, or a value is out of range (the trial
                then fails with this message).
        """
        _refuse_unread(params, (*_READ, *also_reads), "hyperparameter")  # a typo, named first
        missing = [key for key in ("lr", "batch_size", "optimizer") if key not in params]
        if missing:
            raise ValueError(
                f"params lack {', '.join(missing)}; this objective needs lr, batch_size and "
                f"optimizer, and also reads weight_decay and scheduler (got {sorted(params)})"
            )
        optimizer = _as_choice(params["optimizer"], "optimizer")
        scheduler = _as_choice(params.get("scheduler", "none"), "scheduler")
        for choice, what in ((optimizer, "optimizer"), (scheduler, "scheduler")):
            knobs = _KNOBS.get(str(choice["name"]).lower(), ())
            _refuse_unread({key: value for key, value in choice.items() if key != "name"},
                           knobs, f"{what} {choice['name']!r} knob")
        recipe = cls(
            lr=float(params["lr"]),
            # quantised hyperopt distributions yield floats such as 64.0
            batch_size=int(round(float(params["batch_size"]))),
            weight_decay=float(params.get("weight_decay", 0.0)),
            optimizer=str(optimizer["name"]).lower(),
            momentum=float(optimizer.get("momentum", 0.0)),
            nesterov=bool(optimizer.get("nesterov", False)),
            scheduler=str(scheduler["name"]).lower(),
            plateau_patience=int(round(float(scheduler.get("patience", 10)))),
            plateau_factor=float(scheduler.get("factor", 0.1)),
        )
        recipe._validate()
        return recipe

    def _validate(self) -> None:
        """Refuse what torch would refuse when the trial builds its optimizer or schedule:
        caught here, the space check stops a search before its first trial."""
        if not self.lr > 0:
            raise ValueError(f"lr must be positive, got {self.lr}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if not self.weight_decay >= 0:
            raise ValueError(f"weight_decay must be 0 or more, got {self.weight_decay}")
        if not self.momentum >= 0:
            raise ValueError(f"optimizer momentum must be 0 or more, got {self.momentum}")
        if self.nesterov and not self.momentum > 0:
            raise ValueError("optimizer nesterov needs a momentum above 0, got "
                             f"{self.momentum}")
        if not 0 < self.plateau_factor < 1:
            raise ValueError("scheduler factor must be between 0 and 1 (the lr is multiplied "
                             f"by it), got {self.plateau_factor}")
        if self.optimizer not in ("adamw", "sgd"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; expected 'adamw' or 'sgd'")
        if self.scheduler not in ("cosine", "plateau", "none"):
            raise ValueError(
                f"unknown scheduler {self.scheduler!r}; expected 'cosine', 'plateau' or 'none'"
            )

    def build_optimizer(
        self, parameters: Iterable[torch.nn.Parameter], *, fused: bool = True
    ) -> torch.optim.Optimizer:
        """The proposed optimizer.

        Args:
            parameters: The model's parameters.
            fused: Use the fused implementation: one kernel (CUDA) or one C++ loop (CPU)
                updates every parameter, instead of several small ops per tensor.
        """
        if self.optimizer == "adamw":
            return torch.optim.AdamW(
                parameters, lr=self.lr, weight_decay=self.weight_decay, fused=fused or None
            )
        return torch.optim.SGD(
            parameters,
            lr=self.lr,
            momentum=self.momentum,
            nesterov=self.nesterov,
            weight_decay=self.weight_decay,
            fused=fused or None,
        )

    def build_scheduler(
        self, optimizer: torch.optim.Optimizer, total_steps: int
    ) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None:
        """The proposed schedule.

        Cosine anneals over ``total_steps`` and is stepped after every optimizer step;
        plateau is stepped once per epoch on validation accuracy (``mode="max"``).
        """
        if self.scheduler == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
        if self.scheduler == "plateau":
            return torch.optim.lr_scheduler.ReduceLROnPlateau(
                optimizer, mode="max", patience=self.plateau_patience, factor=self.plateau_factor
            )
        return None


def warm_up_recipes(batch_size: int) -> tuple[TrainingRecipe, TrainingRecipe]:
    """One recipe down each optimizer and scheduler path, for an untimed warm-up: the first
    call of each pays for lazy initialisation that no trial should be scored for."""
    return (
        TrainingRecipe(lr=1e-3, batch_size=batch_size, weight_decay=0.0, optimizer="adamw",
                       scheduler="cosine"),
        TrainingRecipe(lr=1e-2, batch_size=batch_size, weight_decay=0.0, optimizer="sgd",
                       momentum=0.9, nesterov=True, scheduler="plateau", plateau_patience=1,
                       plateau_factor=0.5),
    )


# What `from_params` reads: the top-level hyperparameters, and each choice's knobs.
_READ = ("lr", "batch_size", "weight_decay", "optimizer", "scheduler", "epochs")
_KNOBS = {"sgd": ("momentum", "nesterov"), "plateau": ("patience", "factor")}


def _refuse_unread(params: Mapping[str, Any], read: Collection[str], what: str) -> None:
    unread = sorted(set(params) - set(read))
    if not unread:
        return
    hints = [f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
             for name in unread for close in [difflib.get_close_matches(name, read, n=1)]]
    raise ValueError(
        f"this objective does not read the {what}{'s' if len(unread) > 1 else ''} "
        f"{', '.join(hints)}: it reads {', '.join(read) or 'none'}; rename "
        f"{'them' if len(unread) > 1 else 'it'} in the space, or write an objective that "
        "reads it (docs/objectives.md)")


def _as_choice(value: Any, what: str) -> Mapping[str, Any]:
    if isinstance(value, str):
        return {"name": value}
    if isinstance(value, Mapping) and "name" in value:
        return value
    raise ValueError(f"{what} must be a name or a dict with a 'name' key, got {value!r}")
