// overview.js: datastore usage, growth, and the last backup of every VM
// with failures and missed schedules first.
import { h, bytes, when, ago, table, badge } from './dom.js';
import { optional } from './api.js';
import { snapshots, byVM, jobHistory, scheduleStatus } from './data.js';
import { growth, chart } from './chart.js';

export async function overview(view, _args, session) {
  const [stats, list, hist, sched, open] = await Promise.all([
    session.readOnly ? null : optional('/api/v1/stats'), snapshots(), jobHistory(), scheduleStatus(),
    session.readOnly ? null : optional('/api/v1/sessions')]);
  view.append(h('h1', {}, 'Overview'));

  if (stats) {
    view.append(h('section', { class: 'cards', id: 'stats' },
      card('Logical', bytes(stats.logical_bytes), 'virtual disk content of all snapshots'),
      card('Stored', bytes(stats.stored_bytes), 'compressed chunks in packs'),
      card('Dedup factor', (stats.dedup_ratio || 0).toFixed(2) + '×', 'logical per stored byte'),
      card('Snapshots', String(stats.snapshots), stats.sessions_open + ' sessions open'),
      card('Chunks', String(stats.chunks), stats.packs + ' packs')));
  } else {
    view.append(h('p', { class: 'muted' }, 'Datastore figures are shown to admin sessions only.'));
  }

  const pts = growth(list);
  view.append(h('section', { class: 'panel' },
    h('h2', {}, 'Growth'),
    pts.length ? [chart(pts),
      h('p', { class: 'legend' }, h('span', { class: 'key logical' }), 'logical size of the snapshots kept ',
        h('span', { class: 'key stored' }), 'bytes they stored new (cumulative, by snapshot time)')]
      : h('p', { class: 'empty' }, 'No snapshots yet: the chart starts with the first backup.')));

  const rows = lastBackups(list, hist.records, sched, open ? open.sessions || [] : []);
  view.append(h('section', { class: 'panel' },
    h('h2', {}, 'Last backup of every VM'),
    sched === null ? h('p', { class: 'muted' }, 'Schedules are not available on this server: missed windows cannot be shown.') : null,
    table(['Status', 'Host', 'VM', 'Last backup', 'Type', 'Size', 'Note'], rows.map((r) =>
      h('tr', { class: 'status-' + r.status },
        h('td', {}, badge(r.status, r.status)),
        h('td', {}, r.host),
        h('td', {}, h('a', { href: '#/vm/' + encodeURIComponent(r.host) + '/' + encodeURIComponent(r.vm) }, r.vm)),
        h('td', {}, r.snap ? [when(r.snap.time), h('span', { class: 'muted' }, ' ' + ago(r.snap.time))] : '–'),
        h('td', {}, r.snap ? r.snap.backup_type : '–'),
        h('td', {}, r.snap ? bytes(r.snap.logical_bytes) : '–'),
        h('td', { class: 'note' }, r.note))),
    'No VM has been backed up yet. Back one up with `shadowvault backup`, or define a schedule.', { id: 'last-backups' })));
}

function card(label, value, sub) {
  return h('div', { class: 'card' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, value), h('div', { class: 'sub' }, sub));
}

const rank = { failed: 0, missed: 1, running: 2, ok: 3 };

// lastBackups joins the newest snapshot of each VM with the schedule
// status and the job history, when the server has them.
function lastBackups(list, records, sched, open) {
  const m = new Map();
  const key = (host, vm) => host + '\u0000' + vm;
  for (const g of byVM(list)) m.set(key(g.host, g.vm), { host: g.host, vm: g.vm, snap: g.snapshots[0], status: 'ok', note: '' });
  const row = (host, vm) => {
    const k = key(host, vm);
    if (!m.has(k)) m.set(k, { host, vm, snap: null, status: 'ok', note: '' });
    return m.get(k);
  };
  for (const s of sched || []) {
    const r = row(s.host, s.vm);
    if (s.last_failure && (!s.last_success || s.last_failure > s.last_success)) {
      r.status = 'failed';
      r.note = 'last attempt failed ' + when(s.last_failure) + ' (schedule ' + s.schedule + ')';
    } else if (s.missed) {
      if (r.status !== 'failed') r.status = 'missed';
      r.note = 'missed its window since ' + when(s.window_start) + ' (schedule ' + s.schedule + ')';
    } else if (!r.note) {
      r.note = 'schedule ' + s.schedule + ', next ' + when(s.next_due);
    }
  }
  const seen = new Set();
  for (const j of records || []) { // newest first
    if (j.kind !== 'backup' || !j.host || !j.vm) continue;
    const k = key(j.host, j.vm);
    if (seen.has(k)) continue;
    seen.add(k);
    const r = row(j.host, j.vm);
    if (j.result === 'running') {
      r.status = r.status === 'ok' ? 'running' : r.status;
      r.note = 'backup running since ' + when(j.start);
    } else if (j.result === 'failed' || j.result === 'aborted') {
      r.status = 'failed';
      r.note = 'last backup ' + j.result + ' ' + when(j.end || j.start) + (j.error ? ': ' + j.error : '');
    }
  }
  for (const o of open) { // sessions in flight
    const r = row(o.info.host, o.info.vm);
    if (r.status !== 'failed') r.status = 'running';
    r.note = 'backup running since ' + when(o.created) + ((o.uploading || []).length ? ', uploading ' + o.uploading.join(', ') : '');
  }
  if (!records && !sched) for (const r of m.values()) if (!r.note) r.note = 'no schedule or job history on this server';
  return [...m.values()].sort((a, b) => rank[a.status] - rank[b.status] || (a.host + a.vm).localeCompare(b.host + b.vm));
}
