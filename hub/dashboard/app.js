// Reflex dashboard: plain JavaScript, no build step, served by the hub itself.
// Everything it shows comes from the hub's HTTP API with the operator's bearer token
// (kept in sessionStorage only). Live updates come from GET /api/v1/events/stream,
// read with fetch() so the token travels in the Authorization header, never in a URL.
'use strict';

const TOKEN_KEY = 'reflex.token';
const SEVERITIES = ['info', 'warning', 'high', 'critical'];
const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  me: null,           // {name, role, open}
  view: null,         // {refresh(), onEvent(name, data)}
  stream: null,       // AbortController of the open event stream
  details: new Map(), // incident id -> detail document (for the list's suspect column)
};

// ---- DOM helpers: text is always set as text, never parsed as HTML ----

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function mount(...nodes) {
  const main = document.getElementById('main');
  main.replaceChildren(...nodes.filter(Boolean));
}

function toast(message, bad) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = bad ? 'toast bad' : 'toast';
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, bad ? 8000 : 3000);
}

// ---- time ----

function relative(ms, now) {
  if (!ms) return '—';
  const s = Math.round((now - ms) / 1000);
  const a = Math.abs(s);
  let text;
  if (a < 45) text = `${a}s`;
  else if (a < 2700) text = `${Math.round(a / 60)}m`;
  else if (a < 64800) text = `${Math.round(a / 3600)}h`;
  else text = `${Math.round(a / 86400)}d`;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

// A time of the hub's clock (`ms`, when the hub's clock read `hubNowMs`) on this
// browser's clock, so relative times are right even if the two clocks disagree.
function fromHubClock(ms, hubNowMs) {
  return Date.now() - (hubNowMs - ms);
}

// A <time> showing "3m ago", the exact time on hover; kept fresh by tick().
function when(ms) {
  if (!ms) return h('span', { class: 'muted' }, '—');
  const exact = new Date(ms);
  return h('time', { datetime: exact.toISOString(), title: exact.toString(), 'data-ms': ms },
    relative(ms, Date.now()));
}

function age(ms) {
  if (!ms) return '—';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

function tick() {
  const now = Date.now();
  for (const t of document.querySelectorAll('time[data-ms]')) {
    t.textContent = relative(Number(t.dataset.ms), now);
  }
  for (const t of document.querySelectorAll('[data-age]')) {
    t.textContent = age(Number(t.dataset.age));
  }
}
setInterval(tick, 10000);

// ---- the API ----

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: 'application/json' };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method: options.method || 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: 'no-store',
  });
  const text = await res.text();
  let doc = null;
  try { doc = text ? JSON.parse(text) : null; } catch (e) { doc = null; }
  if (!res.ok) {
    const err = (doc && doc.error) || {};
    if (res.status === 401 && state.me) logout('Your token was not accepted: log in again.');
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message || res.statusText);
  }
  return doc;
}

const canAct = () => state.me && (state.me.role === 'responder' || state.me.role === 'admin');

// ---- live updates (server-sent events over fetch) ----

function setLive(text, cls) {
  const el = document.getElementById('live');
  el.textContent = text;
  el.className = `live ${cls || ''}`;
}

async function streamLoop() {
  let backoff = 1000;
  while (state.token || (state.me && state.me.open)) {
    const ctrl = new AbortController();
    state.stream = ctrl;
    try {
      const headers = { Accept: 'text/event-stream' };
      if (state.token) headers.Authorization = `Bearer ${state.token}`;
      const res = await fetch('/api/v1/events/stream', { headers, signal: ctrl.signal, cache: 'no-store' });
      if (res.status === 401) { logout('Your token was not accepted: log in again.'); return; }
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let name = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (block.startsWith(':')) continue;  // keep-alive comment
          if (name === 'ready') {
            backoff = 1000;
            setLive('live', 'on');
            // What changed while we were not listening: read everything again.
            if (state.view) state.view.refresh();
            continue;
          }
          let doc = {};
          try { doc = data ? JSON.parse(data) : {}; } catch (e) { doc = {}; }
          if (name === 'incident') state.details.delete(doc.id);
          if (name === 'resync') state.details.clear();
          if (state.view) state.view.onEvent(name, doc);
        }
      }
    } catch (e) {
      if (ctrl.signal.aborted) return;
    }
    if (state.stream !== ctrl) return;
    setLive('reconnecting', 'off');
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 15000);
  }
}

function stopStream() {
  if (state.stream) state.stream.abort();
  state.stream = null;
}

// Coalesces a burst of events into one refresh.
function debounced(fn, ms = 250) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}

// ---- login ----

function logout(message) {
  stopStream();
  state.token = '';
  state.me = null;
  sessionStorage.removeItem(TOKEN_KEY);
  document.getElementById('nav').hidden = true;
  document.getElementById('who').hidden = true;
  showLogin(message);
}

function showLogin(message) {
  state.view = null;
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'off', required: true,
    'aria-describedby': 'token-help' });
  const error = h('p', { class: 'error', role: 'alert' }, message || '');
  const form = h('form', { class: 'panel login', onsubmit: async (ev) => {
    ev.preventDefault();
    state.token = input.value.trim();
    try {
      await start();
    } catch (e) {
      state.token = '';
      error.textContent = e.status === 401 ? 'That token is not known to this hub.' : `Cannot reach the hub: ${e.message}`;
      input.focus();
    }
  } },
  h('h1', {}, 'Log in to Reflex'),
  h('label', { for: 'token' }, 'API token', input),
  h('p', { id: 'token-help', class: 'muted' },
    'The same bearer token reflexctl uses. It is kept for this browser tab only.'),
  h('button', { type: 'submit', class: 'primary', id: 'login' }, 'Log in'),
  error);
  mount(form);
  input.focus();
}

async function start() {
  const me = await api('/api/v1/whoami');
  if (me.open && !state.token) {
    // An open API (loopback, no tokens): no login needed.
  } else if (!me.name) {
    throw new ApiError(401, 'unauthorized', 'unknown token');
  }
  state.me = me;
  if (state.token) sessionStorage.setItem(TOKEN_KEY, state.token);
  document.getElementById('nav').hidden = false;
  document.getElementById('who').hidden = false;
  document.getElementById('me').textContent = me.open ? 'open API' : `${me.name} (${me.role})`;
  document.getElementById('logout').hidden = !state.token;
  route();
  stopStream();
  streamLoop();
}

// ---- routing ----

function route() {
  if (!state.me) return;
  const parts = (location.hash || '#/incidents').slice(2).split('/').map(decodeURIComponent);
  const section = parts[0] || 'incidents';
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.dataset.section === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (section === 'incidents' && parts[1]) state.view = incidentView(parts[1]);
  else if (section === 'agents' && parts[1]) state.view = agentView(parts[1]);
  else if (section === 'agents') state.view = agentsView();
  else if (section === 'silences') state.view = silencesView();
  else if (section === 'changes') state.view = changesView();
  else state.view = incidentsView();
  state.view.refresh();
  document.getElementById('main').focus({ preventScroll: true });
}
window.addEventListener('hashchange', route);

function failed(where, e) {
  return h('p', { class: 'error', role: 'alert' }, `${where}: ${e.message}`);
}

function sevBadge(sev) {
  return h('span', { class: `sev sev-${sev}` }, sev);
}

function stateText(s) {
  return h('span', { class: `state state-${s}` }, s);
}

// ---- incidents list ----

const filters = { status: 'open', severity: '', service: '' };

function incidentsView() {
  const status = h('select', { id: 'f-status', onchange: () => { filters.status = status.value; view.refresh(); } },
    ['open', 'triggered', 'acknowledged', 'resolved', 'all'].map((s) =>
      h('option', { value: s, selected: filters.status === s }, s)));
  const severity = h('select', { id: 'f-severity', onchange: () => { filters.severity = severity.value; view.refresh(); } },
    h('option', { value: '' }, 'any'),
    SEVERITIES.map((s) => h('option', { value: s, selected: filters.severity === s }, `${s} or higher`)));
  const service = h('input', { id: 'f-service', type: 'search', placeholder: 'exact name', value: filters.service,
    onchange: () => { filters.service = service.value.trim(); view.refresh(); } });
  const body = h('div', { id: 'incidents' }, h('p', { class: 'muted' }, 'Loading…'));
  mount(h('h1', {}, 'Incidents'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
      h('label', {}, 'Status', status), h('label', {}, 'Severity', severity),
      h('label', {}, 'Service', service)),
    body);

  async function load() {
    const q = new URLSearchParams({ limit: '200' });
    if (filters.status !== 'all') q.set('status', filters.status);
    if (filters.severity) q.set('severity', filters.severity);
    if (filters.service) q.set('service', filters.service);
    let doc;
    try {
      doc = await api(`/api/v1/incidents?${q}`);
    } catch (e) {
      body.replaceChildren(failed('Cannot list incidents', e));
      return;
    }
    const list = doc.incidents.slice().sort((a, b) => {
      const open = (i) => (i.status === 'resolved' ? 1 : 0);
      return open(a) - open(b) ||
        SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || b.opened_ms - a.opened_ms;
    });
    if (!list.length) {
      body.replaceChildren(h('p', { class: 'empty' }, 'No incidents match.'));
      return;
    }
    const rows = list.map((i) => {
      const suspect = h('td', { class: 'hide-narrow' }, '');
      fillSuspect(i, suspect);
      return h('tr', { class: `sev-${i.severity} ${i.status}`, 'data-id': i.id },
        h('td', {}, sevBadge(i.severity)),
        h('td', {}, h('a', { href: `#/incidents/${i.id}` }, `#${i.id} ${i.title}`)),
        h('td', {}, i.service || '—'),
        h('td', { title: i.hosts }, `${i.status === 'resolved' ? i.peak_hosts : i.affected_hosts}/${i.known_hosts || '?'}`),
        h('td', { 'data-age': i.opened_ms, title: new Date(i.opened_ms).toString() }, age(i.opened_ms)),
        h('td', {}, stateText(i.status)),
        h('td', { class: 'hide-narrow' }, i.owner || i.acknowledged_by || '—'),
        suspect);
    });
    body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'incident-table' },
      h('thead', {}, h('tr', {}, ['Severity', 'Incident', 'Service', 'Hosts', 'Age', 'State', 'Owner', 'Suspect change']
        .map((c, n) => h('th', { scope: 'col', class: n >= 6 ? 'hide-narrow' : null }, c)))),
      h('tbody', {}, rows))));
  }
  const view = { refresh: load, onEvent: debounced(load) };
  return view;
}

// The list has no suspect column of its own: open incidents' details are read (and
// cached until the incident changes).
async function fillSuspect(incident, cell) {
  if (incident.status === 'resolved') { cell.textContent = '—'; return; }
  let d = state.details.get(incident.id);
  if (!d) {
    try { d = await api(`/api/v1/incidents/${incident.id}`); } catch (e) { return; }
    state.details.set(incident.id, d);
  }
  if (d.suspect) {
    const c = d.suspect.change;
    cell.replaceChildren(h('span', { title: d.suspect.summary }, `${c.service} ${c.version || c.id}`));
  } else {
    cell.textContent = '—';
  }
}

// ---- one incident ----

function incidentView(id) {
  const root = h('div', { id: 'incident' }, h('p', { class: 'muted' }, 'Loading…'));
  mount(h('p', {}, h('a', { href: '#/incidents' }, '← All incidents')), root);
  let busy = false;

  async function act(path, body, label) {
    if (busy) return;
    busy = true;
    for (const b of root.querySelectorAll('.actions button')) b.disabled = true;
    try {
      await api(`/api/v1/incidents/${id}/${path}`, { method: 'POST', body: body || {} });
      toast(`${label}: done`);
    } catch (e) {
      toast(`${label} refused: ${e.message}`, true);
    } finally {
      busy = false;
      await load();
    }
  }

  function actions(inc) {
    if (!canAct()) return h('p', { class: 'muted', id: 'read-only' }, `Read only: your token's role is ${state.me.role}.`);
    const open = inc.status !== 'resolved';
    const respond = (option, label) => h('button', { type: 'button', 'data-action': option,
      onclick: () => act('respond', { option }, label) }, label);
    const note = h('textarea', { id: 'note-text', 'aria-label': 'Note', placeholder: 'What you see or did' });
    return h('section', { class: 'panel', 'aria-labelledby': 'h-actions' },
      h('h2', { id: 'h-actions' }, 'Respond'),
      h('div', { class: 'actions' },
        inc.status === 'triggered' && h('button', { type: 'button', class: 'primary', 'data-action': 'acknowledge',
          onclick: () => act('ack', {}, 'Acknowledge') }, 'Acknowledge'),
        open && respond('start_mim', 'Start MIM'),
        open && respond('remediate', 'Remediate'),
        open && respond('rollback', 'Roll back'),
        open && h('button', { type: 'button', class: 'danger', 'data-action': 'resolve',
          onclick: () => act('resolve', {}, 'Resolve') }, 'Resolve')),
      h('form', { class: 'note-form', onsubmit: (e) => {
        e.preventDefault();
        const text = note.value.trim();
        if (text) act('notes', { text }, 'Note').then(() => { note.value = ''; });
      } }, note, h('button', { type: 'submit', 'data-action': 'note' }, 'Add note')));
  }

  async function load() {
    let d;
    try {
      d = await api(`/api/v1/incidents/${encodeURIComponent(id)}`);
    } catch (e) {
      root.replaceChildren(failed(`Cannot read incident ${id}`, e));
      return;
    }
    state.details.set(d.incident.id, d);
    const inc = d.incident;
    document.title = `#${inc.id} ${inc.title} — Reflex`;
    const hosts = [...new Set(d.members.map((m) => m.host).filter(Boolean))];
    const firingHosts = new Set(d.alerts.filter((a) => a.state === 'firing').map((a) => a.host));
    root.replaceChildren(...[
      h('h1', {}, sevBadge(inc.severity), ' ', `#${inc.id} ${inc.title}`),
      h('section', { class: 'panel', 'aria-label': 'Summary' },
        h('dl', { class: 'facts' },
          h('dt', {}, 'State'), h('dd', { id: 'incident-status' }, stateText(inc.status),
            inc.flapping ? ' (flapping)' : ''),
          h('dt', {}, 'Service'), h('dd', {}, inc.service || '—'),
          h('dt', {}, 'Hosts'), h('dd', {}, inc.hosts),
          h('dt', {}, 'Opened'), h('dd', {}, when(inc.opened_ms)),
          inc.acknowledged_ms ? [h('dt', {}, 'Acknowledged'), h('dd', { id: 'acked-by' }, `${inc.acknowledged_by}, `, when(inc.acknowledged_ms))] : null,
          inc.resolved_ms ? [h('dt', {}, 'Resolved'), h('dd', {}, `${inc.resolved_by}, `, when(inc.resolved_ms))] : null,
          h('dt', {}, 'Owner'), h('dd', {}, inc.owner || '—'),
          h('dt', {}, 'Links'), h('dd', {}, links(d.workflow)))),
      actions(inc),
      h('div', { class: 'grid2' },
        h('section', { class: 'panel', 'aria-labelledby': 'h-hosts' },
          h('h2', { id: 'h-hosts' }, 'Affected hosts'),
          hosts.length ? h('ul', {}, hosts.map((host) => h('li', {}, host, ' ',
            firingHosts.has(host) ? stateText('firing') : h('span', { class: 'muted' }, 'recovered'))))
            : h('p', { class: 'empty' }, 'None')),
        suspectPanel(d.suspect, d.changes)),
      h('section', { class: 'panel', 'aria-labelledby': 'h-alerts' },
        h('h2', { id: 'h-alerts' }, 'Member alerts'), alertsTable(d.alerts)),
      h('section', { class: 'panel', 'aria-labelledby': 'h-timeline' },
        h('h2', { id: 'h-timeline' }, 'Timeline'), timeline(d.timeline)),
      d.workflow && d.workflow.calls.length ? h('section', { class: 'panel', 'aria-labelledby': 'h-calls' },
        h('h2', { id: 'h-calls' }, 'Notifications and workflow calls'), callsTable(d.workflow.calls)) : null,
    ].filter(Boolean));
    tick();
  }
  const reload = debounced(load, 150);
  return {
    refresh: load,
    onEvent: (name, doc) => {
      if (name === 'resync' || (name === 'incident' && String(doc.id) === String(id))) reload();
    },
  };
}

function safeUrl(u) {
  return typeof u === 'string' && /^https?:\/\//i.test(u) ? u : null;
}

function links(workflow) {
  const out = [];
  const objects = (workflow && workflow.objects) || {};
  for (const [name, o] of Object.entries(objects)) {
    const data = o.data || {};
    const label = name === 'ticket' ? `Ticket ${data.key || ''}` :
      name === 'channel' ? `Channel #${data.name || data.id || ''}` :
        name === 'status_page' ? 'Status page' : null;
    if (!label) continue;
    const url = safeUrl(data.url);
    out.push(url ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, label) : h('span', {}, label));
  }
  if (!out.length) return h('span', { class: 'muted' }, 'no ticket, channel or status page yet');
  return h('span', { class: 'chips' }, out.map((x) => h('span', { class: 'chip' }, x)));
}

function suspectPanel(suspect, changes) {
  const panel = h('section', { class: 'panel', 'aria-labelledby': 'h-suspect' }, h('h2', { id: 'h-suspect' }, 'Suspect change'));
  if (suspect) {
    const c = suspect.change;
    const link = safeUrl(c.link);
    panel.append(
      h('p', { id: 'suspect-summary' }, suspect.summary),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Change'), h('dd', {}, link ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, c.id) : c.id),
        h('dt', {}, 'Service'), h('dd', {}, c.service, suspect.on_dependency ? ' (a dependency)' : ''),
        h('dt', {}, 'Version'), h('dd', {}, c.version || '—'),
        h('dt', {}, 'When'), h('dd', {}, when(c.at_ms), ` (${Math.round(suspect.lead_ms / 1000)} s before)`),
        h('dt', {}, 'By'), h('dd', {}, c.author || c.source || '—')),
      h('h3', {}, 'Evidence'),
      h('ul', {}, (suspect.evidence || []).map((e) => h('li', {}, typeof e === 'string' ? e : JSON.stringify(e)))));
  } else {
    panel.append(h('p', { class: 'empty' }, 'None named.'));
  }
  if (changes && changes.length) {
    panel.append(h('h3', {}, 'Recent changes'), h('ul', {}, changes.slice(0, 5).map((c) =>
      h('li', {}, `${c.service} ${c.version || c.id} `, when(c.at_ms)))));
  }
  return panel;
}

function kv(obj) {
  return h('span', { class: 'chips' }, Object.entries(obj || {}).map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`)));
}

function alertsTable(alerts) {
  if (!alerts.length) return h('p', { class: 'empty' }, 'None');
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, ['Host', 'Rule', 'State', 'Severity', 'Since', 'Value', 'Annotations and labels']
      .map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, alerts.map((a) => {
      const { value, threshold, ...annotations } = a.annotations || {};
      return h('tr', {},
        h('td', {}, a.host || '—'), h('td', {}, a.rule || a.fingerprint), h('td', {}, stateText(a.state)),
        h('td', {}, sevBadge(a.severity)), h('td', {}, when(a.since_ms)),
        h('td', { class: 'value' }, value === undefined ? '—' : value,
          threshold === undefined ? '' : h('span', { class: 'muted' }, ` (threshold ${threshold})`)),
        h('td', {}, kv(annotations), kv(a.labels)));
    }))));
}

function timeline(entries) {
  if (!entries.length) return h('p', { class: 'empty' }, 'Empty');
  return h('ol', { class: 'timeline', id: 'timeline' }, entries.map((e) => h('li', { 'data-kind': e.kind },
    h('span', {}, when(e.at_ms)),
    h('span', { class: `kind kind-${e.kind}` }, e.kind.replace(/_/g, ' ')),
    h('span', {}, e.text, e.actor ? h('span', { class: 'muted' }, ` — ${e.actor}`) : null,
      e.suppressed ? h('span', { class: 'muted' }, ` (${e.suppressed})`) : null))));
}

function callsTable(calls) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, ['When', 'Event', 'Step', 'Integration', 'State', 'Note'].map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, calls.map((c) => h('tr', {},
      h('td', {}, when(c.at_ms)), h('td', {}, c.event || 'refresh'), h('td', {}, `${c.step} (${c.kind})`),
      h('td', {}, c.integration || '—'), h('td', {}, c.state), h('td', {}, c.note || ''))))));
}

// ---- agents ----

function agentsView() {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  mount(h('h1', {}, 'Agents'), body);
  async function load() {
    let doc;
    try { doc = await api('/api/v1/agents'); } catch (e) { body.replaceChildren(failed('Cannot list agents', e)); return; }
    const agents = doc.agents.slice().sort((a, b) => (a.state === 'lost' ? 0 : 1) - (b.state === 'lost' ? 0 : 1) || a.id.localeCompare(b.id));
    if (!agents.length) { body.replaceChildren(h('p', { class: 'empty' }, 'No agent has connected yet.')); return; }
    const alive = agents.filter((a) => a.state === 'alive').length;
    body.replaceChildren(
      h('p', {}, `${alive} of ${agents.length} alive`),
      h('div', { class: 'table-wrap' }, h('table', { id: 'agent-table' },
        h('thead', {}, h('tr', {}, ['Agent', 'Host', 'State', 'Last heartbeat', 'Version', 'Spool', 'Open circuits', 'Labels']
          .map((c, n) => h('th', { scope: 'col', class: n >= 7 ? 'hide-narrow' : null }, c)))),
        h('tbody', {}, agents.map((a) => h('tr', {},
          h('td', {}, h('a', { href: `#/agents/${encodeURIComponent(a.id)}` }, a.id)),
          h('td', {}, a.hostname), h('td', {}, stateText(a.state)),
          h('td', {}, when(Date.now() - a.last_seen_ago_ms)), h('td', {}, a.version),
          h('td', {}, String(a.spool_depth)), h('td', { class: a.open_circuits ? 'error' : '' }, String(a.open_circuits)),
          h('td', { class: 'hide-narrow' }, kv(a.labels))))))));
    tick();
  }
  const timer = setInterval(() => { if (state.view === view) load(); else clearInterval(timer); }, 5000);
  const view = { refresh: load, onEvent: (name) => { if (name === 'agents' || name === 'resync') load(); } };
  return view;
}

function agentView(id) {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  mount(h('p', {}, h('a', { href: '#/agents' }, '← All agents')), body);
  async function load() {
    let doc;
    let alerts;
    try {
      [doc, alerts] = await Promise.all([api(`/api/v1/agents/${encodeURIComponent(id)}`),
        api('/api/v1/alerts?limit=1000')]);
    } catch (e) {
      body.replaceChildren(e.status === 404 ? h('p', { class: 'error' }, `No agent ${id}.`)
        : failed('Cannot read the agent', e));
      return;
    }
    const a = doc.agent;
    const mine = alerts.alerts.filter((x) => x.host === a.hostname || x.host === a.id);
    body.replaceChildren(
      h('h1', {}, `${a.id} `, stateText(a.state)),
      h('section', { class: 'panel' }, h('dl', { class: 'facts' },
        h('dt', {}, 'Host'), h('dd', {}, a.hostname),
        h('dt', {}, 'Version'), h('dd', {}, a.version),
        h('dt', {}, 'State since'), h('dd', {}, when(a.state_since_ms)),
        h('dt', {}, 'Last heartbeat'), h('dd', {}, when(Date.now() - a.last_seen_ago_ms)),
        h('dt', {}, 'Heartbeat every'), h('dd', {}, a.heartbeat_ms ? `${a.heartbeat_ms / 1000} s` : '—'),
        h('dt', {}, 'First seen'), h('dd', {}, when(a.first_seen_ms)),
        h('dt', {}, 'Spool depth'), h('dd', {}, String(a.spool_depth)),
        h('dt', {}, 'Open circuits'), h('dd', {}, String(a.open_circuits)),
        h('dt', {}, 'Labels'), h('dd', {}, kv(a.labels)))),
      h('section', { class: 'panel', 'aria-labelledby': 'h-checks' }, h('h2', { id: 'h-checks' }, 'Checks'),
        checksTable(doc.metrics, doc.now_ms)),
      h('section', { class: 'panel' }, h('h2', {}, 'Rules pending or firing on this host'),
        alertsTable(mine)));
    tick();
  }
  const timer = setInterval(() => { if (state.view === view) load(); else clearInterval(timer); }, 5000);
  const view = { refresh: load, onEvent: (name) => { if (name !== 'changes') load(); } };
  return view;
}

// The agent's series as its last `metrics` summary gave them: one row per series and
// label set, its state (0..3) and its statistics (`<series>.<stat>` samples).
const checkStates = ['ok', 'warning', 'critical', 'unknown'];

function checksTable(metrics, nowMs) {
  if (!metrics) return h('p', { class: 'empty' }, 'No metrics summary from this agent since the hub started.');
  const rows = new Map();
  for (const s of metrics.samples) {
    const dot = s.name.lastIndexOf('.');
    const series = dot > 0 ? s.name.slice(0, dot) : s.name;
    const stat = dot > 0 ? s.name.slice(dot + 1) : 'value';
    const key = `${series} ${JSON.stringify(s.labels)}`;
    if (!rows.has(key)) rows.set(key, { series, labels: s.labels, stats: [] });
    rows.get(key).stats.push([stat, s.value, s.unit]);
  }
  const number = (v) => (typeof v !== 'number' ? '—'
    : Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, ''));
  return h('div', {},
    h('p', { class: 'muted' }, 'As the agent last reported them ', when(fromHubClock(metrics.at_ms, nowMs)), '.'),
    h('div', { class: 'table-wrap' }, h('table', { id: 'checks' },
      h('thead', {}, h('tr', {}, ['Series', 'State', 'Statistics', 'Labels'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, [...rows.values()].map((r) => {
        const st = r.stats.find(([stat]) => stat === 'state');
        const shown = r.stats.filter(([stat]) => stat !== 'state');
        return h('tr', { 'data-series': r.series },
          h('td', {}, r.series),
          h('td', {}, st ? h('span', { class: `state check-${checkStates[st[1]] || 'unknown'}` },
            checkStates[st[1]] || String(st[1])) : '—'),
          h('td', {}, h('span', { class: 'chips' }, shown.map(([stat, v, unit]) =>
            h('span', { class: 'chip' }, `${stat}=${number(v)}${unit ? ` ${unit}` : ''}`)))),
          h('td', {}, kv(r.labels)));
      })))));
}

// ---- silences and maintenance windows ----

function silencesView() {
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const form = canAct() ? silenceForm(() => load()) : h('p', { class: 'muted' }, 'Read only: your token cannot create or expire silences.');
  const windows = h('div', {});
  mount(h('h1', {}, 'Silences and maintenance windows'), form, body,
    h('section', { class: 'panel', 'aria-labelledby': 'h-windows' },
      h('h2', { id: 'h-windows' }, 'Recurring maintenance windows'),
      h('p', { class: 'muted' }, 'Declared in hub.yaml (maintenance); a silence that starts later is a one-off window.'),
      windows));
  async function loadWindows() {
    let doc;
    try { doc = await api('/api/v1/maintenance'); } catch (e) { windows.replaceChildren(failed('Cannot list maintenance windows', e)); return; }
    if (!doc.windows.length) { windows.replaceChildren(h('p', { class: 'empty' }, 'None declared.')); return; }
    windows.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'window-table' },
      h('thead', {}, h('tr', {}, ['Name', 'State', 'When', 'Matchers', 'Now or next', 'Comment']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, doc.windows.map((w) => h('tr', {},
        h('td', {}, w.name),
        h('td', {}, h('span', { class: `state state-${w.open ? 'active' : 'pending'}` }, w.open ? 'open' : 'closed')),
        h('td', {}, w.when), h('td', {}, h('code', {}, w.matchers)),
        h('td', {}, when(fromHubClock(w.start_ms, doc.now_ms)), ' – ', when(fromHubClock(w.end_ms, doc.now_ms))),
        h('td', {}, w.comment)))))));
    tick();
  }
  loadWindows();
  async function load() {
    let doc;
    try { doc = await api('/api/v1/silences'); } catch (e) { body.replaceChildren(failed('Cannot list silences', e)); return; }
    const order = { active: 0, pending: 1, expired: 2 };
    const list = doc.silences.slice().sort((a, b) => order[a.state] - order[b.state] || b.id - a.id);
    if (!list.length) { body.replaceChildren(h('p', { class: 'empty' }, 'No silences.')); return; }
    const expire = (s) => h('button', { type: 'button', class: 'danger', 'data-silence': s.id, onclick: async () => {
      try {
        await api(`/api/v1/silences/${s.id}/expire`, { method: 'POST', body: {} });
        toast(`Silence ${s.id} expired`);
      } catch (e) {
        toast(`Cannot expire silence ${s.id}: ${e.message}`, true);
      }
      load();
    } }, 'Expire');
    const rows = list.map((s) => h('tr', { class: s.state === 'expired' ? 'resolved' : '' },
      h('td', {}, String(s.id)), h('td', {}, stateText(s.state)),
      h('td', {}, h('span', { class: 'chips' }, s.matchers.map((m) => h('code', { class: 'chip' }, m)))),
      h('td', {}, when(s.starts_at_ms)), h('td', {}, when(s.ends_at_ms)),
      h('td', {}, s.created_by), h('td', {}, s.comment),
      h('td', {}, canAct() && s.state !== 'expired' ? expire(s) : '')));
    body.replaceChildren(h('div', { class: 'table-wrap' }, h('table', { id: 'silence-table' },
      h('thead', {}, h('tr', {}, ['#', 'State', 'Matchers', 'Starts', 'Ends', 'By', 'Comment', '']
        .map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, rows))));
    tick();
  }
  return { refresh: load, onEvent: (name) => { if (name === 'silences' || name === 'resync') load(); } };
}

function silenceForm(done) {
  const matchers = h('textarea', { id: 's-matchers', required: true, placeholder: 'service="checkout"\nenv=~"prod.*"' });
  const starts = h('input', { id: 's-starts', type: 'datetime-local' });
  const duration = h('input', { id: 's-duration', value: '2h', required: true, size: 6 });
  const comment = h('input', { id: 's-comment', required: true, placeholder: 'why' });
  return h('form', { class: 'panel', onsubmit: async (e) => {
    e.preventDefault();
    const body = {
      matchers: matchers.value.split('\n').map((m) => m.trim()).filter(Boolean),
      duration: duration.value.trim(),
      comment: comment.value.trim(),
    };
    // A start in the future makes it a maintenance window (pending until then).
    if (starts.value) body.starts_at = new Date(starts.value).toISOString();
    try {
      const doc = await api('/api/v1/silences', { method: 'POST', body });
      toast(`Silence ${doc.id} created`);
      matchers.value = '';
      comment.value = '';
    } catch (err) { toast(`Silence refused: ${err.message}`, true); }
    done();
  } },
  h('h2', {}, 'New silence or maintenance window'),
  h('div', { class: 'filters' },
    h('label', {}, 'Matchers, one per line', matchers),
    h('label', {}, 'Starts (empty: now)', starts),
    h('label', {}, 'Duration', duration),
    h('label', {}, 'Comment', comment),
    h('button', { type: 'submit', class: 'primary' }, 'Create')));
}

// ---- changes ----

function changesView() {
  const service = h('input', { id: 'c-service', type: 'search', placeholder: 'all services',
    onchange: () => load() });
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  mount(h('h1', {}, 'Recent changes'),
    h('form', { class: 'filters', onsubmit: (e) => { e.preventDefault(); load(); } }, h('label', {}, 'Service', service)),
    body);
  async function load() {
    const q = new URLSearchParams({ limit: '200' });
    if (service.value.trim()) q.set('service', service.value.trim());
    let doc;
    try { doc = await api(`/api/v1/changes?${q}`); } catch (e) { body.replaceChildren(failed('Cannot list changes', e)); return; }
    if (!doc.changes.length) { body.replaceChildren(h('p', { class: 'empty' }, 'No changes recorded.')); return; }
    const by = new Map();
    for (const c of doc.changes) {
      if (!by.has(c.service)) by.set(c.service, []);
      by.get(c.service).push(c);
    }
    body.replaceChildren(...[...by.entries()].map(([svc, list]) => h('section', { class: 'panel' },
      h('h2', {}, svc),
      h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['When', 'Version', 'Strategy', 'Hosts', 'Author', 'Source', 'Change'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, list.map((c) => {
          const link = safeUrl(c.link);
          return h('tr', {}, h('td', {}, when(c.at_ms)), h('td', {}, c.version || '—'), h('td', {}, c.strategy),
            h('td', {}, (c.hosts || []).join(', ') || 'all'), h('td', {}, c.author || '—'), h('td', {}, c.source || '—'),
            h('td', {}, link ? h('a', { href: link, target: '_blank', rel: 'noopener noreferrer' }, c.id) : c.id));
        })))))));
    tick();
  }
  return { refresh: load, onEvent: (name) => { if (name === 'changes' || name === 'resync') load(); } };
}

// ---- start ----

document.addEventListener('keydown', (e) => {
  // "/" focuses the first filter of the page, as in many consoles.
  if (e.key === '/' && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName)) {
    const f = document.querySelector('main input[type=search], main select');
    if (f) { e.preventDefault(); f.focus(); }
  }
});

document.addEventListener('DOMContentLoaded', () => {
  document.getElementById('logout').addEventListener('click', () => logout(''));
  start().catch((e) => {
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin(e.status === 401 || e.status === undefined ? '' : `Cannot reach the hub: ${e.message}`);
  });
});
