// Policies: list; create/edit a fallback chain or load-balancing targets; explain the route now.
import * as api from './api.js';
import { h, replace, field, showError, clearErrors, toast, confirm, time, who, busy, loading } from './dom.js';

const KEY_SOURCES = [
  ['own', 'Own key'],
  ['platform', 'Platform key'],
  ['own_then_platform', 'Own, then platform'],
  ['platform_then_own', 'Platform, then own'],
];
const STICKY = [['none', 'Not sticky'], ['user_id', 'By user_id'], ['trace_id', 'By trace_id']];

let catalogue = null; // model ids from GET /v1/models, or [] when the gateway has none (404)

async function models() {
  if (catalogue) return catalogue;
  try {
    const r = await api.get('/v1/models');
    catalogue = (r.data || []).map((m) => m.id).filter(Boolean).sort();
  } catch {
    catalogue = []; // no catalogue (yet): the model field stays a typed id
  }
  return catalogue;
}

export async function render(view) {
  replace(view, h('h1', {}, 'Policies'), loading());
  let list;
  try {
    list = (await api.get('/v1/policies')).data || [];
  } catch (e) {
    replace(view, h('h1', {}, 'Policies'), h('p', { class: 'error', role: 'alert' }, e.message));
    return;
  }
  const editorSlot = h('div', { id: 'policy-editor' });
  const newBtn = h('button', { type: 'button' }, 'New policy');
  newBtn.addEventListener('click', () => editor(editorSlot, view, null));
  const table = list.length
    ? h('div', { class: 'table-wrap' }, h('table', { class: 'policies' },
        h('caption', { class: 'sr-only' }, 'Policies'),
        h('thead', {}, h('tr', {}, ['Name', 'Type', 'Route', 'Version', 'Updated', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, list.map((p) => row(p, view, editorSlot)))))
    : h('p', { class: 'muted' }, 'No policies yet. A policy lets apps call model "policy/<name>" and get fallbacks or load balancing.');
  replace(view, h('div', { class: 'section-head' }, h('h1', {}, 'Policies'), newBtn), table, editorSlot);
}

function summary(p) {
  if (p.type === 'fallback') return (p.steps || []).map((s) => s.model).join(' → ');
  return (p.targets || []).map((t) => `${t.model} ×${t.weight}`).join(', ');
}

function row(p, view, editorSlot) {
  const edit = h('button', { type: 'button', class: 'secondary' }, 'Edit');
  edit.addEventListener('click', () => editor(editorSlot, view, p));
  const explainBtn = h('button', { type: 'button', class: 'secondary' }, 'Explain');
  explainBtn.addEventListener('click', () => explain(editorSlot, p.name));
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
  del.addEventListener('click', async () => {
    if (!(await confirm(`Delete policy "${p.name}"? Requests to policy/${p.name} will fail.`))) return;
    busy(del, async () => {
      try {
        await api.del(`/v1/policies/${encodeURIComponent(p.name)}`);
        toast(`Policy ${p.name} deleted`);
        render(view);
      } catch (e) { toast(e.message, 'error'); }
    });
  });
  return h('tr', { dataset: { policy: p.name } },
    h('th', { scope: 'row' }, h('code', {}, p.name)),
    h('td', { dataset: { label: 'Type' } }, p.type === 'fallback' ? 'Fallback' : 'Load balance'),
    h('td', { class: 'route', dataset: { label: 'Route' } }, summary(p)),
    h('td', { dataset: { label: 'Version' } }, String(p.version)),
    h('td', { dataset: { label: 'Updated' } }, time(p.updated_at), ' by ', who(p.updated_by)),
    h('td', { class: 'actions' }, edit, explainBtn, del));
}

function select(options, value) {
  const s = h('select', {}, options.map(([v, label]) => h('option', { value: v }, label)));
  s.value = value;
  return s;
}

function num(value, attrs) {
  return h('input', { type: 'number', inputmode: 'numeric', value: String(value), ...attrs });
}

async function editor(slot, view, policy) {
  const ids = await models();
  const listId = 'model-catalogue';
  const datalist = h('datalist', { id: listId }, ids.map((m) => h('option', { value: m })));
  const name = h('input', { type: 'text', name: 'name', value: policy ? policy.name : '', required: true, pattern: '[A-Za-z0-9._-]+', maxlength: '64', autocomplete: 'off' });
  if (policy) name.readOnly = true;
  const type = select([['fallback', 'Fallback chain'], ['load_balance', 'Load balancing']], policy ? policy.type : 'fallback');
  const sticky = select(STICKY, (policy && policy.sticky) || 'none');
  const stickyField = field('Sticky', sticky, { param: 'sticky' });
  const rows = h('ol', { class: 'steps' });
  const addBtn = h('button', { type: 'button', class: 'secondary' });
  const entriesError = h('p', { class: 'field-error', id: 'entries-err', role: 'alert' });
  const entriesAnchor = h('div', { class: 'entries', tabindex: '-1', id: 'entries', dataset: { param: 'steps' }, 'aria-describedby': 'entries-err' }, rows, entriesError, addBtn);

  const modelInput = (value, i) => {
    const input = h('input', { type: 'text', list: listId, value: value || '', required: true, autocomplete: 'off', spellcheck: 'false', placeholder: 'provider/model' });
    return input;
  };
  const renumber = () => {
    const kind = type.value === 'fallback' ? 'steps' : 'targets';
    entriesAnchor.dataset.param = kind;
    [...rows.children].forEach((li, i) => {
      li.querySelector('.step-no').textContent = type.value === 'fallback' ? `Step ${i + 1}` : `Target ${i + 1}`;
      for (const el of li.querySelectorAll('[data-name]')) {
        el.dataset.param = `${kind}[${i}].${el.dataset.name}`;
      }
      li.querySelector('.up').disabled = i === 0;
      li.querySelector('.down').disabled = i === rows.children.length - 1;
    });
  };
  const addRow = (entry = {}) => {
    const lb = type.value === 'load_balance';
    const m = modelInput(entry.model);
    m.dataset.name = 'model';
    const ks = select(KEY_SOURCES, entry.key_source || 'own');
    ks.dataset.name = 'key_source';
    const parts = [field('Model', m, { hint: ids.length ? 'Pick from the catalogue or type provider/model' : 'provider/model, e.g. openai/gpt-4.1-mini' }), field('Key', ks)];
    if (lb) {
      const w = num(entry.weight ?? 1, { min: '0', step: 'any' });
      w.dataset.name = 'weight';
      parts.push(field('Weight', w));
    } else {
      const r = num(entry.retries ?? 1, { min: '0', max: '10', step: '1' });
      r.dataset.name = 'retries';
      const t = num(entry.timeout_ms ?? 30000, { min: '1000', max: '900000', step: '1' });
      t.dataset.name = 'timeout_ms';
      parts.push(field('Retries', r), field('Timeout (ms)', t));
    }
    const up = h('button', { type: 'button', class: 'icon up', 'aria-label': 'Move up' }, '↑');
    const down = h('button', { type: 'button', class: 'icon down', 'aria-label': 'Move down' }, '↓');
    const remove = h('button', { type: 'button', class: 'icon danger', 'aria-label': 'Remove' }, '✕');
    const li = h('li', { class: 'step' }, h('div', { class: 'step-head' }, h('strong', { class: 'step-no' }), h('span', { class: 'step-tools' }, up, down, remove)), h('div', { class: 'step-fields' }, parts));
    up.addEventListener('click', () => { if (li.previousElementSibling) rows.insertBefore(li, li.previousElementSibling); renumber(); up.focus(); });
    down.addEventListener('click', () => { if (li.nextElementSibling) rows.insertBefore(li.nextElementSibling, li); renumber(); down.focus(); });
    remove.addEventListener('click', () => { li.remove(); renumber(); addBtn.focus(); });
    rows.append(li);
    renumber();
    return li;
  };
  const reset = (entries) => {
    rows.replaceChildren();
    const lb = type.value === 'load_balance';
    addBtn.textContent = lb ? 'Add target' : 'Add step';
    stickyField.hidden = !lb;
    for (const e of entries) addRow(e);
    if (!entries.length) addRow();
  };
  addBtn.addEventListener('click', () => addRow().querySelector('input').focus());
  type.addEventListener('change', () => reset([]));

  const submit = h('button', { type: 'submit' }, policy ? 'Save changes' : 'Create policy');
  const cancel = h('button', { type: 'button', class: 'secondary' }, 'Cancel');
  cancel.addEventListener('click', () => slot.replaceChildren());
  const form = h('form', { class: 'card policy-form', novalidate: true, 'aria-labelledby': 'policy-form-title' },
    datalist,
    h('h2', { id: 'policy-form-title' }, policy ? `Edit policy ${policy.name}` : 'New policy'),
    h('div', { class: 'row' }, field('Name', name, { param: 'name', hint: 'Apps call it as policy/<name>' }), field('Type', type, { param: 'type' }), stickyField),
    entriesAnchor,
    h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' }, submit, cancel));
  reset(policy ? (policy.type === 'fallback' ? policy.steps : policy.targets) || [] : []);

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const lb = type.value === 'load_balance';
    const entries = [...rows.children].map((li) => {
      const get = (n) => li.querySelector(`[data-name="${n}"]`);
      const entry = { model: get('model').value.trim() };
      if (!entry.model.startsWith('policy/')) entry.key_source = get('key_source').value;
      if (lb) entry.weight = Number(get('weight').value);
      else if (!entry.model.startsWith('policy/')) {
        entry.retries = Number(get('retries').value);
        entry.timeout_ms = Number(get('timeout_ms').value);
      }
      return entry;
    });
    const body = { name: name.value.trim(), type: type.value };
    if (lb) { body.targets = entries; body.sticky = sticky.value; } else body.steps = entries;
    busy(submit, async () => {
      try {
        let saved;
        if (policy) {
          body.version = policy.version;
          saved = await api.put(`/v1/policies/${encodeURIComponent(policy.name)}`, body);
        } else {
          saved = await api.post('/v1/policies', body);
        }
        toast(`Policy ${saved.name} saved (version ${saved.version})`);
        await render(view);
        const again = document.getElementById('policy-editor');
        if (again) explain(again, saved.name);
      } catch (err) {
        if (err.param && /^(steps|targets)$/.test(err.param)) {
          entriesError.textContent = err.message;
          entriesAnchor.focus();
        } else if (err.status === 409 && policy) {
          showError(form, { message: `${err.message} Reload the page to see the current version.` });
        } else {
          showError(form, err);
        }
      }
    });
  });
  replace(slot, form);
  (policy ? rows.querySelector('input') : name).focus();
}

async function explain(slot, policyName) {
  const userId = h('input', { type: 'text', autocomplete: 'off', placeholder: 'optional' });
  const traceId = h('input', { type: 'text', autocomplete: 'off', placeholder: 'optional' });
  const out = h('div', { class: 'explain-out', 'aria-live': 'polite' });
  const run = h('button', { type: 'submit' }, 'Explain');
  const form = h('form', { class: 'card explain', novalidate: true, 'aria-labelledby': 'explain-title' },
    h('h2', { id: 'explain-title' }, `Route of policy/${policyName} right now`),
    h('div', { class: 'row' }, field('Sample user_id', userId, { param: 'user_id' }), field('Sample trace_id', traceId, { param: 'trace_id' })),
    h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' }, run),
    out);
  const go = () => busy(run, async () => {
    clearErrors(form);
    const body = {};
    if (userId.value.trim()) body.user_id = userId.value.trim();
    if (traceId.value.trim()) body.trace_id = traceId.value.trim();
    try {
      const r = await api.post(`/v1/policies/${encodeURIComponent(policyName)}/explain`, body);
      replace(out,
        h('p', { class: r.would_use ? 'ok' : 'error' }, r.would_use
          ? ['A request would use ', h('code', {}, r.would_use.model), ' with the ', h('strong', {}, `${r.would_use.key} key`), ' first.']
          : 'No attempt is possible right now: every entry would be skipped.'),
        h('ol', { class: 'route-list' }, (r.route || []).map((a) => h('li', { class: `attempt ${a.action}` },
          h('code', {}, a.model), ' ',
          h('span', { class: `badge ${a.action === 'try' ? 'ok' : 'warn'}` }, a.action === 'try' ? `try · ${a.key} key` : 'skip'),
          a.action === 'try' && a.retries != null ? h('span', { class: 'muted' }, ` ${a.retries} ${a.retries === 1 ? 'retry' : 'retries'}, timeout ${a.timeout_ms} ms`) : null,
          a.weight != null ? h('span', { class: 'muted' }, ` weight ${a.weight}`) : null,
          a.via && a.via.length > 1 ? h('span', { class: 'muted' }, ` via ${a.via.join(' → ')}`) : null,
          (a.reasons || []).length ? h('ul', { class: 'reasons' }, a.reasons.map((x) => h('li', {}, x))) : null))),
        r.deterministic === false ? h('p', { class: 'muted' }, 'Load balancing without a sticky value: the order may differ per request.') : null);
    } catch (err) { showError(form, err); }
  });
  form.addEventListener('submit', (e) => { e.preventDefault(); go(); });
  replace(slot, form);
  await go();
  run.focus();
}
