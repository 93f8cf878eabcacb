"""Confirmation runs: the leading configurations of a search run again with fresh seeds.

    repeat = next_repeat(trials, min_accuracy, settings)
    if repeat is not None:  # the next trial copies repeat.trials[0]'s values, with its own
        ...                  # tid (hence seed) and `repeat_of: repeat.tid` on its job

Pure and deterministic: the decision is a function of the trials alone, so the same history
gives the same schedule, on a resume too. A search keeps `standings(trials, min_accuracy)`,
`update`s them with each trial that changes and asks `next_repeat_from(standings, settings)`:
the same decision, without pooling the whole history before each proposal. The reports rank
what the runs show together (`search.configurations`).
"""

from search.confirmation._jobs import is_repeat, repeat_job
from search.confirmation._schedule import (
    next_repeat,
    next_repeat_from,
    repeat_budget,
    standings,
)
from search.confirmation._settings import (
    DEFAULT,
    DISABLED,
    OFF,
    ConfirmationSettings,
    parse_confirm,
)
from search.confirmation._standings import Standings
from search.documents import REPEAT_OF

__all__ = ["DEFAULT", "DISABLED", "OFF", "REPEAT_OF", "ConfirmationSettings", "Standings",
           "is_repeat", "next_repeat", "next_repeat_from", "parse_confirm", "repeat_budget",
           "repeat_job", "standings"]
