// The warren-mgmt web UI in Debian's chromium (headless, through playwright-core).
// tests/mgmt/CMakeLists.txt runs this under tests/interop/harness.py, which starts a
// warren-node and passes GRPC_PORT; this file starts warren-mgmt (WARREN_MGMT_BIN) on a
// free port and walks the UI as an operator would: log in, declare a queue, publish to
// it and get the message back, add the tutorial's mirroring policy, and open every
// page. A PNG of each page goes to WARREN_UI_SCREENSHOTS (default: a temp dir).
// MGMT_URL=http://host:port skips starting warren-mgmt (to drive a running one).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

if (!fs.existsSync(path.join(__dirname, 'node_modules', 'playwright-core'))) {
  throw new Error(`${path.join(__dirname, 'node_modules')} has no playwright-core: run ` +
    '`npm ci --prefix tests/mgmt/browser` (make test does) before this test');
}
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SHOTS = process.env.WARREN_UI_SCREENSHOTS || fs.mkdtempSync(path.join(os.tmpdir(), 'warren-ui-'));
const START_MS = 20000;
const WAIT_MS = 10000;  // bound on any single wait in the page
const T = { timeout: 60000 };
const QUEUE = `ui-test-${process.pid}`;
const PAYLOAD = `hello from the browser, run ${process.pid}`;

let mgmt = null;      // the warren-mgmt child, when this file started one
let mgmtLog = '';
let baseUrl = process.env.MGMT_URL;
let browser;
let page;
const pageErrors = [];

// Spawns warren-mgmt and resolves with its URL once it logs "http listening on HOST:PORT".
function startMgmt() {
  const bin = process.env.WARREN_MGMT_BIN;
  const grpc = process.env.GRPC_PORT;
  if (!bin || !grpc) throw new Error('WARREN_MGMT_BIN and GRPC_PORT (from harness.py run) are needed, or MGMT_URL');
  mgmt = spawn(bin, ['--http-listen', '127.0.0.1:0', '--nodes', `127.0.0.1:${grpc}`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`warren-mgmt did not log its port in ${START_MS} ms:\n${mgmtLog}`)), START_MS);
    const onData = (chunk) => {
      mgmtLog += chunk;
      const m = mgmtLog.match(/http listening on ([^\s:]+|\[[^\]]+\]):(\d+)/);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}:${m[2]}`); }
    };
    mgmt.stdout.on('data', onData);
    mgmt.stderr.on('data', onData);
    mgmt.on('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`warren-mgmt exited (${code ?? sig}):\n${mgmtLog}`)); });
  });
}

async function shot(name) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

// Opens a page of the UI through its navigation and waits for its heading.
async function openTab(nav, heading) {
  await page.click(`nav.tabs a[data-nav="${nav}"]`);
  await page.locator('main h1', { hasText: heading }).waitFor();
}

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  if (!baseUrl) baseUrl = await startMgmt();
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
    args: ['--disable-dev-shm-usage', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])] });
  page = await browser.newPage({ viewport: { width: 1366, height: 860 } });
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('dialog', (d) => d.accept());
});

after(async () => {
  if (browser) await browser.close();
  if (mgmt && mgmt.exitCode === null) {
    mgmt.removeAllListeners('exit');
    const exited = new Promise((resolve) => mgmt.once('exit', resolve));
    mgmt.kill('SIGTERM');
    await exited;
  }
  console.log(`screenshots in ${SHOTS}`);
});

test('a wrong password is refused and guest/guest logs in', T, async () => {
  await page.goto(`${baseUrl}/`);
  await page.locator('form.login-card').waitFor();
  await shot('01-login');
  await page.fill('input[name=username]', 'guest');
  await page.fill('input[name=password]', 'not-the-password');
  await page.click('button[type=submit]');
  await page.getByRole('alert').filter({ hasText: 'Login failed' }).waitFor();
  await page.fill('input[name=password]', 'guest');
  await page.click('button[type=submit]');
  await page.locator('#current-user', { hasText: 'guest' }).waitFor();
});

test('the overview shows totals, the rate chart, nodes and alarms', T, async () => {
  await page.locator('#total-queues').waitFor();
  await page.locator('#rates-chart').waitFor();
  await page.locator('#alarms').waitFor();
  assert.match(await page.locator('#total-connections').innerText(), /^[\d,]+$/);
  await shot('02-overview');
});

test('a queue is declared, a message published to it and got back', T, async () => {
  await openTab('queues', 'Queues');
  const add = page.locator('section', { has: page.locator('h2', { hasText: 'Add a new queue' }) });
  await add.locator('input[name=name]').fill(QUEUE);
  await add.locator('button[type=submit]').click();
  await page.locator('#queues-table a', { hasText: QUEUE }).click();
  await page.locator('main h1', { hasText: QUEUE }).waitFor();

  const publish = page.locator('section', { has: page.locator('h2', { hasText: 'Publish message' }) });
  await publish.locator('textarea[name=payload]').fill(PAYLOAD);
  await publish.locator('button[type=submit]').click();
  await publish.getByRole('status').filter({ hasText: 'Message published' }).waitFor();

  const get = page.locator('section', { has: page.locator('h2', { hasText: 'Get messages' }) });
  await get.locator('select[name=ackmode]').selectOption('ack_requeue_false');
  await get.locator('button[type=submit]').click();
  const payload = page.locator('#get-results pre.payload');
  await payload.waitFor();
  assert.strictEqual(await payload.innerText(), PAYLOAD);
  await shot('03-queue-detail');
  await openTab('queues', 'Queues');
  await page.locator('#queues-table a', { hasText: QUEUE }).waitFor();
  await shot('04-queues');
});

test("the tutorial's mirroring policy is added through the policy form", T, async () => {
  await openTab('policies', 'Policies');
  const form = page.locator('form', { has: page.locator('select[name=ha-mode]') });
  await form.locator('input[name=name]').fill('ha-all');
  await form.locator('input[name=pattern]').fill('^');
  await form.locator('select[name=apply-to]').selectOption('all');
  await form.locator('select[name=ha-mode]').selectOption('all');
  await form.locator('select[name=ha-sync-mode]').selectOption('automatic');
  await form.locator('button[type=submit]').click();
  await form.getByRole('status').filter({ hasText: 'Policy ha-all set' }).waitFor();
  const row = page.locator('#policies-table tr', { hasText: 'ha-all' });
  await row.locator('dd', { hasText: 'all' }).first().waitFor();
  assert.match(await row.innerText(), /ha-mode\s+all/);
  assert.match(await row.innerText(), /ha-sync-mode\s+automatic/);
  await shot('05-policies');
});

test('every other page opens', T, async () => {
  const pages = [['exchanges', 'Exchanges', '#exchanges-table table'], ['connections', 'Connections', 'main .card'],
    ['channels', 'Channels', 'main .card'], ['users', 'Users and permissions', '#users-table td:has-text("guest")'],
    ['vhosts', 'Virtual hosts', '#vhosts-table table']];
  let n = 6;
  for (const [nav, heading, content] of pages) {
    await openTab(nav, heading);
    await page.locator(content).first().waitFor();
    await shot(`${String(n).padStart(2, '0')}-${nav}`);
    n += 1;
  }
  await openTab('exchanges', 'Exchanges');
  await page.locator('#exchanges-table a[href="#/exchanges/%2F/amq.direct"]').click();
  await page.locator('main h1', { hasText: 'amq.direct' }).waitFor();
  await page.locator('#exchange-bindings').waitFor();
  await shot(`${n}-exchange-detail`);
});

test('an exchange is bound to the queue and routes a message published to it', T, async () => {
  const bind = page.locator('section', { has: page.locator('h2', { hasText: 'Add binding' }) });
  await bind.locator('input[name=destination]').fill(QUEUE);
  await bind.locator('input[name=routing_key]').fill('ui-key');
  await bind.locator('button[type=submit]').click();
  await page.locator('#exchange-bindings tr', { hasText: QUEUE }).locator('code', { hasText: 'ui-key' }).waitFor();
  const publish = page.locator('section', { has: page.locator('h2', { hasText: 'Publish message' }) });
  await publish.locator('input[name=routing_key]').fill('ui-key');
  await publish.locator('textarea[name=payload]').fill('routed through amq.direct');
  await publish.locator('button[type=submit]').click();
  // "not routed" would be an alert instead.
  await publish.getByRole('status').filter({ hasText: 'Message published' }).waitFor();
});

test('a user is added with tags and given permissions, a vhost added and deleted', T, async () => {
  await openTab('users', 'Users and permissions');
  const add = page.locator('section', { has: page.locator('h2', { hasText: 'Add a user' }) });
  await add.locator('input[name=username]').fill(`ui-user-${process.pid}`);
  await add.locator('input[name=password]').fill('s3cret');
  await add.getByRole('button', { name: 'monitoring' }).click();
  await add.locator('button[type=submit]').click();
  const row = page.locator('#users-table tr', { hasText: `ui-user-${process.pid}` });
  await row.locator('.pill', { hasText: 'monitoring' }).waitFor();
  const perm = page.locator('section', { has: page.locator('h2', { hasText: 'Set permission' }) });
  await perm.locator('select[name=user]').selectOption(`ui-user-${process.pid}`);
  await perm.locator('button[type=submit]').click();
  await page.locator('#permissions-table tr', { hasText: `ui-user-${process.pid}` }).waitFor();

  await openTab('vhosts', 'Virtual hosts');
  const vhost = `ui-vhost-${process.pid}`;
  await page.locator('input[name=name]').fill(vhost);
  await page.locator('button[type=submit]').click();
  const vrow = page.locator('#vhosts-table tr', { hasText: vhost });
  await vrow.getByRole('button', { name: 'Delete' }).click();
  await vrow.waitFor({ state: 'detached' });
});

test('the rate chart draws from successive overview polls', T, async () => {
  await openTab('overview', 'Overview');
  // Polls come every 5 s from login on; two rates need three of them.
  await page.waitForFunction(() => Number(document.querySelector('#rates-chart')?.dataset.points) >= 2,
    null, { timeout: 30000 });
  await shot('02-overview');
});

test('a rejected credential (401) returns to the login page', T, async () => {
  await page.evaluate(() => sessionStorage.setItem('warren.auth',
    JSON.stringify({ username: 'guest', token: btoa('guest:wrong') })));
  await page.click('nav.tabs a[data-nav="queues"]');
  await page.locator('form.login-card').waitFor();
  assert.deepStrictEqual(pageErrors, []);
});
