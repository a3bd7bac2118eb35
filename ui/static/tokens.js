// tokens.js: the API tokens: create one (its secret shown this once),
// revoke one.
import { h, when, table, badge } from './dom.js';
import { get, call, enc } from './api.js';

export async function tokens(view, _args, session) {
  view.append(h('h1', {}, 'Tokens'));
  const secretBox = h('div', { id: 'token-secret' });
  const list = h('div', {});
  const draw = async () => {
    const r = await get('/api/v1/tokens');
    const rows = (r.tokens || []).slice().sort((a, b) => (a.created < b.created ? 1 : -1));
    list.replaceChildren(table(['ID', 'Role', 'Host', 'Created', ''], rows.map((t) => h('tr', { 'data-id': t.id },
      h('td', { class: 'mono' }, t.id), h('td', {}, badge(t.role, t.role === 'admin' ? 'info' : '')), h('td', {}, t.host || '–'), h('td', {}, when(t.created)),
      h('td', {}, t.id === session.tokenID ? h('span', { class: 'muted' }, 'this session') : h('button', { type: 'button', class: 'danger small revoke', 'data-id': t.id, onclick: async (ev) => {
        // Two clicks: the first asks, the second revokes.
        if (!ev.target.classList.contains('confirm')) {
          ev.target.classList.add('confirm');
          ev.target.textContent = 'Confirm revoke';
          ev.target.title = 'Agents and sessions using this token stop working at once.';
          return;
        }
        ev.target.disabled = true;
        try { await call('DELETE', '/api/v1/tokens/' + enc(t.id)); } catch (e) { alertBox(list, 'Revoke failed: ' + e.message); }
        await draw();
      } }, 'Revoke')))), 'No tokens.', { id: 'tokens' }));
  };
  const role = h('select', { id: 'token-role' }, h('option', { value: 'agent' }, 'agent (backs up one host)'),
    h('option', { value: 'restore' }, 'restore (reads snapshots)'), h('option', { value: 'admin' }, 'admin'));
  const host = h('input', { id: 'token-host', placeholder: 'HV01' });
  const form = h('form', { class: 'inline', id: 'token-form', onsubmit: async (ev) => {
    ev.preventDefault();
    try {
      const t = await call('POST', '/api/v1/tokens', { role: role.value, host: host.value.trim() });
      const code = h('code', { class: 'secret', id: 'new-secret' }, t.token);
      secretBox.replaceChildren(h('div', { class: 'notice secret-box' },
        h('p', {}, h('strong', {}, 'Token ' + t.id + ' (' + t.role + (t.host ? ', ' + t.host : '') + ') created.'),
          ' Copy its secret now: it is shown this once and cannot be read again.'),
        code, h('p', { class: 'muted' }, 'Receipt key to pin on the agent: ', h('code', {}, t.receipt_key)),
        h('button', { type: 'button', id: 'secret-done', onclick: () => secretBox.replaceChildren() }, 'I have copied it')));
      host.value = '';
      await draw();
    } catch (e) {
      secretBox.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Could not create the token: ' + e.message));
    }
  } }, h('label', {}, 'Role ', role), h('label', {}, 'Host ', host), h('button', { type: 'submit', id: 'token-create' }, 'Create token'));
  view.append(h('section', { class: 'panel action' }, h('h2', {}, 'New token'), form, secretBox),
    h('section', { class: 'panel' }, h('h2', {}, 'Tokens'), list));
  await draw();
}

function alertBox(el, msg) { el.prepend(h('p', { class: 'error', role: 'alert' }, msg)); }
