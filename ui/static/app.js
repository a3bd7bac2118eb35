// app.js: the dashboard's entry point. It asks the server who the session
// is (GET /ui/session), shows the login form without one, and routes the
// hash (#/overview, #/vms, ...) to the pages.
import { h, append } from './dom.js';
import { call, setCSRF, ApiError } from './api.js';
import { overview } from './overview.js';
import { vms, vm } from './vms.js';
import { snapshot, files } from './snapshot.js';
import { jobs, job } from './jobs.js';
import { policies } from './policies.js';
import { schedules } from './schedules.js';
import { tokens } from './tokens.js';
import { stopAll } from './timers.js';

const main = document.getElementById('main');
export const session = { role: '', readOnly: true };

const pages = [
  { path: 'overview', title: 'Overview', page: overview },
  { path: 'vms', title: 'Hosts and VMs', page: vms },
  { path: 'jobs', title: 'Jobs', page: jobs },
  { path: 'policies', title: 'Policies', page: policies, admin: true },
  { path: 'schedules', title: 'Schedules', page: schedules },
  { path: 'tokens', title: 'Tokens', page: tokens, admin: true },
];
const hidden = { vm, snapshot, files, job };

async function route() {
  stopAll();
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const name = parts[0] || 'overview';
  const entry = pages.find((p) => p.path === name);
  const page = entry ? entry.page : hidden[name];
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.dataset.path === (entry ? name : sectionOf(name))));
  main.replaceChildren(h('p', { class: 'muted' }, 'Loading…'));
  if (!page || (entry && entry.admin && session.readOnly)) {
    main.replaceChildren(h('h1', {}, 'Not found'), h('p', { class: 'empty' }, 'There is no page ' + location.hash + ' for this session.'));
    return;
  }
  const view = h('div', { class: 'page' });
  try {
    await page(view, parts.slice(1), session);
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) { showLogin('Your session has ended. Log in again.'); return; }
    append(view, h('p', { class: 'error', role: 'alert' }, 'Could not load this page: ' + e.message));
  }
  main.replaceChildren(view);
}

function sectionOf(name) {
  return { vm: 'vms', snapshot: 'vms', files: 'vms', job: 'jobs' }[name] || '';
}

function showLogin(message) {
  document.getElementById('top').hidden = true;
  const input = h('input', { type: 'password', name: 'token', id: 'token', autocomplete: 'off', required: true, placeholder: 'svt_…', 'aria-label': 'Token' });
  const out = h('p', { class: 'error', id: 'login-error', role: 'alert' }, message || '');
  const form = h('form', { class: 'login', id: 'login-form', onsubmit: async (ev) => {
    ev.preventDefault();
    out.textContent = '';
    try {
      const s = await call('POST', '/ui/login', { token: input.value });
      input.value = '';
      start(s);
    } catch (e) {
      input.value = '';
      out.textContent = e.status === 403 ? 'This token cannot log in here: use an admin token, or a restore token for a read-only view.' : 'Login failed: ' + e.message;
    }
  } },
  h('h1', {}, 'shadowvault'),
  h('p', { class: 'muted' }, 'Log in with an admin token, or a restore token for a read-only view. The token is sent once; the server keeps a session instead.'),
  h('label', { for: 'token' }, 'Token'), input,
  h('button', { type: 'submit', id: 'login-submit' }, 'Log in'), out);
  main.replaceChildren(form);
  input.focus();
}

function start(s) {
  setCSRF(s.csrf_token);
  session.role = s.role;
  session.readOnly = s.read_only;
  session.host = s.host || '';
  session.tokenID = s.token_id;
  document.body.classList.toggle('readonly', s.read_only);
  const nav = document.getElementById('nav');
  nav.replaceChildren(...pages.filter((p) => !(p.admin && s.read_only)).map((p) =>
    h('a', { href: '#/' + p.path, 'data-path': p.path }, p.title)));
  document.getElementById('who').textContent = s.role + (s.host ? ' (' + s.host + ')' : '') + (s.read_only ? ' · read-only' : '');
  document.getElementById('top').hidden = false;
  if (!location.hash) location.hash = '#/overview';
  else route();
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await call('POST', '/ui/logout'); } catch (e) { /* the session is gone either way */ }
  setCSRF('');
  session.role = '';
  history.replaceState(null, '', '/ui/');
  showLogin('You are logged out.');
});

window.addEventListener('hashchange', () => { if (session.role) route(); });

(async () => {
  try {
    const s = await call('GET', '/ui/session');
    if (s.logged_in) start(s);
    else showLogin('');
  } catch (e) {
    showLogin('');
  }
})();
