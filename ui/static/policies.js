// policies.js: the stored retention policies and a forget dry run: what a
// forget would keep and remove, without removing anything.
import { h, when, table, short } from './dom.js';
import { get, call } from './api.js';
import { describePolicy } from './vms.js';

export async function policies(view, _args, session) {
  const r = await get('/api/v1/policies');
  const names = Object.keys(r.policies || {}).sort();
  view.append(h('h1', {}, 'Policies'),
    h('section', { class: 'panel' }, h('h2', {}, 'Retention policies'),
      table(['Name', 'Hosts', 'VMs', 'Keeps'], names.map((n) => {
        const p = r.policies[n];
        return h('tr', {}, h('td', {}, n), h('td', { class: 'mono' }, p.match.host || '*'), h('td', { class: 'mono' }, p.match.vm || '*'), h('td', {}, describePolicy(p)));
      }), 'No policies: every snapshot is kept. Store one with `shadowvault policy set` or PUT /api/v1/policies/{name}.', { id: 'policies' })));
  if (session.readOnly) return;

  const host = h('input', { name: 'host', id: 'forget-host', placeholder: 'all hosts' });
  const vm = h('input', { name: 'vm', id: 'forget-vm', placeholder: 'all VMs' });
  const which = h('select', { id: 'forget-policy' },
    h('option', { value: '' }, 'the stored policies that match'),
    names.map((n) => h('option', { value: 'p:' + n }, 'policy ' + n)),
    h('option', { value: 'last' }, 'keep only the last N'));
  const n = h('input', { type: 'number', min: 1, value: 1, id: 'forget-last', class: 'narrow' });
  const out = h('div', { id: 'forget-result' });
  const form = h('form', { class: 'inline', id: 'forget-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const body = { host: host.value.trim(), vm: vm.value.trim(), dry_run: true, policy: null };
    if (which.value.startsWith('p:')) body.policy = r.policies[which.value.slice(2)];
    else if (which.value === 'last') body.policy = { match: {}, keep_last: Number(n.value) };
    out.replaceChildren(h('p', { class: 'muted' }, 'Computing…'));
    try {
      const res = await call('POST', '/api/v1/forget', body);
      out.replaceChildren(h('p', { class: 'notice' }, 'Dry run: nothing was removed. A forget would keep ', String((res.keep || []).length),
        ' and remove ', String((res.remove || []).length), ' snapshots.'),
      h('div', { class: 'split' },
        h('div', {}, h('h3', {}, 'Would keep'), decisions(res.keep || [], true, 'forget-keep')),
        h('div', {}, h('h3', {}, 'Would remove'), decisions(res.remove || [], false, 'forget-remove'))));
    } catch (e) {
      out.replaceChildren(h('p', { class: 'error', role: 'alert' }, 'Dry run failed: ' + e.message));
    }
  } },
  h('label', {}, 'Host ', host), h('label', {}, 'VM ', vm), h('label', {}, 'Apply ', which), h('label', {}, 'N ', n),
  h('button', { type: 'submit', id: 'forget-dry-run' }, 'Preview forget (dry run)'));
  view.append(h('section', { class: 'panel action' }, h('h2', {}, 'Forget preview'),
    h('p', { class: 'muted' }, 'See which snapshots a forget would remove. The preview changes nothing; forget itself runs from the CLI (`shadowvault forget`).'), form, out));
}

function decisions(list, keep, id) {
  return table(['Snapshot', 'Host / VM', 'Time', keep ? 'Kept by' : ''], list.map((d) => h('tr', {},
    h('td', {}, h('a', { href: '#/snapshot/' + d.snapshot, class: 'mono' }, short(d.snapshot))),
    h('td', {}, d.host + ' / ' + d.vm), h('td', {}, when(d.time)),
    h('td', {}, keep ? (d.reasons || []).join(', ') : ''))), keep ? 'Nothing.' : 'Nothing would be removed.', { id });
}
