// chart.js: the datastore's growth as an inline SVG line chart.
import { svg, bytes } from './dom.js';

// growth derives the series from the catalogue: at each snapshot's time,
// the logical size of the snapshots that exist up to then, and the bytes
// they stored new. Forgotten snapshots are gone from the catalogue, so
// the series shows what the retained snapshots took when they were made.
export function growth(list) {
  const asc = [...list].reverse(); // the list is newest first
  let logical = 0, stored = 0;
  return asc.map((s) => {
    logical += s.logical_bytes || 0;
    stored += (s.disks || []).reduce((n, d) => n + (d.stored_bytes || 0), 0);
    return { t: new Date(s.time).getTime(), logical, stored };
  });
}

// chart draws the series: two lines (logical, stored new) over time.
export function chart(points, width, height) {
  const W = width || 1140, H = height || 230, L = 70, R = 16, T = 14, B = 30;
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'xMinYMin meet', class: 'chart', role: 'img', 'aria-label': 'Datastore growth over time' });
  if (points.length === 0) return root;
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const ymax = Math.max(1, ...points.map((p) => p.logical));
  const x = (t) => L + (W - L - R) * (t - t0) / (t1 - t0);
  const y = (v) => H - B - (H - T - B) * v / ymax;
  for (let i = 0; i <= 4; i++) {
    const v = ymax * i / 4;
    root.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }),
      svg('text', { x: L - 6, y: y(v) + 4, 'text-anchor': 'end', class: 'axis' }, bytes(Math.round(v))));
  }
  const fmt = (t) => { const d = new Date(t); return d.toISOString().slice(0, 16).replace('T', ' '); };
  root.append(svg('text', { x: L, y: H - 8, class: 'axis' }, fmt(t0)),
    svg('text', { x: W - R, y: H - 8, 'text-anchor': 'end', class: 'axis' }, fmt(t1)));
  const line = (key, cls) => {
    const pts = points.length === 1
      ? [[L, y(points[0][key])], [W - R, y(points[0][key])]]
      : points.map((p) => [x(p.t), y(p[key])]);
    let d = 'M' + pts[0][0].toFixed(1) + ',' + pts[0][1].toFixed(1);
    for (let i = 1; i < pts.length; i++) d += ` H${pts[i][0].toFixed(1)} V${pts[i][1].toFixed(1)}`;
    root.append(svg('path', { d, class: 'series ' + cls }));
    for (const [px, py] of pts) root.append(svg('circle', { cx: px.toFixed(1), cy: py.toFixed(1), r: 2.5, class: 'dot ' + cls }));
  };
  line('logical', 'logical');
  line('stored', 'stored');
  return root;
}
