// Usage this month: spend and requests per API key, provider, model (used and requested), own-vs-platform
// key and calling app, as a bar chart (plain elements sized through the CSSOM, which the CSP allows) and a
// table. Reads Requesty's usage shape: `{"usage": {<period>: {spend, requests, …, groups: [...]}}}`.
import * as api from './api.js';
import { h, replace, usd, loading } from './dom.js';
import * as trend from './trend.js';

const DIMENSIONS = [
  ['api_key_id', 'API key'],
  ['provider_used', 'Provider'],
  ['model_used', 'Model'],
  ['model_requested', 'Requested as'],
  ['is_byok', 'Key used'],
  ['origin_title', 'App'],
];

let current = 'provider_used';
let metric = 'cost';

// The first instant of this month (UTC), the usage window's start.
function monthStart() {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
}

// Every group of every period, summed per group value.
function groupsOf(report, dim) {
  const by = new Map();
  for (const entry of Object.values(report.usage || {})) {
    for (const g of entry.groups || []) {
      const key = JSON.stringify(g[dim] ?? null);
      const t = by.get(key) || { value: g[dim], cost: 0, requests: 0, errors: 0, tokens: 0 };
      t.cost += g.spend || 0; t.requests += g.requests || 0; t.errors += g.errors || 0;
      t.tokens += (g.input_tokens || 0) + (g.output_tokens || 0);
      by.set(key, t);
    }
  }
  return [...by.values()];
}

export async function render(view) {
  replace(view, h('h1', {}, 'Usage this month'), loading());
  let results, names;
  try {
    [names, ...results] = await Promise.all([
      api.get('/v1/manage/apikey').then((r) => r.keys || []).catch(() => []),
      ...DIMENSIONS.map(([d]) => api.get(`/v1/manage/org/usage?start=${encodeURIComponent(monthStart())}&end=${encodeURIComponent(new Date(Date.now() + 3600000).toISOString())}&resolution=month&group_by=${d}`)),
    ]);
  } catch (e) {
    replace(view, h('h1', {}, 'Usage this month'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const byDim = Object.fromEntries(DIMENSIONS.map(([d], i) => [d, results[i]]));
  const keyNames = Object.fromEntries(names.map((k) => [k.id, k.name]));
  const label = (dim, value) => {
    if (value === null || value === undefined || value === '') return '(none)';
    if (dim === 'is_byok') return value === true || value === 'true' ? 'Own key (BYOK)' : 'Platform key';
    if (dim === 'provider_used') return api.providerName(value);
    if (dim === 'api_key_id') return keyNames[value] ? `${keyNames[value]} (${value})` : `${value} (deleted)`;
    return String(value);
  };
  const totals = Object.values(results[1].usage || {}).reduce((t, e) => ({ cost: t.cost + (e.spend || 0), requests: t.requests + (e.requests || 0) }), { cost: 0, requests: 0 });
  const period = results[1];

  const body = h('div', { class: 'usage-body' });
  const tabs = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Group by' });
  const metricTabs = h('div', { class: 'segmented', role: 'group', 'aria-label': 'Measure' });
  const draw = () => {
    for (const b of tabs.children) b.setAttribute('aria-pressed', String(b.dataset.dim === current));
    for (const b of metricTabs.children) b.setAttribute('aria-pressed', String(b.dataset.metric === metric));
    const rows = groupsOf(byDim[current], current).map((g) => ({ ...g, name: label(current, g.value) }))
      .sort((a, b) => b[metric] - a[metric] || a.name.localeCompare(b.name));
    replace(body, chart(rows), table(rows, DIMENSIONS.find(([d]) => d === current)[1]));
  };
  for (const [d, name] of DIMENSIONS) {
    const b = h('button', { type: 'button', class: 'secondary', dataset: { dim: d } }, name);
    b.addEventListener('click', () => { current = d; draw(); });
    tabs.append(b);
  }
  for (const [m, name] of [['cost', 'Spend'], ['requests', 'Requests']]) {
    const b = h('button', { type: 'button', class: 'secondary', dataset: { metric: m } }, name);
    b.addEventListener('click', () => { metric = m; draw(); });
    metricTabs.append(b);
  }
  replace(view,
    h('h1', {}, 'Usage this month'),
    h('p', { class: 'muted' }, period.start ? `From ${new Date(period.start).toLocaleDateString()} to now.` : ''),
    h('div', { class: 'stats' },
      h('div', { class: 'stat' }, h('span', { class: 'muted' }, 'Spend'), h('strong', {}, usd(totals.cost))),
      h('div', { class: 'stat' }, h('span', { class: 'muted' }, 'Requests'), h('strong', {}, totals.requests.toLocaleString()))),
    h('div', { class: 'toolbar' }, tabs, metricTabs),
    body,
    trend.section(label));
  draw();
}

function chart(rows) {
  if (!rows.length) return h('p', { class: 'muted' }, 'No requests this month yet.');
  const max = Math.max(...rows.map((r) => r[metric]), 0) || 1;
  const fmt = (r) => (metric === 'cost' ? usd(r.cost) : r.requests.toLocaleString());
  return h('figure', { class: 'chart' },
    h('figcaption', { class: 'sr-only' }, `${metric === 'cost' ? 'Spend' : 'Requests'} per group (the table below has the same numbers)`),
    rows.map((r) => {
      const bar = h('span', { class: 'bar' });
      bar.style.width = `${Math.max(0.5, (r[metric] / max) * 100)}%`;
      return h('div', { class: 'bar-row', 'aria-hidden': 'true' },
        h('span', { class: 'bar-label' }, r.name), h('span', { class: 'bar-track' }, bar), h('span', { class: 'bar-value' }, fmt(r)));
    }));
}

function table(rows, dimName) {
  if (!rows.length) return null;
  return h('div', { class: 'table-wrap' }, h('table', { class: 'usage' },
    h('caption', { class: 'sr-only' }, `Usage per ${dimName}`),
    h('thead', {}, h('tr', {}, [dimName, 'Spend', 'Requests', 'Errors', 'Tokens'].map((c, i) => h('th', { scope: 'col', class: i ? 'num' : undefined }, c)))),
    h('tbody', {}, rows.map((r) => h('tr', {},
      h('th', { scope: 'row' }, r.name), h('td', { class: 'num' }, usd(r.cost)), h('td', { class: 'num' }, r.requests.toLocaleString()),
      h('td', { class: 'num' }, r.errors.toLocaleString()), h('td', { class: 'num' }, r.tokens.toLocaleString()))))));
}
