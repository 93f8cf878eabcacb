// hpsearch dashboard: the pages, drawn from the server's JSON and kept live by long polling.
//
// Safety: every string from the store reaches the page through textContent (el() below), never
// innerHTML, and reaches Plotly, which reads a little HTML in its labels, through plotlyText().
// Live updates go through Plotly.react with a fixed uirevision, so zoom and pan survive them.
'use strict';

(() => {
  const PAGE_SIZE = 50;
  const WAIT_SECONDS = 20;
  // Marker traces above this many points are painted on a canvas (see `dense` below): an SVG
  // node per marker costs seconds at 10,000 trials, and WebGL as much in a software renderer.
  const DENSE_ABOVE = 200;
  const STATES = ['ok', 'pruned', 'failed', 'running', 'queued'];
  const COLORS = {
    trial: '#2563eb', failed: '#dc2626', best: '#f59e0b', floor: '#7c3aed',
    grid: 'rgba(148, 163, 184, 0.16)', // #eef2f7 on white, and faint over a canvas of markers
    muted: '#94a3b8', below: '#94a3b8', curve: 'rgba(37, 99, 235, 0.22)',
  };

  // Tick labels are not hidden past the figure's edge (Plotly's default for most axes measures
  // every label to tell, a forced layout each; the margins fit them anyway).
  // Tick labels upright: Plotly's default angle ('auto') measures every x label to choose one.
  const AXIS = {gridcolor: COLORS.grid, zeroline: false, ticklabeloverflow: 'allow', tickangle: 0};

  const app = {
    route: {page: null},
    tables: new Map(), // each experiment's trials table (sort, filter, page), kept for a return
    poll: 0, // the id of the polling loop that may still update the page
    abort: null,
    overview: null,
    status: null,
    answeredAt: 0,
    offline: false,
    exp: null, // the open experiment: columns of trials, summary, axes, front
    detail: null,
    table: null,
  };

  // -- the DOM, text only ---------------------------------------------------------------------

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = String(value);
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, String(value));
    }
    if (props && props.onclick && !['a', 'button', 'input', 'select'].includes(tag)) {
      // A clickable row, header or card is reached with Tab and used with Enter or Space.
      node.tabIndex = 0;
      node.addEventListener('keydown', (event) => {
        if (event.target !== node || (event.key !== 'Enter' && event.key !== ' ')) return;
        event.preventDefault();
        props.onclick(event);
      });
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function plotlyText(value) {
    // Plotly renders <b>, <a href>, entities ... in labels: escape so a stored string stays text.
    return String(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  const $ = (id) => document.getElementById(id);

  // Plotly is compiled while the first answer travels; drawing waits for it.
  const plotlyReady = new Promise((resolve, reject) => {
    const script = $('plotly-script');
    if (window.Plotly || !script) { resolve(); return; }
    script.addEventListener('load', () => { window.hpsearchPlotlyAt = performance.now(); resolve(); });
    script.addEventListener('error', () => reject(new Error('plotly.min.js did not load')));
  });

  // -- numbers as people read them ------------------------------------------------------------

  // Formatters made once: toLocaleString builds one per call, a millisecond each in tables.
  const DECIMAL = new Intl.NumberFormat('en-US', {maximumFractionDigits: 6});
  const INTEGER = new Intl.NumberFormat('en-US');
  const DATE_TIME = new Intl.DateTimeFormat('sv-SE', {year: 'numeric', month: '2-digit', day: '2-digit',
                                                      hour: '2-digit', minute: '2-digit', second: '2-digit'});

  function fmt(value, digits = 3) {
    if (value === null || value === undefined) return '–';
    if (value === 0) return '0';
    const magnitude = Math.abs(value);
    if (magnitude >= 1e5 || magnitude < 1e-3) return value.toExponential(digits - 1);
    return DECIMAL.format(Number(value.toPrecision(digits)));
  }

  // A tick's label, whole on its own: no SI suffix that a reader could take for a unit
  // ("1m" seconds), no bare "2" or "5" between powers of ten.
  function tickText(value) {
    if (value === 0) return '0';
    const magnitude = Math.abs(value);
    const rounded = Number(value.toPrecision(3));
    if (magnitude >= 1e5 || magnitude < 1e-3) return rounded.toExponential().replace('e+', 'e');
    return DECIMAL.format(rounded);
  }

  // Ticks at 1, 2 and 5 times each power of ten from `low` to `high`, for a log axis.
  function logTicks(low, high) {
    const values = [];
    for (let power = Math.floor(Math.log10(low)) - 1; power <= Math.ceil(Math.log10(high)); power++) {
      for (const digit of [1, 2, 5]) {
        const value = digit * 10 ** power;
        if (value >= low / 1.5 && value <= high * 1.5) values.push(Number(value.toPrecision(1)));
      }
    }
    return {tickmode: 'array', tickvals: values, ticktext: values.map(tickText)};
  }

  function fmtSeconds(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    if (seconds < 60) return `${fmt(seconds)} s`;
    if (seconds < 3600) return `${fmt(seconds / 60, 2)} min`;
    if (seconds < 86400 * 2) return `${fmt(seconds / 3600, 2)} h`;
    return `${fmt(seconds / 86400, 2)} days`;
  }

  function fmtAge(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    if (seconds < 1) return 'now';
    if (seconds < 90) return `${Math.round(seconds)} s ago`;
    if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
    return `${fmt(seconds / 3600, 2)} h ago`;
  }

  function fmtTime(epochSeconds) {
    if (epochSeconds === null || epochSeconds === undefined) return '–';
    const date = new Date(epochSeconds * 1000);
    return DATE_TIME.format(date).replace('T', ' '); // 2026-12-06 05:10:49
  }

  const fmtDay = (epochSeconds) => fmtTime(epochSeconds).slice(0, 16); // 2026-12-06 05:10

  const count = (n) => INTEGER.format(Number(n));
  const runsText = (n) => (n === 1 ? '1 run' : `${count(n)} runs`);

  // Math.min(...values) overflows the call stack past about a hundred thousand values.
  const least = (values) => values.reduce((low, value) => (value < low ? value : low), Infinity);
  const most = (values) => values.reduce((high, value) => (value > high ? value : high), -Infinity);

  // -- talking to the server ------------------------------------------------------------------

  async function getJSON(url, signal, onProgress) {
    const response = await fetch(url, {signal, credentials: 'same-origin',
                                        headers: {Accept: 'application/json'}});
    let text;
    const total = Number(response.headers.get('X-Uncompressed-Length')) || 0;
    if (onProgress && response.body && total > 0) {
      const reader = response.body.getReader();
      const parts = [];
      let received = 0;
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        parts.push(value);
        received += value.length;
        onProgress(received, total);
      }
      const bytes = new Uint8Array(received);
      let offset = 0;
      for (const part of parts) { bytes.set(part, offset); offset += part.length; }
      text = new TextDecoder().decode(bytes);
    } else {
      text = await response.text();
    }
    let body;
    try {
      body = JSON.parse(text);
    } catch (error) {
      const failure = new Error(`the server answered ${response.status}: ${text.slice(0, 200)}`);
      failure.status = response.status;
      throw failure;
    }
    if (!response.ok) {
      const failure = new Error(body.error || `the server answered ${response.status}`);
      failure.status = response.status;
      failure.reading = Boolean(body.reading);
      throw failure;
    }
    return body;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

  function startPolling() {
    if (app.abort) app.abort.abort();
    app.missing = false;
    const id = ++app.poll;
    app.abort = new AbortController();
    const signal = app.abort.signal;
    (async () => {
      let failures = 0;
      let missing = 0;
      while (app.poll === id) {
        try {
          await pollOnce(signal);
          failures = 0;
          missing = 0;
          app.missing = false;
          app.offline = false;
        } catch (error) {
          if (signal.aborted || app.poll !== id) return;
          if (error.status === 401 || error.status === 403) { // a token changed since, or none
            showMissing('The dashboard refused this page (a new --token, or none given): open the '
                        + 'address hpsearch dashboard printed.');
            return;
          }
          if (error.status === 404) { // perhaps not yet: a page opened before its search began
            if (!$('missing')) showMissing(`${error.message}; this page shows it once it appears.`);
            app.offline = false;
            app.missing = true;
            updateLive();
            missing += 1; // asked less and less often (each ask is a 404 in the console)
            await sleep(Math.min(10000, 2000 * missing));
            continue;
          }
          if (error.reading) { // the server's first read of the store is under way, or failed
            $('live').dataset.state = 'connecting';
            $('live-text').textContent = error.message;
            if ($('loading-text')) $('loading-text').textContent = `${error.message[0].toUpperCase()}${error.message.slice(1)}…`;
            await sleep(1000);
            continue;
          }
          failures += 1;
          app.offline = true;
          updateLive();
          await sleep(Math.min(10000, 500 * 2 ** failures));
        }
      }
    })();
  }

  async function pollOnce(signal) {
    const route = app.route;
    if (route.page === 'experiment') {
      const exp = app.exp;
      const first = exp.version === 0;
      const query = `since=${exp.version}&instance=${app.instance || ''}&wait=${first ? 0 : WAIT_SECONDS}`;
      const answer = await getJSON(`api/experiments/${encodeURIComponent(route.key)}?${query}`,
                                   signal, first ? showLoading : null);
      if ($('missing')) buildExperimentPage(); // it appeared after the page said it was missing
      if (first) window.hpsearchDataAt = performance.now(); // for benchmarks/dashboard_speed.py
      if (app.exp !== exp) return;
      noteStatus(answer);
      if (answer.changed) mergeExperiment(exp, answer);
      exp.version = answer.version;
      if (answer.changed) scheduleExperimentRender();
    } else {
      const since = app.overview ? app.overview.version : 0;
      const query = `since=${since}&instance=${app.instance || ''}&wait=${since ? WAIT_SECONDS : 0}`;
      const answer = await getJSON(`api/overview?${query}`, signal);
      noteStatus(answer);
      if (answer.changed || !app.overview) {
        app.overview = {version: answer.version, experiments: answer.experiments,
                        workers: answer.workers, now: answer.now, receivedAt: performance.now()};
        renderPage();
      } else {
        app.overview.version = answer.version;
      }
    }
  }

  function noteStatus(answer) {
    // A restarted server answers a page from its previous run in full: nothing to reset here.
    app.instance = answer.instance;
    app.status = answer;
    app.answeredAt = performance.now();
    $('store').textContent = answer.store;
    updateLive();
  }

  function updateLive() {
    const live = $('live');
    const text = $('live-text');
    const status = app.status;
    if (app.offline) {
      live.dataset.state = 'offline';
      text.textContent = 'dashboard server unreachable, retrying';
    } else if (app.missing) {
      live.dataset.state = 'stale';
      text.textContent = 'waiting for this experiment';
    } else if (!status) {
      live.dataset.state = 'connecting';
      text.textContent = 'connecting';
    } else if (status.error) {
      live.dataset.state = 'stale';
      const age = status.read_age === null ? null
        : status.read_age + (performance.now() - app.answeredAt) / 1000;
      text.textContent = `store unreachable (last read ${fmtAge(age)}): ${status.error}`;
    } else if (status.catching_up) {
      live.dataset.state = 'stale';
      const age = status.read_age + (performance.now() - app.answeredAt) / 1000;
      text.textContent = `reading the store again after an idle spell; shown: the read of ${fmtAge(age)}`;
    } else {
      live.dataset.state = 'live';
      text.textContent = 'live';
    }
  }

  // -- routes ---------------------------------------------------------------------------------

  function parseRoute() {
    let parts;
    try {
      parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
    } catch (malformed) {
      return {page: 'experiments'};
    }
    if (parts[0] === 'workers') return {page: 'workers'};
    if (parts[0] === 'experiments' && parts[1]) {
      const tid = parts[2] === 'trials' && /^-?\d+$/.test(parts[3] || '') ? Number(parts[3]) : null;
      return {page: 'experiment', key: parts[1], tid};
    }
    return {page: 'experiments'};
  }

  function onRoute() {
    const route = parseRoute();
    const previous = app.route;
    app.route = route;
    for (const [id, page] of [['nav-experiments', 'experiments'], ['nav-workers', 'workers']]) {
      $(id).classList.toggle('active', route.page === page);
    }
    if (route.page === 'experiment' && previous.page === 'experiment' && previous.key === route.key) {
      renderDetail(); // the same experiment: only the open trial changed
      return;
    }
    delete document.body.dataset.painted;
    delete document.body.dataset.firstPaint;
    app.detail = null;
    if (route.page === 'experiment') {
      app.exp = newExperiment(route.key);
      if (!app.tables.has(route.key)) {
        app.tables.set(route.key, {sort: 'tid', ascending: true, states: new Set(), page: 0});
      }
      app.table = app.tables.get(route.key);
      buildExperimentPage();
    } else {
      app.exp = null;
      renderPage();
    }
    startPolling();
  }

  function renderPage() {
    if (app.route.page === 'workers') renderWorkers();
    else if (app.route.page === 'experiments') renderExperiments();
  }

  function showMissing(message) {
    const main = $('main');
    main.replaceChildren(el('div', {class: 'card message error', id: 'missing'}, message, ' ',
                            el('a', {href: '#/'}, 'all experiments')));
  }

  // -- the experiments page -------------------------------------------------------------------

  function renderExperiments() {
    const main = $('main');
    const overview = app.overview;
    const header = [el('h1', {}, 'Experiments'),
                    el('p', {class: 'subtitle'}, 'Every search in this store, live. ',
                       'Score = accuracy per second of training.')];
    if (!overview) {
      main.replaceChildren(...header, el('div', {class: 'card empty'}, 'reading the store…'));
      return;
    }
    if (!overview.experiments.length) {
      main.replaceChildren(...header, el('div', {class: 'card empty', id: 'no-experiments'},
                                         'No experiments in this store yet.'));
      return;
    }
    const cards = overview.experiments.map((summary) => experimentCard(summary));
    main.replaceChildren(...header, el('div', {class: 'experiments', id: 'experiments'}, cards));
    document.body.dataset.painted = 'true';
  }

  function experimentCard(summary) {
    const counts = summary.counts;
    const finished = counts.ok + (counts.pruned || 0) + counts.failed;
    const target = Math.max(summary.max_evals || 0, summary.total, 1);
    const bar = el('div', {class: 'progress', title: `${finished} of ${target} trials finished`},
                   ['ok', 'pruned', 'failed', 'running'].map((state) => el('span', {
                     class: state, style: `width: ${(100 * counts[state]) / target}%`})));
    const best = summary.best;
    const open = () => { location.hash = `#/experiments/${encodeURIComponent(summary.exp_key)}`; };
    return el('div', {class: 'card experiment-card', dataset: {exp: summary.exp_key},
                      onclick: open},
      el('a', {class: 'title', href: `#/experiments/${encodeURIComponent(summary.exp_key)}`},
         summary.exp_key),
      el('div', {class: 'meta'}, `${summary.objective} · space ${summary.space} · ${summary.algo}`,
         ` · ${summary.epochs} epochs · floor ${fmt(summary.min_accuracy)}`),
      bar,
      stateChips(counts, summary.max_evals),
      el('div', {class: 'facts'},
        bestFact(best),
        fact('Pace', summary.trials_per_minute === null ? '–' : `${fmt(summary.trials_per_minute)} /min`,
             'trials finished', 'pace'),
        ...budgetFacts(summary),
        fact('Live workers', String(summary.live_workers),
             summary.live_hosts.join(', '),
             'workers'),
        fact('Created', fmtDay(summary.created), '', 'created')));
  }

  function stateChips(counts, maxEvals) {
    const total = STATES.reduce((sum, state) => sum + (counts[state] || 0), 0);
    const finished = (counts.ok || 0) + (counts.pruned || 0) + (counts.failed || 0);
    return el('div', {class: 'chips'},
      el('span', {class: 'chip all', dataset: {count: 'total'}, title: `${count(finished)} finished`},
         el('b', {}, count(total)), maxEvals ? ` trials, target ${count(maxEvals)}` : ' trials'),
      STATES.map((state) => el('span', {class: `chip ${state}`, dataset: {count: state}},
                               el('b', {}, count(counts[state] || 0)), ` ${state}`)));
  }

  // The best configuration (every run of its hyperparameters pooled, as `hpsearch best`
  // ranks): its pooled score, which trial it began as, its runs, and their means ± spread.
  function bestFact(best) {
    if (!best) return fact('Best score', '–', 'no score yet', 'best');
    const accuracy = fmt(best.accuracy, 4) + (best.accuracy_spread === null ? '' : ` ± ${fmt(best.accuracy_spread, 2)}`);
    const seconds = fmtSeconds(best.seconds) + (best.seconds_spread === null ? '' : ` ± ${fmtSeconds(best.seconds_spread)}`);
    const node = fact('Best score', `${fmt(best.score)} /s`,
                      `trial ${best.tid} · ${runsText(best.runs)}: acc ${accuracy} in ${seconds}${best.below_floor ? ' · below the floor' : ''}`,
                      'best');
    node.title = 'the best configuration: every run of the same hyperparameters pooled, ranked as hpsearch best ranks';
    return node;
  }

  // The time left and the training time spent, against the budgets the search runs to: its
  // trials, and its training seconds where it has a budget of them (spent, it stops).
  function budgetFacts(summary) {
    const budget = summary.max_train_seconds;
    const spent = budget !== null && budget !== undefined && summary.train_seconds >= budget;
    const goal = spent ? 'training budget spent'
      : summary.max_evals ? `to ${count(summary.max_evals)} trials` : '';
    return [
      fact('Time left', summary.seconds_left === null ? '–' : fmtSeconds(summary.seconds_left),
           goal, 'left'),
      fact('Training time', fmtSeconds(summary.train_seconds),
           budget === null || budget === undefined ? 'spent, all trials'
             : `of a ${fmtSeconds(budget)} budget`, 'spent'),
    ];
  }

  function fact(label, value, detail, name) {
    return el('div', {class: 'fact', dataset: {fact: name}},
              el('div', {class: 'label'}, label), el('div', {class: 'value'}, value),
              detail ? el('div', {class: 'detail'}, detail) : null);
  }

  // -- the workers page -----------------------------------------------------------------------

  function renderWorkers() {
    const main = $('main');
    const overview = app.overview;
    const header = [el('h1', {}, 'Workers'),
                    el('p', {class: 'subtitle'}, 'Every worker that reported in the last day; ',
                       'lost: silent longer than its experiment allows.')];
    if (!overview) {
      main.replaceChildren(...header, el('div', {class: 'card empty'}, 'reading the store…'));
      return;
    }
    const workers = [...overview.workers].sort((a, b) => (b.live - a.live) || (b.last_seen - a.last_seen));
    if (!workers.length) {
      main.replaceChildren(...header, el('div', {class: 'card empty', id: 'no-workers'},
                                         'No worker has reported yet.'));
      document.body.dataset.painted = 'true';
      return;
    }
    const head = ['Worker', 'Host', 'Device', 'State', 'Heartbeat', 'Experiment', 'Trial', 'Trials done'];
    const rows = workers.map((worker) => {
      const status = worker.state === 'stopped' ? 'stopped' : (worker.live ? 'live' : 'lost');
      const trial = worker.exp_key && worker.tid !== null
        ? el('a', {href: `#/experiments/${encodeURIComponent(worker.exp_key)}/trials/${worker.tid}`},
             `trial ${worker.tid}`) : '–';
      return el('tr', {dataset: {worker: worker.worker}},
        el('td', {class: 'mono'}, worker.worker),
        el('td', {}, worker.host),
        el('td', {}, worker.device),
        el('td', {}, el('span', {class: `badge ${status}`}, status), ' ', worker.state),
        el('td', {class: 'age', dataset: {lastSeen: worker.last_seen}}, ''),
        el('td', {class: 'key'}, worker.exp_key
          ? el('a', {href: `#/experiments/${encodeURIComponent(worker.exp_key)}`}, worker.exp_key) : '–'),
        el('td', {}, trial),
        el('td', {class: 'num'}, count(worker.jobs_done)));
    });
    const table = el('table', {id: 'workers'},
                     el('thead', {}, el('tr', {}, head.map((h, i) => el('th', {class: i === 7 ? 'num' : null}, h)))),
                     el('tbody', {}, rows));
    main.replaceChildren(...header, el('div', {class: 'card'}, el('div', {class: 'table-wrap'}, table)));
    tickAges();
    document.body.dataset.painted = 'true';
  }

  function tickAges() {
    // Heartbeat ages count on between answers, from the server's clock at its last answer.
    if (!app.overview) return;
    const serverNow = app.overview.now + (performance.now() - app.overview.receivedAt) / 1000;
    for (const cell of document.querySelectorAll('td.age')) {
      cell.textContent = fmtAge(Math.max(0, serverNow - Number(cell.dataset.lastSeen)));
    }
  }

  // -- one experiment: its data ---------------------------------------------------------------

  function newExperiment(key) {
    const known = app.overview && app.overview.experiments.find((summary) => summary.exp_key === key);
    return {key, version: 0, columns: null, params: {}, index: new Map(), summary: null,
            axes: [], front: [], configurations: {rows: [], ranked: 0, total: 0}, painted: false, renderedAt: 0, renderSeconds: 0,
            expected: known ? known.total : null, renderQueued: false, rendering: null};
  }

  const ROW_FIELDS = ['tid', 'state', 'score', 'accuracy', 'seconds', 'started', 'finished',
                      'worker', 'device', 'attempt', 'reason', 'below_floor', 'pruned', 'curve'];

  function mergeExperiment(exp, answer) {
    exp.summary = answer.summary;
    // The axes come with a full answer, the front and the table's rows when they changed.
    if (answer.axes) exp.axes = answer.axes;
    if (answer.front) exp.front = answer.front;
    exp.configurations = {...exp.configurations, ...answer.configurations};
    const incoming = answer.trials;
    if (answer.full || !exp.columns) {
      exp.columns = Object.fromEntries(ROW_FIELDS.map((f) => [f, incoming[f]]));
      exp.params = incoming.params;
      exp.index = new Map(incoming.tid.map((tid, i) => [tid, i]));
      return;
    }
    const columns = exp.columns;
    let n = columns.tid.length;
    let unordered = false;
    incoming.tid.forEach((tid, j) => {
      let i = exp.index.get(tid);
      if (i === undefined) {
        i = n++;
        exp.index.set(tid, i);
        if (i > 0 && tid < columns.tid[i - 1]) unordered = true;
      }
      for (const field of ROW_FIELDS) columns[field][i] = incoming[field][j];
      for (const [name, values] of Object.entries(incoming.params)) {
        if (!exp.params[name]) exp.params[name] = new Array(n).fill(null);
        exp.params[name][i] = values[j];
      }
    });
    for (const values of Object.values(exp.params)) {
      while (values.length < n) values.push(null);
    }
    for (const [name, values] of Object.entries(exp.params)) {
      if (!(name in incoming.params)) {
        for (const tid of incoming.tid) values[exp.index.get(tid)] = null;
      }
    }
    if (unordered) sortByTid(exp);
    if (app.detail && exp.index.has(app.detail.tid) && incoming.tid.includes(app.detail.tid)) {
      loadDetail(app.detail.tid); // the open trial changed: show its new state
    }
  }

  function sortByTid(exp) {
    const order = exp.columns.tid.map((_, i) => i).sort((a, b) => exp.columns.tid[a] - exp.columns.tid[b]);
    for (const field of ROW_FIELDS) {
      const values = exp.columns[field];
      exp.columns[field] = order.map((i) => values[i]);
    }
    for (const [name, values] of Object.entries(exp.params)) exp.params[name] = order.map((i) => values[i]);
    exp.index = new Map(exp.columns.tid.map((tid, i) => [tid, i]));
  }

  // -- one experiment: the page ---------------------------------------------------------------

  function section(title, hint, ...body) {
    return el('div', {class: 'card'},
              el('div', {class: 'card-head'}, el('h2', {}, title), el('span', {class: 'hint'}, hint)),
              ...body);
  }

  function buildExperimentPage() {
    const key = app.route.key;
    $('main').replaceChildren(
      el('div', {class: 'crumbs'}, el('a', {href: '#/'}, 'Experiments'), ' / '),
      el('h1', {id: 'exp-title'}, key),
      el('p', {class: 'subtitle', id: 'exp-meta'}, ''),
      el('div', {class: 'card loading', id: 'loading'}, el('span', {id: 'loading-text'}, 'Reading trials…'),
         el('div', {class: 'bar'}, el('span', {id: 'loading-bar'}))),
      el('div', {class: 'summary', id: 'summary'}),
      section('Best score so far', 'against the trial number, and against the training seconds spent, in the order trials finished',
              el('div', {class: 'plot', id: 'plot-history'})),
      section('Accuracy against training time', 'up and to the left is better; dashed: equal accuracy per second',
              el('div', {class: 'plot tall', id: 'plot-tradeoff'})),
      section('Score against each hyperparameter', 'log axes where the space samples on a log scale',
              el('div', {class: 'plot', id: 'plot-params'})),
      section('Parallel coordinates', 'a line per scored trial across its hyperparameters and outcome, coloured by score',
              el('div', {class: 'plot tall', id: 'plot-parallel'})),
      section('Validation accuracy per epoch', 'the runs of the best configuration in orange; pruned trials marked ×',
              el('div', {class: 'plot', id: 'plot-curves'})),
      section('Configurations', 'every run of the same hyperparameters pooled, ranked as hpsearch best ranks; click a row for its first trial',
              el('p', {class: 'hint', id: 'configurations-note'}),
              el('div', {class: 'table-wrap'}, el('table', {id: 'configurations'}))),
      section('Trials', 'click a row for the trial’s parameters, result, timing and failure',
              el('div', {class: 'table-tools'}, el('div', {class: 'chips', id: 'state-filter'}),
                 el('div', {class: 'pager', id: 'pager'})),
              el('div', {class: 'table-wrap'}, el('table', {id: 'trials'}))),
      el('aside', {class: 'drawer', id: 'drawer', hidden: true}));
  }

  function showLoading(received, total) {
    const text = $('loading-text');
    if (!text) return;
    const trials = app.exp && app.exp.expected ? `${count(app.exp.expected)} trials` : 'trials';
    text.textContent = `Loading ${trials}… ${(received / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`;
    $('loading-bar').style.width = `${Math.min(100, (100 * received) / total)}%`;
  }

  function scheduleExperimentRender() {
    const exp = app.exp;
    if (exp.renderQueued) return;
    exp.renderQueued = true;
    // A big experiment redraws at most every few times its drawing takes.
    const wait = Math.max(0, exp.renderedAt + 3000 * exp.renderSeconds - performance.now());
    setTimeout(() => requestAnimationFrame(async () => {
      if (app.exp !== exp) return;
      while (exp.rendering) await exp.rendering; // one drawing at a time
      exp.renderQueued = false;
      exp.rendering = renderExperiment(exp);
      await exp.rendering;
      exp.rendering = null;
    }), exp.painted ? wait : 0);
  }

  // Resolves once the browser has shown what the page holds now: after the next frame.
  const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

  async function renderExperiment(exp) {
    const started = performance.now();
    const first = !exp.painted;
    const summary = exp.summary;
    $('exp-meta').textContent = `${summary.objective} · space ${summary.space} · ${summary.algo} · `
      + `${summary.epochs} epochs · accuracy floor ${fmt(summary.min_accuracy)}`;
    renderSummary(exp);
    if (first) {
      $('loading-text').textContent = `Drawing ${count(exp.columns.tid.length)} trials…`;
      $('loading-bar').style.width = '100%';
      await nextFrame();
      if (app.exp !== exp) return;
    }
    await plotlyReady;
    if (app.exp !== exp) return;
    // One plot at a time, from the top of the page down, then the tables below them. The
    // first paint is complete once the plots in the window at load (the loading card above
    // them gone) are drawn and shown; the page is painted once everything is.
    const figures = [['plot-history', history], ['plot-tradeoff', tradeOff], ['plot-params', parameters],
                     ['plot-parallel', parallel], ['plot-curves', curves]];
    const above = first ? $('summary').getBoundingClientRect().top - $('loading').getBoundingClientRect().top : 0;
    const inView = figures.filter(([id]) => $(id).getBoundingClientRect().top - above < window.innerHeight).length;
    const view = derive(exp);
    for (const [k, [id, figure]] of figures.entries()) {
      await draw(id, () => figure(exp, view));
      if (app.exp !== exp) return;
      if (first && k + 1 === inView) await shown(exp, 'firstPaint');
      if (app.exp !== exp) return;
    }
    renderTable(exp);
    renderConfigurations(exp);
    exp.renderedAt = performance.now();
    exp.renderSeconds = (exp.renderedAt - started) / 1000;
    document.body.dataset.version = String(exp.version);
    if (first) {
      if (!document.body.dataset.firstPaint) await shown(exp, 'firstPaint'); // no plot was in the window
      if (app.exp !== exp) return;
      await shown(exp, 'painted');
      if (app.exp !== exp) return;
      exp.painted = true;
    }
    renderDetail();
  }

  // Marks the page's first complete paint or its paint (data-first-paint, data-painted; the
  // times for benchmarks/dashboard_speed.py) once the browser has shown what it now holds.
  async function shown(exp, mark) {
    $('loading').hidden = true;
    await nextFrame();
    if (app.exp !== exp) return;
    window[mark === 'firstPaint' ? 'hpsearchFirstPaintAt' : 'hpsearchPaintedAt'] = performance.now();
    document.body.dataset[mark] = 'true';
  }

  async function draw(id, build) {
    const node = $(id);
    if (!node) return;
    const started = performance.now();
    const figure = build();
    if (figure.height) node.style.height = `${figure.height}px`;
    node.overlay = figure.overlay || null;
    await Plotly.react(node, figure.data, figure.layout, {
      displaylogo: false, responsive: true, modeBarButtonsToRemove: ['select2d', 'lasso2d'],
    });
    // Plotly redraws after a react, a zoom, a legend click or a resize, and pans move the
    // axes: the canvas and the overlay follow, once a frame. Hooked anew after each react,
    // which drops the figure's listeners whenever it starts the figure over.
    node.follow = node.follow || (() => {
      if (!node.following) {
        node.following = requestAnimationFrame(() => { node.following = 0; paintDense(node); placeOverlay(node); });
      }
    });
    for (const event of ['plotly_afterplot', 'plotly_relayouting']) {
      node.removeListener(event, node.follow);
      node.on(event, node.follow);
    }
    paintDense(node);
    placeOverlay(node);
    drawTimes[id] = Math.round(performance.now() - started); // for benchmarks/dashboard_speed.py
  }

  // -- text and lines over a figure -----------------------------------------------------------
  //
  // Labels that would be Plotly annotations (each one laid out and measured on its own, a
  // forced layout apiece: tens of them cost tens of milliseconds) drawn as plain SVG over the
  // figure, between its plot and its hover layer, placed from the axes as they are after each
  // redraw. A label's text is set as text (textContent): a stored string stays inert.
  //   overlay: {labels: [{x, y, xref, yref: 'paper' | 'x' | 'y', text, bold, dx, dy, anchor,
  //                       baseline, kind}], lines: [{x0, y0, x1, y1}] (x and y axes' units),
  //             ticks: ['xaxis2', 'yaxis', ...]: axes whose tick labels (Plotly's ticks, as
  //                    it placed them for its grid) the overlay writes}

  const SVG = 'http://www.w3.org/2000/svg';

  function placeOverlay(node) {
    const overlay = node.overlay;
    const layout = node._fullLayout;
    const plot = node.querySelector('.svg-container > svg.main-svg');
    let svg = node.querySelector('svg.overlay');
    if (!overlay || !layout || !plot) {
      if (svg) svg.remove();
      return;
    }
    if (!svg) {
      svg = document.createElementNS(SVG, 'svg');
      svg.setAttribute('class', 'overlay');
      plot.after(svg);
    }
    svg.setAttribute('width', layout.width);
    svg.setAttribute('height', layout.height);
    const size = layout._size;
    const at = (ref, value, vertical) => {
      if (ref === 'paper') return vertical ? size.t + (1 - value) * size.h : size.l + value * size.w;
      const axis = layout[vertical ? 'yaxis' : 'xaxis'];
      return axis._offset + axis.l2p(value);
    };
    const shapes = (overlay.lines || []).map((line) => {
      const node = document.createElementNS(SVG, 'line');
      for (const [key, value] of [['x1', at('x', line.x0, false)], ['y1', at('y', line.y0, true)],
                                  ['x2', at('x', line.x1, false)], ['y2', at('y', line.y1, true)]]) {
        node.setAttribute(key, value);
      }
      return node;
    });
    const labels = overlay.labels.map((label) => {
      const text = document.createElementNS(SVG, 'text');
      text.setAttribute('class', label.kind || '');
      text.setAttribute('x', at(label.xref, label.x, false) + (label.dx || 0));
      text.setAttribute('y', at(label.yref, label.y, true) + (label.dy || 0));
      text.setAttribute('text-anchor', label.anchor || 'middle');
      text.setAttribute('dominant-baseline', label.baseline || 'auto');
      if (label.bold) {
        const bold = document.createElementNS(SVG, 'tspan');
        bold.setAttribute('font-weight', '700');
        bold.textContent = label.bold;
        text.append(bold);
      }
      text.append(label.text || '');
      return text;
    });
    const ticks = (overlay.ticks || []).flatMap((name) => tickLabels(layout, layout[name]));
    svg.replaceChildren(...shapes, ...labels, ...ticks);
  }

  // An axis's tick labels, beside its line, where Plotly put its ticks, written by `tickText`
  // from the tick's value (Plotly's own text for hidden labels drops their "k" or "µ").
  function tickLabels(layout, axis) {
    if (!axis || !axis._vals) return [];
    const vertical = axis._id[0] === 'y';
    const anchor = layout[`${axis.anchor[0]}axis${axis.anchor.slice(1)}`];
    if (!anchor) return [];
    const line = vertical ? anchor._offset - 4 : anchor._offset + anchor._length + 4;
    return axis._vals.flatMap((tick) => {
      const at = axis.l2p(tick.x);
      if (!tick.text || !(at >= -0.5 && at <= axis._length + 0.5)) return [];
      const text = document.createElementNS(SVG, 'text');
      text.setAttribute('class', 'axis-tick');
      text.setAttribute('x', vertical ? line : axis._offset + at);
      text.setAttribute('y', vertical ? axis._offset + at : line);
      text.setAttribute('text-anchor', vertical ? 'end' : 'middle');
      text.setAttribute('dominant-baseline', vertical ? 'middle' : 'hanging');
      text.append(tickText(axis.type === 'log' ? 10 ** tick.x : tick.x));
      return [text];
    });
  }

  // -- dense traces, painted on a canvas ------------------------------------------------------
  //
  // An SVG node per marker or per line costs seconds at 10,000 trials, and WebGL as much in a
  // software renderer. So Plotly keeps a dense trace whole (its points for hover, legend and
  // autorange; the tests read them) but draws little of it, and a canvas laid under the
  // figure's SVG (its background is transparent) paints all of it in the axes' current
  // ranges: every overlay (best lines, front, shapes, legend, hover) stays on top.
  // - Markers: Plotly draws at most one (marker.maxdisplayed); the canvas blends a sprite of
  //   the marker per point into its pixels by hand, tens of milliseconds for 100,000 points.
  // - Lines (null-separated polylines): Plotly gets only the two corners of their extent (for
  //   its autorange: it draws none, mode 'none', and they have no hover); a proxy trace with
  //   no points stands for them in the legend, in their legend group; the canvas strokes the
  //   whole polyline as one path.

  const denseTraces = new WeakMap(); // input trace -> 'markers' | {x, y}: the lines it stands for

  function dense(trace) {
    trace.marker = {...trace.marker, maxdisplayed: 1};
    denseTraces.set(trace, 'markers');
    return trace;
  }

  function denseLines(trace) {
    const group = trace.legendgroup || `lines:${trace.name}`;
    const corners = (values) => {
      const finite = values.filter((value) => value !== null && Number.isFinite(value));
      return finite.length ? [least(finite), most(finite)] : [];
    };
    const drawn = {...trace, x: corners(trace.x), y: corners(trace.y), mode: 'none', showlegend: false,
                   legendgroup: group, hoverinfo: 'skip'};
    denseTraces.set(drawn, {x: trace.x, y: trace.y});
    return [drawn, {type: 'scatter', mode: 'lines', x: [null], y: [null], name: trace.name, legendgroup: group,
                    line: trace.line, opacity: trace.opacity, hoverinfo: 'skip',
                    showlegend: trace.showlegend !== false && trace.x.length > 0}];
  }

  function paintDense(node) {
    const layout = node._fullLayout;
    const traces = (node._fullData || []).filter((trace) => trace.visible === true && denseTraces.has(trace._input));
    let canvas = node.querySelector('canvas.dense');
    if (!traces.length || !layout) {
      if (canvas) canvas.remove();
      return;
    }
    const ratio = window.devicePixelRatio || 1;
    if (!canvas) {
      canvas = document.createElement('canvas');
      canvas.className = 'dense';
      node.querySelector('.svg-container').prepend(canvas);
    }
    const width = Math.round(layout.width * ratio);
    const height = Math.round(layout.height * ratio);
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
      canvas.style.width = `${layout.width}px`;
      canvas.style.height = `${layout.height}px`;
    }
    const context = canvas.getContext('2d');
    context.clearRect(0, 0, width, height);
    const axesOf = (trace) => [layout[`xaxis${trace.xaxis.slice(1)}`], layout[`yaxis${trace.yaxis.slice(1)}`]];
    // Markers, blended subplot by subplot into premultiplied RGBA (0..1) over the subplot's
    // rectangle only, the buffers kept between paints (a pan repaints every frame).
    const subplots = new Map();
    for (const trace of traces.filter((t) => denseTraces.get(t._input) === 'markers')) {
      const key = `${trace.xaxis}${trace.yaxis}`;
      if (!subplots.has(key)) subplots.set(key, []);
      subplots.get(key).push(trace);
    }
    node.denseBuffers = node.denseBuffers || new Map();
    for (const [key, group] of subplots) {
      const [xaxis, yaxis] = axesOf(group[0]);
      const [left, top, right, bottom] = clipOf(xaxis, yaxis, ratio, width, height);
      const w = right - left;
      const h = bottom - top;
      if (w <= 0 || h <= 0) continue;
      let paint = node.denseBuffers.get(key);
      if (!paint || paint.length !== w * h * 4) node.denseBuffers.set(key, paint = new Float32Array(w * h * 4));
      else paint.fill(0);
      const toX = pixels(xaxis, false, ratio, left);
      const toY = pixels(yaxis, true, ratio, top);
      for (const trace of group) blendMarkers(paint, w, h, markerSprite(trace.marker, ratio), trace.x, trace.y, toX, toY);
      context.putImageData(toImage(paint, w, h), left, top);
    }
    for (const trace of traces.filter((t) => denseTraces.get(t._input) !== 'markers')) {
      const [xaxis, yaxis] = axesOf(trace);
      strokeLines(context, clipOf(xaxis, yaxis, ratio, width, height), trace._input, denseTraces.get(trace._input),
                  ratio, pixels(xaxis, false, ratio), pixels(yaxis, true, ratio));
    }
  }

  // The subplot's rectangle in device pixels: left, top, right, bottom.
  function clipOf(xaxis, yaxis, ratio, width, height) {
    return [Math.max(0, Math.floor(xaxis._offset * ratio)), Math.max(0, Math.floor(yaxis._offset * ratio)),
            Math.min(width, Math.ceil((xaxis._offset + xaxis._length) * ratio)),
            Math.min(height, Math.ceil((yaxis._offset + yaxis._length) * ratio))];
  }

  function toImage(paint, width, height) {
    const image = new ImageData(width, height);
    const bytes = image.data;
    for (let p = 0; p < paint.length; p += 4) {
      const alpha = paint[p + 3];
      if (alpha <= 0) continue;
      bytes[p] = (255 * paint[p]) / alpha;
      bytes[p + 1] = (255 * paint[p + 1]) / alpha;
      bytes[p + 2] = (255 * paint[p + 2]) / alpha;
      bytes[p + 3] = 255 * alpha;
    }
    return image;
  }

  // Polylines separated by nulls (or by points a log axis cannot show), one stroke. The
  // trace's opacity applies to it as a whole, as to an SVG group: the lines are stroked
  // opaque on a layer of their own, then laid on the canvas.
  function strokeLines(context, [left, top, right, bottom], trace, {x: xs, y: ys}, ratio, toX, toY) {
    const line = trace.line || {};
    const opacity = trace.opacity === undefined ? 1 : trace.opacity;
    const layer = opacity < 1 ? scratch(context.canvas, left, top, right, bottom) : context;
    layer.save();
    layer.beginPath();
    layer.rect(left, top, right - left, bottom - top);
    layer.clip();
    layer.strokeStyle = line.color || COLORS.trial;
    layer.lineWidth = (line.width === undefined ? 2 : line.width) * ratio;
    layer.lineJoin = 'round';
    layer.beginPath();
    let open = false;
    for (let k = 0; k < xs.length; k++) {
      const px = toX(xs[k]);
      const py = toY(ys[k]);
      if (!Number.isFinite(px) || !Number.isFinite(py)) { open = false; continue; }
      if (open) layer.lineTo(px, py);
      else layer.moveTo(px, py);
      open = true;
    }
    layer.stroke();
    layer.restore();
    if (layer !== context) {
      context.save();
      context.globalAlpha = opacity;
      context.drawImage(layer.canvas, left, top, right - left, bottom - top, left, top, right - left, bottom - top);
      context.restore();
    }
  }

  let scratchCanvas = null;

  // A canvas as large as `canvas` to stroke on, clear in the rectangle given.
  function scratch(canvas, left, top, right, bottom) {
    scratchCanvas = scratchCanvas || document.createElement('canvas');
    if (scratchCanvas.width !== canvas.width || scratchCanvas.height !== canvas.height) {
      scratchCanvas.width = canvas.width; // also clears it
      scratchCanvas.height = canvas.height;
    }
    const layer = scratchCanvas.getContext('2d');
    layer.clearRect(left, top, right - left, bottom - top);
    return layer;
  }

  // Each marker's sprite laid over the pixels of a subplot's rectangle (`width` x `height`,
  // the pixel functions counting from its corner), source over. Markers are counted per pixel
  // first: n copies of one sprite on one spot blend exactly as one sprite of alpha
  // 1 - (1 - a)^n, so a pixel is blended once however many land there.
  function blendMarkers(paint, width, height, sprite, xs, ys, toX, toY) {
    const side = sprite.side;
    const half = side / 2;
    const spanX = width + side;
    const spanY = height + side;
    const counts = new Uint32Array(spanX * spanY); // by the sprite's corner, from (-side, -side)
    for (let k = 0; k < xs.length; k++) {
      const cx = Math.round(toX(xs[k]) - half) + side;
      const cy = Math.round(toY(ys[k]) - half) + side;
      if (cx > 0 && cx < spanX && cy > 0 && cy < spanY) counts[cy * spanX + cx] += 1; // also NaN: not counted
    }
    for (let cell = 0; cell < counts.length; cell++) {
      const n = counts[cell];
      if (n === 0) continue;
      const x0 = (cell % spanX) - side;
      const y0 = Math.floor(cell / spanX) - side;
      const pixels = stacked(sprite, n);
      const from = Math.max(0, -x0);
      const to = Math.min(side, width - x0);
      for (let sy = Math.max(0, -y0); sy < side && y0 + sy < height; sy++) {
        let target = ((y0 + sy) * width + x0 + from) * 4;
        let source = (sy * side + from) * 4;
        for (let sx = from; sx < to; sx++, target += 4, source += 4) {
          const alpha = pixels[source + 3];
          if (alpha === 0) continue;
          const keep = 1 - alpha;
          paint[target] = pixels[source] + paint[target] * keep;
          paint[target + 1] = pixels[source + 1] + paint[target + 1] * keep;
          paint[target + 2] = pixels[source + 2] + paint[target + 2] * keep;
          paint[target + 3] = alpha + paint[target + 3] * keep;
        }
      }
    }
  }

  // The sprite as n copies of it stacked: premultiplied colour scales with the new alpha.
  function stacked(sprite, n) {
    if (n === 1) return sprite.pixels;
    let pixels = sprite.stacks.get(n);
    if (pixels) return pixels;
    pixels = new Float32Array(sprite.pixels.length);
    for (let p = 0; p < pixels.length; p += 4) {
      const alpha = sprite.pixels[p + 3];
      if (alpha === 0) continue;
      const scale = (1 - (1 - alpha) ** n) / alpha;
      for (let c = 0; c < 4; c++) pixels[p + c] = sprite.pixels[p + c] * scale;
    }
    if (sprite.stacks.size < 4096) sprite.stacks.set(n, pixels);
    return pixels;
  }

  // Data to device pixels on an axis as it is now (a log axis keeps its range in powers of
  // ten), counted from `origin` (in device pixels: the canvas's corner by default).
  function pixels(axis, vertical, ratio, origin = 0) {
    const log = axis.type === 'log';
    const [low, high] = axis.range;
    const scale = axis._length / (high - low);
    return (value) => {
      if (value === null || value === undefined || (log && !(value > 0))) return NaN;
      const at = ((log ? Math.log10(value) : value) - low) * scale;
      return ratio * (vertical ? axis._offset + axis._length - at : axis._offset + at) - origin;
    };
  }

  const sprites = new Map();

  // One marker as Plotly draws it (circle, open circle or x), drawn once by the canvas, kept
  // as premultiplied RGBA.
  function markerSprite(marker, ratio) {
    const line = marker.line || {};
    const key = JSON.stringify([marker.symbol, marker.size, marker.color, marker.opacity, line.color, line.width, ratio]);
    let sprite = sprites.get(key);
    if (sprite) return sprite;
    const size = marker.size * ratio;
    const lineWidth = (line.width || 0) * ratio;
    const side = Math.ceil(size + lineWidth + 2 * ratio);
    const canvas = document.createElement('canvas');
    canvas.width = side;
    canvas.height = side;
    const context = canvas.getContext('2d');
    context.globalAlpha = marker.opacity === undefined ? 1 : marker.opacity;
    const middle = side / 2;
    // A filled circle's soft edge inside its size: markers stacked on one spot (repeats of a
    // configuration) stay as wide as one, as WebGL draws them.
    const radius = lineWidth > 0 ? size / 2 : Math.max(0.5, size / 2 - 0.5 * ratio);
    context.beginPath();
    if (String(marker.symbol).startsWith('x')) {
      const arm = radius * 0.75;
      context.moveTo(middle - arm, middle - arm); context.lineTo(middle + arm, middle + arm);
      context.moveTo(middle + arm, middle - arm); context.lineTo(middle - arm, middle + arm);
      context.strokeStyle = marker.color;
      context.lineWidth = Math.max(1, size / 3.5);
      context.stroke();
    } else {
      context.arc(middle, middle, radius, 0, 2 * Math.PI);
      context.fillStyle = marker.color;
      context.fill();
      if (lineWidth > 0) {
        context.strokeStyle = line.color;
        context.lineWidth = lineWidth;
        context.stroke();
      }
    }
    const bytes = context.getImageData(0, 0, side, side).data;
    const pixels = new Float32Array(bytes.length);
    for (let p = 0; p < bytes.length; p += 4) {
      const alpha = bytes[p + 3] / 255;
      pixels[p] = (bytes[p] / 255) * alpha;
      pixels[p + 1] = (bytes[p + 1] / 255) * alpha;
      pixels[p + 2] = (bytes[p + 2] / 255) * alpha;
      pixels[p + 3] = alpha;
    }
    sprite = {side, pixels, stacks: new Map()};
    sprites.set(key, sprite);
    return sprite;
  }

  const drawTimes = {};
  window.hpsearchDrawTimes = drawTimes;

  function renderSummary(exp) {
    const s = exp.summary;
    const best = s.best;
    $('summary').replaceChildren(
      el('div', {class: 'card'}, fact('Trials', count(s.total),
         `${count(s.counts.ok)} ok · ${count(s.counts.pruned || 0)} pruned · ${count(s.counts.failed)} failed · ${count(s.counts.running)} running · ${count(s.counts.queued)} queued`, 'trials')),
      el('div', {class: 'card'}, bestFact(best)),
      el('div', {class: 'card'}, fact('Pace', s.trials_per_minute === null ? '–' : `${fmt(s.trials_per_minute)} /min`,
         'trials finished', 'pace')),
      ...budgetFacts(s).map((f) => el('div', {class: 'card'}, f)),
      el('div', {class: 'card'}, fact('Live workers', String(s.live_workers), '', 'workers')));
  }

  // What several plots share: which trials are finished, scored, failed; each in tid order.
  function derive(exp) {
    const c = exp.columns;
    const n = c.tid.length;
    const scored = [];
    const failed = [];
    const pruned = []; // stopped early: their curves and seconds count, their scores do not
    for (let i = 0; i < n; i++) {
      if (c.state[i] === 'ok' && c.score[i] !== null && c.accuracy[i] !== null && c.seconds[i] !== null) scored.push(i);
      else if (c.state[i] === 'failed') failed.push(i);
      else if (c.state[i] === 'pruned') pruned.push(i);
    }
    // The best is the server's: the first configuration as `hpsearch best` ranks them.
    const best = exp.summary.best;
    const bestRuns = best ? best.tids.map((tid) => exp.index.get(tid)).filter((i) => i !== undefined) : [];
    return {scored, failed, pruned, best, bestRuns, dense: scored.length + failed.length + pruned.length > DENSE_ABOVE};
  }

  function baseLayout(exp, extra) {
    const axis = {...AXIS, linecolor: '#cbd5e1', automargin: true,
                  tickfont: {size: 11}};
    return Object.assign({
      uirevision: `experiment:${exp.key}`,
      margin: {l: 56, r: 16, t: 10, b: 46},
      // Both transparent: a dense trace's canvas lies under the figure (the card is white).
      paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)',
      font: {family: 'system-ui, -apple-system, Segoe UI, Roboto, sans-serif', size: 12, color: '#334155'},
      hovermode: 'closest',
      legend: {orientation: 'h', x: 0, y: 1.02, yanchor: 'bottom', font: {size: 11}},
      xaxis: {...axis}, yaxis: {...axis},
    }, extra);
  }

  function stepLine(xs, ys, name) {
    return {type: 'scatter', mode: 'lines', x: xs, y: ys, name, line: {color: COLORS.best, width: 2, shape: 'hv'},
            hoverinfo: 'skip'};
  }

  // Best score so far, two ways: against the trial number (left) and against the training
  // seconds spent by all trials, in the order they finished (right). One figure, two axes.
  function history(exp, view) {
    const c = exp.columns;
    const markers = view.dense ? dense : (trace) => trace;
    const data = [];
    const byTrial = {okX: [], okY: [], okTid: [], failX: [], failTid: [], stepX: [], stepY: []};
    let best = -Infinity;
    for (const i of view.scored) {
      byTrial.okX.push(c.tid[i]); byTrial.okY.push(c.score[i]); byTrial.okTid.push(c.tid[i]);
      if (c.score[i] > best) { best = c.score[i]; byTrial.stepX.push(c.tid[i]); byTrial.stepY.push(best); }
    }
    for (const i of view.failed) { byTrial.failX.push(c.tid[i]); byTrial.failTid.push(c.tid[i]); }
    if (view.scored.length) { byTrial.stepX.push(c.tid[c.tid.length - 1]); byTrial.stepY.push(best); }
    const finished = [...view.scored, ...view.failed, ...view.pruned].filter((i) => c.finished[i] !== null)
      .sort((a, b) => c.finished[a] - c.finished[b] || c.tid[a] - c.tid[b]);
    const bySeconds = {okX: [], okY: [], okTid: [], failX: [], failTid: [], stepX: [], stepY: []};
    let spent = 0;
    best = -Infinity;
    for (const i of finished) {
      spent += c.seconds[i] || 0;
      if (c.state[i] === 'ok') {
        bySeconds.okX.push(spent); bySeconds.okY.push(c.score[i]); bySeconds.okTid.push(c.tid[i]);
        if (c.score[i] > best) { best = c.score[i]; bySeconds.stepX.push(spent); bySeconds.stepY.push(best); }
      } else if (c.state[i] === 'failed') {
        bySeconds.failX.push(spent); bySeconds.failTid.push(c.tid[i]);
      } // a pruned trial's seconds were spent too; it has no score to show
    }
    if (bySeconds.stepX.length) { bySeconds.stepX.push(spent); bySeconds.stepY.push(best); }
    [[byTrial, 'x', 'y', 'trial %{customdata}'], [bySeconds, 'x2', 'y2', 'trial %{customdata}, after %{x:.4g} s']]
      .forEach(([points, xaxis, yaxis, label], k) => {
        data.push(
          markers({type: 'scatter', mode: 'markers', name: 'trial', legendgroup: 'trial', showlegend: k === 0, xaxis, yaxis,
           x: points.okX, y: points.okY, customdata: points.okTid, marker: {color: COLORS.trial, size: 5, opacity: 0.7},
           hovertemplate: `${label}<br>%{y:.4g} accuracy/s<extra></extra>`}),
          markers({type: 'scatter', mode: 'markers', name: 'failed', legendgroup: 'failed', showlegend: k === 0, xaxis, yaxis,
           x: points.failX, y: points.failX.map(() => 0), customdata: points.failTid,
           marker: {color: COLORS.failed, symbol: 'x', size: 7}, hovertemplate: `${label}: failed<extra></extra>`}),
          {type: 'scatter', mode: 'lines', name: 'best single run so far', legendgroup: 'best', showlegend: k === 0, xaxis, yaxis,
           x: points.stepX, y: points.stepY, line: {color: COLORS.best, width: 2, shape: 'hv'}, hoverinfo: 'skip'});
      });
    if (view.best && view.scored.length) {
      const best = view.best;
      data.push({type: 'scatter', mode: 'lines', name: `best configuration (trial ${best.tid}, ${runsText(best.runs)}): pooled`,
                 x: [c.tid[0], c.tid[c.tid.length - 1]], y: [best.score, best.score],
                 line: {color: COLORS.best, width: 1.2, dash: 'dash'}, hoverinfo: 'skip'});
    }
    const axis = {...AXIS, automargin: true, tickfont: {size: 11}};
    return {
      data,
      layout: baseLayout(exp, {
        xaxis: {...axis, domain: [0, 0.46], title: {text: 'trial (tid)'}},
        yaxis: {...axis, title: {text: 'accuracy per second'}, rangemode: 'tozero'},
        xaxis2: {...axis, domain: [0.54, 1], anchor: 'y2', title: {text: 'training seconds spent by all trials'}},
        yaxis2: {...axis, anchor: 'x2', rangemode: 'tozero'},
      }),
    };
  }

  function isoSlopes(low, best) {
    // Round slopes (1-2-5, else 1-3, else powers of ten) between the slowest trial and the best.
    if (!(best > 0) || !(low > 0)) return [];
    const exponents = [];
    for (let e = Math.floor(Math.log10(low)); e <= Math.ceil(Math.log10(best)); e++) exponents.push(e);
    for (const mantissas of [[1, 2, 5], [1, 3], [1]]) {
      const slopes = exponents.flatMap((e) => mantissas.map((m) => Number(`${m}e${e}`)))
        .filter((s) => s >= low && s < 0.8 * best);
      if (slopes.length <= 4) return slopes;
    }
    return [];
  }

  function tradeOff(exp, view) {
    const c = exp.columns;
    const markers = view.dense ? dense : (trace) => trace;
    const above = view.scored.filter((i) => !c.below_floor[i]);
    const below = view.scored.filter((i) => c.below_floor[i]);
    const failed = view.failed.filter((i) => c.seconds[i] !== null);
    const seconds = view.scored.map((i) => c.seconds[i]).concat(failed.map((i) => c.seconds[i]));
    const log = seconds.length > 0 && seconds.every((s) => s > 0);
    const low = least(seconds.filter((s) => s > 0));
    const high = most(seconds);
    const data = [
      markers({type: 'scatter', mode: 'markers', name: 'trial', x: above.map((i) => c.seconds[i]), y: above.map((i) => c.accuracy[i]),
       customdata: above.map((i) => [c.tid[i], c.score[i]]), marker: {color: COLORS.trial, size: 6, opacity: 0.75},
       hovertemplate: 'trial %{customdata[0]}<br>accuracy %{y:.4f} in %{x:.4g} s<br>%{customdata[1]:.4g} accuracy/s<extra></extra>'}),
      markers({type: 'scatter', mode: 'markers', name: 'below the floor (score 0)', x: below.map((i) => c.seconds[i]), y: below.map((i) => c.accuracy[i]),
       customdata: below.map((i) => c.tid[i]), marker: {color: 'rgba(0,0,0,0)', size: 6, line: {color: COLORS.below, width: 1.2}},
       hovertemplate: 'trial %{customdata}<br>accuracy %{y:.4f} in %{x:.4g} s (below the floor)<extra></extra>'}),
      markers({type: 'scatter', mode: 'markers', name: 'failed', x: failed.map((i) => c.seconds[i]), y: failed.map(() => 0),
       customdata: failed.map((i) => c.tid[i]), marker: {color: COLORS.failed, symbol: 'x', size: 7},
       hovertemplate: 'trial %{customdata} failed after %{x:.4g} s<extra></extra>'}),
      {type: 'scatter', mode: 'lines+markers', name: 'Pareto front of configurations', x: exp.front.map((p) => p.seconds),
       y: exp.front.map((p) => p.accuracy), customdata: exp.front.map((p) => [p.tid, p.runs]),
       line: {color: COLORS.best, width: 2}, marker: {color: 'rgba(0,0,0,0)', size: 10, line: {color: COLORS.best, width: 2}},
       hovertemplate: 'configuration of trial %{customdata[0]}, %{customdata[1]} runs (front)<br>mean accuracy %{y:.4f} in %{x:.4g} s<extra></extra>'},
    ];
    const top = view.best;
    if (top && top.seconds !== null && top.accuracy !== null) {
      const bars = (spread) => ({type: 'data', array: [spread || 0], visible: spread !== null, color: '#0f172a'});
      data.push({type: 'scatter', mode: 'markers', name: `best configuration (trial ${top.tid}, ${runsText(top.runs)})`,
                 x: [top.seconds], y: [top.accuracy], customdata: [[top.tid, top.runs, top.score]],
                 error_x: bars(top.seconds_spread), error_y: bars(top.accuracy_spread),
                 marker: {symbol: 'star', size: 16, color: COLORS.best, line: {color: '#0f172a', width: 1}},
                 hovertemplate: 'best configuration: trial %{customdata[0]}, %{customdata[1]} runs<br>'
                   + 'mean accuracy %{y:.4f} in %{x:.4g} s<br>%{customdata[2]:.4g} accuracy/s<extra></extra>'});
    }
    if (top && top.score > 0 && high > 0) {
      const best = top.score;
      const maxAccuracy = most(view.scored.map((i) => c.accuracy[i]));
      const slopes = isoSlopes(maxAccuracy / high, best);
      const left = log ? low / 1.5 : 0;
      // accuracy = slope * seconds, drawn up to an accuracy of 1: the axis then fits the data
      // by itself, and a user's zoom is never overridden by a range of ours.
      const line = (slope) => {
        const right = Math.min(high * 1.5, 1.02 / slope);
        const xs = [];
        for (let k = 0; k <= 60; k++) xs.push(log ? left * (right / left) ** (k / 60) : left + (right - left) * k / 60);
        return {x: xs, y: xs.map((x) => slope * x)};
      };
      slopes.forEach((slope, k) => data.push({
        type: 'scatter', mode: 'lines', ...line(slope), name: 'equal accuracy per second',
        legendgroup: 'iso', showlegend: k === 0, line: {color: '#94a3b8', width: 1, dash: 'dash'},
        hovertemplate: `${fmt(slope)} accuracy/s<extra></extra>`}));
      data.push({type: 'scatter', mode: 'lines', ...line(best),
                 name: `best configuration: ${fmt(best)} accuracy/s`, line: {color: COLORS.best, width: 1.4, dash: 'dash'},
                 hoverinfo: 'skip'});
    }
    const floor = exp.summary.min_accuracy;
    return {
      data,
      layout: baseLayout(exp, {
        xaxis: {title: {text: `training seconds${log ? ' (log scale)' : ''}`}, type: log ? 'log' : 'linear',
                ...(log ? logTicks(low, high) : {}), ...AXIS},
        yaxis: {title: {text: 'accuracy'}, rangemode: 'tozero', ...AXIS},
        shapes: floor ? [{type: 'line', xref: 'paper', x0: 0, x1: 1, y0: floor, y1: floor,
                          line: {color: COLORS.floor, width: 1.2, dash: 'dot'}}] : [],
        annotations: floor ? [{xref: 'paper', x: 1, y: floor, yanchor: 'bottom', xanchor: 'right', showarrow: false,
                               text: `accuracy floor ${fmt(floor)}`, font: {size: 11, color: COLORS.floor}}] : [],
      }),
    };
  }

  // The axes to draw: the space's (with its log and categorical facts), else the columns found.
  function parameterAxes(exp) {
    if (exp.axes && exp.axes.length) return exp.axes;
    return Object.keys(exp.params).map((column) => {
      const values = exp.params[column].filter((v) => v !== null);
      const numeric = values.every((v) => typeof v === 'number');
      return {column, log: false, categories: numeric ? null : [...new Set(values.map(String))]};
    });
  }

  // A categorical axis: the space's choices in its order, then any other value the trials
  // hold (a space changed since, or a value written by another program), in tid order.
  function categoriesOf(axis, values, indices) {
    const categories = [...axis.categories];
    const seen = new Set(categories.map(categoryKey));
    for (const i of indices) {
      const key = categoryKey(values[i]);
      if (values[i] !== null && values[i] !== undefined && !seen.has(key)) {
        seen.add(key);
        categories.push(values[i]);
      }
    }
    const positions = new Map(categories.map((category, k) => [categoryKey(category), k]));
    return {categories, position: (value) => positions.get(categoryKey(value))};
  }

  // A value's identity among categories, its type included (as a Map key "1" is not 1): a
  // string, number or boolean as itself, anything else as its JSON after a NUL, which no
  // category's text holds (JSON.stringify, ten thousand times a plot, costs tens of ms).
  function categoryKey(value) {
    return value !== null && typeof value === 'object' ? `\u0000${JSON.stringify(value)}` : value;
  }

  function jitter(k) {
    return 0.18 * (((k * 0.618034) % 1) * 2 - 1); // deterministic spread within a category
  }

  function parameters(exp, view) {
    const c = exp.columns;
    const axes = parameterAxes(exp);
    // Four panels a row on a laptop, fewer as the window narrows (a phone: one).
    const fits = Math.max(1, Math.floor(window.innerWidth / 320));
    const columnsPerRow = Math.min(4, fits, Math.max(1, axes.length));
    const rows = Math.max(1, Math.ceil(axes.length / columnsPerRow));
    const gapX = 0.05;
    const gapY = 0.16 / rows;
    const width = (1 - gapX * (columnsPerRow - 1)) / columnsPerRow;
    const height = (1 - gapY * (rows - 1)) / rows;
    const markers = view.dense ? dense : (trace) => trace;
    const layout = baseLayout(exp, {showlegend: false, margin: {l: 56, r: 16, t: 26, b: 36}});
    const data = [];
    const labels = [];
    const ticks = [];
    axes.forEach((axis, k) => {
      const row = Math.floor(k / columnsPerRow);
      const col = k % columnsPerRow;
      const suffix = k === 0 ? '' : String(k + 1);
      const rowSuffix = row === 0 ? '' : String(row + 1); // a y axis a row, shared by its panels
      const x0 = col * (width + gapX);
      const y1 = 1 - row * (height + gapY);
      const values = exp.params[axis.column] || [];
      // A branch's parameter counts only in the trials that took its branch (two branches'
      // parameters of one name share the column).
      const taken = (axis.branches || []).map(([column, branch]) => [exp.params[column] || [], branch]);
      const scored = taken.length ? view.scored.filter((i) => taken.every(([chosen, branch]) => chosen[i] === branch)) : view.scored;
      const categorical = axis.categories ? categoriesOf(axis, values, scored) : null;
      const position = categorical ? categorical.position : null;
      // Typed arrays filled by index: nine panels of ten thousand points each.
      const xs = new Float64Array(scored.length);
      const ys = new Float64Array(scored.length);
      const tids = new Float64Array(scored.length);
      let n = 0;
      for (let j = 0; j < scored.length; j++) {
        const i = scored[j];
        const value = values[i];
        if (value === null || value === undefined) continue;
        if (position) xs[n] = position(value) + jitter(n);
        else if (typeof value !== 'number' || (axis.log && value <= 0)) continue;
        else xs[n] = value;
        ys[n] = c.score[i];
        tids[n] = c.tid[i];
        n += 1;
      }
      data.push(markers({type: 'scatter', mode: 'markers', x: xs.subarray(0, n), y: ys.subarray(0, n), customdata: tids.subarray(0, n), xaxis: `x${suffix}`, yaxis: `y${rowSuffix}`,
                 marker: {color: COLORS.trial, size: 5, opacity: 0.65},
                 // The name comes in as the trace's, never as part of the template, which
                 // would read a stored "%{y}" as its own.
                 name: plotlyText(axis.title || axis.column), hoverlabel: {namelength: -1},
                 hovertemplate: 'trial %{customdata}<br>%{y:.4g} accuracy/s<extra>%{fullData.name}</extra>'}));
      // Numeric axes have few, short tick labels and no title: the margins fit them without
      // Plotly measuring each label to push them (categories may be long, and rotated), and
      // the overlay writes their labels (Plotly lays out and measures each of its own).
      const xaxis = {domain: [x0, x0 + width], anchor: `y${rowSuffix}`, ...AXIS,
                     tickfont: {size: 10}, automargin: Boolean(position), nticks: 6,
                     showticklabels: Boolean(position)};
      if (!position) ticks.push(`xaxis${suffix}`);
      if (position) {
        const labels = categorical.categories;
        Object.assign(xaxis, {tickangle: 'auto', tickvals: labels.map((_, j) => j), ticktext: labels.map((v) => plotlyText(String(v)))});
      } else if (axis.log) {
        xaxis.type = 'log';
      }
      layout[`xaxis${suffix}`] = xaxis;
      if (col === 0) {
        layout[`yaxis${rowSuffix}`] = {domain: [y1 - height, y1], anchor: `x${suffix}`, ...AXIS, rangemode: 'tozero',
                                       tickfont: {size: 10}, matches: row === 0 ? undefined : 'y',
                                       showticklabels: false};
        ticks.push(`yaxis${rowSuffix}`);
      }
      labels.push({xref: 'paper', yref: 'paper', x: x0, y: y1, dy: -5, anchor: 'start', kind: 'panel',
                   bold: axis.title || axis.column, text: axis.log ? ' (log)' : ''});
    });
    return {data, layout, height: 40 + rows * 230, overlay: {labels, ticks}};
  }

  // At most `limit` of the scored trials, for plots where more lines only add ink: the
  // `best` highest scores, then an even spread of the rest, in tid order.
  function sample(exp, indices, limit, best) {
    if (indices.length <= limit) return {shown: indices, note: ''};
    const score = exp.columns.score;
    const ranked = [...indices].sort((a, b) => score[b] - score[a]);
    const chosen = new Set(ranked.slice(0, best));
    const rest = ranked.slice(best).sort((a, b) => a - b);
    const step = rest.length / (limit - best);
    for (let k = 0; k < limit - best; k++) chosen.add(rest[Math.floor(k * step)]);
    return {shown: [...chosen].sort((a, b) => a - b),
            note: `${count(limit)} of ${count(indices.length)} shown: the ${count(best)} best and an even spread of the rest`};
  }

  const SCORE_BINS = ['#440154', '#3b528b', '#21918c', '#5ec962', '#fde725'];

  // Parallel coordinates as plain line traces: each trial a line across one vertical axis per
  // hyperparameter (scaled to its range; log ones on a log scale), coloured by its score in
  // fifths. SVG lines: one path per colour, cheap even without a graphics card.
  function parallel(exp, view) {
    const c = exp.columns;
    const axes = parameterAxes(exp).filter((axis) => !axis.column.includes('/'));
    const usable = view.scored.filter((i) => axes.every((axis) => {
      const value = (exp.params[axis.column] || [])[i];
      return value !== null && value !== undefined && (!axis.log || value > 0);
    }));
    const {shown, note} = sample(exp, usable, 1000, 250);
    const dimensions = axes.map((axis) => {
      const values = exp.params[axis.column];
      if (axis.categories) {
        const {categories, position} = categoriesOf(axis, values, shown);
        const k = Math.max(categories.length - 1, 1);
        return {label: axis.column, value: (i) => position(values[i]) / k,
                ticks: categories.map((category, j) => [j / k, String(category)])};
      }
      const transform = axis.log ? Math.log10 : (v) => v;
      return numericDimension(axis.column + (axis.log ? ' (log)' : ''), shown.map((i) => transform(values[i])),
                              (i) => transform(values[i]), axis.log);
    });
    dimensions.push(numericDimension('accuracy', shown.map((i) => c.accuracy[i]), (i) => c.accuracy[i], false));
    dimensions.push(numericDimension('train s', shown.map((i) => c.seconds[i]), (i) => c.seconds[i], false));
    dimensions.push(numericDimension('accuracy/s', shown.map((i) => c.score[i]), (i) => c.score[i], false));
    // Colours: grey for trials below the floor (score 0), then fifths of the others' scores.
    const scores = shown.map((i) => c.score[i]).filter((score) => score > 0).sort((a, b) => a - b);
    const edges = SCORE_BINS.map((_, k) => scores[Math.floor((k * scores.length) / SCORE_BINS.length)])
      .filter((edge, k, all) => edge !== undefined && all.indexOf(edge) === k);
    const bins = [{x: [], y: [], name: 'below the floor (score 0)', color: '#cbd5e1'},
                  ...edges.map((edge, k) => ({x: [], y: [], name: `score ≥ ${fmt(edge)}`,
                                               color: SCORE_BINS[SCORE_BINS.length - edges.length + k]}))];
    for (const i of shown) {
      let bin = 0;
      while (bin < edges.length && c.score[i] > 0 && c.score[i] >= edges[bin]) bin++;
      dimensions.forEach((dimension, d) => { bins[bin].x.push(d); bins[bin].y.push(dimension.value(i)); });
      bins[bin].x.push(null); bins[bin].y.push(null);
    }
    const data = bins.flatMap((bin) => {
      const trace = {type: 'scatter', mode: 'lines', x: bin.x, y: bin.y, hoverinfo: 'skip', connectgaps: false,
                     name: bin.name, line: {color: bin.color, width: 1}, opacity: 0.6};
      return view.dense ? denseLines(trace) : [trace];
    });
    const labels = [];
    dimensions.forEach((dimension, d) => {
      labels.push({x: d, y: 1.04, xref: 'x', yref: 'y', bold: dimension.label, kind: 'dimension'});
      for (const [at, label] of dimension.ticks) {
        labels.push({x: d, y: at, xref: 'x', yref: 'y', text: label, dx: -4, anchor: 'end', baseline: 'central',
                     kind: 'tick'});
      }
    });
    if (note) {
      labels.push({xref: 'paper', yref: 'paper', x: 1, y: -0.06, text: note, anchor: 'end', baseline: 'hanging',
                   kind: 'note'});
    }
    return {
      data,
      overlay: {labels, lines: dimensions.map((_, d) => ({x0: d, x1: d, y0: 0, y1: 1}))},
      layout: baseLayout(exp, {
        margin: {l: 30, r: 20, t: 60, b: 30},
        xaxis: {range: [-0.35, dimensions.length - 0.65], showgrid: false, zeroline: false, showticklabels: false, fixedrange: true},
        yaxis: {range: [-0.06, 1.1], showgrid: false, zeroline: false, showticklabels: false, fixedrange: true},
        legend: {orientation: 'h', x: 0, y: -0.02, yanchor: 'top', font: {size: 11}},
      }),
    };
  }

  // A numeric axis of the parallel plot: values scaled to [0, 1], with three ticks.
  function numericDimension(label, values, valueOf, log) {
    let low = least(values);
    let high = most(values);
    if (!Number.isFinite(low)) { low = 0; high = 1; }
    if (high === low) {  // one value: a little room either side, in proportion to it
      const room = log ? 0.1 : Math.abs(low) * 0.05 || 0.5;
      low -= room;
      high += room;
    }
    const scale = (v) => (v - low) / (high - low);
    const tick = (v) => [scale(v), fmt(log ? 10 ** v : v)];
    return {label, value: (i) => scale(valueOf(i)), ticks: [tick(low), tick((low + high) / 2), tick(high)]};
  }

  function curves(exp, view) {
    const c = exp.columns;
    const withCurves = [...view.scored, ...view.pruned, ...view.failed].filter((i) => c.curve[i] && c.curve[i].length);
    const {shown, note} = sample(exp, withCurves, 2000, 500);
    const xs = [], ys = [], prunedX = [], prunedY = [], prunedTid = [];
    for (const i of shown) {
      const curve = c.curve[i];
      curve.forEach((value, epoch) => { xs.push(epoch + 1); ys.push(value); });
      xs.push(null); ys.push(null);
      if (c.pruned[i]) {
        let last = curve.length - 1;
        while (last > 0 && curve[last] === null) last--;
        prunedX.push(last + 1); prunedY.push(curve[last]); prunedTid.push(c.tid[i]);
      }
    }
    const trials = {type: 'scatter', mode: 'lines', name: 'trial', x: xs, y: ys,
                    line: {color: COLORS.curve, width: 1}, hoverinfo: 'skip', connectgaps: false};
    const data = view.dense ? denseLines(trials) : [trials];
    const bestX = [], bestY = [];
    for (const i of view.bestRuns) {
      (c.curve[i] || []).forEach((value, epoch) => { bestX.push(epoch + 1); bestY.push(value); });
      bestX.push(null); bestY.push(null);
    }
    if (bestX.length > view.bestRuns.length) {
      // Markers only for a few runs: SVG draws each one, and a configuration may have many.
      data.push({type: 'scatter', mode: view.bestRuns.length > 10 ? 'lines' : 'lines+markers',
                 name: `best configuration (trial ${view.best.tid}, ${runsText(view.best.runs)})`,
                 x: bestX, y: bestY, line: {color: COLORS.best, width: 2.5}, connectgaps: false,
                 marker: {size: 5, color: COLORS.best}, hovertemplate: 'epoch %{x}: %{y:.4f}<extra></extra>'});
    }
    data.push({type: 'scatter', mode: 'markers', name: 'pruned', x: prunedX, y: prunedY, customdata: prunedTid,
               marker: {color: COLORS.failed, symbol: 'x', size: 8}, visible: prunedX.length ? true : 'legendonly',
               hovertemplate: 'trial %{customdata} pruned after epoch %{x}<extra></extra>'});
    return {
      data,
      layout: baseLayout(exp, {
        xaxis: {title: {text: 'epoch'}, ...AXIS},
        yaxis: {title: {text: 'validation accuracy'}, ...AXIS},
        annotations: note ? [{xref: 'paper', yref: 'paper', x: 1, y: 0, text: note, showarrow: false, xanchor: 'right',
                              yanchor: 'bottom', font: {size: 11, color: '#64748b'}}] : [],
      }),
    };
  }

  // -- the trials table -----------------------------------------------------------------------

  function tableColumns(exp) {
    const params = [...new Set(parameterAxes(exp).map((axis) => axis.column))]; // branches may share one
    for (const column of Object.keys(exp.params)) if (!params.includes(column)) params.push(column);
    const c = exp.columns;
    return [
      {key: 'tid', label: 'Trial', num: true, value: (i) => c.tid[i], text: (v) => String(v)},
      {key: 'state', label: 'State', value: (i) => c.state[i], state: true},
      {key: 'score', label: 'Score (acc/s)', num: true, value: (i) => c.score[i], text: (v) => fmt(v, 4)},
      {key: 'accuracy', label: 'Accuracy', num: true, value: (i) => c.accuracy[i], text: (v) => fmt(v, 4)},
      {key: 'seconds', label: 'Train s', num: true, value: (i) => c.seconds[i], text: (v) => fmt(v, 4)},
      ...params.map((column) => ({key: `param:${column}`, label: column, num: false,
                                  value: (i) => (exp.params[column] || [])[i],
                                  text: (v) => (typeof v === 'number' ? fmt(v, 4) : (v === null || v === undefined ? '' : String(v)))})),
      {key: 'reason', label: 'Reason', value: (i) => c.reason[i] || (c.pruned[i] ? 'pruned' : null),
       text: (v) => v || ''},
      {key: 'device', label: 'Device', value: (i) => c.device[i], text: (v) => v || ''},
      {key: 'worker', label: 'Worker', value: (i) => c.worker[i], text: (v) => v || ''},
      {key: 'finished', label: 'Finished', value: (i) => c.finished[i], text: (v) => (v ? fmtTime(v) : '')},
    ];
  }

  function compare(a, b) {
    const missingA = a === null || a === undefined;
    const missingB = b === null || b === undefined;
    if (missingA || missingB) return missingA - missingB; // missing values last
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return String(a).localeCompare(String(b));
  }

  function renderTable(exp) {
    const table = app.table;
    const c = exp.columns;
    const counts = {all: c.tid.length};
    for (const state of c.state) counts[state] = (counts[state] || 0) + 1;
    const filter = $('state-filter');
    const toggle = (state) => () => {
      if (state === 'all') table.states.clear();
      else if (table.states.has(state)) table.states.delete(state);
      else table.states.add(state);
      table.page = 0;
      renderTable(exp);
    };
    filter.replaceChildren(
      el('button', {class: `chip all${table.states.size ? '' : ' active'}`, onclick: toggle('all'), dataset: {filter: 'all'}},
         'all ', el('b', {}, count(counts.all))),
      ...STATES.map((state) => el('button', {class: `chip ${state}${table.states.has(state) ? ' active' : ''}`,
                                              onclick: toggle(state), dataset: {filter: state}},
                                   `${state} `, el('b', {}, count(counts[state] || 0)))));
    const columns = tableColumns(exp);
    const sortColumn = columns.find((column) => column.key === table.sort) || columns[0];
    let rows = [];
    for (let i = 0; i < c.tid.length; i++) if (!table.states.size || table.states.has(c.state[i])) rows.push(i);
    if (sortColumn.key !== 'tid' || !table.ascending) { // the rows are in tid order already
      const keys = new Map(rows.map((i) => [i, sortColumn.value(i)]));
      rows.sort((a, b) => {
        const [valueA, valueB] = [keys.get(a), keys.get(b)];
        const order = compare(valueA, valueB);
        const missing = valueA === null || valueA === undefined || valueB === null || valueB === undefined;
        return (missing || table.ascending ? order : -order) || c.tid[a] - c.tid[b];
      });
    }
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    table.page = Math.min(table.page, pages - 1);
    const shown = rows.slice(table.page * PAGE_SIZE, (table.page + 1) * PAGE_SIZE);
    const head = el('tr', {}, columns.map((column) => el('th', {
      class: ['sortable', column.num ? 'num' : '', column.key === sortColumn.key ? 'sorted' : '',
              column.key === sortColumn.key && table.ascending ? 'asc' : ''].join(' ').trim(),
      dataset: {sort: column.key},
      onclick: () => {
        if (table.sort === column.key) table.ascending = !table.ascending;
        else { table.sort = column.key; table.ascending = column.key === 'tid' || !column.num; }
        renderTable(exp);
      }}, column.label)));
    const selected = app.route.tid;
    const body = shown.map((i) => el('tr', {
      class: `clickable${c.tid[i] === selected ? ' selected' : ''}`, dataset: {tid: c.tid[i]},
      onclick: () => { location.hash = `#/experiments/${encodeURIComponent(exp.key)}/trials/${c.tid[i]}`; }},
      columns.map((column) => {
        const value = column.value(i);
        if (column.state) return el('td', {}, el('span', {class: `state ${value}`}, value));
        return el('td', {class: column.num ? 'num' : null}, column.text(value));
      })));
    // The keyboard stays where it was: on the header it sorted by, or on its row.
    const focused = $('trials').contains(document.activeElement) ? document.activeElement.dataset : {};
    $('trials').replaceChildren(el('thead', {}, head), el('tbody', {}, body));
    const refocus = focused.sort !== undefined ? $('trials').querySelector(`th[data-sort="${CSS.escape(focused.sort)}"]`)
      : focused.tid !== undefined ? $('trials').querySelector(`tr[data-tid="${CSS.escape(focused.tid)}"]`) : null;
    if (refocus) refocus.focus({preventScroll: true});
    const first = rows.length ? table.page * PAGE_SIZE + 1 : 0;
    const move = (delta) => () => { table.page += delta; renderTable(exp); };
    $('pager').replaceChildren(
      el('span', {id: 'page-range'}, `${count(first)}–${count(table.page * PAGE_SIZE + shown.length)} of ${count(rows.length)}`),
      el('button', {onclick: move(-1), disabled: table.page === 0, id: 'page-previous'}, '‹ Previous'),
      el('button', {onclick: move(1), disabled: table.page >= pages - 1, id: 'page-next'}, 'Next ›'));
  }

  // -- the configurations table ---------------------------------------------------------------

  // The best configurations as the server ranked them (its runs pooled); the hyperparameters
  // are those of the configuration's first trial, already on the page.
  function renderConfigurations(exp) {
    const table = exp.configurations;
    const params = tableColumns(exp).filter((column) => column.key.startsWith('param:'));
    const spread = (value, spreadValue) => fmt(value, 4) + (spreadValue === null ? '' : ` ± ${fmt(spreadValue, 2)}`);
    const columns = [
      ['Rank', true, (row, k) => String(k + 1)],
      ['Trial', true, (row) => String(row.tid)],
      ['Runs', true, (row) => count(row.runs)],
      ['Score (acc/s)', true, (row) => fmt(row.score, 4)],
      ['Lower bound', true, (row) => fmt(row.lower_bound, 4)],
      ['Accuracy', true, (row) => spread(row.accuracy, row.accuracy_spread)],
      ['Train s', true, (row) => spread(row.seconds, row.seconds_spread)],
      ['Below floor', false, (row) => (row.below_floor ? 'yes' : '')],
      ['Failed runs', true, (row) => (row.failed ? count(row.failed) : '')],
      ...params.map((column) => [column.label, false, (row) => {
        const i = exp.index.get(row.tid);
        return i === undefined ? '' : column.text(column.value(i));
      }]),
      ['Trials', false, (row) => row.tids.join(', ')],
    ];
    const head = el('tr', {}, columns.map(([label, num]) => el('th', {class: num ? 'num' : null}, label)));
    const body = table.rows.map((row, k) => el('tr', {
      class: `clickable${row.below_floor ? ' below' : ''}`, dataset: {configuration: row.tid},
      onclick: () => { location.hash = `#/experiments/${encodeURIComponent(exp.key)}/trials/${row.tid}`; }},
      columns.map(([, num, text]) => el('td', {class: num ? 'num' : null}, text(row, k)))));
    $('configurations').replaceChildren(el('thead', {}, head), el('tbody', {}, body));
    const unscored = table.total - table.ranked;
    $('configurations-note').textContent = `${count(table.rows.length)} best of ${count(table.ranked)} scored configurations`
      + (unscored ? ` (and ${count(unscored)} without a score yet)` : '')
      + (table.rows.length < table.ranked ? '; all of them: hpsearch export --by configuration' : '');
  }

  // -- one trial ------------------------------------------------------------------------------

  async function loadDetail(tid) {
    const exp = app.exp;
    try {
      const trial = await getJSON(`api/experiments/${encodeURIComponent(exp.key)}/trials/${tid}`);
      if (app.exp !== exp || app.route.tid !== tid) return;
      app.detail = {tid, trial};
    } catch (error) {
      if (app.exp !== exp || app.route.tid !== tid) return;
      app.detail = {tid, error: error.message};
    }
    drawDetail();
  }

  function renderDetail() {
    const drawer = $('drawer');
    if (!drawer) return;
    const tid = app.route.tid;
    for (const row of document.querySelectorAll('#trials tbody tr')) {
      row.classList.toggle('selected', Number(row.dataset.tid) === tid);
    }
    if (tid === null || tid === undefined) {
      drawer.hidden = true;
      app.detail = null;
      return;
    }
    if (!app.detail || app.detail.tid !== tid) {
      app.detail = {tid, loading: true};
      drawDetail();
      $('detail-close').focus({preventScroll: true});  // the keyboard is in the drawer now
      loadDetail(tid);
    }
  }

  function kv(pairs) {
    return el('div', {class: 'kv'}, pairs.filter(([, value]) => value !== undefined).flatMap(([key, value]) => [
      el('div', {class: 'k'}, key),
      el('div', {class: 'v', dataset: {field: key}}, value === null ? '–' : (typeof value === 'object' ? JSON.stringify(value) : String(value)))]));
  }

  function drawDetail() {
    const drawer = $('drawer');
    const detail = app.detail;
    if (!drawer || !detail) return;
    drawer.hidden = false;
    const close = () => { location.hash = `#/experiments/${encodeURIComponent(app.exp.key)}`; };
    const head = (state) => el('div', {class: 'drawer-head'},
      el('h2', {}, `Trial ${detail.tid}`), state ? el('span', {class: `state ${state}`, id: 'detail-state'}, state) : null,
      el('button', {class: 'close', title: 'close (Escape)', onclick: close, id: 'detail-close'}, '×'));
    // The keyboard stays in the drawer as its contents are drawn again.
    const focused = drawer.contains(document.activeElement);
    const show = (...parts) => {
      drawer.replaceChildren(...parts);
      if (focused) $('detail-close').focus({preventScroll: true});
    };
    if (detail.loading) { show(head(null), el('p', {class: 'empty'}, 'reading the trial…')); return; }
    if (detail.error) { show(head(null), el('p', {class: 'message error'}, detail.error)); return; }
    const trial = detail.trial;
    const doc = trial.document;
    const result = doc.result && typeof doc.result === 'object' ? doc.result : {};
    const shown = new Set(['status', 'loss', 'accuracy', 'train_seconds', 'below_accuracy_floor', 'pruned',
                           'reason', 'error', 'error_type', 'traceback', 'device', 'device_type', 'worker',
                           'timing', 'epochs', 'val_accuracy_per_epoch']);
    // A pruned trial scores 0, as the table shows it: a run stopped early is no evidence of more.
    const score = typeof result.loss === 'number' && ['ok', 'pruned'].includes(trial.state)
      ? 0 - result.loss : null;
    const parts = [head(trial.state)];
    if (trial.state === 'failed' || result.reason) {
      parts.push(el('h3', {}, 'Failure'), el('div', {class: 'failure', id: 'detail-failure'},
        el('div', {class: 'reason', id: 'detail-reason'}, result.reason || 'failed'),
        result.error_type || result.error ? el('div', {id: 'detail-error'}, [result.error_type, result.error].filter(Boolean).join(': ')) : null,
        result.traceback ? el('pre', {class: 'traceback', id: 'detail-traceback'}, result.traceback) : null));
    }
    parts.push(el('h3', {}, 'Outcome'), kv([
      ['score (accuracy/s)', score === null ? null : fmt(score, 5)],
      ['accuracy', result.accuracy ?? null], ['train seconds', result.train_seconds ?? null],
      ['epochs', result.epochs ?? null], ['below the floor', result.below_accuracy_floor ?? null],
      ['pruned', result.pruned === true ? 'yes' : undefined], ['status', result.status ?? null]]));
    parts.push(el('h3', {}, 'Hyperparameters'), el('div', {id: 'detail-params'}, kv(Object.entries(trial.params))));
    parts.push(el('h3', {}, 'Timing'), kv([
      ['reserved (book_time)', doc.book_time ?? null], ['last change (refresh_time)', doc.refresh_time ?? null],
      ['train seconds', result.train_seconds ?? null], ['attempt', doc.attempt ?? 0],
      ['what is timed', result.timing ?? null]]));
    parts.push(el('h3', {}, 'Where it ran'), kv([
      ['device', result.device ?? null], ['device type', result.device_type ?? null],
      ['worker', result.worker ?? doc.owner ?? null]]));
    const rest = Object.entries(result).filter(([key]) => !shown.has(key));
    if (rest.length) parts.push(el('h3', {}, 'Other result fields'), kv(rest));
    const curve = result.val_accuracy_per_epoch;
    if (Array.isArray(curve) && curve.length) {
      parts.push(el('h3', {}, 'Validation accuracy per epoch'),
                 el('div', {class: 'mono'}, curve.map((v) => (v === null ? '–' : Number(v).toFixed(4))).join('  ')));
    }
    show(...parts);
  }

  // -- start ----------------------------------------------------------------------------------

  window.addEventListener('hashchange', onRoute);
  window.addEventListener('keydown', (event) => {  // Escape closes a trial's details
    if (event.key === 'Escape' && app.exp && app.route.tid !== null && app.route.tid !== undefined) {
      location.hash = `#/experiments/${encodeURIComponent(app.exp.key)}`;
    }
  });
  setInterval(() => { updateLive(); if (app.route.page === 'workers') tickAges(); }, 1000);
  onRoute();
})();
