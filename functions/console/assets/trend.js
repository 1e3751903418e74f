// Usage over time: spend or requests per hour (last 24 hours) or per day (last 30 days), stacked by one
// dimension (provider, model, API key, own vs platform key, app, requested model, user, or any
// `extra.<field>`), drawn as an SVG built here with createElementNS (no library, nothing external, nothing
// the CSP refuses). Reads `GET /v1/manage/org/usage?resolution=…&group_by=…` (Requesty's shape).
import * as api from './api.js';
import { h, replace, usd } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 720;
const HEIGHT = 240;
const PAD = { top: 12, right: 8, bottom: 28, left: 56 };
// Most series drawn; the rest are summed into "Other".
const MAX_SERIES = 6;
const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2', '#6b7280'];

const DIMENSIONS = [
  ['provider_used', 'Provider'],
  ['model_used', 'Model'],
  ['api_key_id', 'API key'],
  ['is_byok', 'Own vs platform key'],
  ['origin_title', 'App'],
  ['model_requested', 'Requested as'],
  ['user_id', 'User'],
  ['extra', 'Metadata field (extra.…)'],
];
const RANGES = [
  ['day', 'Last 30 days', 30, 86_400_000],
  ['hour', 'Last 24 hours', 24, 3_600_000],
];

const state = { dim: 'provider_used', extra: '', range: 'day', metric: 'cost' };

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function select(label, options, value, onChange) {
  const s = h('select', {}, options.map(([v, name]) => h('option', { value: v }, name)));
  s.value = value;
  s.addEventListener('change', () => onChange(s.value));
  const id = `trend-${label.replace(/\W+/g, '-').toLowerCase()}`;
  s.id = id;
  return h('div', { class: 'field inline' }, h('label', { for: id }, label), s);
}

// The period starts of the range, oldest first, as epoch milliseconds (UTC hours or days).
function periods(range, now = Date.now()) {
  const [, , count, step] = RANGES.find(([r]) => r === range);
  const last = Math.floor(now / step) * step;
  return Array.from({ length: count }, (_, i) => last - (count - 1 - i) * step);
}

// {series: [{name, values[]}], starts[]}: the top groups by the metric, the rest as "Other".
export function series(report, dim, metric, starts, label) {
  const index = new Map(starts.map((t, i) => [t, i]));
  const by = new Map();
  for (const [period, entry] of Object.entries(report.usage || {})) {
    const i = index.get(Date.parse(period));
    if (i === undefined) continue;
    for (const g of entry.groups || []) {
      const name = label(g[dim]);
      const s = by.get(name) || { name, values: starts.map(() => 0), total: 0 };
      const v = metric === 'cost' ? g.spend || 0 : g.requests || 0;
      s.values[i] += v;
      s.total += v;
      by.set(name, s);
    }
  }
  const all = [...by.values()].filter((s) => s.total > 0).sort((a, b) => b.total - a.total || a.name.localeCompare(b.name));
  if (all.length <= MAX_SERIES) return all;
  const top = all.slice(0, MAX_SERIES - 1);
  const other = { name: 'Other', values: starts.map(() => 0), total: 0 };
  for (const s of all.slice(MAX_SERIES - 1)) {
    s.values.forEach((v, i) => { other.values[i] += v; });
    other.total += s.total;
  }
  return [...top, other];
}

function chart(list, starts, range, metric) {
  const fmt = (v) => (metric === 'cost' ? usd(v) : Math.round(v).toLocaleString());
  const stacks = starts.map((_, i) => list.reduce((t, s) => t + s.values[i], 0));
  const max = Math.max(...stacks, 0) || 1;
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const slot = plotW / starts.length;
  const barW = Math.max(1, slot * 0.7);
  const when = (t) => (range === 'hour'
    ? new Date(t).toISOString().slice(11, 16)
    : new Date(t).toISOString().slice(5, 10));
  const root = svg('svg', { class: 'trend-chart', viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: 'img',
    'aria-label': `${metric === 'cost' ? 'Spend' : 'Requests'} per ${range}, stacked by group; the table below has the same numbers` });
  // Axes: the zero line, the maximum, the first and last period.
  root.append(
    svg('line', { x1: PAD.left, y1: PAD.top + plotH, x2: WIDTH - PAD.right, y2: PAD.top + plotH, class: 'axis' }),
    svg('line', { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: PAD.top + plotH, class: 'axis' }),
    svg('text', { x: PAD.left - 6, y: PAD.top + 10, 'text-anchor': 'end', class: 'tick' }, fmt(max)),
    svg('text', { x: PAD.left - 6, y: PAD.top + plotH, 'text-anchor': 'end', class: 'tick' }, fmt(0)),
    svg('text', { x: PAD.left, y: HEIGHT - 8, class: 'tick' }, when(starts[0])),
    svg('text', { x: WIDTH - PAD.right, y: HEIGHT - 8, 'text-anchor': 'end', class: 'tick' }, when(starts[starts.length - 1])),
  );
  starts.forEach((t, i) => {
    let y = PAD.top + plotH;
    list.forEach((s, k) => {
      const v = s.values[i];
      if (v <= 0) return;
      const hgt = (v / max) * plotH;
      y -= hgt;
      const rect = svg('rect', { x: (PAD.left + i * slot + (slot - barW) / 2).toFixed(2), y: y.toFixed(2),
        width: barW.toFixed(2), height: Math.max(0.5, hgt).toFixed(2), fill: COLORS[k % COLORS.length],
        'data-series': s.name, 'data-period': new Date(t).toISOString(), 'data-value': String(v) },
      svg('title', {}, `${s.name}, ${new Date(t).toISOString().slice(0, range === 'hour' ? 16 : 10).replace('T', ' ')}: ${fmt(v)}`));
      root.append(rect);
    });
  });
  return root;
}

function legend(list, metric) {
  const fmt = (v) => (metric === 'cost' ? usd(v) : Math.round(v).toLocaleString());
  return h('ul', { class: 'legend' }, list.map((s, k) => {
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.backgroundColor = COLORS[k % COLORS.length];
    return h('li', {}, swatch, h('span', { class: 'legend-name' }, s.name), h('span', { class: 'muted' }, ` ${fmt(s.total)}`));
  }));
}

// The same numbers as a table, for screen readers (and tests).
function table(list, starts, range, metric) {
  const fmt = (v) => (metric === 'cost' ? usd(v) : Math.round(v).toLocaleString());
  const rows = starts.map((t, i) => [t, i]).filter(([, i]) => list.some((s) => s.values[i] > 0));
  return h('div', { class: 'sr-only' }, h('table', { class: 'trend-table' },
    h('caption', {}, `${metric === 'cost' ? 'Spend' : 'Requests'} per ${range}`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Period'), list.map((s) => h('th', { scope: 'col' }, s.name)))),
    h('tbody', {}, rows.map(([t, i]) => h('tr', {}, h('th', { scope: 'row' }, new Date(t).toISOString()),
      list.map((s) => h('td', {}, fmt(s.values[i]))))))));
}

// The "over time" section; `label(dim, value)` names a group value as the rest of the usage page does.
export function section(label) {
  const out = h('section', { class: 'trend', 'aria-labelledby': 'trend-title' });
  const body = h('div', { class: 'trend-body' });
  const extraInput = h('input', { type: 'text', id: 'trend-extra', placeholder: 'team', spellcheck: 'false', value: state.extra });
  const extraField = h('div', { class: 'field inline' }, h('label', { for: 'trend-extra' }, 'extra.'), extraInput);
  let seq = 0;
  const load = async () => {
    extraField.hidden = state.dim !== 'extra';
    const field = state.dim === 'extra' ? `extra.${state.extra}` : state.dim;
    if (state.dim === 'extra' && !/^[a-z0-9_.-]{1,64}$/.test(state.extra)) {
      replace(body, h('p', { class: 'muted' }, 'Name a metadata field (letters, digits, _ - .).'));
      return;
    }
    const mine = ++seq;
    const starts = periods(state.range);
    const step = RANGES.find(([r]) => r === state.range)[3];
    const q = new URLSearchParams({ start: new Date(starts[0]).toISOString(), end: new Date(starts[starts.length - 1] + step).toISOString(),
      resolution: state.range, group_by: field });
    replace(body, h('p', { class: 'muted' }, 'Loading…'));
    let report;
    try {
      report = await api.get(`/v1/manage/org/usage?${q}`);
    } catch (e) {
      if (mine === seq) replace(body, h('p', { class: 'error', role: 'alert' }, e.message));
      return;
    }
    if (mine !== seq) return;
    const dimLabel = (v) => (state.dim === 'extra' ? (v === null || v === undefined || v === '' ? '(none)' : String(v)) : label(field, v));
    const list = series(report, field, state.metric, starts, dimLabel);
    if (!list.length) {
      replace(body, h('p', { class: 'muted' }, 'No requests in this range.'));
      return;
    }
    replace(body, chart(list, starts, state.range, state.metric), legend(list, state.metric), table(list, starts, state.range, state.metric));
  };
  const setExtra = () => {
    const name = extraInput.value.trim().toLowerCase();
    if (name === state.extra) return;
    state.extra = name;
    load();
  };
  extraInput.addEventListener('change', setExtra);
  extraInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') setExtra(); });
  replace(out,
    h('h2', { id: 'trend-title' }, 'Over time'),
    h('div', { class: 'toolbar trend-controls' },
      select('Chart by', DIMENSIONS, state.dim, (v) => { state.dim = v; load(); }),
      extraField,
      select('Range', RANGES.map(([r, name]) => [r, name]), state.range, (v) => { state.range = v; load(); }),
      select('Chart measure', [['cost', 'Spend'], ['requests', 'Requests']], state.metric, (v) => { state.metric = v; load(); })),
    body);
  load();
  return out;
}
