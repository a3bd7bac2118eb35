// dom.js: building elements without HTML strings (so no data is ever
// parsed as markup), and formatting numbers and times.

// h(tag, attrs, ...children): attrs sets properties for on* handlers and
// attributes otherwise; children are nodes, strings or arrays of them.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

// append adds children (nodes, strings or arrays of them) to el.
export function append(el, ...children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// svg(tag, attrs, ...children) makes an SVG element.
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) {
    if (c !== undefined && c !== null) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

// bytes formats a byte count in binary units.
export function bytes(n) {
  if (n === undefined || n === null) return '–';
  let v = Number(n), i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? String(v) : v.toFixed(v >= 100 ? 0 : 1)) + ' ' + units[i];
}

// when formats an RFC 3339 time as local date and time; '–' when absent.
export function when(t) {
  if (!t || t.startsWith('0001-')) return '–';
  const d = new Date(t);
  if (isNaN(d)) return t;
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// ago says how long ago a time was, roughly.
export function ago(t) {
  if (!t) return '';
  const s = (Date.now() - new Date(t).getTime()) / 1000;
  if (s < 90) return 'just now';
  if (s < 5400) return Math.round(s / 60) + ' min ago';
  if (s < 129600) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' days ago';
}

// table(headers, rows, empty): a table, or the empty message when no rows.
export function table(headers, rows, empty, attrs) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h('table', attrs || {},
    h('thead', {}, h('tr', {}, headers.map((x) => h('th', {}, x)))),
    h('tbody', {}, rows));
}

export function badge(text, kind) {
  return h('span', { class: 'badge ' + (kind || '') }, text);
}

// glob matches shell-style * and ? patterns ('' or '*' match everything).
export function glob(pattern, s) {
  if (!pattern || pattern === '*') return true;
  const re = '^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$';
  return new RegExp(re).test(s);
}

export function short(id) { return id ? id.slice(0, 12) : ''; }
