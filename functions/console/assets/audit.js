// Provider-key audit: who created, rotated or deleted which provider key, and when (never the key), in the
// order the API pages them (oldest first), a page at a time (`GET /v1/byok/audit?limit=&cursor=`,
// `{data, next_cursor}`).
import * as api from './api.js';
import { h, replace, loading } from './dom.js';

const PAGE = 50;
const ACTIONS = { create: 'Added', rotate: 'Rotated', delete: 'Deleted' };

function row(e) {
  const who = e.actor ? `${e.actor.name} (${e.actor.api_key_id})` : 'operator (CLI)';
  return h('tr', {},
    h('td', {}, h('time', { datetime: e.at }, new Date(e.at).toLocaleString())),
    h('th', { scope: 'row' }, api.providerName(e.provider)),
    h('td', {}, ACTIONS[e.action] || e.action),
    h('td', {}, who),
    h('td', { class: 'num' }, String(e.version)));
}

export async function render(view) {
  replace(view, h('h1', {}, 'Provider key audit'), loading());
  const tbody = h('tbody');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  const status = h('p', { class: 'muted' });
  let cursor = null;
  const load = async () => {
    const q = new URLSearchParams({ limit: String(PAGE) });
    if (cursor) q.set('cursor', cursor);
    const page = await api.get(`/v1/byok/audit?${q}`);
    tbody.append(...(page.data || []).map(row));
    cursor = page.next_cursor || null;
    more.hidden = !cursor;
    status.textContent = tbody.children.length ? '' : 'No provider key has been changed yet.';
  };
  more.addEventListener('click', async () => {
    more.disabled = true;
    try { await load(); } catch (e) { status.textContent = e.message; } finally { more.disabled = false; }
  });
  try {
    await load();
  } catch (e) {
    replace(view, h('h1', {}, 'Provider key audit'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  replace(view,
    h('h1', {}, 'Provider key audit'),
    h('p', { class: 'muted' }, 'Every change to a provider key, oldest first. Keys themselves are never shown.'),
    status,
    h('div', { class: 'table-wrap' }, h('table', { class: 'audit' },
      h('caption', { class: 'sr-only' }, 'Provider key changes'),
      h('thead', {}, h('tr', {}, ['When', 'Provider', 'Change', 'By', 'Version'].map((c, i) => h('th', { scope: 'col', class: i === 4 ? 'num' : undefined }, c)))),
      tbody)),
    more);
}
