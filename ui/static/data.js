// data.js: what several pages derive from the API's answers.
import { get, optional } from './api.js';

// snapshots returns every snapshot the session may see, newest first.
export async function snapshots(query) {
  const r = await get('/api/v1/snapshots' + (query || ''));
  const list = (r && r.snapshots) || [];
  // Times are in seconds; IDs begin with the time in nanoseconds.
  list.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : a.id < b.id ? 1 : -1));
  return list;
}

// newBytes is what a snapshot stored new (the sum of its disks').
export function newBytes(s) {
  return (s.disks || []).reduce((n, d) => n + (d.new_bytes || 0), 0);
}

// truncateLogs is the receipt's rule: a full, application-consistent
// backup that completed lets the guests truncate their logs.
export function truncateLogs(s) {
  return s.backup_type === 'full' && s.consistency === 'application';
}

// byVM groups snapshots (newest first) by host and VM.
export function byVM(list) {
  const m = new Map();
  for (const s of list) {
    const k = s.host + '\u0000' + s.vm;
    if (!m.has(k)) m.set(k, { host: s.host, vm: s.vm, snapshots: [] });
    m.get(k).snapshots.push(s);
  }
  return [...m.values()].sort((a, b) => (a.host + a.vm).localeCompare(b.host + b.vm));
}

// jobHistory returns the job records (the contract's GET /api/v1/jobs
// answer has "maintenance" beside "jobs"), or null on a server that keeps
// no job history yet (its /jobs lists maintenance jobs only).
export async function jobHistory(query) {
  const r = await optional('/api/v1/jobs' + (query || ''));
  if (!r) return { records: null, maintenance: [] };
  if ('maintenance' in r) return { records: r.jobs || [], maintenance: r.maintenance || [] };
  return { records: null, maintenance: r.jobs || [] };
}

// scheduleStatus returns the rows of GET /api/v1/schedules/status, or
// null where the server has no schedules.
export async function scheduleStatus() {
  const r = await optional('/api/v1/schedules/status');
  return r ? r.vms || [] : null;
}

export async function scheduleList() {
  const r = await optional('/api/v1/schedules');
  return r ? r.schedules || [] : null;
}
