// schedules.js: the backup schedules the server holds and each scheduled
// VM's state.
import { h, when, table, badge } from './dom.js';
import { scheduleList, scheduleStatus } from './data.js';
import { describeSchedule } from './vms.js';

export async function schedules(view) {
  view.append(h('h1', {}, 'Schedules'));
  const [list, status] = await Promise.all([scheduleList(), scheduleStatus()]);
  if (list === null && status === null) {
    view.append(h('p', { class: 'empty', id: 'no-schedules' }, 'Schedules are not available on this server.'));
    return;
  }
  view.append(h('section', { class: 'panel' }, h('h2', {}, 'Schedules'),
    list === null ? h('p', { class: 'muted' }, 'The schedule list is shown to admin sessions.') :
      table(['Name', 'Hosts', 'VMs', 'When', 'Type', 'Policy', 'Enabled'], list.map((s) => h('tr', {},
        h('td', {}, s.name), h('td', { class: 'mono' }, s.hosts || '*'), h('td', { class: 'mono' }, s.vms || '*'),
        h('td', {}, describeSchedule(s).replace(s.name + ': ', '')), h('td', {}, s.backup_type + (s.incremental ? ', incremental' : '')),
        h('td', {}, s.policy || '–'), h('td', {}, s.enabled === false ? badge('disabled', 'muted') : badge('enabled', 'ok')))),
      'No schedules: every backup is started by hand. Create one with PUT /api/v1/schedules/{name}.')));
  if (status !== null) {
    view.append(h('section', { class: 'panel' }, h('h2', {}, 'Scheduled VMs'),
      table(['State', 'Schedule', 'Host', 'VM', 'Last success', 'Last failure', 'Window start', 'Next due'], status.map((s) => h('tr', {},
        h('td', {}, s.missed ? badge('missed', 'missed') : badge('on time', 'ok')), h('td', {}, s.schedule), h('td', {}, s.host), h('td', {}, s.vm),
        h('td', {}, when(s.last_success)), h('td', {}, when(s.last_failure)), h('td', {}, when(s.window_start)), h('td', {}, when(s.next_due)))),
      'No VM is matched by a schedule yet.')));
  }
}
