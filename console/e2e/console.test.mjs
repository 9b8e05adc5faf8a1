// Browser tests of the console against a real Rappel server with the demo data, in headless Debian Chromium
// driven by playwright-core (no downloaded browser).
//
//   RAPPEL_URL=http://127.0.0.1:18081 RAPPEL_KEY=<admin key> [RAPPEL_READ_KEY=<read key>] npm run test:e2e
//
// RAPPEL_CONSOLE_URL (optional): where the console is served (e.g. http://127.0.0.1:18081/console/ once the binary
// serves it). Without it, e2e/serve.mjs serves console/dist on a free port and forwards /v1 to RAPPEL_URL.
// RAPPEL_READ_KEY (optional): a read-only key; created with the admin key when absent.
// CHROMIUM (optional): the browser binary, /usr/bin/chromium by default.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './serve.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const SHOTS = join(here, 'screenshots');
const API = (process.env.RAPPEL_URL ?? 'http://127.0.0.1:18081').replace(/\/$/, '');
const KEY = process.env.RAPPEL_KEY;
let READ_KEY = process.env.RAPPEL_READ_KEY;
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const TIMEOUT = 30_000;

let base; // console URL, ending with /console/
let staticServer;
let context;
let userDataDir;
const state = {}; // shared between the ordered tests

async function api(method, path, body, key = KEY) {
  const res = await fetch(`${API}${path}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function waitForDemo() {
  const deadline = Date.now() + 180_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await api('GET', '/v1/customers/by-external-id/cus-1033');
      if (r.status === 200) return r.body;
      last = `HTTP ${r.status} ${JSON.stringify(r.body)}`;
      if (r.status === 401) break;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`Rappel at ${API} has no demo customer cus-1033 (${last}); start it with \`rappel serve --demo\``);
}

async function newPage() {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => {
    state.pageErrors = [...(state.pageErrors ?? []), e.message];
    console.error('page error:', e.message);
  });
  return page;
}

async function login(page, key = KEY) {
  await page.goto(base);
  await page.getByTestId('login-key').fill(key);
  await page.getByTestId('login-key').press('Enter');
  await page.getByTestId('logout').waitFor();
}

const shot = (page, name, fullPage = true) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage });

before(async () => {
  assert.ok(KEY, 'RAPPEL_KEY must be an admin key of the default workspace (e.g. RAPPEL_ADMIN_KEY of the server)');
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM)`);
  state.nathalie = await waitForDemo();
  if (!READ_KEY) {
    const r = await api('POST', '/v1/keys', { name: 'console-e2e-read', scopes: ['read'] });
    assert.equal(r.status, 201, `could not create a read-only key: ${JSON.stringify(r.body)}`);
    READ_KEY = r.body.secret;
    state.createdKey = r.body.id;
  }
  if (process.env.RAPPEL_CONSOLE_URL) {
    base = process.env.RAPPEL_CONSOLE_URL.replace(/\/?$/, '/');
  } else {
    assert.ok(existsSync(join(here, '../dist/index.html')), 'console/dist is missing: run `npm run build` first');
    staticServer = await startServer({ port: 0, target: API });
    base = `${staticServer.url}/console/`;
  }
  mkdirSync(SHOTS, { recursive: true });
  userDataDir = mkdtempSync(join(tmpdir(), 'rappel-console-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    viewport: { width: 1400, height: 900 },
    locale: 'en-GB',
    timezoneId: 'Europe/Paris',
    acceptDownloads: true,
  });
  console.log(`console under test: ${base} (API ${API})`);
});

after(async () => {
  await context?.close();
  await staticServer?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  if (state.createdKey) await api('DELETE', `/v1/keys/${state.createdKey}`).catch(() => {});
});

test('a wrong key gets a clear message', async () => {
  const page = await newPage();
  await page.goto(base);
  await page.getByTestId('login-key').fill('rpl_this-is-not-a-valid-key-0000');
  await page.getByTestId('login-submit').click();
  const err = page.getByTestId('login-error');
  await err.waitFor();
  const text = await err.innerText();
  assert.match(text, /Invalid API key/, text);
  assert.match(text, /not valid/, text);
  assert.equal(await page.getByTestId('logout').count(), 0);
  await shot(page, '01-login-wrong-key', false);
  await page.close();
});

test('log in with the demo key: customers needing attention, lowest health first', async () => {
  const page = await newPage();
  await login(page);
  state.page = page;
  const rows = page.getByTestId('attention-row');
  await rows.first().waitFor();
  // every score arrived (the progress line disappears)
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=attention-row] .health-badge.pending').length === 0, null, {
    timeout: TIMEOUT,
  });
  const scores = await page.$$eval('[data-testid=attention-row] [data-testid=health-badge]', (els) => els.map((e) => Number(e.dataset.score)));
  assert.ok(scores.length >= 40, `expected the 48 demo customers, got ${scores.length}`);
  assert.deepEqual(scores, [...scores].sort((a, b) => a - b), 'sorted lowest first');
  assert.ok(scores[0] < 50, `the first customer is in trouble (${scores[0]})`);
  await shot(page, '02-attention', false);
});

test('open Nathalie Rousseau: health score and sentiment chart with points', async () => {
  const page = state.page;
  await page.getByTestId('attention-filter').fill('Rousseau');
  await page.getByRole('link', { name: 'Nathalie Rousseau' }).click();
  await page.getByTestId('page-customer').waitFor();
  assert.equal(await page.getByTestId('customer-name').innerText(), 'Nathalie Rousseau');
  const score = page.getByTestId('health-score');
  await score.waitFor();
  const value = Number(await score.getAttribute('data-score'));
  assert.ok(value >= 0 && value < 50, `Nathalie's health is low (${value})`);
  assert.match(await page.getByTestId('health-reason').innerText(), /leave|promise/i);
  assert.ok((await page.getByTestId('health-parts').locator('li').count()) >= 5, 'health parts are explained');
  const chart = page.getByTestId('sentiment-chart');
  await chart.waitFor();
  const points = Number(await chart.getAttribute('data-points'));
  assert.ok(points > 0, 'the sentiment chart has points');
  assert.equal(await chart.locator('canvas').count(), 1, 'the chart is drawn');
  assert.match(await page.getByTestId('sentiment-summary').innerText(), /frustrated/);
  await page.getByTestId('escalation').waitFor();
  assert.equal(await page.getByTestId('escalation').getAttribute('data-escalate'), 'true');
  await page.getByTestId('open-issues').waitFor();
  await shot(page, '03-customer');
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, '03-customer-top', false); // the viewport a support lead sees first (README candidate)
});

test('expand an interaction and see each message with its sentiment', async () => {
  const page = state.page;
  const first = page.getByTestId('interaction').first();
  const toggle = first.getByTestId('interaction-toggle');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  const messages = first.getByTestId('message');
  await messages.first().waitFor();
  assert.ok((await messages.count()) >= 2);
  assert.ok((await first.getByTestId('message-sentiment').count()) >= 1, 'customer messages show their sentiment');
  await first.scrollIntoViewIfNeeded();
  await shot(page, '04-interaction-expanded', false);
});

test('memories by kind, and the message a memory came from', async () => {
  const page = state.page;
  await page.getByTestId('tab-memories').click();
  await page.getByTestId('memory-kind-issue').click();
  const mem = page.getByTestId('memories').getByTestId('memory').first();
  await mem.waitFor();
  await mem.getByTestId('memory-open').click();
  const dialog = page.getByTestId('provenance-dialog');
  await dialog.waitFor();
  await dialog.locator('[data-testid=provenance-message][data-highlighted=true]').first().waitFor();
  await shot(page, '05-memory-provenance', false);
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  await page.getByTestId('memory-kind-fact').click();
  await page.waitForTimeout(300);
  await shot(page, '06-memories');
  await page.getByTestId('tab-preferences').click();
  await page.getByTestId('preference-history').waitFor();
  await shot(page, '07-preferences');
});

test('agent context: type a message and see the prompt', async () => {
  const page = state.page;
  await page.getByTestId('tab-context').click();
  const box = page.getByTestId('context-message');
  await box.fill('Toujours aucune nouvelle pour les serrures, je veux parler à un responsable.');
  await box.press('Enter');
  const prompt = page.getByTestId('context-prompt');
  await prompt.waitFor();
  const text = await prompt.innerText();
  assert.match(text, /Nathalie Rousseau/);
  assert.ok(text.length > 200, 'the prompt block is filled');
  await page.getByTestId('context-result').getByTestId('mood').waitFor();
  await shot(page, '08-agent-context');
});

test('search "hub offline" across customers', async () => {
  const page = state.page;
  await page.getByTestId('nav-search').click();
  await page.getByTestId('search-query').fill('hub offline');
  await page.getByTestId('search-query').press('Enter');
  const results = page.getByTestId('search-result');
  await results.first().waitFor();
  const n = await results.count();
  assert.ok(n >= 2, `several customers reported it (${n})`);
  assert.match(await page.getByTestId('search-results').innerText(), /offline/i);
  await page.getByTestId('find-customer').fill('cus-1033');
  await page.getByTestId('find-result').first().waitFor();
  assert.match(await page.getByTestId('find-results').innerText(), /Nathalie Rousseau/);
  await shot(page, '09-search');
});

test('cancel an outreach item, and the API says it is cancelled', async () => {
  const page = state.page;
  let queued = await api('GET', '/v1/outreach?state=queued&limit=1');
  if (!queued.body.items.length) {
    // an earlier run cancelled them all: queue one by hand
    await api('POST', '/v1/outreach', {
      customer_id: state.nathalie.id,
      reason_code: 'console_e2e',
      reason: 'console e2e test',
      templates: { en: 'Hello {first_name}', fr: 'Bonjour {first_name}' },
      channels: ['email'],
      cooldown_hours: 0,
    });
  }
  await page.getByTestId('nav-outreach').click();
  await page.getByTestId('page-outreach').waitFor();
  const row = page.locator('[data-testid=outreach-row][data-state=queued]').first();
  await row.waitFor();
  const id = await row.getAttribute('data-id');
  await shot(page, '10-outreach', false);
  await row.getByTestId('outreach-cancel').click();
  await page.getByTestId('cancel-dialog').waitFor();
  await page.getByTestId('cancel-confirm').click();
  await page.locator(`[data-testid=outreach-row][data-id="${id}"][data-state=cancelled]`).waitFor();
  const r = await api('GET', `/v1/outreach/${id}`);
  assert.equal(r.status, 200);
  assert.equal(r.body.state, 'cancelled');
});

test('run a job and see its run', async () => {
  const page = state.page;
  await page.getByTestId('nav-jobs').click();
  await page.locator('[data-testid=job-item][data-job-id=sentiment_decline]').click();
  await page.locator('[data-testid=job-detail][data-job-id=sentiment_decline]').waitFor();
  await page.getByTestId('job-run').click();
  const result = page.getByTestId('run-result');
  await result.waitFor();
  const runId = await result.getAttribute('data-run-id');
  assert.match(runId, /^run_/);
  assert.match(await result.innerText(), /scanned/);
  await page.locator(`[data-testid=job-runs] [data-run-id="${runId}"]`).waitFor();
  const runs = await api('GET', '/v1/jobs/sentiment_decline/runs');
  assert.ok(runs.body.some((r) => r.id === runId), 'the API lists the run');
  await shot(page, '11-jobs');
});

test('declare an incident and find who matches', async () => {
  const page = state.page;
  await page.getByTestId('nav-incidents').click();
  await page.getByTestId('incident-title').fill('Hub v1 drops offline every night (console test)');
  await page.getByTestId('incident-description').fill('Lumen Hub v1 units disconnect between 2 and 6 am since the cloud relay update.');
  await page.getByTestId('incident-submit').click();
  await page.getByTestId('incident').filter({ hasText: 'console test' }).first().waitFor();
  await page.getByTestId('incident-match').click();
  await page.getByTestId('run-result').waitFor();
  await shot(page, '12-incidents');
});

test('campaigns: create one, preview who and why', async () => {
  const page = state.page;
  await page.getByTestId('nav-campaigns').click();
  await page.getByTestId('page-campaigns').waitFor();
  await page.getByTestId('campaign-form').waitFor();
  await page.getByTestId('campaign-name').fill(`Check-in for customers in trouble ${Date.now()}`);
  await page.getByTestId('campaign-form').getByTestId('segment-health_max').fill('45');
  await page.getByTestId('campaign-template-en').fill('Hi {first_name}, a team lead would like to call you this week.');
  await page.getByTestId('campaign-create').click();
  const detail = page.getByTestId('campaign-detail');
  await detail.waitFor();
  await detail.getByTestId('campaign-preview').click();
  const preview = page.getByTestId('campaign-preview-result');
  await preview.waitFor();
  assert.match(await preview.innerText(), /\d+ customers selected/);
  assert.ok((await page.getByTestId('preview-row').count()) >= 1, 'the preview names customers and why');
  await shot(page, '13-campaigns');
  const id = await detail.getAttribute('data-campaign-id');
  assert.equal((await api('DELETE', `/v1/campaigns/${id}`)).status, 204);
});

test('export and erase a customer, each behind a confirmation', async () => {
  const page = state.page;
  const created = await api('PUT', '/v1/customers/by-external-id/console-e2e-erase', {
    name: 'Erase Me',
    email: 'erase.me@example.com',
    plan: 'starter',
  });
  assert.ok([200, 201].includes(created.status), JSON.stringify(created.body));
  const id = created.body.id;
  await page.goto(`${base}#/customers/${id}`);
  await page.getByTestId('customer-name').filter({ hasText: 'Erase Me' }).waitFor();
  await page.getByTestId('export-button').click();
  await page.getByTestId('export-dialog').waitFor();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-confirm').click()]);
  assert.equal(download.suggestedFilename(), 'rappel-export-console-e2e-erase.json');
  await page.getByTestId('erase-button').click();
  const dialog = page.getByTestId('erase-dialog');
  await dialog.waitFor();
  assert.ok(await page.getByTestId('erase-confirm').isDisabled(), 'erasing needs the external id typed');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  assert.equal((await api('GET', `/v1/customers/${id}`)).status, 200, 'Esc erased nothing');
  await page.getByTestId('erase-button').click();
  await page.getByTestId('erase-confirm-input').fill('console-e2e-erase');
  await page.getByTestId('erase-confirm-input').press('Enter');
  await page.getByTestId('page-attention').waitFor();
  assert.equal((await api('GET', `/v1/customers/${id}`)).status, 404, 'the customer is gone');
});

test('knowledge base: the demo documents, and a search that cites its source', async () => {
  const page = state.page;
  await page.getByTestId('nav-knowledge').click();
  await page.getByTestId('knowledge-docs').waitFor({ timeout: TIMEOUT });
  const docs = await page.getByTestId('knowledge-docs').locator('tbody tr').count();
  assert.ok(docs >= 30, `the demo help center has at least 30 documents, the page lists ${docs}`);
  await page.getByTestId('knowledge-query').fill('my hub is offline after the update');
  await page.getByTestId('knowledge-submit').click();
  const first = page.getByTestId('knowledge-results').locator('li').first();
  await first.waitFor({ timeout: TIMEOUT });
  assert.match(await first.innerText(), /hub/i);
  await shot(page, '14-knowledge', false);
});

test('support metrics: KPI tiles and a chart over time', async () => {
  const page = state.page;
  await page.getByTestId('nav-metrics').click();
  await page.getByTestId('metrics-totals').waitFor({ timeout: TIMEOUT });
  const tiles = await page.getByTestId('metrics-totals').innerText();
  for (const label of ['CSAT', 'NPS', 'First-contact resolution', 'Escalation rate', 'Cost per interaction']) {
    assert.ok(tiles.includes(label), `${label} among the tiles: ${tiles}`);
  }
  await page.getByTestId('metrics-chart').waitFor({ timeout: TIMEOUT });
  await shot(page, '15-metrics', false);
});

test('the interface switches to French', async () => {
  const page = state.page;
  await page.getByTestId('lang-select').selectOption('fr');
  assert.equal(await page.getByTestId('nav-attention').innerText(), 'À surveiller');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'fr');
  await page.goto(`${base}#/customers/${state.nathalie.id}`);
  await page.getByTestId('health-score').waitFor();
  await page.getByTestId('sentiment-chart').waitFor();
  await shot(page, '16-customer-fr', false);
  await page.getByTestId('lang-select').selectOption('en');
  assert.equal(await page.getByTestId('nav-attention').innerText(), 'Needing attention');
});

test('a read-only key sees no write button', async () => {
  const page = await newPage();
  await login(page, READ_KEY);
  assert.equal(await page.getByTestId('scope-badge').getAttribute('data-scopes'), 'read');
  const pages = [
    [`#/customers/${state.nathalie.id}`, 'sentiment-chart'],
    [`#/customers/${state.nathalie.id}/context`, 'context-panel'],
    ['#/outreach', 'page-outreach'],
    ['#/jobs', 'job-detail'],
    ['#/incidents', 'page-incidents'],
    ['#/campaigns', 'page-campaigns'],
  ];
  for (const [hash, ready] of pages) {
    await page.goto(`${base}${hash}`);
    await page.getByTestId(ready).first().waitFor();
    await page.waitForFunction(() => !document.querySelector('[data-testid=loading]'), null, { timeout: TIMEOUT });
    const writes = await page.locator('[data-write]').count();
    assert.equal(writes, 0, `${hash} shows ${writes} write controls to a read-only key`);
  }
  await page.goto(`${base}#/customers/${state.nathalie.id}`);
  await page.getByTestId('export-button').waitFor();
  assert.equal(await page.getByTestId('erase-button').count(), 0);
  await page.goto(`${base}#/outreach`);
  await page.getByTestId('outreach-table').waitFor();
  assert.equal(await page.getByTestId('outreach-cancel').count(), 0);
  await page.goto(`${base}#/jobs`);
  await page.getByTestId('job-detail').waitFor();
  assert.equal(await page.getByTestId('job-run').count(), 0);
  await shot(page, '17-read-only-jobs', false);
  await page.close();
});

test('accessibility: no serious WCAG 2 A/AA violation (axe-core)', async () => {
  const page = await newPage();
  // Evaluated through the DevTools protocol: the console's Content-Security-Policy (script-src 'self') rightly
  // refuses an injected <script>.
  const axeSource = readFileSync(join(here, '../node_modules/axe-core/axe.min.js'), 'utf8');
  const check = async (label) => {
    await page.waitForFunction(() => !document.querySelector('[data-testid=loading]'), null, { timeout: TIMEOUT });
    await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, target: v.nodes[0]?.target?.join(' ') }));
    });
    for (const v of violations) console.log(`axe ${label}: ${v.impact} ${v.id} (${v.nodes} nodes, e.g. ${v.target})`);
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${label}: ${v.id} ${v.target}`);
  };
  const bad = [];
  await page.goto(base);
  await page.getByTestId('login-form').waitFor();
  bad.push(...(await check('login')));
  await login(page);
  for (const [hash, ready] of [
    ['#/', 'attention-row'],
    [`#/customers/${state.nathalie.id}`, 'sentiment-chart'],
    [`#/customers/${state.nathalie.id}/memories`, 'memory'],
    [`#/customers/${state.nathalie.id}/preferences`, 'preference-history'],
    ['#/search', 'search-form'],
    ['#/outreach', 'page-outreach'],
    ['#/jobs', 'job-detail'],
    ['#/incidents', 'page-incidents'],
    ['#/campaigns', 'page-campaigns'],
    ['#/knowledge', 'page-knowledge'],
    ['#/metrics', 'page-metrics'],
  ]) {
    await page.goto(`${base}${hash}`);
    await page.getByTestId(ready).first().waitFor();
    bad.push(...(await check(hash)));
  }
  await page.close();
  assert.deepEqual(bad, []);
});

test('first paint of the console', async () => {
  const page = await newPage();
  await login(page);
  const t0 = Date.now();
  await page.goto(`${base}#/customers/${state.nathalie.id}`);
  await page.reload();
  await page.getByTestId('health-score').waitFor();
  await page.getByTestId('sentiment-chart').waitFor();
  const customerReadyMs = Date.now() - t0;
  const paint = await page.evaluate(() =>
    Object.fromEntries(performance.getEntriesByType('paint').map((e) => [e.name, Math.round(e.startTime)])),
  );
  const nav = await page.evaluate(() => {
    const n = performance.getEntriesByType('navigation')[0];
    return n ? { domContentLoaded: Math.round(n.domContentLoadedEventEnd), load: Math.round(n.loadEventEnd) } : {};
  });
  console.log(
    `console first paint: first-paint ${paint['first-paint']} ms, first-contentful-paint ${paint['first-contentful-paint']} ms, ` +
      `DOMContentLoaded ${nav.domContentLoaded} ms; customer page with health and sentiment chart ready in ${customerReadyMs} ms`,
  );
  assert.ok(paint['first-contentful-paint'] > 0, 'the browser reports a first contentful paint');
  await page.close();
  assert.deepEqual(state.pageErrors ?? [], [], 'no uncaught error in the pages');
});
