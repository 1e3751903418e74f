// Gateway API keys: list, create (the secret is shown once, with a copy button), monthly limit, edit (name,
// labels, allowed models and policies, expiry, default model, permissions, rpm/tpm, auto caching), delete. Shapes: Requesty's (`keys`, `id`).
import * as api from './api.js';
import { h, replace, field, showError, clearErrors, toast, confirm, time, usd, busy, loading } from './dom.js';
import * as orgsettings from './orgsettings.js';

export async function render(view) {
  replace(view, h('h1', {}, 'API keys'), loading());
  let keys;
  try {
    keys = (await api.get('/v1/manage/apikey')).keys || [];
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
    createForm(view, secretSlot),
    orgsettings.card());
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
        await api.post(`/v1/manage/apikey/${encodeURIComponent(k.id)}/limit`, { monthly_limit: Number(limitInput.value) });
        toast(`Limit of ${k.name} set to ${Number(limitInput.value) ? usd(limitInput.value) : 'none'}`);
      } catch (err) { showError(limitForm, err); }
    });
  });
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
  del.addEventListener('click', async () => {
    if (!(await confirm(`Delete the API key "${k.name}" (${k.id})? Apps using it stop working at once.`))) return;
    busy(del, async () => {
      try {
        await api.del(`/v1/manage/apikey/${encodeURIComponent(k.id)}`);
        toast(`API key ${k.name} deleted`);
        render(view);
      } catch (err) { toast(err.message, 'error'); }
    });
  });
  return h('tr', { dataset: { apikey: k.id } },
    h('th', { scope: 'row' }, k.name, h('br'), h('code', { class: 'muted small' }, k.id)),
    h('td', { dataset: { label: 'Permissions' } }, perms(k.permissions)),
    h('td', { dataset: { label: 'Spend this month' } }, usd(k.monthly_spend)),
    h('td', { dataset: { label: 'Monthly limit' } }, limitForm),
    h('td', { dataset: { label: 'Created' } }, time(k.created_at)),
    h('td', { class: 'actions' }, editor(k, view), del));
}

// `name=value` per line ↔ the labels object.
const labelsText = (labels) => Object.entries(labels || {}).map(([n, v]) => `${n}=${v}`).join('\n');
function parseLabels(text) {
  const out = {};
  for (const line of text.split('\n').map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf('=');
    if (at < 0) out[line] = '';
    else out[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return out;
}
// A datetime-local value (the browser's local time) ↔ RFC 3339.
const localInput = (iso) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
};

// The key's settings, edited in place with PATCH /v1/manage/apikey/{id} (only changed fields are sent).
function editor(k, view) {
  const name = h('input', { type: 'text', value: k.name, maxlength: '100', autocomplete: 'off' });
  const labels = h('textarea', { rows: '2', placeholder: 'team=payments' }, labelsText(k.labels));
  const models = h('input', { type: 'text', value: (k.allowed_models || []).join(', '), placeholder: 'openai/*, policy/main (empty: all)', autocomplete: 'off' });
  const def = h('input', { type: 'text', value: k.default_model || '', placeholder: 'policy/main (none)', autocomplete: 'off' });
  const expires = h('input', { type: 'datetime-local', value: localInput(k.expires_at) });
  const logging = h('input', { type: 'checkbox', checked: Boolean(k.logging) });
  const perms = k.permissions || {};
  const manage = h('select', {}, ['none', 'read', 'write'].map((v) => h('option', { value: v }, v)));
  manage.value = perms.manage || 'none';
  const completions = h('select', {}, ['write', 'none'].map((v) => h('option', { value: v }, v)));
  completions.value = perms.completions || 'write';
  const cache = h('select', {}, [['', 'not set (off)'], ['true', 'on'], ['false', 'off']].map(([v, n]) => h('option', { value: v }, n)));
  cache.value = k.auto_cache === true ? 'true' : k.auto_cache === false ? 'false' : '';
  const rpm = h('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric', value: k.rpm ?? '', placeholder: 'no limit' });
  const tpm = h('input', { type: 'number', min: '1', step: '1', inputmode: 'numeric', value: k.tpm ?? '', placeholder: 'no limit' });
  const save = h('button', { type: 'submit' }, 'Save');
  const form = h('form', { class: 'edit-key', novalidate: true, 'aria-label': `Settings of ${k.name}` },
    field('Rename to', name, { param: 'name' }),
    field('Labels (name=value per line)', labels, { param: 'labels' }),
    field('Allowed models and policies', models, { param: 'allowed_models' }),
    field('Default model or policy', def, { param: 'default_model', hint: 'Used when a request names model "default" or none.' }),
    field('Expires', expires, { param: 'expires_at' }),
    field('Keep request and response bodies in the request log', logging, { param: 'logging', hint: 'Encrypted, first 32 KiB of each, shown only in a request\'s detail.' }),
    field('Manage access', manage, { param: 'permissions' }),
    field('Completions access', completions),
    field('Requests per minute', rpm, { param: 'rpm' }),
    field('Tokens per minute', tpm, { param: 'tpm' }),
    field('Auto caching', cache, { param: 'auto_cache', hint: 'Prompt-cache breakpoints on Anthropic for requests that do not set requesty.auto_cache.' }),
    h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {};
    if (name.value.trim() !== k.name) body.name = name.value.trim();
    const newLabels = parseLabels(labels.value);
    if (JSON.stringify(newLabels) !== JSON.stringify(k.labels || {})) body.labels = newLabels;
    const newModels = models.value.split(',').map((m) => m.trim()).filter(Boolean);
    if (newModels.join(',') !== (k.allowed_models || []).join(',')) body.allowed_models = newModels;
    const newDefault = def.value.trim() || null;
    if (newDefault !== (k.default_model || null)) body.default_model = newDefault;
    const newExpiry = expires.value ? new Date(expires.value).toISOString() : null;
    if (localInput(newExpiry) !== localInput(k.expires_at)) body.expires_at = newExpiry;
    if (logging.checked !== Boolean(k.logging)) body.logging = logging.checked;
    if (manage.value !== (perms.manage || 'none') || completions.value !== (perms.completions || 'write')) {
      body.permissions = { manage: manage.value, completions: completions.value };
    }
    for (const [name, input] of [['rpm', rpm], ['tpm', tpm]]) {
      const value = input.value.trim() === '' ? null : Number(input.value);
      if (value !== (k[name] ?? null)) body[name] = value;
    }
    const newCache = cache.value === '' ? null : cache.value === 'true';
    if (newCache !== (k.auto_cache ?? null)) body.auto_cache = newCache;
    busy(save, async () => {
      try {
        if (Object.keys(body).length) await api.patch(`/v1/manage/apikey/${encodeURIComponent(k.id)}`, body);
        toast(`API key ${body.name || k.name} saved`);
        render(view);
      } catch (err) { showError(form, err); }
    });
  });
  return h('details', { class: 'edit' }, h('summary', {}, 'Edit'), form);
}

function createForm(view, secretSlot) {
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: '64', autocomplete: 'off' });
  const limit = h('input', { type: 'number', name: 'monthly_limit', min: '0', step: '0.01', value: '0', inputmode: 'decimal' });
  const manage = h('select', {}, ['none', 'read', 'write'].map((v) => h('option', { value: v }, v)));
  const completions = h('select', {}, ['write', 'none'].map((v) => h('option', { value: v }, v === 'write' ? 'write (may call models)' : 'none')));
  const logging = h('input', { type: 'checkbox' });
  const submit = h('button', { type: 'submit' }, 'Create API key');
  const form = h('form', { class: 'card', novalidate: true, 'aria-labelledby': 'apikey-form-title' },
    h('h2', { id: 'apikey-form-title' }, 'New API key'),
    h('div', { class: 'row' },
      field('Name', name, { param: 'name' }),
      field('Monthly limit (USD, 0 = none)', limit, { param: 'monthly_limit' }),
      field('Manage permission', manage, { param: 'permissions.manage' }),
      field('Completions permission', completions, { param: 'permissions.completions' }),
      field('Log bodies', logging, { param: 'logging', hint: 'Keep request and response bodies (encrypted) in the request log.' })),
    h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const body = {
      name: name.value.trim(),
      monthly_limit: Number(limit.value || 0),
      permissions: { manage: manage.value, completions: completions.value },
      logging: logging.checked,
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
