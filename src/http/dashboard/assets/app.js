// ferry dashboard: renders the jobs of GET /api/dashboard/jobs and keeps them current from the
// server-sent events of /api/dashboard/events. Plain DOM (textContent only: nothing from a job is
// ever parsed as HTML), uPlot for the rate charts. Read-only: it sends nothing but GETs.
'use strict';
(() => {
  const key = new URLSearchParams(location.search).get('api_key');
  const withKey = (url) => (key ? `${url}?api_key=${encodeURIComponent(key)}` : url);
  const jobs = new Map();
  const charts = new Map();
  let filter = '';

  // ---- formatting ----
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  function bytes(n) {
    if (n == null) return '–';
    let i = 0;
    let v = Number(n);
    while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
    return `${v >= 100 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
  }
  const rate = (n) => `${bytes(n)}/s`;
  const count = (n) => Number(n).toLocaleString('en');
  function duration(sec) {
    if (sec == null || !isFinite(sec)) return '–';
    sec = Math.max(0, Math.round(sec));
    const d = Math.floor(sec / 86400); const h = Math.floor((sec % 86400) / 3600); const m = Math.floor((sec % 3600) / 60); const s = sec % 60;
    if (d) return `${d} d ${h} h`;
    if (h) return `${h} h ${m} min`;
    if (m) return `${m} min ${s} s`;
    return `${s} s`;
  }
  function when(ms) {
    if (ms == null) return '–';
    const d = new Date(ms);
    const today = new Date().toDateString() === d.toDateString();
    return today ? d.toLocaleTimeString('en-GB') : `${d.toLocaleDateString('en-CA')} ${d.toLocaleTimeString('en-GB')}`;
  }
  function ago(ms) {
    if (ms == null) return 'never';
    return `${duration((Date.now() - ms) / 1000)} ago`;
  }
  // A command as a POSIX shell reads it.
  const shq = (w) => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${String(w).replace(/'/g, `'\\''`)}'`);

  // ---- DOM ----
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) if (c !== undefined && c !== null && c !== false) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return el;
  }
  const kv = (pairs) => h('dl', { class: 'kv' }, pairs.filter(Boolean).map(([k, v]) => [h('dt', { text: k }), h('dd', {}, v)]));
  function table(head, rows, numeric = []) {
    return h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, head.map((t, i) => h('th', { scope: 'col', class: numeric.includes(i) ? 'num' : undefined, text: t })))),
      h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => h('td', { class: numeric.includes(i) ? 'num' : undefined }, c)))))));
  }
  const details = (key, title, ...body) => h('details', { 'data-key': key }, h('summary', { text: title }), ...body);
  function bar(label, done, total, shown) {
    const id = `p${Math.random().toString(36).slice(2)}`;
    const pct = total > 0 ? Math.min(100, (done / total) * 100) : (done > 0 ? 100 : 0);
    return h('div', { class: 'bar' },
      h('label', { for: id }, h('span', { text: label }), h('span', { text: `${shown} (${pct.toFixed(pct < 10 && pct > 0 ? 1 : 0)} %)` })),
      h('progress', { id, max: 100, value: pct.toFixed(2) }, `${pct.toFixed(0)} %`));
  }

  // ---- faces ----
  function copyBody(j, c) {
    const r = c.run;
    const running = j.state === 'running';
    const totalFiles = c.synced.files + c.pending.files + c.failedCount;
    const totalBytes = c.synced.bytes + c.pending.bytes;
    // While it runs, the bytes of the files in flight count too: a big file moves the bar before it lands.
    const inFlight = running && r ? r.current.reduce((n, f) => n + f.done, 0) : 0;
    const parts = [
      kv([['from', h('span', { class: 'path', text: c.source })], ['to', h('span', { class: 'path', text: c.destination })], running && ['phase', c.phase]]),
      bar('files', c.synced.files, totalFiles, `${count(c.synced.files)} of ${count(totalFiles)}`),
      bar('bytes', c.synced.bytes + inFlight, totalBytes, `${bytes(c.synced.bytes + inFlight)} of ${bytes(totalBytes)}`),
    ];
    if (r) {
      parts.push(kv([
        running && ['rate now', h('span', { 'data-field': 'rate-now', text: rate(r.rateNow) })],
        ['rate on average', rate(r.rateAvg)],
        ['this run', `${count(r.filesDone)} files, ${bytes(r.bytesSession)}`],
        running && ['backlog', `${count(r.backlogFiles)} files, ${bytes(r.backlogBytes)}`],
        running && ['ETA', r.etaSec == null ? '–' : `${duration(r.etaSec)} (at ${when(Date.now() + r.etaSec * 1000)})`],
        running && ['process', `${r.host} pid ${r.pid}, heard ${ago(r.atMs)}`],
      ]));
      if (running && r.current.length) parts.push(h('ul', { class: 'plain' }, r.current.map((f) => h('li', {}, h('span', { class: 'path', text: f.path }), ` ${bytes(f.done)} of ${bytes(f.size)}`))));
    } else if (!running) {
      parts.push(kv([['left', `${count(c.pending.files)} files, ${bytes(c.pending.bytes)}`]]));
    }
    if (c.workers.length) {
      parts.push(details('workers', `Workers (${c.workers.length})`, table(['host', 'pid', 'state', 'files', 'bytes', 'rate', 'heartbeat'],
        c.workers.map((w) => [w.host, w.pid, w.stale ? `${w.state} (silent)` : w.state, count(w.files), bytes(w.bytes), rate(w.rate), ago(w.heartbeatMs)]), [1, 3, 4, 5])));
    }
    if (c.failedCount) {
      parts.push(details('failures', `Failed files (${count(c.failedCount)})`, h('ul', { class: 'plain failures' }, c.failures.map((f) =>
        h('li', {}, h('span', { class: 'path', text: f.path }), ': ', h('span', { class: 'err', text: f.error }), f.attempts > 1 ? ` (${f.attempts} attempts)` : '')))));
    }
    if (c.runs.length) {
      parts.push(details('runs', `Past runs (${c.runs.length})`, table(['run', 'mode', 'ended', 'started', 'took', 'copied', 'failed'],
        c.runs.map((x) => [x.id, x.mode, x.status === null ? (running && r && r.id === x.id ? 'running' : 'no end recorded') : x.status, when(x.startedMs),
          x.endedMs ? duration((x.endedMs - x.startedMs) / 1000) : '–', `${count(x.filesCopied)} files, ${bytes(x.bytesCopied)}`,
          x.filesFailed ? h('span', { class: 'err', text: String(x.filesFailed) }) : '0']), [0, 6])));
    }
    parts.push(h('p', { class: 'resume-label', text: running ? 'Goes on after a stop with:' : 'Resume or run again with:' }), h('code', { class: 'cmd', text: c.resume.map(shq).join(' ') }));
    return parts;
  }

  function watchBody(j, w) {
    return w.roots.map((r) => h('section', { class: 'root' },
      kv([['root', h('span', { class: 'path', text: r.path })], ['files', count(r.files)], ['watcher', h('span', { class: r.healthy ? 'online' : 'away', text: r.health })]]),
      details(`ops-${r.id}`, `History (${r.operations.length})`, table(['operation', 'status', 'started', 'took', 'scanned', 'added', 'updated', 'removed'],
        r.operations.map((o) => [o.type, o.error ? h('span', { class: 'err', text: `${o.status}: ${o.error}` }) : o.status, when(o.startMs),
          o.durationMs == null ? '–' : duration(o.durationMs / 1000), count(o.scanned), count(o.added), count(o.updated), count(o.removed)]), [4, 5, 6, 7]))));
  }

  function routeBody(j, r) {
    return [
      table(['drive', 'category', 'now', 'last seen', 'waiting', 'delivered'], r.drives.map((d) => [
        d.label, d.category, h('span', { class: d.online ? 'online' : 'away', text: d.online ? 'online' : 'away' }), d.lastSeenMs ? when(d.lastSeenMs) : 'never',
        `${count(d.pending)} files, ${bytes(d.pendingBytes)}${d.failing ? ` (${d.failing} failing)` : ''}`, `${count(d.delivered)}, ${bytes(d.deliveredBytes)}`]), []),
      details('recent', `Recent deliveries (${r.recent.length})`, table(['when', 'drive', 'file', 'size'],
        r.recent.map((x) => [when(x.atMs), x.drive, h('span', { class: 'path', text: x.path }), bytes(x.size)]), [3])),
    ];
  }

  function serverBody(j, s) {
    return [
      table(['client', 'platform', 'now', 'last seen', 'has seen'], s.clients.map((c) => [
        c.name, c.platform || '–', h('span', { class: c.connected ? 'online' : 'away', text: c.connected ? 'connected' : 'not connected' }), ago(c.lastSeenMs), `change ${c.lastSeq}`]), [4]),
      details('changes', `Change feed (last ${s.changes.length} of ${s.sequence})`, table(['seq', 'change', 'path', 'by', 'when'],
        s.changes.map((c) => [c.seq, c.op, h('span', { class: 'path', text: c.path }), c.client || 'the server', when(c.atMs)]), [0])),
      s.conflicts.length
        ? details('conflicts', `Conflicts (${s.conflicts.length})`, table(['path', 'the other version kept as', 'client', 'when'],
          s.conflicts.map((c) => [h('span', { class: 'path', text: c.path }), h('span', { class: 'path', text: c.copy }), c.client || '–', when(c.atMs)])))
        : h('p', { class: 'state-text', text: 'No conflicts.' }),
    ];
  }

  function vaultBody(j, v) {
    return [
      kv([['managed', h('span', { class: 'path', text: v.managed })], ['cloud', h('span', { class: 'path', text: v.remote })], ['this device', v.device],
        ['last sync', v.lastSync ? `${v.lastSync.at || 'never'}${v.lastSync.result ? ` (${v.lastSync.result})` : ''}${v.lastSync.message ? `: ${v.lastSync.message}` : ''}` : 'never'],
        ['lock', v.lock ? `${v.lock.owner}, ${v.lock.purpose}, until ${v.lock.expires}${v.lock.expired ? ' (expired)' : ''}` : 'free']]),
      h('ul', { class: 'plain' }, v.summary.map((s) => h('li', { text: s }))),
      table(['device', 'host', 'last sync'], v.devices.map((d) => [d.name, d.host, d.lastSync])),
    ];
  }

  const faceBody = { copy: copyBody, watch: watchBody, route: routeBody, server: serverBody, vault: vaultBody };

  // ---- a job's card ----
  function render(j) {
    let card = document.getElementById(`job-${j.id}`);
    const open = new Set();
    if (!card) {
      card = h('article', { id: `job-${j.id}`, 'aria-labelledby': `title-${j.id}` });
      card.append(h('div', { class: 'head' }), h('div', { class: 'body' }));
      if (j.face === 'copy') card.append(h('div', { class: 'chart', 'data-points': '0', role: 'img', 'aria-label': 'transfer rate over the run' }));
      document.getElementById('jobs').append(card);
    } else {
      for (const d of card.querySelectorAll('details[open]')) open.add(d.dataset.key);
    }
    // The keyboard's place survives the redraw: the summary that had focus gets it back.
    const focusedKey = card.contains(document.activeElement) ? document.activeElement.closest('details')?.dataset.key : undefined;
    card.dataset.face = j.face;
    card.dataset.state = j.state;
    card.hidden = filter !== '' && filter !== j.face;
    const head = card.querySelector('.head');
    head.replaceChildren(
      h('div', { class: 'top' }, h('span', { class: 'face', text: j.face }), h('span', { class: `badge s-${j.state}`, text: j.state })),
      h('h2', { id: `title-${j.id}`, text: j.title }),
      h('p', { class: 'state-text' }, j.stateText, j.sinceMs && j.state !== 'running' ? ` — ${when(j.sinceMs)}` : ''),
      j.error ? h('p', { class: 'err', text: j.error }) : '',
      h('p', { class: 'path', text: j.location }));
    const body = card.querySelector('.body');
    const data = j[j.face];
    body.replaceChildren(...(data ? faceBody[j.face](j, data) : []));
    for (const d of body.querySelectorAll('details')) if (open.has(d.dataset.key)) d.open = true;
    if (focusedKey) body.querySelector(`details[data-key="${CSS.escape(focusedKey)}"] > summary`)?.focus();
    if (j.face === 'copy' && data) drawChart(card, j.id, data.rates);
  }

  function drawChart(card, id, rates) {
    const el = card.querySelector('.chart');
    el.dataset.points = String(rates.length);
    if (!window.uPlot || rates.length < 2) {
      el.hidden = rates.length < 2;
      return;
    }
    el.hidden = false;
    const data = [rates.map((r) => r[0] / 1000), rates.map((r) => r[1] / 1048576)];
    const width = Math.max(200, el.clientWidth || card.clientWidth - 32);
    let u = charts.get(id);
    if (!u) {
      u = new window.uPlot({
        width, height: 160, legend: { show: false }, cursor: { show: false },
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] } },
        axes: [{ stroke: '#59636e', grid: { stroke: '#d1d9e033' } }, { stroke: '#59636e', grid: { stroke: '#d1d9e033' }, label: 'MiB/s', size: 50 }],
        series: [{}, { label: 'rate', stroke: '#0969da', fill: '#0969da22', width: 2 }],
      }, data, el);
      charts.set(id, u);
    } else {
      u.setData(data);
      if (Math.abs(u.width - width) > 2) u.setSize({ width, height: 160 });
    }
  }

  function summarize() {
    const all = [...jobs.values()];
    const running = all.filter((j) => j.state === 'running').length;
    const failed = all.filter((j) => ['failed', 'killed', 'unreadable'].includes(j.state)).length;
    document.getElementById('summary').textContent = `${all.length} job${all.length === 1 ? '' : 's'}: ${running} running${failed ? `, ${failed} needing a look` : ''}`;
    document.getElementById('empty').hidden = all.length > 0;
  }

  function put(j) {
    jobs.set(j.id, j);
    render(j);
    summarize();
  }

  function remove(id) {
    jobs.delete(id);
    document.getElementById(`job-${id}`)?.remove();
    charts.get(id)?.destroy();
    charts.delete(id);
    summarize();
  }

  // ---- filters, keyboard ----
  for (const b of document.querySelectorAll('#filters button')) {
    b.addEventListener('click', () => {
      filter = b.dataset.face;
      for (const o of document.querySelectorAll('#filters button')) o.setAttribute('aria-pressed', String(o === b));
      for (const card of document.querySelectorAll('article')) card.hidden = filter !== '' && filter !== card.dataset.face;
    });
  }
  window.addEventListener('resize', () => {
    for (const [id, u] of charts) {
      const el = document.getElementById(`job-${id}`)?.querySelector('.chart');
      if (el && el.clientWidth) u.setSize({ width: el.clientWidth, height: 160 });
    }
  });

  // ---- data ----
  const link = document.getElementById('link');
  function status(text, cls) {
    link.textContent = text;
    link.className = `link ${cls}`;
  }

  async function load() {
    const res = await fetch(withKey('/api/dashboard/jobs'), { headers: { accept: 'application/json' } });
    const body = await res.json();
    if (!res.ok) throw new Error(body.message || `HTTP ${res.status}`);
    const seen = new Set();
    for (const j of body.jobs) { seen.add(j.id); put(j); }
    for (const id of [...jobs.keys()]) if (!seen.has(id)) remove(id);
    summarize();
  }

  function listen() {
    const es = new EventSource(withKey('/api/dashboard/events'));
    // Every (re)connection reloads the jobs: what changed while the stream was down is not replayed.
    es.addEventListener('open', () => {
      status('live', 'live');
      load().catch(() => status('reconnecting…', 'down'));
    });
    es.addEventListener('job', (e) => put(JSON.parse(e.data)));
    es.addEventListener('gone', (e) => remove(JSON.parse(e.data)));
    es.addEventListener('error', () => status('reconnecting…', 'down'));
  }

  load().then(listen, (err) => {
    status('not connected', 'down');
    document.getElementById('summary').textContent = `Cannot read the jobs: ${err.message}`;
  });
  // "heard 3 s ago" and the like move on without new data.
  setInterval(() => { for (const j of jobs.values()) if (j.state === 'running') render(j); }, 5000);
})();
