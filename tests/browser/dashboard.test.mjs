// The dashboard end to end: a real hub (started by run-browser-tests), real agents started
// here, and headless Chromium driving the pages as an operator would.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync, openSync, existsSync, mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run the tests through run-browser-tests`);
  return v;
};
const HUB = env('HUB_URL');
const INGEST = env('INGEST');
const RESPONDER = env('RESPONDER_TOKEN');
const VIEWER = env('VIEWER_TOKEN');
const AGENT_BIN = env('AGENT_BIN');
const WORK = env('WORK_DIR');
const ARTIFACTS = env('ARTIFACT_DIR');

const agents = [];
let browser;
let incidentId = 0;  // the checkout incident of the first test
const cspViolations = [];

// A port nothing listens on: a tcp check against it fails.
function unusedPort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function startAgent(id, labels, extraYaml) {
  const cfg = path.join(WORK, `${id}.yaml`);
  writeFileSync(cfg, `id: ${id}\nhostname: ${id}\nlabels: ${labels}\nheartbeat_interval: 200ms\n` +
    `status_http: {listen: '127.0.0.1:0'}\nhub: {endpoints: [${INGEST}], ack_timeout: 1s}\n` +
    `spool: {path: ${path.join(WORK, `${id}-spool.db`)}}\n${extraYaml}`);
  const log = openSync(path.join(WORK, `${id}.log`), 'w');
  const child = spawn(AGENT_BIN, ['--config', cfg], { stdio: ['ignore', log, log] });
  agents.push(child);
  return child;
}

async function apiGet(p, token) {
  const res = await fetch(HUB + p, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, `GET ${p} answered ${res.status}`);
  return res.json();
}

// Polls `fn` until it returns something truthy (bounded).
async function eventually(fn, what, timeoutMs = 30000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function login(token) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => { throw e; });
  // Everything the page uses must pass its own Content-Security-Policy.
  page.on('console', (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  await page.goto(`${HUB}/`);
  await page.fill('#token', token);
  await page.click('#login');
  await page.waitForSelector('#nav:not([hidden])');
  // Live updates are connected.
  await page.waitForSelector('#live.on', { timeout: 10000 });
  return { context, page };
}

async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
}

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // Running as root in a container: Chromium's sandbox needs user namespaces.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
});

after(async () => {
  for (const a of agents) a.kill('SIGTERM');
  if (browser) await browser.close();
});

test('an incident appears in the open list, without a reload, when an agent\'s check fails', async () => {
  const { context, page } = await login(RESPONDER);
  try {
    await page.waitForSelector('#incidents .empty');
    await page.evaluate(() => { window.notReloaded = true; });
    const port = await unusedPort();
    startAgent('web-1', '{service: checkout, env: prod}',
      `metrics_interval: 1s\nchecks: [{name: db, type: tcp, port: ${port}, interval: 200ms, timeout: 100ms}]\n` +
      "rules: [{name: db-down, series: db, when: 'state == CRITICAL', severity: high}]\n");
    const row = await page.waitForSelector('#incident-table tbody tr:has-text("checkout")', { timeout: 30000 });
    assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was reloaded');
    incidentId = Number(await row.getAttribute('data-id'));
    assert.ok(incidentId > 0);
    assert.match(await row.innerText(), /high/i);
    assert.match(await row.innerText(), /triggered/);
    assert.match(await row.innerText(), /1\/1/);  // affected hosts k/n
  } finally {
    await context.close();
  }
});

test('acknowledging from the incident page changes its state in the API, with the actor', async () => {
  assert.ok(incidentId > 0, 'needs the first test\'s incident');
  const { context, page } = await login(RESPONDER);
  try {
    await page.click(`#incident-table a[href="#/incidents/${incidentId}"]`);
    const ack = await page.waitForSelector('button[data-action="acknowledge"]');
    await ack.click();
    const doc = await eventually(async () => {
      const d = await apiGet(`/api/v1/incidents/${incidentId}`, RESPONDER);
      return d.incident.status === 'acknowledged' ? d : null;
    }, 'the incident to be acknowledged');
    assert.equal(doc.incident.acknowledged_by, 'alice');
    assert.ok(doc.timeline.some((e) => e.kind === 'acknowledged' && e.actor === 'alice'));
    // The page shows it too, and no longer offers to acknowledge.
    await page.waitForSelector('#incident-status:has-text("acknowledged")');
    await page.waitForSelector('#timeline li[data-kind="acknowledged"]');
    assert.equal(await page.locator('button[data-action="acknowledge"]').count(), 0);
    // The member alert shows the value its rule measured (CRITICAL is 2) and the threshold.
    const value = await page.locator('section[aria-labelledby="h-alerts"] td.value').first().innerText();
    assert.match(value, /^2 \(threshold \d+\)$/);
    await screenshot(page, 'incident-page.png');
  } finally {
    await context.close();
  }
});

test('a viewer token sees the incident without action buttons, and the API refuses its writes', async () => {
  assert.ok(incidentId > 0, 'needs the first test\'s incident');
  const { context, page } = await login(VIEWER);
  try {
    await page.goto(`${HUB}/#/incidents/${incidentId}`);
    await page.waitForSelector('#read-only');
    await page.waitForSelector('#timeline');
    assert.equal(await page.locator('button[data-action]').count(), 0);
    assert.equal(await page.locator('#note-text').count(), 0);
    // The API itself refuses, whatever a page shows.
    const statuses = await page.evaluate(async ({ id, token }) => {
      const out = [];
      for (const [p, body] of [['ack', {}], ['resolve', {}], ['notes', { text: 'x' }],
        ['respond', { option: 'start_mim' }]]) {
        const res = await fetch(`/api/v1/incidents/${id}/${p}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
          body: JSON.stringify(body),
        });
        out.push(res.status);
      }
      return out;
    }, { id: incidentId, token: VIEWER });
    assert.deepEqual(statuses, [403, 403, 403, 403]);
    const d = await apiGet(`/api/v1/incidents/${incidentId}`, VIEWER);
    assert.equal(d.incident.status, 'acknowledged');
    assert.ok(!d.timeline.some((e) => e.actor === 'victor'));
  } finally {
    await context.close();
  }
});

test('the timeline shows a remediation an agent reported', async () => {
  const { context, page } = await login(RESPONDER);
  try {
    // The check fails until the file exists; the rule's remediation creates it.
    const healthy = path.join(WORK, 'app.healthy');
    assert.equal(existsSync(healthy), false);
    startAgent('app-1', '{service: billing}',
      `checks: [{name: app, type: command, interval: 500ms, timeout: 500ms, command: [/bin/sh, -c, 'test -f ${healthy} || exit 2']}]\n` +
      `actions: [{name: fix-app, type: exec, command: [/usr/bin/touch, ${healthy}], verify_within: 10s, cooldown: 0s}]\n` +
      "rules: [{name: app-down, series: app, when: 'state == CRITICAL', severity: warning, heal: [fix-app]}]\n");
    const row = await page.waitForSelector('#incident-table tbody tr:has-text("billing")', { timeout: 30000 });
    const id = Number(await row.getAttribute('data-id'));
    await page.click(`#incident-table a[href="#/incidents/${id}"]`);
    const entry = await page.waitForSelector('#timeline li[data-kind="remediation"]:has-text("fix-app")',
      { timeout: 30000 });
    assert.match(await entry.innerText(), /agent:app-1/);
    // It ran: the agent healed its check.
    await page.waitForSelector('#timeline li[data-kind="remediation"]:has-text("recovered")', { timeout: 30000 });
    assert.equal(existsSync(healthy), true);
    await screenshot(page, 'incident-remediation.png');
  } finally {
    await context.close();
  }
});

test('a host page shows the agent\'s checks as it last reported them; maintenance windows are listed', async () => {
  const { context, page } = await login(VIEWER);
  try {
    await page.goto(`${HUB}/#/agents/web-1`);
    // web-1's db check fails (first test): its series reads critical, with its statistics.
    const row = await page.waitForSelector('#checks tr[data-series="db"]', { timeout: 15000 });
    assert.match(await row.innerText(), /critical/);
    assert.match(await row.innerText(), /error_rate=1/);
    await screenshot(page, 'agent-page.png');
    // The maintenance windows hub.yaml declares are listed beside the silences.
    await page.goto(`${HUB}/#/silences`);
    const win = await page.waitForSelector('#window-table tbody tr:has-text("nightly-db")');
    assert.match(await win.innerText(), /Sun 02:00-04:00 Europe\/Berlin/);
    assert.match(await win.innerText(), /index rebuild/);
  } finally {
    await context.close();
  }
});

test('no page broke its Content-Security-Policy', () => {
  // Runs last: after every other test's pages.
  assert.deepEqual(cspViolations, []);
});
