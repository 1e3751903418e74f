// Request log: filters, a newest-first table paged with `next_cursor` ("Older requests"), and one request's
// detail (every attempt, and the payload when its key captured it). Reads GET /v1/manage/logs and
// GET /v1/manage/logs/{request_id}.
import * as api from './api.js';
import { h, replace, usd, time, loading, field, showError, clearErrors, busy } from './dom.js';

const PAGE = 50;
const TEXT_FILTERS = [
  ['model', 'Model', 'openai/gpt-4.1-mini or policy/main'],
  ['trace_id', 'Trace id', ''],
  ['user_id', 'User id', ''],
  ['tag', 'Tag', ''],
];

// The filter form's values as the API's query parameters (empty fields left out).
function query(form) {
  const params = new URLSearchParams();
  for (const el of form.querySelectorAll('[data-param]')) {
    const value = el.value.trim();
    if (!value) continue;
    if (el.type === 'datetime-local') {
      const at = new Date(value);
      if (!Number.isNaN(at.getTime())) params.set(el.dataset.param, at.toISOString());
    } else params.set(el.dataset.param, value);
  }
  params.set('limit', String(PAGE));
  return params;
}

function select(param, options) {
  return h('select', { dataset: { param } }, h('option', { value: '' }, 'Any'),
    options.map(([value, name]) => h('option', { value }, name)));
}

export async function render(view) {
  replace(view, h('h1', {}, 'Request log'), loading());
  const keys = await api.get('/v1/manage/apikey').then((r) => r.keys || []).catch(() => []);
  const keyNames = Object.fromEntries(keys.map((k) => [k.id, k.name]));
  const form = h('form', { class: 'card filters', novalidate: true, 'aria-label': 'Filters' },
    h('div', { class: 'grid' },
      field('From', h('input', { type: 'datetime-local', dataset: { param: 'start' } })),
      field('To', h('input', { type: 'datetime-local', dataset: { param: 'end' } })),
      field('API key', select('api_key_id', keys.map((k) => [k.id, k.name]))),
      field('Provider', select('provider', api.PROVIDERS.map((p) => [p.id, p.name]))),
      field('Status', select('status_class', [['2xx', '2xx'], ['4xx', '4xx'], ['5xx', '5xx']])),
      field('Key used', select('key_source', [['own', 'Own key (BYOK)'], ['platform', 'Platform key']])),
      TEXT_FILTERS.map(([param, label, placeholder]) =>
        field(label, h('input', { type: 'text', spellcheck: 'false', placeholder: placeholder || undefined, dataset: { param } }))),
      field('Min cost (USD)', h('input', { type: 'number', min: '0', step: 'any', dataset: { param: 'min_cost' } })),
      field('Min latency (ms)', h('input', { type: 'number', min: '0', step: '1', dataset: { param: 'min_latency_ms' } }))),
    h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Apply filters')));
  const results = h('div', { class: 'log-results' });
  const detail = h('section', { class: 'log-detail', 'aria-live': 'polite', 'aria-label': 'Request detail' });
  replace(view, h('h1', {}, 'Request log'),
    h('p', { class: 'muted' }, 'Every request to the gateway, newest first. Pick one to see each attempt it made.'),
    form, results, detail);

  const show = (id) => showDetail(detail, id, keyNames);
  let params = query(form);
  const load = async (cursor, button) => {
    const p = new URLSearchParams(params);
    if (cursor) p.set('cursor', cursor);
    const page = await busy(button, () => api.get(`/v1/manage/logs?${p}`));
    return page;
  };
  const first = async (button) => {
    clearErrors(form);
    params = query(form);
    try {
      const page = await load(null, button);
      replace(results, table(page, keyNames, show, load));
      replace(detail);
    } catch (e) {
      showError(form, e);
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); first(form.querySelector('button[type=submit]')); });
  await first();
}

function table(page, keyNames, show, load) {
  if (!page.data.length) return h('p', { class: 'muted' }, 'No requests match these filters.');
  const body = h('tbody');
  const add = (records) => body.append(...records.map((r) => row(r, keyNames, show)));
  add(page.data);
  const more = h('button', { type: 'button', class: 'secondary' }, 'Older requests');
  let cursor = page.next_cursor;
  more.hidden = !cursor;
  more.addEventListener('click', async () => {
    try {
      const next = await load(cursor, more);
      add(next.data);
      cursor = next.next_cursor;
      more.hidden = !cursor;
    } catch (e) {
      more.replaceWith(h('p', { class: 'error', role: 'alert' }, e.message));
    }
  });
  return h('div', {},
    h('div', { class: 'table-wrap' }, h('table', { class: 'logs' },
      h('caption', { class: 'sr-only' }, 'Requests, newest first'),
      h('thead', {}, h('tr', {}, ['Time', 'Status', 'Model', 'Key', 'API key', 'Latency', 'Cost', 'Tokens', 'Request']
        .map((c, i) => h('th', { scope: 'col', class: [5, 6, 7].includes(i) ? 'num' : undefined }, c)))),
      body)),
    h('div', { class: 'actions' }, more));
}

function status(r) {
  const cls = r.status >= 500 ? 'bad' : r.status >= 400 ? 'warn' : r.error_type ? 'warn' : 'ok';
  return h('span', { class: `badge ${cls}`, title: r.error_code || r.error_type || undefined },
    String(r.status), r.error_code ? ` ${r.error_code}` : r.error_type ? ` ${r.error_type}` : '');
}

function model(r) {
  const asked = r.model_requested || '—';
  if (!r.model_used || r.model_used === asked) return asked;
  return h('span', {}, asked, h('span', { class: 'muted' }, ' → '), r.model_used);
}

function row(r, keyNames, show) {
  const open = h('button', { type: 'button', class: 'link', dataset: { requestId: r.request_id } }, r.request_id);
  open.addEventListener('click', () => show(r.request_id));
  const tokens = (r.tokens.input || 0) + (r.tokens.output || 0);
  return h('tr', { dataset: { requestId: r.request_id } },
    h('td', {}, time(r.created_at)),
    h('td', {}, status(r)),
    h('td', {}, model(r)),
    h('td', {}, r.key_source === 'own' ? 'Own' : r.key_source === 'platform' ? 'Platform' : '—'),
    h('td', {}, keyNames[r.api_key_id] || r.api_key_id),
    h('td', { class: 'num' }, `${r.latency_ms} ms`),
    h('td', { class: 'num' }, r.cost === null ? '—' : usd(r.cost)),
    h('td', { class: 'num' }, tokens.toLocaleString()),
    h('td', {}, open));
}

async function showDetail(section, id, keyNames) {
  replace(section, loading());
  let r;
  try {
    r = await api.get(`/v1/manage/logs/${encodeURIComponent(id)}`);
  } catch (e) {
    replace(section, h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const facts = [
    ['Request id', h('code', {}, r.request_id)],
    ['Time', time(r.created_at)],
    ['Endpoint', r.endpoint],
    ['API key', keyNames[r.api_key_id] ? `${keyNames[r.api_key_id]} (${r.api_key_id})` : r.api_key_id],
    ['Status', status(r)],
    ['Model requested', r.model_requested || '—'],
    ['Policy', r.policy || '—'],
    ['Answered by', r.model_used ? `${r.model_used} (${r.key_source} key)` : '—'],
    ['Latency', `${r.latency_ms} ms`],
    ['Time to first token', r.ttft_ms === null || r.ttft_ms === undefined ? '—' : `${r.ttft_ms} ms`],
    ['Tokens', `${r.tokens.input} in (${r.tokens.cached} cached), ${r.tokens.output} out (${r.tokens.reasoning} reasoning)`],
    ['Cost', r.cost === null ? 'unknown' : usd(r.cost)],
    ['User', r.user_id || '—'],
    ['Trace', r.trace_id || '—'],
    ['Tags', r.tags.length ? r.tags.join(', ') : '—'],
    ['App', r.origin || '—'],
    ['Extra', Object.keys(r.extra).length ? Object.entries(r.extra).map(([k, v]) => `${k}=${v}`).join(', ') : '—'],
  ];
  const attempts = r.attempts.length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'attempts' },
      h('caption', {}, 'Attempts, in order'),
      h('thead', {}, h('tr', {}, ['#', 'Model', 'Key', 'Outcome', 'Provider status', 'Time'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, r.attempts.map((a, i) => h('tr', {},
        h('td', {}, String(i + 1)), h('td', {}, a.model), h('td', {}, a.key_source), h('td', {}, a.outcome),
        h('td', {}, a.status === null || a.status === undefined ? '—' : String(a.status)), h('td', {}, `${a.ms} ms`))))))
    : h('p', { class: 'muted' }, 'No provider was called.');
  const payload = r.payload
    ? h('div', { class: 'payload' },
      h('h3', {}, 'Request body', r.payload.request_truncated ? ' (cut at 32 KiB)' : ''),
      h('pre', {}, r.payload.request),
      h('h3', {}, 'Response body', r.payload.response_truncated ? ' (cut at 32 KiB)' : ''),
      h('pre', {}, r.payload.response === null || r.payload.response === undefined ? '(not captured)' : r.payload.response))
    : h('p', { class: 'muted' }, 'Bodies are not captured for this key (turn on logging on the API key to keep them).');
  replace(section,
    h('h2', {}, 'Request ', h('code', {}, r.request_id)),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    attempts,
    payload);
  section.scrollIntoView({ block: 'nearest' });
}
