// snapshot.js: one snapshot (its disks, the receipt, restore downloads)
// and the file browser over the NTFS volumes inside its disks.
import { h, bytes, when, table, badge, short } from './dom.js';
import { get, enc } from './api.js';
import { truncateLogs } from './data.js';

const formats = ['raw', 'original', 'vhd', 'vhdx'];

function diskURL(id, disk) { return '/api/v1/snapshots/' + enc(id) + '/disks/' + enc(disk); }

export async function snapshot(view, [id]) {
  const m = await get('/api/v1/snapshots/' + enc(id));
  const rc = m.receipt || {};
  view.append(
    h('p', { class: 'crumbs' }, h('a', { href: '#/vms' }, 'Hosts and VMs'), ' / ',
      h('a', { href: '#/vm/' + enc(m.host) + '/' + enc(m.vm) }, m.host + ' / ' + m.vm), ' / ', short(m.id)),
    h('h1', {}, 'Snapshot ', h('span', { class: 'mono' }, short(m.id))),
    h('dl', { class: 'facts' },
      fact('Host / VM', m.host + ' / ' + m.vm), fact('Time', when(m.time)),
      fact('Type', m.backup_type), fact('Consistency', m.consistency),
      fact('Truncate logs', (rc.truncate_logs !== undefined ? rc.truncate_logs : truncateLogs(m)) ? 'yes' : 'no'),
      fact('ID', h('span', { class: 'mono' }, m.id))));
  view.append(h('section', { class: 'panel' }, h('h2', {}, 'Disks'),
    table(['Disk', 'Format', 'Virtual size', 'Stream', 'New', 'Stored', 'Restore', 'Files'], (m.disks || []).map((d) =>
      h('tr', {},
        h('td', { class: 'mono' }, d.name, d.base ? h('span', { class: 'muted' }, ' (incremental of ' + short(d.base) + ')') : ''),
        h('td', {}, d.format),
        h('td', { class: 'num' }, bytes(d.virtual_size)),
        h('td', { class: 'num' }, bytes(d.stream_bytes)),
        h('td', { class: 'num' }, bytes(d.new_bytes)),
        h('td', { class: 'num' }, bytes(d.stored_bytes)),
        h('td', { class: 'downloads' }, formats.map((f) =>
          h('a', { href: diskURL(m.id, d.name) + '?format=' + f, download: '', class: 'button small', 'data-format': f }, f))),
        h('td', {}, h('a', { href: '#/files/' + enc(m.id) + '/' + enc(d.name), class: 'browse' }, 'Browse files')))),
    'This snapshot has no disks.', { id: 'disks' })));
  view.append(h('section', { class: 'panel' }, h('h2', {}, 'Receipt'),
    h('dl', { class: 'facts' },
      fact('Session', h('span', { class: 'mono' }, rc.session || '–')),
      fact('Committed', when(rc.committed_at)),
      fact('Signature', h('span', { class: 'mono wrap' }, rc.signature || '–'))),
    h('details', {}, h('summary', {}, 'The receipt as signed (JSON)'), h('pre', { id: 'receipt' }, JSON.stringify(rc, null, 2)))));
}

function fact(k, v) { return [h('dt', {}, k), h('dd', {}, v)]; }

export async function files(view, [id, disk, index, path]) {
  const base = diskURL(id, disk) + '/fs/';
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/snapshot/' + enc(id) }, 'Snapshot ' + short(id)), ' / ', disk),
    h('h1', {}, 'Files in ', h('span', { class: 'mono' }, disk)));
  if (!index) {
    const parts = await get(base);
    const ntfs = parts.filter((p) => p.type === 'ntfs');
    if (ntfs.length === 1) {
      location.replace('#/files/' + enc(id) + '/' + enc(disk) + '/' + ntfs[0].index + '/' + enc('/'));
      return;
    }
    view.append(h('section', { class: 'panel' }, h('h2', {}, 'Volumes'),
      table(['Partition', 'Filesystem', 'Offset', 'Size', ''], parts.map((p) => h('tr', {},
        h('td', { class: 'num' }, String(p.index)), h('td', {}, p.type),
        h('td', { class: 'num' }, bytes(p.offset)), h('td', { class: 'num' }, bytes(p.size)),
        h('td', {}, p.type === 'ntfs' ? h('a', { href: '#/files/' + enc(id) + '/' + enc(disk) + '/' + p.index + '/' + enc('/') }, 'Browse') : h('span', { class: 'muted' }, 'not browsable')))),
      'No partitions were found on this disk.')));
    return;
  }
  path = path || '/';
  const ls = await get(base + enc(index) + '/ls?path=' + enc(path));
  const entries = (ls.entries || []).slice().sort((a, b) => (b.dir - a.dir) || a.name.localeCompare(b.name));
  const here = (p) => '#/files/' + enc(id) + '/' + enc(disk) + '/' + enc(index) + '/' + enc(p);
  const join = (name) => (path.endsWith('/') ? path : path + '/') + name;
  const crumbs = [h('a', { href: here('/') }, 'volume ' + index)];
  let acc = '';
  for (const seg of path.split('/').filter(Boolean)) {
    acc += '/' + seg;
    crumbs.push(' / ', h('a', { href: here(acc) }, seg));
  }
  const up = path === '/' ? null : path.replace(/\/[^/]*\/?$/, '') || '/';
  view.append(h('section', { class: 'panel' }, h('h2', { class: 'path' }, crumbs),
    up ? h('p', {}, h('a', { href: here(up) }, '↑ up')) : null,
    table(['Name', 'Size', 'Modified', ''], entries.map((e) => h('tr', {},
      h('td', {}, e.dir ? h('a', { href: here(join(e.name)), class: 'dir' }, e.name + '/') : h('span', { class: 'file' }, e.name)),
      h('td', { class: 'num' }, e.dir ? '' : bytes(e.size)),
      h('td', {}, when(e.mtime)),
      h('td', {}, e.dir ? '' : h('a', { href: base + enc(index) + '/cat?path=' + enc(join(e.name)), download: e.name, class: 'button small download', 'data-name': e.name }, 'Download')))),
    'This directory is empty.', { id: 'entries' })));
  view.append(h('p', { class: 'muted' }, badge('read-only', 'muted'), ' Files are read from the snapshot, never from the live VM.'));
}
