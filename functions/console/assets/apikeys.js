// Gateway API keys: list, create (the secret is shown once, with a copy button), monthly limit, delete.
import * as api from './api.js';
import { h, replace, field, showError, clearErrors, toast, confirm, time, usd, busy, loading } from './dom.js';

export async function render(view) {
  replace(view, h('h1', {}, 'API keys'), loading());
  let keys;
  try {
    keys = (await api.get('/v1/manage/apikey')).data || [];
  } catch (e) {
    replace(view, h('h1', {}, 'API keys'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const secretSlot = h('div', { id: 'new-secret' });
  replace(view,
    h('h1', {}, 'API keys'),
    h('p', { class: 'muted' }, 'Gateway keys for your apps. A key is shown once, when created; the gateway stores only its hash.'),
    secretSlot,
    keys.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'apikeys' },
          h('caption', { class: 'sr-only' }, 'API keys'),
          h('thead', {}, h('tr', {}, ['Name', 'Permissions', 'Spend this month', 'Monthly limit', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', {}, keys.map((k) => row(k, view)))))
      : h('p', { class: 'muted' }, 'No API keys.'),
    createForm(view, secretSlot));
}

function perms(p) {
  if (!p) return '—';
  return `manage: ${p.manage}, completions: ${p.completions}`;
}

function row(k, view) {
  const limitInput = h('input', { type: 'number', min: '0', step: '0.01', inputmode: 'decimal', value: String(k.monthly_limit ?? 0) });
  const limitBtn = h('button', { type: 'submit', class: 'secondary' }, 'Set');
  const limitForm = h('form', { class: 'inline', novalidate: true },
    field(`Monthly limit for ${k.name} (USD, 0 = none)`, limitInput, { param: 'monthly_limit' }), limitBtn);
  limitForm.querySelector('label').classList.add('sr-only');
  limitForm.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(limitForm);
    busy(limitBtn, async () => {
      try {
        await api.post(`/v1/manage/apikey/${encodeURIComponent(k.api_key_id)}/limit`, { monthly_limit: Number(limitInput.value) });
        toast(`Limit of ${k.name} set to ${Number(limitInput.value) ? usd(limitInput.value) : 'none'}`);
      } catch (err) { showError(limitForm, err); }
    });
  });
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
  del.addEventListener('click', async () => {
    if (!(await confirm(`Delete the API key "${k.name}" (${k.api_key_id})? Apps using it stop working at once.`))) return;
    busy(del, async () => {
      try {
        await api.del(`/v1/manage/apikey/${encodeURIComponent(k.api_key_id)}`);
        toast(`API key ${k.name} deleted`);
        render(view);
      } catch (err) { toast(err.message, 'error'); }
    });
  });
  return h('tr', { dataset: { apikey: k.api_key_id } },
    h('th', { scope: 'row' }, k.name, h('br'), h('code', { class: 'muted small' }, k.api_key_id)),
    h('td', { dataset: { label: 'Permissions' } }, perms(k.permissions)),
    h('td', { dataset: { label: 'Spend this month' } }, usd(k.monthly_spend)),
    h('td', { dataset: { label: 'Monthly limit' } }, limitForm),
    h('td', { dataset: { label: 'Created' } }, time(k.created_at)),
    h('td', { class: 'actions' }, del));
}

function createForm(view, secretSlot) {
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: '64', autocomplete: 'off' });
  const limit = h('input', { type: 'number', name: 'monthly_limit', min: '0', step: '0.01', value: '0', inputmode: 'decimal' });
  const manage = h('select', {}, ['none', 'read', 'write'].map((v) => h('option', { value: v }, v)));
  const completions = h('select', {}, ['write', 'none'].map((v) => h('option', { value: v }, v === 'write' ? 'write (may call models)' : 'none')));
  const submit = h('button', { type: 'submit' }, 'Create API key');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'apikey-form-title' },
    h('h2', { id: 'apikey-form-title' }, 'New API key'),
    h('div', { class: 'row' },
      field('Name', name, { param: 'name' }),
      field('Monthly limit (USD, 0 = none)', limit, { param: 'monthly_limit' }),
      field('Manage permission', manage, { param: 'permissions.manage' }),
      field('Completions permission', completions, { param: 'permissions.completions' })),
    h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      name: name.value.trim(),
      monthly_limit: Number(limit.value || 0),
      permissions: { manage: manage.value, completions: completions.value },
    };
    busy(submit, async () => {
      try {
        const created = await api.post('/v1/manage/apikey', body);
        await render(view);
        showSecret(document.getElementById('new-secret'), body.name, created);
      } catch (err) { showError(form, err); }
    });
  });
  return form;
}

// The new key, once: in a read-only field with a copy button, until dismissed or the page changes.
function showSecret(slot, name, created) {
  const out = h('input', { type: 'text', readonly: true, class: 'secret', value: created.api_key, spellcheck: 'false', autocomplete: 'off', 'aria-label': `New API key for ${name}` });
  const status = h('span', { class: 'muted', role: 'status' });
  const copy = h('button', { type: 'button' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(out.value);
    } catch {
      out.select();
      document.execCommand('copy');
    }
    status.textContent = 'Copied.';
  });
  const done = h('button', { type: 'button', class: 'secondary' }, 'Done');
  done.addEventListener('click', () => slot.replaceChildren());
  replace(slot, h('div', { class: 'card secret-box', role: 'region', 'aria-labelledby': 'secret-title' },
    h('h2', { id: 'secret-title' }, `API key "${name}" created`),
    h('p', {}, 'Copy it now: it is shown only this once and cannot be retrieved later.'),
    h('div', { class: 'secret-row' }, out, copy, done), status,
    h('p', { class: 'muted small' }, `Id: ${created.api_key_id}`)));
  copy.focus();
}
