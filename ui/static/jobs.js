// jobs.js: the job history (backups, prunes, checks, repairs, forgets),
// live progress of running backups, and one job's log.
import { h, bytes, when, ago, table, badge, short } from './dom.js';
import { get, optional, enc, ApiError } from './api.js';
import { jobHistory } from './data.js';
import { every } from './timers.js';

const resultKind = { success: 'ok', failed: 'failed', aborted: 'failed', running: 'running' };

export async function jobs(view, _args, session) {
  view.append(h('h1', {}, 'Jobs'));
  const box = h('div', {});
  view.append(box);
  const draw = async () => {
    const [{ records, maintenance }, open] = await Promise.all([jobHistory(), session.readOnly ? null : optional('/api/v1/sessions')]);
    const parts = [];
    if (open) parts.push(running(open.sessions || []));
    if (records === null) {
      parts.push(h('p', { class: 'empty', id: 'no-history' }, 'Job history is not available on this server: it lists maintenance jobs only.'));
    } else {
      parts.push(h('section', { class: 'panel' }, h('h2', {}, 'History'),
        table(['Result', 'Kind', 'Trigger', 'Host / VM', 'Started', 'Ended', 'Bytes', 'Progress'], records.map((j) =>
          h('tr', {},
            h('td', {}, badge(j.result, resultKind[j.result] || '')),
            h('td', {}, h('a', { href: '#/job/' + enc(j.id) }, j.kind)),
            h('td', {}, j.trigger + (j.schedule ? ' (' + j.schedule + ')' : '')),
            h('td', {}, j.host ? j.host + ' / ' + (j.vm || '') : '–'),
            h('td', {}, when(j.start)), h('td', {}, when(j.end)),
            h('td', { class: 'num' }, j.bytes ? bytes(j.bytes) : ''),
            h('td', {}, progress(j)))),
        'No jobs have run yet.', { id: 'job-history' })));
    }
    parts.push(h('section', { class: 'panel' }, h('h2', {}, 'Maintenance'),
      table(['Job', 'State', 'Interval', 'Last start', 'Last end', 'Runs', 'Freed', 'Last error'], maintenance.map((m) =>
        h('tr', {}, h('td', {}, m.name), h('td', {}, m.running ? badge('running', 'running') : badge('idle', 'muted')),
          h('td', {}, m.interval || 'on demand'), h('td', {}, when(m.last_start)), h('td', {}, when(m.last_end)),
          h('td', { class: 'num' }, String(m.runs)), h('td', { class: 'num' }, m.bytes_freed ? bytes(m.bytes_freed) : ''),
          h('td', { class: 'error' }, m.last_error || ''))),
      'No maintenance jobs.')));
    box.replaceChildren(...parts);
  };
  await draw();
  every(2000, () => draw().catch(() => {}));
}

// running lists the backup sessions in flight: what each has stored,
// what it is uploading now, and what failed.
function running(list) {
  return h('section', { class: 'panel' }, h('h2', {}, 'Running backups'),
    table(['Host / VM', 'Type', 'Opened', 'Last activity', 'Disks stored', 'Uploading', 'Failed'], list.map((s) => h('tr', { 'data-session': s.id },
      h('td', {}, s.info.host + ' / ' + s.info.vm), h('td', {}, (s.info.backup_type || 'full') + ', ' + (s.info.consistency || 'crash')),
      h('td', {}, when(s.created)), h('td', {}, when(s.last_active), h('span', { class: 'muted' }, ' ' + ago(s.last_active))),
      h('td', {}, s.info.disks ? (s.disks || []).length + ' of ' + s.info.disks.length : String((s.disks || []).length),
        (s.disks || []).length ? h('span', { class: 'muted' }, ' (' + s.disks.join(', ') + ')') : ''),
      h('td', { class: 'uploading' }, (s.uploading || []).length ? [badge('uploading', 'running'), ' ', s.uploading.join(', ')] : '–'),
      h('td', { class: 'error' }, (s.failed || []).join(', ')))),
    'No backup is running.', { id: 'running' }));
}

function progress(j) {
  if (j.result !== 'running' || !j.progress) return '';
  const done = j.progress.bytes_done || 0, total = j.progress.bytes_total || 0;
  if (!total) return bytes(done);
  const bar = h('progress', { max: total, value: done });
  return [bar, ' ', Math.floor(100 * done / total) + '%'];
}

export async function job(view, [id]) {
  let j;
  try {
    j = await get('/api/v1/jobs/' + enc(id));
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) {
      view.append(h('h1', {}, 'Job'), h('p', { class: 'empty' }, 'No job ' + id + ' (or job details are not available on this server).'));
      return;
    }
    throw e;
  }
  const logBox = h('pre', { class: 'log', id: 'job-log' });
  const head = h('div', {});
  const draw = (j) => {
    head.replaceChildren(h('dl', { class: 'facts' },
      [h('dt', {}, 'Result'), h('dd', {}, badge(j.result, resultKind[j.result] || ''), ' ', progress(j))],
      [h('dt', {}, 'Host / VM'), h('dd', {}, (j.host || '–') + ' / ' + (j.vm || '–'))],
      [h('dt', {}, 'Started'), h('dd', {}, when(j.start))], [h('dt', {}, 'Ended'), h('dd', {}, when(j.end))],
      [h('dt', {}, 'Snapshot'), h('dd', {}, j.snapshot_id ? h('a', { href: '#/snapshot/' + enc(j.snapshot_id), class: 'mono' }, short(j.snapshot_id)) : '–')],
      j.error ? [h('dt', {}, 'Error'), h('dd', { class: 'error' }, j.error)] : null));
    logBox.replaceChildren(...(j.log || []).map((l) => h('div', { class: 'level-' + l.level }, when(l.time) + ' ' + l.level.padEnd(5) + ' ' + l.msg)));
    if (!(j.log || []).length) logBox.textContent = 'No log lines.';
  };
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/jobs' }, 'Jobs'), ' / ', id), h('h1', {}, j.kind + ' job'), head, h('h2', {}, 'Log'), logBox);
  draw(j);
  if (j.result === 'running') every(2000, async () => { try { draw(await get('/api/v1/jobs/' + enc(id))); } catch (e) { /* next poll */ } });
}
