// Entry point: sign-in, sign-out and the hash-routed sections.
import * as api from './api.js';
import * as session from './session.js';
import { toast } from './dom.js';
import * as keys from './keys.js';
import * as policies from './policies.js';
import * as apikeys from './apikeys.js';
import * as usage from './usage.js';
import * as logs from './logs.js';
import * as audit from './audit.js';

const SECTIONS = { keys, policies, apikeys, usage, logs, audit };
const $ = (id) => document.getElementById(id);

function showSignin(message) {
  session.forget();
  $('tabs').hidden = true;
  $('who').hidden = true;
  $('org-name').textContent = '';
  $('view').replaceChildren();
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('signin-key').value = '';
  $('signin-key').focus();
}

function showApp(org) {
  $('signin').hidden = true;
  $('tabs').hidden = false;
  $('who').hidden = false;
  $('org-name').textContent = org.name || org.org_id;
  route();
}

async function route() {
  if (!session.key()) return;
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1];
  if (!SECTIONS[name]) {
    history.replaceState(null, '', '#/keys');
    return route();
  }
  for (const a of document.querySelectorAll('#tabs a')) {
    if (a.dataset.tab === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const view = $('view');
  view.dataset.section = name;
  await SECTIONS[name].render(view);
}

// The key must open the org (GET /v1/manage/org needs manage:read); only then is it kept.
async function signIn(candidate) {
  try {
    const org = await api.call('GET', '/v1/manage/org', undefined, candidate);
    session.keep(candidate);
    showApp(org);
  } catch (e) {
    if (e.status === 403) showSignin('This key has no manage permission. Use a key created with manage: read or write.');
    else if (e.status === 401) showSignin('This key was not accepted: it is unknown, deleted or mistyped.');
    else showSignin(e.message);
  }
}

function start() {
  $('signin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const input = $('signin-key');
    const candidate = input.value.trim();
    input.value = '';
    if (!candidate) {
      $('signin-error').textContent = 'Paste a gateway API key.';
      return;
    }
    signIn(candidate);
  });
  $('signout').addEventListener('click', () => {
    showSignin('');
    history.replaceState(null, '', location.pathname);
    toast('Signed out');
  });
  api.whenUnauthorized(() => showSignin('The key stopped working (deleted or expired). Sign in again.'));
  window.addEventListener('hashchange', () => route());
  const kept = session.key();
  if (kept) signIn(kept);
  else showSignin('');
}

start();
