// Small DOM helpers: element builder (text nodes only, never HTML strings), errors next to fields, toast, confirm.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export const id = (prefix) => `${prefix}-${++uid}`;

// A labelled field: <div class="field"><label/><input/><p class="field-error"/></div>. `param` names the
// API field whose validation errors land here.
export function field(label, input, { param, hint } = {}) {
  input.id = input.id || id('f');
  const err = h('p', { class: 'field-error', id: `${input.id}-err`, role: 'alert' });
  const hintEl = hint ? h('p', { class: 'hint', id: `${input.id}-hint` }, hint) : null;
  input.setAttribute('aria-describedby', [hintEl && hintEl.id, err.id].filter(Boolean).join(' '));
  if (param) input.dataset.param = param;
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input, hintEl, err);
}

export function clearErrors(root) {
  for (const el of root.querySelectorAll('.field-error')) el.textContent = '';
  for (const el of root.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

// Show an API error next to the field its `param` names (or at the form's own error line).
export function showError(root, err) {
  clearErrors(root);
  const target = err.param && [...root.querySelectorAll('[data-param]')].find((el) => el.dataset.param === err.param);
  if (target) {
    target.setAttribute('aria-invalid', 'true');
    const line = document.getElementById(`${target.id}-err`);
    if (line) line.textContent = err.message;
    target.focus();
    return;
  }
  const line = root.querySelector('.form-error');
  if (line) line.textContent = err.message;
  else toast(err.message, 'error');
}

let toastTimer;
export function toast(message, kind = 'ok') {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = `toast show ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.className = 'toast'; }, kind === 'error' ? 8000 : 4000);
}

// A modal confirmation (native <dialog>: focus is trapped, Escape cancels). Resolves true on Confirm.
export function confirm(message, action = 'Delete') {
  const dialog = document.getElementById('confirm');
  const ok = document.getElementById('confirm-ok');
  const cancel = document.getElementById('confirm-cancel');
  document.getElementById('confirm-text').textContent = message;
  ok.textContent = action;
  return new Promise((resolve) => {
    const done = (value) => {
      ok.removeEventListener('click', onOk);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const onOk = () => done(true);
    const onCancel = (e) => { if (e) e.preventDefault(); done(false); };
    ok.addEventListener('click', onOk);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    cancel.focus();
  });
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function time(iso) {
  return h('time', { datetime: iso || undefined, title: iso || undefined }, when(iso));
}

export function usd(n) {
  const v = Number(n || 0);
  return v.toLocaleString(undefined, { style: 'currency', currency: 'USD', minimumFractionDigits: 2, maximumFractionDigits: v !== 0 && Math.abs(v) < 0.01 ? 6 : 2 });
}

// The gateway key that made a change: its name, with its id on hover and for screen readers.
export function who(actor) {
  if (!actor) return '—';
  if (!actor.name) return h('code', {}, actor.api_key_id);
  return h('span', { class: 'actor', title: actor.api_key_id }, actor.name, h('span', { class: 'sr-only' }, ` (${actor.api_key_id})`));
}

// Run an async action with its button disabled (and busy) meanwhile.
export async function busy(button, fn) {
  if (button) { button.disabled = true; button.setAttribute('aria-busy', 'true'); }
  try { return await fn(); } finally {
    if (button) { button.disabled = false; button.removeAttribute('aria-busy'); }
  }
}

export const loading = () => h('p', { class: 'muted' }, 'Loading…');
