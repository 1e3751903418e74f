// Provider keys: one card per provider; add, rotate, verify, delete. A submitted key is read from its
// password field, the field is cleared at once, and the key is never rendered or stored: the API answers
// with a masked record (hint = last four characters), which is all the page ever shows.
import * as api from './api.js';
import { h, replace, field, showError, clearErrors, toast, confirm, time, who, busy, loading } from './dom.js';

export async function render(view) {
  replace(view, h('h1', {}, 'Provider keys'), loading());
  let records;
  try {
    records = (await api.get('/v1/byok')).data || [];
  } catch (e) {
    replace(view, h('h1', {}, 'Provider keys'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const grid = h('div', { class: 'cards' });
  replace(view,
    h('h1', {}, 'Provider keys'),
    h('p', { class: 'muted' }, 'At most one key per provider. Keys are encrypted at rest and never shown again: only their last four characters.'),
    grid);
  for (const p of api.PROVIDERS) {
    const slot = h('article', { class: 'card provider', dataset: { provider: p.id }, 'aria-labelledby': `prov-${p.id}` });
    grid.append(slot);
    card(slot, p, records.find((r) => r.provider === p.id) || null);
  }
}

function card(slot, provider, record) {
  const status = record
    ? h('span', { class: 'badge ok' }, 'Stored')
    : h('span', { class: 'badge' }, 'Not stored');
  const head = h('div', { class: 'card-head' }, h('h2', { id: `prov-${provider.id}` }, provider.name), status);
  const verifyOut = h('p', { class: 'verify-result', role: 'status' });
  if (!record) {
    replace(slot, head, keyForm(provider, null, (saved) => card(slot, provider, saved)));
    return;
  }
  const details = h('dl', { class: 'facts' },
    fact('Label', record.label || '—'),
    fact('Key', h('code', { class: 'hint' }, `••••${record.hint}`)),
    fact('Added', time(record.created_at), ' by ', who(record.created_by)),
    fact('Updated', time(record.updated_at), ' by ', who(record.updated_by)),
    fact('Version', String(record.version)),
    fact('Last verified', time(record.last_verified_at)),
    fact('Last used', time(record.last_used_at)),
    fact('Last error', record.last_error ? h('span', { class: 'error' }, record.last_error) : '—'),
  );
  const rotateBox = h('div', { class: 'rotate', hidden: true });
  const rotateBtn = h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false' }, 'Rotate');
  rotateBtn.addEventListener('click', () => {
    const open = rotateBox.hidden;
    rotateBox.hidden = !open;
    rotateBtn.setAttribute('aria-expanded', String(open));
    if (open) {
      replace(rotateBox, keyForm(provider, record, (saved) => card(slot, provider, saved)));
      rotateBox.querySelector('input[type=password]').focus();
    } else {
      rotateBox.replaceChildren();
    }
  });
  const verifyBtn = h('button', { type: 'button', class: 'secondary' }, 'Verify');
  verifyBtn.addEventListener('click', () => busy(verifyBtn, async () => {
    verifyOut.className = 'verify-result';
    verifyOut.textContent = 'Verifying…';
    try {
      const r = await api.call('POST', `/v1/byok/${provider.id}/verify`); // no body, as the API expects
      verifyOut.className = `verify-result ${r.valid ? 'ok' : 'error'}`;
      verifyOut.textContent = r.valid
        ? `Valid${Array.isArray(r.models) ? `: ${r.models.length} models available` : ''}.`
        : `Not valid: ${r.error || 'the provider rejected the key'}`;
      const fresh = await api.get(`/v1/byok/${provider.id}`).catch(() => null);
      if (fresh) {
        card(slot, provider, fresh);
        const out = slot.querySelector('.verify-result');
        out.className = verifyOut.className;
        out.textContent = verifyOut.textContent;
      }
    } catch (e) {
      verifyOut.className = 'verify-result error';
      verifyOut.textContent = e.status === 404 && /no such route/i.test(e.message)
        ? 'Verification is not available on this gateway.'
        : e.message;
    }
  }));
  const deleteBtn = h('button', { type: 'button', class: 'danger' }, 'Delete');
  deleteBtn.addEventListener('click', async () => {
    if (!(await confirm(`Delete the ${provider.name} key (••••${record.hint})? Requests using the org's own ${provider.name} key will fail or fall over.`))) return;
    await busy(deleteBtn, async () => {
      try {
        await api.del(`/v1/byok/${provider.id}`);
        toast(`${provider.name} key deleted`);
        card(slot, provider, null);
        slot.querySelector('input[type=password]').focus();
      } catch (e) {
        toast(e.message, 'error');
      }
    });
  });
  replace(slot, head, details, h('div', { class: 'actions' }, rotateBtn, verifyBtn, deleteBtn), verifyOut, rotateBox);
}

function fact(term, ...value) {
  return h('div', {}, h('dt', {}, term), h('dd', {}, ...value));
}

// Add (record = null) or rotate form. The key field is a password field, emptied as soon as it is read.
function keyForm(provider, record, onSaved) {
  const keyInput = h('input', { type: 'password', name: 'api_key', autocomplete: 'off', spellcheck: 'false', required: true });
  const labelInput = h('input', { type: 'text', name: 'label', maxlength: '64', value: record ? record.label || '' : '' });
  const submit = h('button', { type: 'submit' }, record ? 'Save new key' : 'Add key');
  const form = h('form', { class: 'key-form', novalidate: true },
    field(record ? `New ${provider.name} API key` : `${provider.name} API key`, keyInput, { param: 'api_key' }),
    field('Label (optional)', labelInput, { param: 'label' }),
    h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const secret = keyInput.value.trim();
    keyInput.value = '';
    clearErrors(form);
    if (!secret) {
      showError(form, { param: 'api_key', message: 'Paste the provider key first.' });
      return;
    }
    const label = labelInput.value.trim() || undefined;
    busy(submit, async () => {
      try {
        const saved = record
          ? await api.put(`/v1/byok/${provider.id}`, { api_key: secret, label, version: record.version })
          : await api.post('/v1/byok', { provider: provider.id, api_key: secret, label });
        toast(`${provider.name} key ${record ? 'rotated' : 'stored'} (••••${saved.hint})`);
        onSaved(saved);
      } catch (err) {
        showError(form, err.status === 409 && record
          ? { message: 'The key changed meanwhile (another admin?). Reload the page and try again.' }
          : err);
      }
    });
  });
  return form;
}
