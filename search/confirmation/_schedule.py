"""Which configuration the next trial repeats, if any: intensification within a budget.

After SMAC's intensification, cut down to what a budget of trials allows: the configurations
that look best on their runs so far are run again with fresh seeds until each has a few runs,
so that a lucky single run cannot stay on top. The schedule is optimistic about what to repeat
(the best by pooled mean, where a lucky run sits) and the reports are pessimistic about what
to show (the best by lower bound), so luck is tested before it is believed.

A pure function of the trials: the same history gives the same decision, so a resumed search
keeps its schedule, and nothing but the trials needs storing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from search.configurations import Confidence, Configuration
from search.confirmation._jobs import is_repeat
from search.confirmation._settings import ConfirmationSettings
from search.confirmation._standings import Standings
from search.trial import Trial

# The schedule judges the floor by 2 standard errors, the reports by 1.7: which configuration
# the reports would show next is repeated a little before they do show it.
SCHEDULE_CONFIDENCE = Confidence(floor=2.0)


def standings(trials: Iterable[Trial], min_accuracy: float) -> Standings:
    """The trials' configurations as the schedule judges them; a search keeps one and
    `update`s it with each trial that changes, rather than pool its history again."""
    return Standings.of(trials, min_accuracy, SCHEDULE_CONFIDENCE)


def repeat_budget(trials: Sequence[Trial], settings: ConfirmationSettings) -> int:
    """How many more repeats the budget allows now: repeats, the next trial included, stay at
    most `settings.fraction` of the trials, at every point of the search."""
    return _budget(len(trials), sum(is_repeat(trial) for trial in trials), settings)


def _budget(trials: int, repeats: int, settings: ConfirmationSettings) -> int:
    allowed = int(settings.fraction * (trials + 1) + 1e-9)
    return max(0, allowed - repeats)


def next_repeat(trials: Sequence[Trial], min_accuracy: float,
                settings: ConfirmationSettings) -> Configuration | None:
    """The configuration the next trial should run again, or None for a new proposal.

    Args:
        trials: Every trial of the experiment so far, in any state (pending ones count as
            runs, so parallel proposals do not repeat one configuration twice over).
        min_accuracy: The experiment's accuracy floor.
        settings: The experiment's confirmation settings.

    Returns:
        When the budget allows a repeat, `settings.start_after` configurations have finished
        (pruned or failed ones included), and the runs measured so far do not show the
        objective reproducing to within `settings.negligible_spread`: the configuration the
        reports would show, once it has two runs and until it has `settings.runs`; otherwise
        the one with the fewest runs of the `settings.leaders` leading configurations (by
        pooled mean, above the floor) and the reports' choice, while it has fewer than
        `settings.runs`.
    """
    if not settings.enabled:
        return None
    return next_repeat_from(standings(trials, min_accuracy), settings)


def next_repeat_from(judged: Standings, settings: ConfirmationSettings) -> Configuration | None:
    """`next_repeat` from the standings a search keeps up to date as its trials change (by
    `standings`' floor), rather than from its whole history each time."""
    if not settings.enabled or _budget(len(judged), judged.repeats, settings) < 1:
        return None
    # Pruned runs count as finished configurations here, though the pool leaves them out:
    # under a pruner most trials are pruned, and a lucky leader must still be repeated.
    if judged.finished_configurations < settings.start_after:
        return None
    noise = judged.measured_noise()
    if noise is not None and noise.surely_below(settings.negligible_spread):
        return None
    # The optimistic leaders (by pooled mean, where a lucky run sits) and the one the reports
    # would show (by lower bound): the one with the fewest runs goes first, except that what
    # the reports would show gets its last runs before any challenger its second.
    reported = judged.reported()
    if reported is not None and _is_open(reported, settings) and _runs(reported) >= 2:
        # What the reports would show, once repeated: its next run decides the report more
        # than a challenger's second does, so it goes first.
        return reported
    candidates = judged.leaders(settings.leaders) + ([] if reported is None else [reported])
    eligible = [configuration for configuration in candidates
                if _is_open(configuration, settings)]
    if not eligible:
        return None
    return min(eligible, key=lambda configuration: (_runs(configuration),
                                                    candidates.index(configuration)))


def _is_open(configuration: Configuration, settings: ConfirmationSettings) -> bool:
    """Worth another run: above the floor by its mean, no diverged run, runs to go."""
    return not configuration.below_floor and not configuration.unstable \
        and _runs(configuration) < settings.runs


def _runs(configuration: Configuration) -> int:
    """Runs finished, failed or pending: a repeat already asked for counts."""
    return configuration.runs + configuration.failed + configuration.pending
