// vms.js: hosts and their VMs, and one VM's snapshots, schedule and policy.
import { h, bytes, when, ago, table, badge, glob, short } from './dom.js';
import { optional, enc } from './api.js';
import { snapshots, byVM, newBytes, truncateLogs, scheduleList } from './data.js';

export async function vms(view) {
  const groups = byVM(await snapshots());
  view.append(h('h1', {}, 'Hosts and VMs'));
  const hosts = [...new Set(groups.map((g) => g.host))];
  if (!hosts.length) {
    view.append(h('p', { class: 'empty' }, 'No snapshots yet: hosts and VMs appear here after their first backup.'));
    return;
  }
  view.append(h('section', { class: 'panel' },
    h('h2', {}, hosts.length + (hosts.length === 1 ? ' host, ' : ' hosts, ') + groups.length + (groups.length === 1 ? ' VM' : ' VMs')),
    table(['Host', 'VM', 'Snapshots', 'Last backup', 'Type', 'Size', 'Stored new (all)'], groups.map((g, i) =>
      h('tr', { class: i > 0 && groups[i - 1].host === g.host ? 'same-host' : 'new-host' },
        h('td', { class: 'host' }, i > 0 && groups[i - 1].host === g.host ? '' : g.host),
        h('td', {}, h('a', { href: '#/vm/' + enc(g.host) + '/' + enc(g.vm), class: 'vm-link' }, g.vm)),
        h('td', { class: 'num' }, String(g.snapshots.length)),
        h('td', {}, when(g.snapshots[0].time), h('span', { class: 'muted' }, ' ' + ago(g.snapshots[0].time))),
        h('td', {}, g.snapshots[0].backup_type),
        h('td', { class: 'num' }, bytes(g.snapshots[0].logical_bytes)),
        h('td', { class: 'num' }, bytes(g.snapshots.reduce((n, s) => n + newBytes(s), 0))))), '', { id: 'vm-list' })));
}

export async function vm(view, [host, name], session) {
  const [list, scheds, pols] = await Promise.all([
    snapshots('?host=' + enc(host) + '&vm=' + enc(name)), scheduleList(),
    session.readOnly ? null : optional('/api/v1/policies')]);
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/vms' }, 'Hosts and VMs'), ' / ', host, ' / ', name),
    h('h1', {}, name, ' ', h('span', { class: 'muted' }, 'on ' + host)));
  const sched = scheds === null ? null : scheds.filter((s) => glob(s.hosts, host) && glob(s.vms, name));
  const pol = pols ? Object.entries(pols.policies || {}).filter(([, p]) => glob(p.match.host, host) && glob(p.match.vm, name)) : null;
  view.append(h('section', { class: 'cards' },
    h('div', { class: 'card wide' }, h('div', { class: 'label' }, 'Schedule'),
      h('div', { class: 'value small' }, sched === null ? 'not available on this server' : sched.length ? sched.map(describeSchedule).join('; ') : 'none: backups are started by hand')),
    h('div', { class: 'card wide' }, h('div', { class: 'label' }, 'Retention policy'),
      h('div', { class: 'value small', id: 'vm-policy' }, pol === null ? 'shown to admin sessions' : pol.length ? pol.map(([n, p]) => n + ' (' + describePolicy(p) + ')').join('; ') : 'none: every snapshot is kept'))));
  view.append(h('section', { class: 'panel' }, h('h2', {}, 'Snapshots'),
    table(['Time', 'Snapshot', 'Type', 'Consistency', 'Truncate logs', 'Size', 'New bytes', 'Disks', 'Protected'], list.map((s) =>
      h('tr', {},
        h('td', {}, when(s.time)),
        h('td', {}, h('a', { href: '#/snapshot/' + s.id, class: 'mono snapshot-link' }, short(s.id))),
        h('td', {}, s.backup_type),
        h('td', {}, s.consistency),
        h('td', {}, truncateLogs(s) ? badge('yes', 'ok') : badge('no', 'muted')),
        h('td', { class: 'num' }, bytes(s.logical_bytes)),
        h('td', { class: 'num' }, bytes(newBytes(s))),
        h('td', { class: 'num' }, String((s.disks || []).length)),
        h('td', {}, s.protected ? badge('protected', 'info') : ''))),
    'No snapshots of this VM.', { id: 'snapshots' })));
}

export function describeSchedule(s) {
  const w = s.window;
  const when = w ? (w.days && w.days.length ? w.days.join(',') : 'daily') + ' ' + w.start + '–' + w.end + ' ' + (w.time_zone || 'UTC') : 'every ' + s.interval;
  return s.name + ': ' + when + ', ' + s.backup_type + (s.incremental ? ' incremental' : '') + (s.enabled === false ? ' (disabled)' : '');
}

export function describePolicy(p) {
  const parts = [];
  for (const k of ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly']) if (p['keep_' + k]) parts.push(k + ' ' + p['keep_' + k]);
  if (p.keep_within) parts.push('within ' + p.keep_within);
  return parts.join(', ') || 'keeps nothing';
}
