// The organisation's own settings (PATCH /v1/manage/org, ours): its auto-caching default, used by requests
// whose own `requesty.auto_cache` and whose key's default are unset.
import * as api from './api.js';
import { h, field, busy, toast, showError, clearErrors } from './dom.js';

export function card() {
  const cache = h('select', {}, [['', 'not set (off)'], ['true', 'on'], ['false', 'off']].map(([v, n]) => h('option', { value: v }, n)));
  const save = h('button', { type: 'submit', class: 'secondary' }, 'Save');
  const form = h('form', { class: 'card org-settings', novalidate: true, 'aria-labelledby': 'org-settings-title' },
    h('h2', { id: 'org-settings-title' }, 'Organisation defaults'),
    field('Auto caching for the organisation', cache, { param: 'auto_cache',
      hint: 'Prompt-cache breakpoints on Anthropic for requests whose request and API key do not set auto caching.' }),
    h('p', { class: 'form-error', role: 'alert' }),
    h('div', { class: 'actions' }, save));
  api.get('/v1/manage/org').then((org) => {
    cache.value = org.auto_cache === true ? 'true' : org.auto_cache === false ? 'false' : '';
  }).catch((e) => showError(form, e));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    clearErrors(form);
    const value = cache.value === '' ? null : cache.value === 'true';
    busy(save, async () => {
      try {
        await api.patch('/v1/manage/org', { auto_cache: value });
        toast('Organisation defaults saved');
      } catch (err) { showError(form, err); }
    });
  });
  return form;
}
