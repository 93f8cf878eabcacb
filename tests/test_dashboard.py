"""`hpsearch dashboard` in a real browser: Debian's headless Chromium driven by Playwright,
against a dashboard served on a free loopback port over each kind of store.

Playwright never downloads a browser here (no `playwright install`): it launches
/usr/bin/chromium (`apt-get install chromium`; `.ci/run` installs it), or $HPSEARCH_CHROMIUM.
Every wait is for a condition on the page, with a generous deadline.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime
import json
import logging
import os
import shutil
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from farm import wait_until
from playwright.sync_api import Browser, Page, sync_playwright
from stored_trials import MIN_ACCURACY, Outcome, record_repeat, record_trials, result_for

import spaces
from search.dashboard import Dashboard, DashboardError, _live
from search.dashboard._data import parameter_axes
from search.dashboard._live import STALLED_AFTER, LiveStore
from search.dashboard._reading import WHOLE_READ_INTERVAL, StoreReader
from search.dashboard._server import _Handler
from search.documents import utcnow
from search.experiment import Experiment
from search.farm.proposals import Proposer
from search.reports.queries import count_by_state, experiment_status
from search.store import WorkerStatus, open_store, opened_store
from search.store._mongo._dialect import DIALECT_VARIABLE, FerretDBDialect
from search.trial import trials_of

CHROMIUM = os.environ.get("HPSEARCH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
WAIT_MS = 90_000  # a loaded two-core machine compiles Plotly's 1.2 MB in seconds, not ms
OUTCOMES = [(0.9, 0.1), (0.95, 0.5), (0.4, 0.01), None, (0.99, 2.0), (0.8, 0.05)]
SCRIPT = "<script>window.__xss = 'script'</script>"
IMAGE = "<img src=x onerror=\"window.__xss = 'image'\">"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the dashboard tests need Chromium at {CHROMIUM}: apt-get install "
                    "chromium (or set HPSEARCH_CHROMIUM to its path)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


class Tab:
    """A page in a fresh browser context that records every console error."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", lambda message: self.errors.append(message.text)
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.painted()

    def painted(self) -> None:
        self.page.wait_for_selector("body[data-painted]", state="attached", timeout=WAIT_MS)

    def until(self, expression: str, argument: Any = None) -> None:
        self.page.wait_for_function(expression, arg=argument, timeout=WAIT_MS)

    def evaluate(self, expression: str, argument: Any = None) -> Any:
        return self.page.evaluate(expression, argument)


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    # Playwright's waits run as strings in the page, which the page's own policy forbids
    # (no 'unsafe-eval'); test_the_page_runs_under_its_own_content_security_policy loads it
    # with the policy in force.
    context = browser.new_context(viewport={"width": 1400, "height": 900}, bypass_csp=True)
    opened = Tab(context.new_page())
    yield opened
    context.close()
    assert opened.errors == [], "the page logged errors"


@contextlib.contextmanager
def served(location: str, **options: Any) -> Iterator[Dashboard]:
    """A dashboard over the store at `location` on a free loopback port, read once already."""
    store = open_store(location)
    dashboard = Dashboard(store, port=0, interval=0.2, **options)
    dashboard.start()
    try:
        assert dashboard.live.wait_until_read(60)
        yield dashboard
    finally:
        dashboard.close()
        store.close()


def finish_next(location: str, exp_key: str, result: dict[str, Any]) -> int:
    """Reserve the experiment's next queued trial and finish it, as a worker would."""
    store = open_store(location)
    try:
        reservation = store.reserve_next_job(str(result.get("worker", "worker-z")), [exp_key])
        assert reservation is not None
        assert store.finish_job(reservation, result)
        return reservation.tid
    finally:
        store.close()


def failure(reason: str, error: str, traceback: str | None = None,
            worker: str = "worker-z") -> dict[str, Any]:
    result = {**result_for(None, worker), "reason": reason, "error": error,
              "error_type": "RuntimeError"}
    if traceback is not None:
        result["traceback"] = traceback
    return result


def trace_points(tab: Tab, plot: str, name: str, axis: str = "x") -> int:
    return int(tab.evaluate(
        "([plot, name, axis]) => document.getElementById(plot).data"
        ".filter((t) => t.name === name && (t.xaxis || 'x') === axis)"
        ".reduce((sum, t) => sum + t.x.length, 0)", [plot, name, axis]))


# -- counts and plots, on both stores ---------------------------------------------------------

def test_the_experiments_page_shows_the_counts_the_store_holds(tab: Tab, store_location: str
                                                               ) -> None:
    record_trials(store_location, "counted", OUTCOMES, running=1, queued=2)
    store = open_store(store_location)
    try:
        expected = count_by_state(trials_of(store.jobs("counted")))
    finally:
        store.close()
    with served(store_location) as dashboard:
        tab.open(dashboard.url)
        card = tab.page.locator('[data-exp="counted"]')
        shown = {state: int(card.locator(f'[data-count="{state}"] b').inner_text())
                 for state in expected}
        assert shown == expected == {"ok": 5, "pruned": 0, "failed": 1, "running": 1,
                                     "queued": 2}
        assert card.locator('[data-count="total"] b').inner_text() == "9"
        best = card.locator('[data-fact="best"]').inner_text()
        assert "16 /s" in best and "trial 5 · 1 run" in best  # 0.8 in 0.05 s
        pace = card.locator('[data-fact="pace"] .value').inner_text()
        assert pace.endswith("/min") and pace[0].isdigit(), pace  # as `hpsearch status` has it


def test_a_search_that_spent_its_training_budget_says_so(tab: Tab, tmp_path: Path) -> None:
    """Its pace does not fall as a stalled farm's does: no trial is left once it is spent."""
    location = str(tmp_path / "store")
    record_trials(location, "budgeted", OUTCOMES[:2])  # 0.1 + 0.5 s of training
    with opened_store(location) as store:
        recorded = store.experiment("budgeted")
        assert recorded is not None
        store.record_experiment(dataclasses.replace(recorded, max_evals=10,
                                                    max_train_seconds=0.5))
    with served(location) as dashboard:
        tab.open(dashboard.url)
        card = tab.page.locator('[data-exp="budgeted"]')
        left = card.locator('[data-fact="left"]')
        assert left.locator(".value").inner_text() == "0 s"
        assert left.locator(".detail").inner_text() == "training budget spent"
        assert card.locator('[data-fact="spent"] .detail').inner_text() == "of a 0.5 s budget"


def test_the_longest_experiment_key_wraps_instead_of_widening_the_page(tab: Tab,
                                                                      tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    key = "Z" + "y" * 97 + ".-"  # 100 characters, the most a key may have, and no break
    record_trials(location, key, OUTCOMES[:2])
    with served(location) as dashboard:
        for page in ("", f"#/experiments/{key}"):
            tab.open(dashboard.url + page)
            tab.page.wait_for_selector(f'text="{key}"', timeout=WAIT_MS)
            assert tab.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), page


def test_each_plot_holds_one_point_per_finished_trial(tab: Tab, store_location: str) -> None:
    record_trials(store_location, "plotted", OUTCOMES, running=1, queued=2)
    with served(store_location) as dashboard:
        tab.open(dashboard.url_for("plotted"))
        for axis in ("x", "x2"):  # by trial number, and by training seconds spent
            assert trace_points(tab, "plot-history", "trial", axis) == 5
            assert trace_points(tab, "plot-history", "failed", axis) == 1
        scored = (trace_points(tab, "plot-tradeoff", "trial")
                  + trace_points(tab, "plot-tradeoff", "below the floor (score 0)"))
        assert scored == 5
        assert tab.page.locator("#page-range").inner_text() == "1–9 of 9"


def test_a_trial_that_lands_appears_without_a_reload_keeping_zoom_filter_and_trial(
        tab: Tab, store_location: str) -> None:
    record_trials(store_location, "live", OUTCOMES, queued=2)
    with served(store_location) as dashboard:
        tab.open(dashboard.url_for("live"))
        tab.evaluate("window.__sameDocument = true")
        tab.evaluate("Plotly.relayout('plot-tradeoff', {'xaxis.range': [-1.5, 0.5], "
                     "'yaxis.range': [0.3, 1]})")
        tab.page.click('[data-filter="ok"]')
        tab.page.click('#trials tr[data-tid="1"]')
        tab.until("document.getElementById('detail-state') !== null")

        finish_next(store_location, "live", result_for((0.97, 0.2), "worker-z"))

        tab.until("document.getElementById('plot-history').data"
                  ".find((t) => t.name === 'trial').x.length === 6")
        assert tab.evaluate("window.__sameDocument") is True
        layout = tab.evaluate("(() => { const l = document.getElementById('plot-tradeoff').layout;"
                              " return [l.xaxis.range, l.yaxis.range]; })()")
        assert layout == [[-1.5, 0.5], [0.3, 1]]
        assert tab.page.locator('[data-filter="ok"]').get_attribute("class").endswith("active")
        assert tab.page.locator("#page-range").inner_text() == "1–6 of 6"  # ok trials only
        assert tab.page.locator("#drawer h2").inner_text() == "Trial 1"
        assert "#/experiments/live/trials/1" in tab.page.url


PAINT_AT = """([plot, x, y]) => {
    // Paint on the plot's canvas within a pixel of where Plotly puts the point (x, y).
    const figure = document.getElementById(plot);
    const canvas = figure.querySelector('canvas.dense');
    if (!canvas) return false;
    const {xaxis, yaxis, width} = figure._fullLayout;
    const ratio = canvas.width / width;
    const px = Math.round((xaxis._offset + xaxis.c2p(x)) * ratio);
    const py = Math.round((yaxis._offset + yaxis.c2p(y)) * ratio);
    const pixels = canvas.getContext('2d').getImageData(px - 1, py - 1, 3, 3).data;
    return pixels.some((value, k) => k % 4 === 3 && value > 0);
}"""
PAINTED_IN_PLOT = """(plot) => {
    // How many pixels of the canvas inside the plot area hold paint.
    const figure = document.getElementById(plot);
    const canvas = figure.querySelector('canvas.dense');
    const {xaxis, yaxis, width} = figure._fullLayout;
    const ratio = canvas.width / width;
    const pixels = canvas.getContext('2d').getImageData(
        Math.ceil(xaxis._offset * ratio), Math.ceil(yaxis._offset * ratio),
        Math.floor(xaxis._length * ratio), Math.floor(yaxis._length * ratio)).data;
    return pixels.filter((value, k) => k % 4 === 3 && value > 0).length;
}"""


def test_a_large_experiment_paints_its_markers_on_a_canvas_that_follows_zoom_legend_and_news(
        tab: Tab, tmp_path: Path) -> None:
    # Past 200 finished trials, Plotly keeps each big scatter's points (hover, legend, the
    # counts above) but draws at most one marker of a trace; a canvas under the figure paints
    # them all, wherever the axes are now.
    location = str(tmp_path / "store")
    outcomes: list[Outcome] = [(0.55 + (k % 9) / 20, 0.05 + (k % 7) / 10) for k in range(205)]
    record_trials(location, "dense", outcomes, queued=1)
    with served(location) as dashboard:
        tab.open(dashboard.url_for("dense"))
        assert trace_points(tab, "plot-tradeoff", "trial") == 205
        assert trace_points(tab, "plot-history", "trial", "x2") == 205
        assert tab.evaluate("document.querySelectorAll('#plot-params path.point').length") <= 9
        for accuracy, seconds in (outcomes[0], outcomes[8], outcomes[60]):
            assert tab.evaluate(PAINT_AT, ["plot-tradeoff", seconds, accuracy])
        assert not tab.evaluate(PAINT_AT, ["plot-tradeoff", 0.07, 0.9])  # no trial there

        finish_next(location, "dense", result_for((0.99, 3.0), "worker-z"))
        tab.until(PAINT_AT, ["plot-tradeoff", 3.0, 0.99])

        tab.evaluate("Plotly.relayout('plot-tradeoff', {'xaxis.range': [2, 3]})")  # 100-1000 s
        tab.until(f"({PAINTED_IN_PLOT})('plot-tradeoff') === 0")

        tab.evaluate("Plotly.relayout('plot-tradeoff', {'xaxis.autorange': true})")
        tab.until(PAINT_AT, ["plot-tradeoff", outcomes[0][1], outcomes[0][0]])
        hidden = tab.evaluate("document.getElementById('plot-tradeoff').data"
                              ".findIndex((t) => t.name === 'trial')")
        tab.evaluate(f"Plotly.restyle('plot-tradeoff', {{visible: 'legendonly'}}, [{hidden}])")
        tab.until(f"!({PAINT_AT})(['plot-tradeoff', {outcomes[0][1]}, {outcomes[0][0]}])")


def test_the_first_paint_mark_comes_once_every_plot_in_the_window_is_drawn(
        tab: Tab, tmp_path: Path) -> None:
    # The plots are drawn one at a time from the top; the page marks its first complete paint
    # once those in the window at load are drawn and shown (the loading card above them gone
    # by then), and its paint when all are.
    location = str(tmp_path / "store")
    record_trials(location, "staged", OUTCOMES)
    tab.page.add_init_script("""new MutationObserver(() => {
        if (window.__atFirstPaint || !document.body || !document.body.dataset.firstPaint) return;
        const loading = document.getElementById('loading');
        const shift = loading.hidden ? 0
            : document.getElementById('summary').getBoundingClientRect().top
              - loading.getBoundingClientRect().top;
        window.__loadingGone = loading.hidden;
        window.__atFirstPaint = Array.from(document.querySelectorAll('.plot'), (plot) => ({
            id: plot.id, inWindow: plot.getBoundingClientRect().top - shift < window.innerHeight,
            drawn: plot.querySelector('.main-svg') !== null}));
    }).observe(document, {attributes: true, subtree: true,
                           attributeFilter: ['data-first-paint']})""")
    with served(location) as dashboard:
        tab.open(dashboard.url_for("staged"))
        plots = tab.evaluate("window.__atFirstPaint")
        assert [plot["id"] for plot in plots if plot["inWindow"]][:1] == ["plot-history"]
        assert all(plot["drawn"] for plot in plots if plot["inWindow"])
        assert not next(plot for plot in plots if plot["id"] == "plot-curves")["drawn"]
        assert tab.evaluate("window.hpsearchFirstPaintAt <= window.hpsearchPaintedAt")
        assert tab.evaluate("window.__loadingGone")
        assert tab.evaluate("document.querySelectorAll('.plot .main-svg').length") >= 5


def test_a_lucky_run_below_the_floor_never_heads_the_dashboard_once_its_repeat_lands(
        tab: Tab, tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    # Trial 1 is lucky: the fastest, above the floor (0.5). Its repeat lands far below it.
    record_trials(location, "lucky", [(0.9, 1.0), (0.6, 0.05), (0.8, 0.5)])
    with served(location) as dashboard:
        tab.open(dashboard.url)
        best = tab.page.locator('[data-exp="lucky"] [data-fact="best"]')
        assert "12 /s" in best.inner_text() and "trial 1 · 1 run" in best.inner_text()
        record_repeat(location, "lucky", 1, result_for((0.3, 0.06), "worker-b"))
        tab.until("""document.querySelector('[data-exp="lucky"] [data-fact="best"]')
                     .innerText.includes('trial 2')""")  # live, without a reload
        assert "1.6 /s" in best.inner_text()
        tab.page.click('[data-exp="lucky"] a')
        tab.painted()
        assert "trial 2 · 1 run" in tab.page.locator('#summary [data-fact="best"]').inner_text()
        rows = tab.page.locator("#configurations tbody tr")
        assert [rows.nth(k).get_attribute("data-configuration") for k in range(rows.count())
                ] == ["2", "0", "1"]
        lucky = rows.nth(2).inner_text()
        assert "0.45 ± 0.21" in lucky and "yes" in lucky and "1, 3" in lucky
        assert tab.page.locator("#trials tbody tr").count() == 4  # single runs stay visible

        def trace(name: str) -> list[float]:
            found: list[float] = tab.evaluate(
                "(name) => document.getElementById('plot-tradeoff').data"
                ".find((t) => t.name.startsWith(name)).x", name)
            return found

        assert trace("best configuration (trial 2") == [0.5]
        assert trace("Pareto front of configurations") == [0.5, 1.0]


def test_a_failed_trial_opens_with_its_reason_and_traceback(tab: Tab, store_location: str
                                                            ) -> None:
    record_trials(store_location, "failing", OUTCOMES[:2], queued=1)
    traceback = 'Traceback (most recent call last):\n  File "train.py", line 3\nRuntimeError: boom'
    tid = finish_next(store_location, "failing", failure("exception", "boom", traceback))
    with served(store_location) as dashboard:
        tab.open(dashboard.url_for("failing"))
        tab.page.click(f'#trials tr[data-tid="{tid}"]')
        tab.until("document.getElementById('detail-reason') !== null")
        assert tab.page.locator("#detail-state").inner_text() == "failed"
        assert tab.page.locator("#detail-reason").inner_text() == "exception"
        assert tab.page.locator("#detail-error").inner_text() == "RuntimeError: boom"
        assert tab.page.locator("#detail-traceback").inner_text() == traceback


def test_pruned_trials_show_their_curves_and_count_in_the_seconds_spent(tab: Tab,
                                                                         tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "pruned", [(0.9, 1.0)], queued=1)
    finish_next(location, "pruned", {**result_for((0.6, 3.0)), "pruned": True,
                                     "val_accuracy_per_epoch": [0.5, 0.6]})
    with served(location) as dashboard:
        tab.open(dashboard.url_for("pruned"))
        assert trace_points(tab, "plot-curves", "pruned") == 1
        spent = tab.evaluate("() => Math.max(...document.getElementById('plot-history').data"
                             ".filter((t) => t.xaxis === 'x2').flatMap((t) => Array.from(t.x)))")
        assert spent == pytest.approx(4.0), "the pruned trial's 3 s were spent too"


def test_a_page_opened_before_its_experiment_exists_shows_it_once_it_does(
        tab: Tab, tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "early", OUTCOMES[:1])
    with served(location) as dashboard:
        tab.page.goto(dashboard.url_for("late"))
        tab.page.wait_for_selector("#missing", timeout=WAIT_MS)
        record_trials(location, "late", OUTCOMES)
        tab.painted()
        assert trace_points(tab, "plot-history", "trial") == 5
    # The browser itself logs the 404s the page answered by waiting: expected here.
    tab.errors[:] = [error for error in tab.errors if "404 (Not Found)" not in error]


def test_two_branches_parameters_of_one_name_are_drawn_each_with_its_own_trials(
        tab: Tab, tmp_path: Path) -> None:
    path = tmp_path / "branches.yaml"
    path.write_text("parameters:\n  opt:\n    values:\n"
                    "      - {name: sgd, parameters: {m: {min: 0.0, max: 1.0}}}\n"
                    "      - {name: adam, parameters: {m: {min: 5.0, max: 6.0}}}\n")
    location = str(tmp_path / "store")
    record_trials(location, "branches", [(0.9, 1.0)] * 8, space=spaces.load_space(str(path)))
    with served(location) as dashboard:
        tab.open(dashboard.url_for("branches"))
        panels = tab.evaluate("() => document.getElementById('plot-params').data"
                              ".map((t) => [t.xaxis, Array.from(t.x)])")
        by_axis = {axis: xs for axis, xs in panels}
        sgd, adam = by_axis["x2"], by_axis["x3"]  # after the categorical `opt`
        assert sgd and adam and len(sgd) + len(adam) == 8
        assert all(0 <= x <= 1 for x in sgd) and all(5 <= x <= 6 for x in adam)
        titles = tab.evaluate("() => [...document.querySelectorAll('#plot-params tspan')]"
                              ".map((span) => span.textContent)")
        assert {"opt", "opt/sgd/m", "opt/adam/m"} <= set(titles), titles


def api(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=120) as answer:
        decoded: dict[str, Any] = json.loads(answer.read())
        return decoded


def test_a_page_receives_only_the_trials_that_changed(store_location: str) -> None:
    record_trials(store_location, "diff", OUTCOMES, queued=2)
    with served(store_location) as dashboard:
        first = api(f"{dashboard.url}api/experiments/diff")
        assert first["full"] and first["trials"]["tid"] == list(range(8))
        since = f"since={first['version']}&instance={first['instance']}"
        unchanged = api(f"{dashboard.url}api/experiments/diff?{since}&wait=0.5")
        assert unchanged["changed"] is False and "trials" not in unchanged

        tid = finish_next(store_location, "diff", result_for((0.97, 0.2), "worker-z"))
        later = api(f"{dashboard.url}api/experiments/diff?{since}&wait=20")
        assert later["changed"] and not later["full"]
        assert later["trials"]["tid"] == [tid] and later["trials"]["state"] == ["ok"]
        assert later["summary"]["counts"]["ok"] == 6
        assert "rows" in later["configurations"] and "front" in later and "axes" not in later

        # A queued trial starts: its row changes, the front and the table's rows do not.
        since = f"since={later['version']}&instance={later['instance']}"
        with opened_store(store_location) as store:
            assert store.reserve_next_job("worker-y", ["diff"]) is not None
        started = api(f"{dashboard.url}api/experiments/diff?{since}&wait=20")
        assert started["changed"] and started["trials"]["state"] == ["running"]
        assert "rows" not in started["configurations"] and "front" not in started
        assert started["configurations"]["total"] == later["configurations"]["total"]
        restarted = api(f"{dashboard.url}api/experiments/diff?since={first['version']}"
                        "&instance=another-run")
        assert restarted["full"] and len(restarted["trials"]["tid"]) == 8


def test_a_reader_follows_new_and_finished_trials_without_reading_every_job(
        store_location: str) -> None:
    # Reading every job each second would keep a landed trial off the page for many seconds
    # on a big experiment (FerretDB scans the collection); after one whole read, the reader
    # asks for what changed and for the tids after the highest, and reads whole rarely.
    record_trials(store_location, "follow", OUTCOMES, queued=1)
    now = [0.0]
    store = open_store(store_location)
    whole_reads: list[str] = []
    jobs = store.jobs

    def counted(exp_key: str, tids: Any = None, **options: Any) -> list[dict[str, Any]]:
        if tids is None:
            whole_reads.append(exp_key)
        return jobs(exp_key, tids, **options)

    store.jobs = counted  # type: ignore[method-assign]
    reader = StoreReader(store, clock=lambda: now[0])
    try:
        assert [job["tid"] for job in reader.read().jobs["follow"]] == list(range(7))
        finished = finish_next(store_location, "follow", result_for((0.97, 0.2), "worker-z"))
        added = [record_repeat(store_location, "follow", 0, result_for((0.9, 0.1), "worker-b"))
                 for _ in range(3)]
        reading = reader.read()
        by_tid = {job["tid"]: job for job in reading.jobs["follow"]}
        assert list(by_tid) == list(range(7 + len(added)))
        assert by_tid[finished]["state"] == 2 and all(by_tid[tid]["state"] == 2 for tid in added)
        assert whole_reads == ["follow"]  # the first read only

        now[0] += WHOLE_READ_INTERVAL  # now and then, a whole read catches anything else
        assert len(reader.read().jobs["follow"]) == 7 + len(added)
        assert whole_reads == ["follow", "follow"]
    finally:
        store.close()


# -- safety -----------------------------------------------------------------------------------

def test_markup_stored_in_a_trial_renders_as_inert_text(tab: Tab, tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    space = spaces.load_space("default")
    store = open_store(location)
    try:
        store.record_experiment(Experiment(exp_key="xss", space=space.record,
                                           objective=f"noop{IMAGE}", epochs=1,
                                           min_accuracy=MIN_ACCURACY, max_evals=2))
        proposer = Proposer("xss", space.graph, seed=0, startup_trials=3)
        jobs: list[dict[str, Any]] = []
        for tid in range(2):
            job = copy.deepcopy(proposer.propose(tid))
            job["misc"]["params"] = {**job["misc"]["params"], "note": SCRIPT,
                                     "optimizer": {"name": IMAGE}}
            jobs.append(job)
        store.queue_jobs(jobs)
        for result in (result_for((0.9, 0.5), worker=SCRIPT),
                       failure(IMAGE, f"{SCRIPT} {IMAGE}", f"{SCRIPT}\n{IMAGE}", worker=SCRIPT)):
            reservation = store.reserve_next_job(result["worker"], ["xss"])
            assert reservation is not None and store.finish_job(reservation, result)
    finally:
        store.close()
    with served(location) as dashboard:
        tab.open(dashboard.url)
        assert IMAGE in tab.page.locator('[data-exp="xss"] .meta').inner_text()
        tab.page.click('[data-exp="xss"] a')
        tab.painted()
        tab.until("document.querySelector('#trials tbody tr') !== null")
        table = tab.page.locator("#trials").inner_text()
        assert SCRIPT in table and IMAGE in table
        tab.page.click('#trials tr[data-tid="1"]')
        tab.until("document.getElementById('detail-traceback') !== null")
        assert tab.page.locator("#detail-traceback").inner_text() == f"{SCRIPT}\n{IMAGE}"
        assert tab.page.locator("#detail-reason").inner_text() == IMAGE
        labels = tab.evaluate("Array.from(document.querySelectorAll('#plot-params svg text'))"
                              ".map((node) => node.textContent)")
        assert IMAGE in labels  # Plotly shows the stored category as text too
        assert tab.evaluate("window.__xss") is None
        assert tab.evaluate("document.querySelectorAll('img').length") == 0
        assert tab.evaluate("document.querySelectorAll('script:not([src])').length") == 0


def test_a_parameter_named_like_a_plotly_template_shows_its_name_in_the_hover(
        tab: Tab, tmp_path: Path) -> None:
    # Plotly reads "%{y}" in a hover template as the point's y: a stored name must not be.
    name = "<b>lr%{y}"
    path = tmp_path / "template.yaml"
    path.write_text(f"parameters:\n  '{name}': {{values: [a, b]}}\n")
    location = str(tmp_path / "store")
    record_trials(location, "template", [(0.9, 1.0)] * 3, space=spaces.load_space(str(path)))
    with served(location) as dashboard:
        tab.open(dashboard.url_for("template"))
        tab.evaluate("() => { const plot = document.getElementById('plot-params');"
                     " Plotly.Fx.hover(plot, [{curveNumber: 0, pointNumber: 0}], 'xy'); }")
        tab.until("document.querySelector('#plot-params .hoverlayer text') !== null")
        shown = tab.evaluate("() => [...document.querySelectorAll('#plot-params .hoverlayer "
                             "text')].map((node) => node.textContent).join(' ')")
        assert name in shown, shown


def test_the_first_read_of_a_big_experiment_on_ferretdb_streams_and_says_how_far_it_got(
        mongo_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # FerretDB sorts only once it has decoded every job it scans: sorted by the server, a read
    # of 100,000 jobs sent nothing for minutes and timed out. The dialect streams the scan in
    # batches, tells the dashboard how far it got after each, and sorts the jobs itself.
    monkeypatch.setenv(DIALECT_VARIABLE, "ferretdb")
    monkeypatch.setattr(FerretDBDialect, "scan_batch", 2)
    record_trials(mongo_url, "slow", OUTCOMES, queued=1)
    store = open_store(mongo_url)
    heard: list[tuple[str, int]] = []
    try:
        reading = StoreReader(store).read(lambda exp_key, jobs: heard.append((exp_key, jobs)))
    finally:
        store.close()
    assert [job["tid"] for job in reading.jobs["slow"]] == list(range(len(OUTCOMES) + 1))
    assert heard == [("slow", 2), ("slow", 4), ("slow", 6)]


def test_a_password_in_a_trial_never_reaches_the_page(tab: Tab, tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "secret", OUTCOMES[:1], queued=1)
    tid = finish_next(location, "secret", failure(
        "exception", "cannot reach mongodb://alice:hunter2-pw@db.example:27017/hpsearch"))
    with served(location) as dashboard:
        tab.open(f"{dashboard.url}#/experiments/secret/trials/{tid}")
        tab.until("document.getElementById('detail-error') !== null")
        assert "mongodb://alice:***@db.example" in tab.page.locator("#detail-error").inner_text()
        assert "hunter2" not in tab.page.content()
        trial_url = f"{dashboard.url}api/experiments/secret/trials/{tid}"
        with urllib.request.urlopen(trial_url) as answer:
            assert b"hunter2" not in answer.read()


# -- workers ----------------------------------------------------------------------------------

def test_the_workers_page_shows_each_worker_and_its_trial(tab: Tab, tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "farm", OUTCOMES[:2], running=1)
    store = open_store(location)
    try:
        store.report_worker(WorkerStatus(
            worker_id="gpu-box:4242:0", host="gpu-box", device="NVIDIA H100 80GB HBM3",
            state="busy", last_seen=utcnow(), exp_key="farm", tid=2,
            jobs_done=7))
    finally:
        store.close()
    with served(location) as dashboard:
        tab.open(f"{dashboard.url}#/workers")
        row = tab.page.locator('#workers tr[data-worker="gpu-box:4242:0"]')
        cells = row.locator("td").all_inner_texts()
        assert cells[1:3] == ["gpu-box", "NVIDIA H100 80GB HBM3"]
        assert "busy" in cells[3] and cells[5] == "farm" and cells[6] == "trial 2"
        assert cells[7] == "7"
        assert cells[4].endswith("ago") or cells[4] == "now"  # the heartbeat's age
        row.locator("a", has_text="trial 2").click()
        tab.until("document.getElementById('detail-state') !== null")
        assert tab.page.locator("#detail-state").inner_text() == "running"


def test_an_experiment_counts_the_workers_that_serve_it_as_status_does(
        tab: Tab, tmp_path: Path) -> None:
    """An idle worker free to take the experiment's jobs serves it (the driver queues for
    it); one restricted to another experiment, or stopped, does not."""
    location = str(tmp_path / "store")
    record_trials(location, "farm", OUTCOMES[:2], running=1)
    store = open_store(location)
    try:
        for worker_id, host, state, exp_key, serves in (
                ("busy:1:0", "busy-box", "busy", "farm", None),
                ("idle:1:0", "idle-box", "idle", None, None),
                ("other:1:0", "other-box", "idle", None, ("elsewhere",)),
                ("gone:1:0", "gone-box", "stopped", None, None)):
            store.report_worker(WorkerStatus(worker_id=worker_id, host=host, device="cpu",
                                             state=state, last_seen=utcnow(), exp_key=exp_key,
                                             tid=2 if exp_key else None, serves=serves))
        counted = len(experiment_status(store, "farm").workers)
    finally:
        store.close()
    with served(location) as dashboard:
        tab.open(dashboard.url)
        workers = tab.page.locator('[data-exp="farm"] [data-fact="workers"]')
        assert workers.locator(".value").inner_text() == str(counted) == "2"
        assert sorted(workers.locator(".detail").inner_text().split(", ")) == [
            "busy-box", "idle-box"]


# -- access -----------------------------------------------------------------------------------

def status_of(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as refused:
        return int(refused.code)


def test_beyond_loopback_every_request_needs_the_token(tab: Tab, tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "guarded", OUTCOMES)
    store = open_store(location)
    try:
        with pytest.raises(DashboardError, match="needs a token"):
            Dashboard(store, host="0.0.0.0", port=0)
    finally:
        store.close()
    with served(location, host="0.0.0.0", token="s3cret-token") as dashboard:
        base = f"http://127.0.0.1:{dashboard.port}/"
        for path in ("", "static/app.js", "static/plotly.min.js", "api/overview",
                     "api/experiments/guarded"):
            assert status_of(base + path) == 401
            assert status_of(base + path, headers={"Authorization": "Bearer wrong"}) == 401
            assert status_of(base + path + "?token=wrong") == 401
        assert status_of(base + "api/overview",
                         headers={"Authorization": "Bearer s3cret-token"}) == 200
        tab.open(f"{base}?token=s3cret-token#/experiments/guarded")  # the printed address
        assert "token" not in tab.page.url  # moved into a cookie
        assert tab.page.locator("#page-range").inner_text() == "1–6 of 6"


def test_the_page_runs_under_its_own_content_security_policy(browser: Browser,
                                                             tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "policed", OUTCOMES)
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # policy in force
    try:
        tab = Tab(context.new_page())
        requested: list[str] = []
        tab.page.on("request", lambda request: requested.append(request.url))
        with served(location) as dashboard:
            response = tab.page.goto(dashboard.url_for("policed"))
            assert response is not None
            policy = response.headers["content-security-policy"]
            assert "script-src 'self';" in policy and "'unsafe-eval'" not in policy
            tab.painted()  # waits by selector, which the policy allows
            assert tab.page.locator("#page-range").inner_text() == "1–6 of 6"
            elsewhere = [url for url in requested if not url.startswith(dashboard.url)]
        assert requested and elsewhere == [], "the page works offline: it fetches only its server"
        assert tab.errors == [], "the page broke its own policy or logged errors"
    finally:
        context.close()


def raw_answer(port: int, request: bytes) -> bytes:
    """What the server answers a request sent byte for byte (a client that need not be
    well-formed), up to the end of its status line. A server that answers before it has read
    the whole request resets the connection, which may drop its answer: b"" then."""
    with socket.create_connection(("127.0.0.1", port), timeout=60) as connection:
        try:
            connection.sendall(request)
            return connection.makefile("rb").readline()
        except ConnectionResetError:
            return b""


def test_a_malformed_request_gets_an_answer_and_logs_no_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "guarded", OUTCOMES[:1])
    with served(location, host="0.0.0.0", token="s3cret-token") as dashboard:
        host = f"Host: 127.0.0.1:{dashboard.port}\r\n".encode()
        with caplog.at_level(logging.WARNING, logger="search.dashboard"):
            too_long = b"GET /?q=" + b"a" * 70_000 + b" HTTP/1.1\r\n" + host + b"\r\n"
            assert raw_answer(dashboard.port, too_long) in (
                b"", b"HTTP/1.1 414 Request-URI Too Long\r\n")
            assert raw_answer(dashboard.port, b"GET x y HTTP/1.1\r\n\r\n").startswith(
                b"HTTP/1.1 400")
            # A cookie that decodes to a character beyond ASCII is a wrong token, no more.
            cookie = b'Cookie: hpsearch_dashboard_token="\\351"\r\n'
            assert raw_answer(dashboard.port, b"GET /api/overview HTTP/1.1\r\n" + host
                              + cookie + b"\r\n").startswith(b"HTTP/1.1 401")
        assert status_of(f"http://127.0.0.1:{dashboard.port}/api/experiments/%24bad/trials/0",
                         headers={"Authorization": "Bearer s3cret-token"}) == 404
    assert [record for record in caplog.records if record.levelno >= logging.WARNING] == []


def test_a_client_that_never_finishes_its_request_is_let_go(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Handler, "timeout", 0.5)
    location = str(tmp_path / "store")
    record_trials(location, "idle", OUTCOMES[:1])
    with served(location) as dashboard, socket.create_connection(
            ("127.0.0.1", dashboard.port), timeout=60) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\n")  # and never the rest of its headers
        assert connection.recv(1) == b""  # the server closed it


def test_a_request_after_nobody_asked_for_a_while_gets_a_fresh_reading(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nobody looking, the reader stops; the first request after that must not be answered
    with the reading from before (a `curl` ten minutes on showed ten-minute-old workers)."""
    monkeypatch.setattr(_live, "FIRST_READ_WAIT", 60.0)  # however loaded the machine
    location = str(tmp_path / "store")
    record_trials(location, "before", OUTCOMES[:1])
    store = open_store(location)
    now = [0.0]
    live = LiveStore(store, interval=0.01, clock=lambda: now[0])
    try:
        live.read_once()
        record_trials(location, "meanwhile", OUTCOMES[:1])
        now[0] = _live.IDLE_AFTER + 1  # nobody asked: the reader stays idle once started
        live.start()
        overview = live.overview(0, 0)
    finally:
        live.close()
        store.close()
    assert [summary["exp_key"] for summary in overview["experiments"]] == ["before", "meanwhile"]


class HangingStore:
    """A store whose reads of the experiments wait while `answering` is clear, as MongoDB's
    do through an outage (they are retried until it ends)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.answering = threading.Event()
        self.answering.set()
        self.asked = threading.Event()

    def experiments(self) -> Any:
        self.asked.set()
        assert self.answering.wait(60)
        return self._store.experiments()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


@contextlib.contextmanager
def store_gone_silent(location: str) -> Iterator[tuple[LiveStore, HangingStore, list[float]]]:
    """A live store on `location` (one experiment, read once) whose next read hears nothing
    until `answering` is set, and the fake clock its reader goes by."""
    record_trials(location, "before", OUTCOMES[:1])
    store = open_store(location)
    hanging = HangingStore(store)
    now = [0.0]
    live = LiveStore(hanging, interval=0.01, clock=lambda: now[0])  # type: ignore[arg-type]
    live.start()
    try:
        assert live.wait_until_read(60)
        hanging.answering.clear()
        hanging.asked.clear()
        assert hanging.asked.wait(60)  # a read is under way, and hears nothing
        yield live, hanging, now
    finally:
        hanging.answering.set()
        live.close()
        store.close()


def test_a_store_that_stops_answering_is_said_and_its_return_too(tmp_path: Path) -> None:
    with store_gone_silent(str(tmp_path / "store")) as (live, hanging, now):
        now[0] += STALLED_AFTER - 1
        assert live.overview(0, 0)["error"] is None
        now[0] += 2
        assert "has not answered for 31 s" in live.overview(0, 0)["error"]
        hanging.answering.set()
        wait_until(lambda: live.overview(0, 0)["error"] is None, 60, "it answers again")


def test_after_an_idle_spell_a_reading_that_is_catching_up_says_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page opened after nobody looked for a while must neither call the old reading live
    nor call an experiment recorded meanwhile missing while the store is read again."""
    monkeypatch.setattr(_live, "FIRST_READ_WAIT", 0.1)
    location = str(tmp_path / "store")
    with store_gone_silent(location) as (live, hanging, now):
        record_trials(location, "meanwhile", OUTCOMES[:1])
        now[0] += _live.IDLE_AFTER + 1
        with pytest.raises(_live.NotReadYet, match="again, after an idle spell"):
            live.experiment("meanwhile", 0, 0)
        assert live.overview(0, 0)["catching_up"] is True
        hanging.answering.set()
        wait_until(lambda: not live.overview(0, 0)["catching_up"], 60, "it caught up")
        assert live.experiment("meanwhile", 0, 0)["summary"]["exp_key"] == "meanwhile"
        with pytest.raises(_live.UnknownExperiment):  # once read, a missing one is missing
            live.experiment("never-recorded", 0, 0)


@pytest.mark.parametrize("page", ["overview", "experiment"])
def test_a_page_polling_while_the_store_catches_up_hears_when_it_has(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> None:
    """The catch-up read after an idle spell may change nothing a page shows; its end must
    still reach a page's long poll, or the page says 'reading again' for its whole wait."""
    monkeypatch.setattr(_live, "FIRST_READ_WAIT", 0.1)
    with store_gone_silent(str(tmp_path / "store")) as (live, hanging, now):
        now[0] += _live.IDLE_AFTER + 1
        ask = (lambda since, wait: live.overview(since, wait)) if page == "overview" else (
            lambda since, wait: live.experiment("before", since, wait))
        shown = ask(0, 0)
        assert shown["catching_up"] is True
        polled: list[dict[str, Any]] = []  # a page's long poll, begun while catching up
        poll = threading.Thread(target=lambda: polled.append(ask(shown["version"], 600)))
        poll.start()
        hanging.answering.set()
        poll.join(timeout=120)
        assert not poll.is_alive(), "the end of catching up wakes a page's poll"
        assert polled[0]["catching_up"] is False and polled[0]["changed"] is False


def test_a_key_deleted_and_recorded_anew_with_another_space_is_drawn_with_its_own_axes(
        tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "recreated", OUTCOMES[:1])
    store = open_store(location)
    live = LiveStore(store)
    try:
        live.read_once()
        old = live.experiment("recreated", 0, 0)
        before = {axis["column"] for axis in old["axes"]}
        shutil.rmtree(tmp_path / "store" / "recreated")
        record_trials(location, "recreated", OUTCOMES[1:2], space=spaces.load_space("cifar10"))
        live.read_once()
        new = live.experiment("recreated", old["version"], 0)
        after = {axis["column"] for axis in new["axes"]}
    finally:
        live.close()
        store.close()
    # The new experiment's trials, not the old one's, which its reader had taken as final.
    rows, old_rows = json.loads(new["trials"].text), json.loads(old["trials"].text)
    assert new["full"] and rows["tid"] == [0] and new["configurations"]["total"] == 1
    assert rows["accuracy"] == [OUTCOMES[1][0]] != old_rows["accuracy"][:1]
    assert after == {axis["column"] for axis in parameter_axes(
        Experiment(exp_key="recreated", space=spaces.load_space("cifar10").record,
                   objective="noop", epochs=1, min_accuracy=0.5))}
    assert after != before


def test_a_stalled_search_shows_its_pace_falling_with_no_trial_changing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As `hpsearch status` does: the summary's pace and time left follow the store's clock."""
    location = str(tmp_path / "store")
    record_trials(location, "stalled", OUTCOMES, running=1, queued=2)
    now = [utcnow()]
    store = open_store(location)
    monkeypatch.setattr(store, "now", lambda: now[0])
    live = LiveStore(store)
    try:
        live.read_once()
        (before,) = live.overview(0, 0)["experiments"]
        now[0] += datetime.timedelta(minutes=10)
        live.read_once()
        (after,) = live.overview(0, 0)["experiments"]
    finally:
        live.close()
        store.close()
    assert before["trials_per_minute"] is not None and before["seconds_left"] is not None
    assert after["trials_per_minute"] < before["trials_per_minute"] / 10
    assert after["seconds_left"] > before["seconds_left"] * 10


def test_after_an_outage_the_next_read_comes_at_the_interval(tmp_path: Path) -> None:
    """A read that waited out an outage measured the outage, not what reading costs: the page
    must not stay stale for twice the outage once the store is back."""
    location = str(tmp_path / "store")
    with store_gone_silent(location) as (live, hanging, now):
        now[0] += 10 * STALLED_AFTER  # the outage; waiting twice it would outlast the wait below
        hanging.answering.set()
        record_trials(location, "after", OUTCOMES[:1])
        wait_until(lambda: any(summary["exp_key"] == "after"
                               for summary in live.overview(0, 0).get("experiments", [])),
                   120, "the experiment written after the outage shows")


def test_the_dashboard_only_reads(tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "read", OUTCOMES[:1])
    with served(location) as dashboard:
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert status_of(dashboard.url + "api/experiments/read", method) == 405
        assert status_of(dashboard.url + "api/overview", "HEAD") == 200
        # Loopback only, under a loopback name: a page elsewhere whose name resolves here
        # (DNS rebinding) is refused.
        assert status_of(dashboard.url, headers={"Host": f"evil.example:{dashboard.port}"}) == 403
        assert status_of(dashboard.url + "api/experiments/missing") == 404


def test_the_keyboard_alone_sorts_opens_and_closes_a_trial(tab: Tab, tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "keys", OUTCOMES[:3])
    with served(location) as dashboard:
        tab.open(f"{dashboard.url}#/experiments/keys")
        tab.until("document.querySelector('#trials tbody tr') !== null")
        header = tab.page.locator('#trials th[data-sort="score"]')
        header.focus()
        tab.page.keyboard.press("Enter")
        tab.until("document.querySelector('#trials th.sorted')?.dataset.sort === 'score'")
        assert tab.evaluate("document.activeElement.dataset.sort") == "score"  # still there
        tab.page.keyboard.press("Enter")  # so Enter again reverses the order
        tab.until("document.querySelector('#trials th.sorted')?.classList.contains('asc')")
        row = tab.page.locator('#trials tbody tr[data-tid="1"]')
        assert row.get_attribute("tabindex") == "0"
        row.focus()
        tab.page.keyboard.press("Enter")
        tab.until("document.getElementById('detail-params') !== null")  # the trial has loaded
        assert tab.evaluate("document.activeElement.id") == "detail-close"
        tab.until("location.hash.endsWith('/trials/1')")
        tab.page.keyboard.press("Escape")
        tab.until("document.getElementById('drawer').hidden")
        assert tab.evaluate("location.hash") == "#/experiments/keys"


def test_a_missing_experiment_says_the_page_waits_for_it(tab: Tab, tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "present", OUTCOMES[:1])
    with served(location) as dashboard:
        tab.page.goto(f"{dashboard.url}#/experiments/absent")
        tab.until("document.getElementById('live-text').textContent"
                  " === 'waiting for this experiment'")
    # Each ask for a missing experiment is a 404 the browser logs itself: not the page's error.
    tab.errors[:] = [error for error in tab.errors if "404" not in error]


def test_returning_to_an_experiment_keeps_its_trials_table_as_left(tab: Tab,
                                                                  tmp_path: Path) -> None:
    location = str(tmp_path / "store")
    record_trials(location, "kept", OUTCOMES[:3])
    with served(location) as dashboard:
        tab.open(f"{dashboard.url}#/experiments/kept")
        tab.until("document.querySelector('#trials tbody tr') !== null")
        tab.page.click('#trials th[data-sort="score"]')
        tab.until("document.querySelector('#trials th.sorted')?.dataset.sort === 'score'")
        tab.page.click("#nav-workers")
        tab.until("location.hash === '#/workers'")
        tab.page.go_back()
        tab.until("document.querySelector('#trials th.sorted')?.dataset.sort === 'score'")
