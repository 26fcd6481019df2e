// The chains of transmission on a canvas of its own, usable at 100,000 cases and more: one column per
// generation, the cases of a generation stacked in the order of their source's place in the column before,
// level with the cases they infected or with their source wherever there is room (so that a chain stays
// together); edges as thin lines. Drag to pan, wheel to zoom (the stacked axis all the way, the generations
// up to a readable spacing); hover or click for a case. Only what is in view is drawn, and lines or dots that
// would land on the same pixels are drawn once, so a frame costs a few passes over typed arrays whatever the
// size of the graph.
import { api, ApiError } from './api.ts';
import { byId, h } from './dom.ts';
import { currentLang, formatNumber, t } from './i18n.ts';
import { boot, showError } from './shell.ts';

// GET /api/v1/tracing/chains (src/tracing/routes.ts): compact arrays, nodes in report order.
interface ChainsResponse {
  columns: string[];
  nodes: [number, number, number | null, string][];
  edges: [number, number][];
}

/** The graph as loaded: node i is the i-th case reported. */
interface Graph {
  n: number;
  id: Int32Array;
  gen: Int32Array;
  /** 0 when the case has no district. */
  district: Int32Array;
  reportedAt: string[];
  /** Report order (the index when the server sent them in order). */
  order: Int32Array;
  /** Node index by case id. */
  indexOf: Map<number, number>;
  es: Int32Array;
  et: Int32Array;
  maxGen: number;
}

/** Positions for the cases shown (all, or one district's). */
interface Layout {
  maxGen: number;
  /** Cases per generation (index g, 1-based). */
  count: Int32Array;
  /** Column g's cases, top to bottom: cols.subarray(colStart[g], colStart[g + 1]). */
  cols: Int32Array;
  colStart: Int32Array;
  /** World y of each case (NaN when not shown); world x of generation g is g - 0.5. */
  y: Float64Array;
  /** Each case's source in the column before (-1: none). */
  parent: Int32Array;
  /** Edges shown, grouped by the target's generation: es/et.subarray(edgeStart[g], edgeStart[g + 1]). */
  es: Int32Array;
  et: Int32Array;
  edgeStart: Int32Array;
  /** Height of the world: the largest column's count. */
  height: number;
  shown: number;
}

const PALETTE = ['#22b8cf', '#4ade80', '#facc15', '#fb923c', '#f87171', '#e879f9', '#a78bfa', '#60a5fa', '#2dd4bf', '#f472b6', '#a3e635', '#fbbf24'];
const BG = '#06101c';
const HEADER = 22;
const colour = (g: number) => PALETTE[(g - 1) % PALETTE.length];

const message = byId('message');
const view = byId('chain-view');
const canvas = byId<HTMLCanvasElement>('chain-canvas');
const statusLine = byId('chain-status');
const tip = byId('chain-tip');
const detail = byId('chain-detail');
const districtSelect = byId<HTMLSelectElement>('chain-district');
const ctx = canvas.getContext('2d', { alpha: false })!;

await boot({ page: 'chains' });
document.title = `${t('nav.chains')} · ${t('app.name')}`;
canvas.setAttribute('aria-label', t('chains.title'));

let graph: Graph | null = null;
let lay: Layout | null = null;
const districtNames = new Map<number, string>();
// The view: screen = (world - o) * k, in CSS pixels; y below the column header band.
let ox = 0;
let oy = 0;
let kx = 1;
let ky = 1;
let fitKx = 1;
let fitKy = 1;
let touched = false;
let selected = -1;
let selectedChildren: number[] = [];
let frame = 0;

// --- data -----------------------------------------------------------------------------------------------

async function loadDistrictNames(): Promise<void> {
  try {
    const { items } = await api<{ items: { id: number; name: string }[] }>('/api/v1/districts?limit=1000');
    for (const d of items) districtNames.set(d.id, d.name);
  } catch {
    // Names are a nicety: the filter falls back to ids.
  }
}

function buildGraph(data: ChainsResponse): Graph {
  const col = (name: string, fallback: number) => (data.columns.indexOf(name) >= 0 ? data.columns.indexOf(name) : fallback);
  const [ci, cg, cd, cr] = [col('id', 0), col('generation', 1), col('districtId', 2), col('reportedAt', 3)];
  const n = data.nodes.length;
  const id = new Int32Array(n);
  const gen = new Int32Array(n);
  const district = new Int32Array(n);
  const reportedAt: string[] = new Array(n);
  const indexOf = new Map<number, number>();
  let maxGen = 0;
  let sorted = true;
  for (let i = 0; i < n; i++) {
    const row = data.nodes[i];
    id[i] = row[ci] as number;
    gen[i] = Math.max(1, row[cg] as number);
    district[i] = (row[cd] as number | null) ?? 0;
    reportedAt[i] = row[cr] as string;
    indexOf.set(id[i], i);
    if (gen[i] > maxGen) maxGen = gen[i];
    if (i && reportedAt[i] < reportedAt[i - 1]) sorted = false;
  }
  // Report order breaks ties within a column; ISO instants of one format compare as strings.
  const order = new Int32Array(n);
  if (sorted) for (let i = 0; i < n; i++) order[i] = i;
  else {
    const idx = Array.from({ length: n }, (_, i) => i).sort((a, b) => (reportedAt[a] < reportedAt[b] ? -1 : reportedAt[a] > reportedAt[b] ? 1 : a - b));
    idx.forEach((node, rank) => (order[node] = rank));
  }
  const es = new Int32Array(data.edges.length);
  const et = new Int32Array(data.edges.length);
  let m = 0;
  for (const [s, tgt] of data.edges) {
    const a = indexOf.get(s);
    const b = indexOf.get(tgt);
    if (a === undefined || b === undefined || gen[b] <= gen[a]) continue;
    es[m] = a;
    et[m] = b;
    m++;
  }
  return { n, id, gen, district, reportedAt, order, indexOf, es: es.subarray(0, m), et: et.subarray(0, m), maxGen };
}

/** Columns and their order for the cases of one district (or all): one sort of numbers per generation. */
function layout(g0: Graph, districtId: number | null): Layout {
  const { n, gen, order } = g0;
  const shownMask = new Uint8Array(n);
  let maxGen = 0;
  let shown = 0;
  for (let i = 0; i < n; i++) {
    if (districtId === null || g0.district[i] === districtId) {
      shownMask[i] = 1;
      shown++;
      if (gen[i] > maxGen) maxGen = gen[i];
    }
  }
  const count = new Int32Array(maxGen + 2);
  for (let i = 0; i < n; i++) if (shownMask[i]) count[gen[i]]++;
  const colStart = new Int32Array(maxGen + 2);
  for (let g = 1; g <= maxGen; g++) colStart[g + 1] = colStart[g] + count[g];
  const cols = new Int32Array(shown);
  const fill = colStart.slice();
  // Nodes come in report order when `order` is the identity; otherwise the sort below puts them right.
  for (let i = 0; i < n; i++) if (shownMask[i]) cols[fill[gen[i]]++] = i;

  // Edges between shown cases, grouped by the target's generation.
  const edgeCount = new Int32Array(maxGen + 2);
  for (let k = 0; k < g0.es.length; k++) if (shownMask[g0.es[k]] && shownMask[g0.et[k]]) edgeCount[gen[g0.et[k]]]++;
  const edgeStart = new Int32Array(maxGen + 2);
  for (let g = 1; g <= maxGen; g++) edgeStart[g + 1] = edgeStart[g] + edgeCount[g];
  const es = new Int32Array(edgeStart[maxGen + 1]);
  const et = new Int32Array(edgeStart[maxGen + 1]);
  const efill = edgeStart.slice();
  for (let k = 0; k < g0.es.length; k++) {
    const s = g0.es[k];
    const tgt = g0.et[k];
    if (!shownMask[s] || !shownMask[tgt]) continue;
    const at = efill[gen[tgt]]++;
    es[at] = s;
    et[at] = tgt;
  }

  const height = Math.max(1, ...Array.from(count));
  const y = new Float64Array(n).fill(NaN);
  const parent = new Int32Array(n).fill(-1);
  const rank = new Int32Array(n);
  const key = new Float64Array(n);
  const byOrder = orderIndex(g0);
  for (let g = 1; g <= maxGen; g++) {
    const c = count[g];
    if (!c) continue;
    const column = cols.subarray(colStart[g], colStart[g + 1]);
    // A case's key: its source's place in the column before (the topmost, if several), then report order.
    const none = count[g - 1] || 0;
    for (const i of column) key[i] = none;
    for (let k = edgeStart[g]; k < edgeStart[g + 1]; k++) {
      const s = es[k];
      const tgt = et[k];
      if (gen[s] === g - 1 && rank[s] < key[tgt]) {
        key[tgt] = rank[s];
        parent[tgt] = s;
      }
    }
    // One numeric sort: (key, report order) packed in a double; the node comes back from the order.
    const packed = new Float64Array(c);
    for (let r = 0; r < c; r++) packed[r] = key[column[r]] * n + order[column[r]];
    packed.sort();
    for (let r = 0; r < c; r++) {
      const i = byOrder[packed[r] % n];
      column[r] = i;
      rank[i] = r;
    }
  }

  // Heights, in rows of the largest column: that column evenly; columns before it level with the cases each
  // one infected, columns after it level with their sources (so that a chain stays together).
  const colOf = (g: number) => cols.subarray(colStart[g], colStart[g + 1]);
  let largest = 1;
  for (let g = 1; g <= maxGen; g++) if (count[g] > count[largest]) largest = g;
  const sum = new Float64Array(n);
  const kids = new Int32Array(n);
  pack(colOf(largest), new Float64Array(count[largest]).fill(-Infinity), y, height);
  for (let g = largest - 1; g >= 1; g--) {
    if (!count[g]) continue;
    for (const i of colOf(g + 1)) {
      const p = parent[i];
      if (p >= 0) {
        sum[p] += y[i];
        kids[p]++;
      }
    }
    const column = colOf(g);
    pack(column, Float64Array.from(column, (i) => (kids[i] ? sum[i] / kids[i] : -Infinity)), y, height);
  }
  for (let g = largest + 1; g <= maxGen; g++) if (count[g]) pack(colOf(g), besideSources(colOf(g), parent, y), y, height);
  return { maxGen, count, cols, colStart, y, parent, es, et, edgeStart, height, shown };
}

/** Where each case of a column would be: the cases one source infected centred beside it. */
function besideSources(column: Int32Array, parent: Int32Array, y: Float64Array): Float64Array {
  const c = column.length;
  const want = new Float64Array(c);
  for (let r = 0; r < c; ) {
    const p = parent[column[r]];
    let e = r + 1;
    // Siblings are next to one another (same key, same source).
    while (e < c && parent[column[e]] === p) e++;
    for (let q = r; q < e; q++) want[q] = p < 0 ? -Infinity : y[p] + (q - r - (e - r - 1) / 2);
    r = e;
  }
  return want;
}

/**
 * Heights for a column in its order, as near as may be to `want` (-Infinity: just below the one before), no
 * two closer than one row of the largest column (the world's unit), all within the height. Two sweeps: down,
 * pushing each case below the one before; up, pulling back what ran past the bottom.
 */
function pack(column: Int32Array, want: Float64Array, y: Float64Array, height: number): void {
  const c = column.length;
  let prev = -Infinity;
  for (let q = 0; q < c; q++) prev = want[q] = Math.max(want[q], prev + 1, 0.5);
  let next = Infinity;
  for (let q = c - 1; q >= 0; q--) next = y[column[q]] = Math.min(want[q], next - 1, height - 0.5);
}

/** The first row of a column (heights ascending) at or below world height v. */
function firstAtLeast(column: Int32Array, y: Float64Array, v: number): number {
  let lo = 0;
  let hi = column.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (y[column[mid]] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

let orderCache: { graph: Graph; index: Int32Array } | null = null;
/** Node by report order. */
function orderIndex(g0: Graph): Int32Array {
  if (orderCache && orderCache.graph === g0) return orderCache.index;
  const index = new Int32Array(g0.n);
  for (let i = 0; i < g0.n; i++) index[g0.order[i]] = i;
  orderCache = { graph: g0, index };
  return index;
}

function relayout(districtId: number | null): void {
  if (!graph) return;
  lay = layout(graph, districtId);
  select(-1);
  renderLegend();
}

// --- legend and filter ----------------------------------------------------------------------------------

function renderLegend(): void {
  const legend = byId('chain-legend');
  const stats = byId('chain-stats');
  if (!lay || !lay.shown) {
    legend.replaceChildren();
    stats.textContent = t('chains.empty');
    stats.dataset.nodes = '0';
    return;
  }
  const items: HTMLElement[] = [];
  for (let g = 1; g <= lay.maxGen; g++) {
    if (!lay.count[g]) continue;
    items.push(
      h(
        'li',
        { 'data-generation': g, 'data-count': lay.count[g] },
        h('span', { class: 'swatch', style: `background:${colour(g)}` }),
        h('span', {}, t('chains.generation', { n: g })),
        h('span', { class: 'count' }, formatNumber(lay.count[g])),
      ),
    );
  }
  legend.replaceChildren(...items);
  stats.dataset.nodes = String(lay.shown);
  stats.dataset.edges = String(lay.es.length);
  updateStats(null);
}

function updateStats(ms: number | null): void {
  if (!lay) return;
  const stats = byId('chain-stats');
  const parts = [t('chains.stats', { nodes: formatNumber(lay.shown), edges: formatNumber(lay.es.length) })];
  if (graph && graph.n >= 200_000) parts.push(t('chains.truncated', { n: formatNumber(graph.n) }));
  if (ms !== null) parts.push(t('chains.drawn', { ms: ms < 10 ? ms.toFixed(1) : Math.round(ms) }));
  stats.textContent = parts.join(' · ');
}

function districtName(id: number): string {
  return districtNames.get(id) ?? t('chains.districtN', { id });
}

function fillDistricts(): void {
  if (!graph) return;
  const ids = [...new Set(graph.district)].filter((d) => d > 0).sort((a, b) => a - b);
  districtSelect.append(...ids.map((d) => h('option', { value: d }, districtName(d))));
  districtSelect.disabled = ids.length < 2;
  districtSelect.addEventListener('change', () => {
    relayout(districtSelect.value ? Number(districtSelect.value) : null);
    touched = false;
    fit();
    draw();
  });
}

// --- view -----------------------------------------------------------------------------------------------

function size(): { w: number; h: number } {
  return { w: view.clientWidth, h: view.clientHeight };
}

function resize(): void {
  const { w, h: ht } = size();
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.max(1, Math.round(w * dpr));
  canvas.height = Math.max(1, Math.round(ht * dpr));
}

/** The whole graph in view: every generation across, the tallest column down. */
function fit(): void {
  if (!lay) return;
  const { w, h: ht } = size();
  fitKx = w / Math.max(1, lay.maxGen);
  fitKy = Math.max(1e-6, (ht - HEADER - 8) / lay.height);
  kx = fitKx;
  ky = fitKy;
  ox = 0;
  oy = -(HEADER + 4) / ky;
}

const maxKx = () => Math.max(fitKx, 240);
const MAX_KY = 48;

function zoomAt(mx: number, my: number, f: number): void {
  const wx = mx / kx + ox;
  const wy = my / ky + oy;
  ky = Math.min(MAX_KY, Math.max(fitKy * 0.5, ky * f));
  kx = Math.min(maxKx(), Math.max(fitKx * 0.5, kx * f));
  ox = wx - mx / kx;
  oy = wy - my / ky;
  touched = true;
  schedule();
}

function schedule(): void {
  if (!frame) frame = requestAnimationFrame(() => ((frame = 0), draw()));
}

const sx = (g: number) => (g - 0.5 - ox) * kx;
const sy = (wy: number) => (wy - oy) * ky;

function draw(): void {
  if (!lay || !graph) return;
  const started = performance.now();
  const { w, h: ht } = size();
  const dpr = canvas.width / Math.max(1, w);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, w, ht);
  const y = lay.y;
  const gen = graph.gen;
  const wy0 = oy;
  const wy1 = oy + ht / ky;
  let drawnEdges = 0;
  let drawnNodes = 0;

  // Edges: within view (in y), and each pixel-rounded line once.
  ctx.lineWidth = ky * lay.height < ht * 4 ? 0.6 : 1;
  ctx.strokeStyle = 'rgba(120, 160, 210, 0.28)';
  const seen = new Set<number>();
  ctx.beginPath();
  let inPath = 0;
  for (let g = 2; g <= lay.maxGen; g++) {
    if (sx(g) < -2 || sx(g - 1) > w + 2) continue;
    seen.clear();
    const xt = Math.round(sx(g));
    for (let k = lay.edgeStart[g]; k < lay.edgeStart[g + 1]; k++) {
      const s = lay.es[k];
      const tgt = lay.et[k];
      const ys = y[s];
      const yt = y[tgt];
      if ((ys < wy0 && yt < wy0) || (ys > wy1 && yt > wy1)) continue;
      const py1 = Math.round(sy(ys));
      const py2 = Math.round(sy(yt));
      const pg = gen[s];
      // Lines far off screen are not worth a key (and would share one): drawn as they are.
      if (py1 > -4096 && py1 < 12288 && py2 > -4096 && py2 < 12288) {
        const keyv = (pg * 16384 + py1 + 4096) * 16384 + py2 + 4096;
        if (seen.has(keyv)) continue;
        seen.add(keyv);
      }
      ctx.moveTo(Math.round(sx(pg)), py1);
      ctx.lineTo(xt, py2);
      drawnEdges++;
      if (++inPath >= 4000) {
        ctx.stroke();
        ctx.beginPath();
        inPath = 0;
      }
    }
  }
  ctx.stroke();

  // The selected case: its chain back to the first generation, and those it infected.
  if (selected >= 0 && !Number.isNaN(y[selected])) {
    ctx.lineWidth = 2;
    ctx.strokeStyle = '#ffffff';
    ctx.beginPath();
    for (let c = selected, p = lay.parent[c]; p >= 0; c = p, p = lay.parent[p]) {
      ctx.moveTo(sx(gen[p]), sy(y[p]));
      ctx.lineTo(sx(gen[c]), sy(y[c]));
    }
    for (const c of selectedChildren) {
      ctx.moveTo(sx(gen[selected]), sy(y[selected]));
      ctx.lineTo(sx(gen[c]), sy(y[c]));
    }
    ctx.stroke();
  }

  // Cases: the rows of each column in view, a dot (or one per pixel row when they crowd).
  ctx.font = '11px system-ui, sans-serif';
  for (let g = 1; g <= lay.maxGen; g++) {
    const c = lay.count[g];
    if (!c) continue;
    const x = sx(g);
    if (x < -40 || x > w + 40) continue;
    // Two cases of a column are at least one row (ky pixels) apart.
    const spacing = ky;
    const column = lay.cols.subarray(lay.colStart[g], lay.colStart[g + 1]);
    const r0 = Math.max(0, firstAtLeast(column, y, wy0) - 1);
    const r1 = Math.min(c - 1, firstAtLeast(column, y, wy1));
    ctx.fillStyle = colour(g);
    if (spacing < 4) {
      const half = spacing < 1.5 ? 1.5 : 2;
      let last = -1e9;
      for (let r = r0; r <= r1; r++) {
        const py = Math.round(sy(y[column[r]]));
        if (py === last) continue;
        last = py;
        ctx.fillRect(x - half, py - 1, half * 2, 2);
        drawnNodes++;
      }
    } else {
      const radius = Math.min(6, spacing * 0.32);
      ctx.beginPath();
      for (let r = r0; r <= r1; r++) {
        const py = sy(y[column[r]]);
        ctx.moveTo(x + radius, py);
        ctx.arc(x, py, radius, 0, Math.PI * 2);
        drawnNodes++;
      }
      ctx.fill();
      if (spacing >= 14 && kx >= 90) {
        ctx.fillStyle = '#c9d6e6';
        for (let r = r0; r <= r1; r++) ctx.fillText(String(graph.id[column[r]]), x + radius + 4, sy(y[column[r]]) + 4);
      }
    }
  }
  if (selected >= 0 && !Number.isNaN(y[selected])) {
    ctx.strokeStyle = '#ffffff';
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(sx(gen[selected]), sy(y[selected]), 7, 0, Math.PI * 2);
    ctx.stroke();
  }

  // Column headers stay at the top.
  ctx.fillStyle = 'rgba(6, 16, 28, 0.88)';
  ctx.fillRect(0, 0, w, HEADER);
  ctx.textAlign = 'center';
  ctx.font = '12px system-ui, sans-serif';
  for (let g = 1; g <= lay.maxGen; g++) {
    const x = sx(g);
    if (x < -60 || x > w + 60 || (g - 1) % Math.max(1, Math.ceil(48 / kx)) !== 0) continue;
    ctx.fillStyle = colour(g);
    ctx.fillText(kx >= 70 ? t('chains.generation', { n: g }) : String(g), x, 15);
  }
  ctx.textAlign = 'start';

  const ms = performance.now() - started;
  Object.assign(canvas.dataset, { ready: 'true', nodes: String(lay.shown), drawnNodes: String(drawnNodes), drawnEdges: String(drawnEdges), drawMs: ms.toFixed(1) });
  updateStats(ms);
}

// --- interaction ----------------------------------------------------------------------------------------

/** The case under a point of the canvas, or -1. */
function hit(mx: number, my: number): number {
  if (!lay || !graph || my < HEADER) return -1;
  const g = Math.floor(mx / kx + ox) + 1;
  if (g < 1 || g > lay.maxGen || !lay.count[g]) return -1;
  const c = lay.count[g];
  const spacing = ky;
  const radius = spacing < 4 ? 2 : Math.min(6, spacing * 0.32);
  if (Math.abs(mx - sx(g)) > Math.max(8, radius + 4)) return -1;
  const column = lay.cols.subarray(lay.colStart[g], lay.colStart[g + 1]);
  const r = firstAtLeast(column, lay.y, my / ky + oy);
  let best = -1;
  let bestD = Math.max(6, radius + 3);
  for (let q = r - 1; q <= r; q++) {
    if (q < 0 || q >= c) continue;
    const d = Math.abs(sy(lay.y[column[q]]) - my);
    if (d <= bestD) {
      bestD = d;
      best = column[q];
    }
  }
  return best;
}

function describeCase(i: number): { id: number; generation: number; reported: string; district: string } {
  const g0 = graph!;
  return {
    id: g0.id[i],
    generation: g0.gen[i],
    reported: new Date(g0.reportedAt[i]).toLocaleString(currentLang(), { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }),
    district: g0.district[i] ? districtName(g0.district[i]) : '—',
  };
}

function showTip(i: number, mx: number, my: number): void {
  if (i < 0) {
    tip.hidden = true;
    return;
  }
  const d = describeCase(i);
  tip.replaceChildren(h('strong', {}, t('chains.case', { id: d.id })), ' · ', t('chains.generation', { n: d.generation }), ' · ', t('chains.reported', { time: d.reported }), ' · ', d.district);
  tip.dataset.case = String(d.id);
  tip.dataset.generation = String(d.generation);
  tip.hidden = false;
  const { w, h: ht } = size();
  tip.style.left = `${Math.min(mx + 14, Math.max(0, w - tip.offsetWidth - 4))}px`;
  tip.style.top = `${Math.min(my + 14, Math.max(0, ht - tip.offsetHeight - 4))}px`;
}

function select(i: number): void {
  selected = i;
  selectedChildren = [];
  if (i < 0 || !lay || !graph) {
    detail.hidden = true;
    return;
  }
  for (let k = 0; k < lay.es.length; k++) if (lay.es[k] === i) selectedChildren.push(lay.et[k]);
  const d = describeCase(i);
  const parent = lay.parent[i];
  const parentLink = parent >= 0 ? h('a', { href: '#', class: 'chain-parent' }, t('chains.parent', { id: graph.id[parent] })) : h('span', { class: 'muted' }, t('chains.noParent'));
  if (parent >= 0)
    parentLink.addEventListener('click', (ev) => {
      ev.preventDefault();
      select(parent);
      draw();
    });
  detail.replaceChildren(
    h('h2', {}, t('chains.case', { id: d.id })),
    h('div', {}, t('chains.generation', { n: d.generation }), ' · ', d.district),
    h('div', { class: 'muted small' }, t('chains.reported', { time: d.reported })),
    h('div', { class: 'small' }, parentLink),
    h('div', { class: 'small' }, t('chains.children', { n: formatNumber(selectedChildren.length) })),
    h('a', { class: 'btn small', href: `/interview.html?case=${d.id}` }, t('chains.openInterview')),
  );
  detail.dataset.case = String(d.id);
  detail.dataset.generation = String(d.generation);
  detail.hidden = false;
}

let drag: { x: number; y: number; moved: number; id: number } | null = null;
const local = (ev: MouseEvent) => {
  const r = canvas.getBoundingClientRect();
  return { mx: ev.clientX - r.left, my: ev.clientY - r.top };
};

view.addEventListener(
  'wheel',
  (ev) => {
    if (!lay) return;
    ev.preventDefault();
    const { mx, my } = local(ev);
    const delta = ev.deltaMode === 1 ? ev.deltaY * 16 : ev.deltaMode === 2 ? ev.deltaY * 400 : ev.deltaY;
    zoomAt(mx, my, Math.exp(-delta * 0.002));
    tip.hidden = true;
  },
  { passive: false },
);
view.addEventListener('pointerdown', (ev) => {
  if (!lay || ev.button !== 0) return;
  drag = { x: ev.clientX, y: ev.clientY, moved: 0, id: ev.pointerId };
  view.setPointerCapture(ev.pointerId);
});
view.addEventListener('pointermove', (ev) => {
  if (!lay) return;
  if (drag && drag.id === ev.pointerId) {
    const dx = ev.clientX - drag.x;
    const dy = ev.clientY - drag.y;
    drag.x = ev.clientX;
    drag.y = ev.clientY;
    drag.moved += Math.abs(dx) + Math.abs(dy);
    if (drag.moved > 3) {
      view.classList.add('dragging');
      ox -= dx / kx;
      oy -= dy / ky;
      touched = true;
      tip.hidden = true;
      schedule();
    }
    return;
  }
  const { mx, my } = local(ev);
  showTip(hit(mx, my), mx, my);
});
view.addEventListener('pointerup', (ev) => {
  if (!drag || drag.id !== ev.pointerId) return;
  const click = drag.moved <= 3;
  drag = null;
  view.classList.remove('dragging');
  if (click) {
    const { mx, my } = local(ev);
    select(hit(mx, my));
    draw();
  }
});
view.addEventListener('pointerleave', () => (tip.hidden = true));
byId('chain-reset').addEventListener('click', () => {
  touched = false;
  fit();
  draw();
});
new ResizeObserver(() => {
  if (!lay) return;
  resize();
  if (!touched) fit();
  draw();
}).observe(view);

// --- start ----------------------------------------------------------------------------------------------

/** Loads the chains and draws them (called last: everything above is declared by then). */
async function start(): Promise<void> {
  try {
    const started = performance.now();
    const [data] = await Promise.all([api<ChainsResponse>('/api/v1/tracing/chains'), loadDistrictNames()]);
    const loaded = performance.now();
    graph = buildGraph(data);
    canvas.dataset.fetchMs = String(Math.round(loaded - started));
    if (!graph.n) {
      statusLine.textContent = t('chains.empty');
      canvas.dataset.ready = 'true';
      canvas.dataset.nodes = '0';
      renderLegend();
    } else {
      fillDistricts();
      relayout(null);
      canvas.dataset.layoutMs = String(Math.round(performance.now() - loaded));
      statusLine.hidden = true;
      resize();
      fit();
      draw();
      canvas.dataset.firstMs = String(Math.round(performance.now() - loaded));
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) location.reload();
    statusLine.hidden = true;
    showError(message, e);
  }
}

await start();
