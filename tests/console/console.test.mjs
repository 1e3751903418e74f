// End-to-end test of the management console in headless Chromium, against a running `byok serve`.
//
//   BYOK_E2E_URL=http://127.0.0.1:PORT BYOK_E2E_ADMIN_KEY=bgk_... BYOK_E2E_NODE=<dir with node_modules> \
//   BYOK_E2E_ARTIFACTS=<dir> node --test tests/console/        (scripts/test does all of this)
//
// Each step is a sub-test; the first failure saves a full-page screenshot and the page's HTML to
// BYOK_E2E_ARTIFACTS and skips the rest. BYOK_E2E_SCREENSHOTS=1 also saves screenshots of passing
// steps (desktop 1280 px and phone 390 px).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const URL_BASE = process.env.BYOK_E2E_URL;
const ADMIN = process.env.BYOK_E2E_ADMIN_KEY;
const ARTIFACTS = process.env.BYOK_E2E_ARTIFACTS || '.tools/artifacts';
const CHROMIUM = process.env.BYOK_E2E_CHROMIUM || '/usr/bin/chromium';
const SHOTS = process.env.BYOK_E2E_SCREENSHOTS === '1';
assert.ok(URL_BASE && ADMIN, 'BYOK_E2E_URL and BYOK_E2E_ADMIN_KEY are required (scripts/test sets them)');
const require = createRequire(join(process.env.BYOK_E2E_NODE || '.', 'package.json'));
const { chromium } = require('playwright-core');
const ORIGIN = new URL(URL_BASE).origin;

// Distinct fake provider keys; none may ever be readable from the page after submission.
const SECRETS = {
  openai: 'sk-proj-e2eOPENAIsecret0000000000000000000000A1b2',
  anthropic: 'sk-ant-api03-e2eANTHROPICsecret000000000000C3d4',
  google: 'AIzaSyE2EgoogleSecret00000000000000000E5f6',
  xai: 'xai-e2eXAIsecret0000000000000000000000000G7h8',
};
const ROTATED = 'sk-proj-e2eROTATEDsecret000000000000000000000J9k0';
const ALL_SECRETS = [...Object.values(SECRETS), ROTATED];

async function apiCall(method, path, key, body) {
  const r = await fetch(ORIGIN + path, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : null };
}

test('management console end to end', { timeout: 180_000 }, async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking',
      '--disable-component-update', '--disable-default-apps', '--disable-sync', '--no-first-run', '--disable-extensions',
      '--metrics-recording-only', '--disable-domain-reliability', '--no-pings'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ORIGIN });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);

  const external = [];
  const problems = [];
  page.on('request', (r) => { if (!r.url().startsWith(ORIGIN + '/') && !r.url().startsWith('data:')) external.push(r.url()); });
  // API errors (4xx, and 5xx from verify against the closed provider port) are part of the test; a failed
  // page asset is not (the response listener catches those).
  page.on('console', (m) => { if (m.type() === 'error' && !/^Failed to load resource: the server responded with a status of [45]\d\d/.test(m.text())) problems.push(`console: ${m.text()}`); });
  page.on('response', (r) => { if (!new URL(r.url()).pathname.startsWith('/v1/') && r.status() >= 400) problems.push(`${r.status()} for ${r.url()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  let failed = false;
  const step = (name, fn) => t.test(name, { skip: failed && 'an earlier step failed' }, async () => {
    const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    try {
      await fn();
      if (SHOTS) await page.screenshot({ path: join(ARTIFACTS, `ok-${slug}.png`), fullPage: true });
    } catch (e) {
      failed = true;
      await page.screenshot({ path: join(ARTIFACTS, `FAILED-${slug}.png`), fullPage: true }).catch(() => {});
      writeFileSync(join(ARTIFACTS, `FAILED-${slug}.html`), await page.content().catch(() => ''));
      throw e;
    }
  });
  const card = (p) => page.locator(`article[data-provider="${p}"]`);

  try {
    let completionsOnly;
    await step('the page loads with its CSP and no external requests', async () => {
      const r = await page.goto(`${ORIGIN}/console`);
      assert.equal(r.status(), 200);
      assert.match(r.headers()['content-security-policy'], /default-src 'none'; script-src 'self'/);
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      assert.equal(await page.locator('#signin-key').getAttribute('type'), 'password');
    });

    await step('a completions-only key is told it has no manage permission', async () => {
      const created = await apiCall('POST', '/v1/manage/apikey', ADMIN,
        { name: 'app-only', monthly_limit: 0, permissions: { manage: 'none', completions: 'write' } });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      completionsOnly = created.body.api_key;
      await page.fill('#signin-key', completionsOnly);
      await page.click('#signin-form button[type=submit]');
      await page.getByText('This key has no manage permission').waitFor();
      assert.equal(await page.locator('#signin-key').inputValue(), '');
      assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
    });

    await step('sign in with the keyboard keeps the key in session storage only', async () => {
      await page.locator('#signin-key').focus();
      await page.keyboard.type(ADMIN);
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Provider keys' }).waitFor();
      assert.equal(await page.locator('#org-name').textContent(), 'Console E2E');
      const storage = await page.evaluate(() => ({ s: Object.values(sessionStorage), l: localStorage.length, c: document.cookie }));
      assert.deepEqual(storage, { s: [ADMIN], l: 0, c: '' });
      assert.ok(!page.url().includes(ADMIN), 'key in the URL');
      assert.equal(await page.locator('#tabs a[aria-current=page]').textContent(), 'Provider keys');
    });

    await step('add a key for every provider and see the masked hint', async () => {
      for (const [p, secret] of Object.entries(SECRETS)) {
        const c = card(p);
        await c.getByText('Not stored').waitFor();
        const input = c.locator('input[type=password]');
        await input.fill(secret);
        await c.locator('input[name=label]').fill(`${p}-prod`);
        await c.getByRole('button', { name: 'Add key' }).click();
        await c.getByText('Stored', { exact: true }).waitFor();
        assert.equal(await c.locator('code.hint').textContent(), `••••${secret.slice(-4)}`);
        await c.getByText(`${p}-prod`).waitFor();
        await c.locator(".actor", { hasText: "admin" }).first().waitFor(); // who added it
      }
    });

    await step('a rejected submission shows the API error next to the key field', async () => {
      // The API refuses white space in a key (400, param api_key): the message lands at that field.
      const c = card('google');
      await c.getByRole('button', { name: 'Rotate' }).click();
      await c.locator('input[type=password]').fill('not a key');
      await c.getByRole('button', { name: 'Save new key' }).click();
      await c.locator('input[type=password][aria-invalid=true]').waitFor();
      assert.match(await c.locator('.field-error').first().textContent(), /white space/);
      assert.equal(await c.locator('input[type=password]').inputValue(), '');
      assert.equal(await c.locator('code.hint').textContent(), `••••${SECRETS.google.slice(-4)}`);
      await c.getByRole('button', { name: 'Rotate' }).click(); // close
    });

    await step('rotate a key', async () => {
      const c = card('openai');
      await c.getByRole('button', { name: 'Rotate' }).click();
      await c.locator('input[type=password]').fill(ROTATED);
      await c.getByRole('button', { name: 'Save new key' }).click();
      await c.locator('code.hint', { hasText: `••••${ROTATED.slice(-4)}` }).waitFor();
      await c.locator('dd', { hasText: /^2$/ }).waitFor(); // version
    });

    await step('verify answers (or says verification is unavailable)', async () => {
      const c = card('anthropic');
      await c.getByRole('button', { name: 'Verify' }).click();
      // Whatever the answer (the provider URLs point at a closed port; the route may not exist yet), it is shown.
      await page.waitForFunction(() => {
        const out = document.querySelector('article[data-provider="anthropic"] .verify-result');
        return out && out.textContent.trim() && out.textContent !== 'Verifying…';
      });
    });

    await step('no provider key is ever in the DOM or in storage after submission', async () => {
      const dump = await page.evaluate(() => JSON.stringify({
        html: document.documentElement.outerHTML,
        values: [...document.querySelectorAll('input, textarea')].map((i) => i.value),
        session: Object.entries(sessionStorage),
        local: Object.entries(localStorage),
        cookie: document.cookie,
        title: document.title,
        url: location.href,
      }));
      for (const s of ALL_SECRETS) {
        assert.ok(!dump.includes(s), `a provider key is readable from the page: ${s.slice(0, 8)}…`);
        assert.ok(!dump.includes(s.slice(0, -4)), 'a provider key prefix is readable from the page');
      }
    });

    await step('create a fallback policy with two steps; a bad model is flagged at its field', async () => {
      await page.getByRole('link', { name: 'Policies' }).click();
      await page.getByRole('button', { name: 'New policy' }).click();
      await page.getByLabel('Name', { exact: true }).fill('fast-chat');
      const steps = page.locator('ol.steps > li');
      await steps.nth(0).getByLabel('Model').fill('mystery-model-9'); // a bare name of no known family: invalid
      await steps.nth(0).getByLabel('Key').selectOption('own_then_platform');
      await steps.nth(0).getByLabel('Retries').fill('2');
      await steps.nth(0).getByLabel('Timeout (ms)').fill('20000');
      await page.getByRole('button', { name: 'Add step' }).click();
      await steps.nth(1).getByLabel('Model').fill('anthropic/claude-sonnet-4-5');
      await steps.nth(1).getByLabel('Key').selectOption('own');
      await page.getByRole('button', { name: 'Create policy' }).click();
      const modelField = steps.nth(0).getByLabel('Model');
      await page.waitForFunction(() => document.querySelector('ol.steps > li [data-param="steps[0].model"]')?.getAttribute('aria-invalid') === 'true');
      const err = await steps.nth(0).locator('.field-error').first().textContent();
      assert.match(err, /steps\[0\]\.model/);
      await modelField.fill('openai/gpt-4.1-mini');
      await page.getByRole('button', { name: 'Create policy' }).click();
      await page.locator('tr[data-policy="fast-chat"]').waitFor();
      assert.match(await page.locator('tr[data-policy="fast-chat"] td.route').textContent(), /openai\/gpt-4\.1-mini → anthropic\/claude-sonnet-4-5/);
    });

    await step('explain shows the route a request would take', async () => {
      await page.locator('tr[data-policy="fast-chat"]').getByRole('button', { name: 'Explain' }).click();
      const out = page.locator('.explain-out');
      await out.getByText('A request would use').waitFor();
      assert.match(await out.textContent(), /openai\/gpt-4\.1-mini.*own key/);
      assert.equal(await out.locator('ol.route-list > li').count(), 2);
    });

    let secret;
    await step('create an API key and read its secret once', async () => {
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByLabel('Name', { exact: true }).fill('checkout');
      await page.getByLabel('Monthly limit (USD, 0 = none)').fill('50');
      await page.getByLabel('Completions permission').selectOption('write');
      await page.getByRole('button', { name: 'Create API key' }).click();
      const box = page.locator('.secret-box');
      await box.waitFor();
      secret = await box.locator('input.secret').inputValue();
      assert.match(secret, /^bgk_[0-9a-f]{64}$/);
      await box.getByRole('button', { name: 'Copy' }).click();
      await box.getByText('Copied.').waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
      // The secret is real: it authenticates (and, having no manage permission, is refused there).
      assert.equal((await apiCall('GET', '/v1/manage/org', secret)).status, 403);
      await box.getByRole('button', { name: 'Done' }).click();
      assert.equal(await page.locator('.secret-box').count(), 0);
      assert.ok(!(await page.content()).includes(secret));
      await page.reload();
      await page.locator('tr', { hasText: 'checkout' }).waitFor();
      assert.ok(!(await page.content()).includes(secret), 'the secret is shown again after a reload');
    });

    await step('set a monthly limit', async () => {
      const row = page.locator('tr', { hasText: 'checkout' });
      await row.getByLabel(/Monthly limit for checkout/).fill('75');
      await row.getByRole('button', { name: 'Set' }).click();
      await page.locator('#toast', { hasText: 'Limit of checkout set' }).waitFor();
      const list = await apiCall('GET', '/v1/manage/apikey', ADMIN);
      assert.equal(list.body.keys.find((k) => k.name === 'checkout').monthly_limit, 75);
    });

    await step('edit an API key: labels, allowed models, default model (PATCH), with field errors', async () => {
      const row = page.locator('tr', { hasText: 'checkout' });
      await row.getByText('Edit', { exact: true }).click();
      const form = row.locator('form.edit-key');
      await form.getByLabel('Default model or policy').fill('openai/*');
      await form.getByRole('button', { name: 'Save' }).click();
      await form.locator('.field-error', { hasText: /default_model/ }).waitFor();
      await form.getByLabel('Labels (name=value per line)').fill('team=payments\nenv=prod');
      await form.getByLabel('Allowed models and policies').fill('openai/*, policy/fast-chat');
      await form.getByLabel('Default model or policy').fill('policy/fast-chat');
      await form.getByRole('button', { name: 'Save' }).click();
      await page.locator('#toast', { hasText: 'API key checkout saved' }).waitFor();
      const key = (await apiCall('GET', '/v1/manage/apikey', ADMIN)).body.keys.find((k) => k.name === 'checkout');
      assert.deepEqual(key.labels, { env: 'prod', team: 'payments' });
      assert.deepEqual(key.allowed_models, ['openai/*', 'policy/fast-chat']);
      assert.equal(key.default_model, 'policy/fast-chat');
    });

    await step('edit an API key: permissions and auto caching (PATCH)', async () => {
      const row = page.locator('tr', { hasText: 'checkout' });
      await row.getByText('Edit', { exact: true }).click();
      const form = row.locator('form.edit-key');
      assert.equal(await form.getByLabel('Auto caching').inputValue(), '');
      await form.getByLabel('Auto caching').selectOption('true');
      await form.getByLabel('Manage access').selectOption('read');
      await form.getByLabel('Requests per minute').fill('120');
      // The previous step's toast has the same text: wait for this PATCH's answer instead.
      const [patched] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'PATCH' && new URL(r.url()).pathname.startsWith('/v1/manage/apikey/')),
        form.getByRole('button', { name: 'Save' }).click(),
      ]);
      assert.equal(patched.status(), 200);
      assert.deepEqual(patched.request().postDataJSON(), { permissions: { manage: 'read', completions: 'write' }, rpm: 120, auto_cache: true });
      const key = (await apiCall('GET', '/v1/manage/apikey', ADMIN)).body.keys.find((k) => k.name === 'checkout');
      assert.equal(key.auto_cache, true);
      assert.equal(key.rpm, 120);
      assert.deepEqual(key.permissions, { manage: 'read', completions: 'write' });
      await page.locator('tr', { hasText: 'checkout' }).getByText('Edit', { exact: true }).click();
      assert.equal(await page.locator('tr', { hasText: 'checkout' }).getByLabel('Auto caching').inputValue(), 'true');
      await page.locator('tr', { hasText: 'checkout' }).getByText('Edit', { exact: true }).click();
    });

    await step('the organisation\'s auto-caching default is set on the API keys page', async () => {
      const form = page.locator('form.org-settings');
      await form.waitFor();
      assert.equal(await form.getByLabel('Auto caching for the organisation').inputValue(), '');
      await form.getByLabel('Auto caching for the organisation').selectOption('true');
      await form.getByRole('button', { name: 'Save' }).click();
      await page.locator('#toast', { hasText: 'Organisation defaults saved' }).waitFor();
      assert.equal((await apiCall('GET', '/v1/manage/org', ADMIN)).body.auto_cache, true);
    });

    await step('delete an API key and a provider key, with confirmation (Escape cancels)', async () => {
      const row = page.locator('tr', { hasText: 'checkout' });
      await row.getByRole('button', { name: 'Delete' }).click();
      await page.locator('dialog#confirm').waitFor();
      await page.keyboard.press('Escape');
      await page.locator('dialog#confirm').waitFor({ state: 'hidden' });
      assert.equal(await row.count(), 1);
      await row.getByRole('button', { name: 'Delete' }).click();
      await page.locator('#confirm-ok').click();
      await page.locator('tr', { hasText: 'checkout' }).waitFor({ state: 'detached' });
      assert.equal((await apiCall('GET', '/v1/manage/org', secret)).status, 401);

      await page.getByRole('link', { name: 'Provider keys' }).click();
      await card('xai').getByRole('button', { name: 'Delete' }).click();
      await page.locator('#confirm-ok').click();
      await card('xai').getByText('Not stored').waitFor();
      assert.equal((await apiCall('GET', '/v1/byok/xai', ADMIN)).status, 404);
    });

    await step('usage shows a chart and a table (or says there is nothing yet)', async () => {
      await page.getByRole('link', { name: 'Usage' }).click();
      await page.getByRole('heading', { name: 'Usage this month' }).waitFor();
      for (const name of ['API key', 'Provider', 'Model', 'Requested as', 'Key used', 'App']) {
        await page.getByRole('button', { name, exact: true }).click();
        await page.locator('.chart, .usage-body p.muted').first().waitFor();
      }
    });

    await step('usage draws a chart and a table from the numbers the API returns', async () => {
      // No inference runs in this test, so the usage API is answered here with a month of sample rows.
      const group = (dims, spend, requests) => ({ ...dims, spend, requests, errors: 0,
        input_tokens: requests * 100, output_tokens: requests * 20, cached_tokens: 0, reasoning_tokens: 0, unpriced_requests: 0 });
      const sample = {
        api_key_id: [group({ api_key_id: 'key_01m8p8gone000000000000000' }, 1.5, 40)],
        provider_used: [group({ provider_used: 'anthropic' }, 0.25, 30), group({ provider_used: 'openai' }, 1.25, 10)],
        model_used: [group({ model_used: 'openai/gpt-4.1-mini' }, 1.25, 10), group({ model_used: 'anthropic/claude-sonnet-4-5' }, 0.25, 30)],
        model_requested: [group({ model_requested: 'policy/fast-chat' }, 1.5, 40)],
        is_byok: [group({ is_byok: true }, 1.0, 25), group({ is_byok: false }, 0.5, 15)],
        origin_title: [group({ origin_title: 'Checkout' }, 1.5, 40)],
      };
      await page.route('**/v1/manage/org/usage?*', (route) => {
        const dim = new URL(route.request().url()).searchParams.get('group_by');
        const groups = sample[dim];
        const sum = (f) => groups.reduce((t, g) => t + g[f], 0);
        const entry = { spend: sum('spend'), requests: sum('requests'), errors: 0, input_tokens: sum('input_tokens'),
          output_tokens: sum('output_tokens'), cached_tokens: 0, reasoning_tokens: 0, unpriced_requests: 0, groups };
        return route.fulfill({ json: { usage: { '2026-11-01T00:00:00Z': entry }, start: '2026-11-01T00:00:00Z', end: '2026-11-30T12:00:00Z', resolution: 'month' } });
      });
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      await page.getByRole('link', { name: 'Usage' }).click();
      await page.locator('.stat', { hasText: 'Spend' }).getByText('$1.50').waitFor();
      await page.getByRole('button', { name: 'Provider', exact: true }).click();
      await page.getByRole('button', { name: 'Spend', exact: true }).click();
      assert.deepEqual(await page.locator('.bar-label').allTextContents(), ['OpenAI', 'Anthropic']);
      assert.deepEqual(await page.locator('table.usage tbody th').allTextContents(), ['OpenAI', 'Anthropic']);
      const widths = await page.locator('.bar').evaluateAll((bars) => bars.map((b) => b.getBoundingClientRect().width));
      assert.ok(widths[0] > widths[1] * 4, `bars not proportional: ${widths}`);
      await page.getByRole('button', { name: 'Requests', exact: true }).click();
      assert.deepEqual(await page.locator('.bar-label').allTextContents(), ['Anthropic', 'OpenAI']);
      await page.getByRole('button', { name: 'Key used', exact: true }).click();
      assert.deepEqual(await page.locator('.bar-label').allTextContents(), ['Own key (BYOK)', 'Platform key']);
      await page.getByRole('button', { name: 'API key', exact: true }).click();
      assert.match(await page.locator('.bar-label').first().textContent(), /key_01m8p8gone0+ \(deleted\)/);
      await page.getByRole('button', { name: 'Provider', exact: true }).click();
    });

    await step('the request log lists requests, filters them, and shows one with its attempts and payload', async () => {
      // Real records: requests refused before any provider call are logged like any other (no provider runs
      // in this test). One from a key with logging on, so its request body is captured.
      const traced = await fetch(`${ORIGIN}/v1/chat/completions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${ADMIN}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'policy/e2e-absent', messages: [{ role: 'user', content: 'hi' }], byok: { trace_id: 'e2e-trace-1' } }),
      });
      assert.equal(traced.status, 404);
      const tracedId = traced.headers.get('x-request-id');
      const created = await apiCall('POST', '/v1/manage/apikey', ADMIN, { name: 'e2e-logging', logging: true });
      assert.equal(created.status, 201);
      const captured = await fetch(`${ORIGIN}/v1/chat/completions`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${created.body.api_key}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'policy/e2e-absent', messages: [{ role: 'user', content: 'e2e-payload-marker' }] }),
      });
      assert.equal(captured.status, 404);
      const capturedId = captured.headers.get('x-request-id');

      await page.getByRole('link', { name: 'Logs' }).click();
      await page.getByRole('heading', { name: 'Request log' }).waitFor();
      await page.locator(`table.logs tr[data-request-id="${capturedId}"]`).waitFor();
      const shown = await page.locator('table.logs tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.requestId));
      assert.deepEqual(shown.slice(0, 2), [capturedId, tracedId], 'newest first');

      await page.getByLabel('Trace id').fill('e2e-trace-1');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.waitForFunction(() => document.querySelectorAll('table.logs tbody tr').length === 1);
      assert.equal(await page.locator('table.logs tbody tr').getAttribute('data-request-id'), tracedId);
      await page.getByRole('button', { name: tracedId }).click();
      await page.locator('.log-detail h2', { hasText: tracedId }).waitFor();
      await page.locator('.log-detail').getByText('No provider was called.').waitFor();
      await page.locator('.log-detail').getByText('policy/e2e-absent').first().waitFor();

      await page.getByLabel('Trace id').fill('');
      await page.getByLabel('Status').selectOption('4xx');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.getByRole('button', { name: capturedId }).click();
      await page.locator('.log-detail .payload pre').first().getByText('e2e-payload-marker').waitFor();

      // The attempt trace of a request that fell over (no provider here, so this detail is answered by the test).
      const sample = { request_id: 'req_01kbe2e0000000000000000000', created_at: '2026-12-01T10:00:00Z', api_key_id: 'key_x',
        endpoint: '/v1/chat/completions', model_requested: 'policy/main', policy: 'main', model_used: 'anthropic/claude-sonnet-4-5',
        provider_used: 'anthropic', key_source: 'platform', stream: true, status: 200, error_type: null, error_code: null,
        latency_ms: 812, ttft_ms: 301, tokens: { input: 12, output: 40, cached: 0, cache_write: 0, reasoning: 0 }, cost: 0.0012,
        user_id: null, trace_id: null, tags: [], extra: {}, origin: null, payload_captured: false, payload: null,
        attempts: [
          { model: 'openai/gpt-4.1-mini', provider: 'openai', key_source: 'own', outcome: 'http_500', status: 500, ms: 95 },
          { model: 'anthropic/claude-sonnet-4-5', provider: 'anthropic', key_source: 'platform', outcome: 'ok', status: 200, ms: 700 },
        ] };
      // Its detail is answered in place of the captured request's, then opened as a click does.
      await page.route(`**/v1/manage/logs/${capturedId}`, (route) => route.fulfill({ json: sample }));
      await page.getByRole('button', { name: capturedId }).click();
      await page.locator('.log-detail h2', { hasText: sample.request_id }).waitFor();
      const trace = await page.locator('.log-detail table.attempts tbody tr').evaluateAll((rows) => rows.map((r) => [...r.cells].map((c) => c.textContent)));
      assert.deepEqual(trace, [
        ['1', 'openai/gpt-4.1-mini', 'own', 'http_500', '500', '95 ms'],
        ['2', 'anthropic/claude-sonnet-4-5', 'platform', 'ok', '200', '700 ms'],
      ]);
      await page.locator('.log-detail').getByText('301 ms').waitFor();
      await page.unroute(`**/v1/manage/logs/${capturedId}`);
    });

    await step('usage over time: an SVG stacked by any dimension, metadata fields included', async () => {
      // Two days of sample rows inside the last 30 days, answered per group_by; other requests go on.
      const day = 86_400_000;
      const today = Math.floor(Date.now() / day) * day;
      const iso = (t) => new Date(t).toISOString().replace('.000Z', 'Z');
      const seen = [];
      const groupsFor = (dim) => ({
        provider_used: [[{ provider_used: 'openai' }, 3.0, 10], [{ provider_used: 'anthropic' }, 1.0, 30]],
        'extra.team': [[{ 'extra.team': 'red' }, 2.0, 5], [{ 'extra.team': null }, 0.5, 1]],
      }[dim] || []);
      await page.route('**/v1/manage/org/usage?*', (route) => {
        const q = new URL(route.request().url()).searchParams;
        if (!['day', 'hour'].includes(q.get('resolution'))) return route.fallback();
        seen.push(q.get('group_by'));
        const entry = (scale) => {
          const groups = groupsFor(q.get('group_by')).map(([dims, spend, requests]) => ({ ...dims, spend: spend * scale, requests: requests * scale,
            errors: 0, input_tokens: 0, output_tokens: 0, cached_tokens: 0, cache_write_tokens: 0, reasoning_tokens: 0, unpriced_requests: 0 }));
          return { spend: groups.reduce((t, g) => t + g.spend, 0), requests: groups.reduce((t, g) => t + g.requests, 0), groups };
        };
        return route.fulfill({ json: { usage: { [iso(today - day)]: entry(1), [iso(today)]: entry(2) }, resolution: q.get('resolution') } });
      });
      await page.getByRole('link', { name: 'API keys' }).click();
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      await page.getByRole('link', { name: 'Usage' }).click();
      const bars = page.locator('svg.trend-chart rect[data-series]');
      await bars.first().waitFor();
      assert.equal(await bars.count(), 4, 'two providers on two days');
      assert.deepEqual(await page.locator('.trend .legend-name').allTextContents(), ['OpenAI', 'Anthropic']);
      const height = (series, period) => page.locator(`svg.trend-chart rect[data-series="${series}"][data-period="${new Date(period).toISOString()}"]`)
        .evaluate((r) => r.getBoundingClientRect().height);
      const [a, b] = [await height('OpenAI', today), await height('OpenAI', today - day)];
      assert.ok(Math.abs(a / b - 2) < 0.05, `today's OpenAI bar is not twice yesterday's: ${a} vs ${b}`);
      await page.getByLabel('Chart measure').selectOption('requests');
      await bars.first().waitFor();
      assert.deepEqual(await page.locator('.trend .legend-name').allTextContents(), ['Anthropic', 'OpenAI']);
      await page.getByLabel('Chart by').selectOption('extra');
      await page.getByLabel('extra.').fill('team');
      await page.getByLabel('extra.').press('Enter');
      await page.locator('.trend .legend-name', { hasText: 'red' }).waitFor();
      assert.deepEqual(await page.locator('.trend .legend-name').allTextContents(), ['red', '(none)']);
      assert.ok(seen.includes('extra.team'), `group_by sent: ${seen}`);
      assert.equal(await page.locator('svg.trend-chart title').first().textContent().then((t) => /red|\(none\)/.test(t)), true);
      await page.getByLabel('Chart by').selectOption('provider_used');
      await page.getByLabel('Chart measure').selectOption('cost');
    });

    await step('key audit lists every provider key change, never a key', async () => {
      await page.getByRole('link', { name: 'Key audit' }).click();
      await page.getByRole('heading', { name: 'Provider key audit' }).waitFor();
      const rows = page.locator('table.audit tbody tr');
      await rows.first().waitFor();
      const api = (await apiCall('GET', '/v1/byok/audit?limit=500', ADMIN)).body.data;
      assert.equal(await rows.count(), api.length);
      const changes = await page.locator('table.audit tbody td:nth-child(3)').allTextContents();
      assert.ok(changes.includes('Rotated') && changes.includes('Deleted') && changes.includes('Added'), `${changes}`);
      const order = await page.locator('table.audit tbody tr').evaluateAll((trs) => trs.map((tr) => `${tr.children[1].textContent} ${tr.children[2].textContent}`));
      assert.deepEqual(order, api.map((e) => `${{ openai: 'OpenAI', anthropic: 'Anthropic', google: 'Google AI Studio', xai: 'xAI' }[e.provider]} ${{ create: 'Added', rotate: 'Rotated', delete: 'Deleted' }[e.action]}`), 'the API\'s order');
      assert.equal(order[order.length - 1], 'xAI Deleted', 'the last change: the xAI key deleted');
      const html = await page.content();
      for (const s of ALL_SECRETS) assert.ok(!html.includes(s), 'a provider key is on the audit page');
    });

    await step('works at 390 px wide without horizontal scrolling', async () => {
      await page.setViewportSize({ width: 390, height: 844 });
      for (const tab of ['Provider keys', 'Policies', 'API keys', 'Usage', 'Logs', 'Key audit']) {
        await page.getByRole('link', { name: tab }).click();
        await page.locator('#view h1').waitFor();
        await page.waitForLoadState('networkidle');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${tab}: the page is ${overflow}px wider than the phone screen`);
        if (SHOTS) await page.screenshot({ path: join(ARTIFACTS, `ok-phone-${tab.replace(/\s+/g, '-').toLowerCase()}.png`), fullPage: true });
      }
      await page.setViewportSize({ width: 1280, height: 900 });
    });

    await step('sign out clears the key', async () => {
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.length + localStorage.length), 0);
      await page.reload();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    });

    await step('no external request, no console error, no CSP violation', async () => {
      assert.deepEqual(external, []);
      assert.deepEqual(problems, []);
    });
  } finally {
    await browser.close();
  }
});
