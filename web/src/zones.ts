// The zones page (三区划分, 无疫小区): the city's compounds coloured by their zone on a chosen day, a slider
// over the days the server has computed, the epidemic-free areas outlined, and beside the map the compounds
// and people in each zone per district (as the 2022 daily reports gave them). Shapes come once from the
// registry's GeoJSON; each day's zones from GET /api/v1/zones?view=compact and the counts from
// GET /api/v1/zones/counts (src/zoning/routes.ts); a compound clicked shows its zone that day with the reason
// and what comes next (GET /api/v1/zones/compounds/:id), with the command's designations of it, and can place it
// under control from that day with a reason (POST /api/v1/zones/designations). A district's command sees its own
// district only (the server decides).
import * as echarts from 'echarts/core';
import { LinesChart, MapChart, ScatterChart } from 'echarts/charts';
import { GeoComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api, problemLine } from './api.ts';
import { byId, h } from './dom.ts';
import { formatNumber, t } from './i18n.ts';
import { boot, guarded } from './shell.ts';
import { chartIn } from './charts.ts';
import type { ZoneWhy } from '../../src/zoning/rules.ts';
import { compoundGeo, compoundTooltip, COMPOUNDS_GEOJSON, districtLabel, districtSeries, DISTRICTS_GEOJSON, escapeHtml, registerCompounds, regionKey, type Collection, type CompoundProps, type DistrictProps, type Geometry } from './geo.ts';

echarts.use([MapChart, LinesChart, ScatterChart, GeoComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

type ZoneName = 'sealed' | 'controlled' | 'precaution';
type Shape = Collection<CompoundProps>['features'][number];
// GET /api/v1/zones?view=compact: every compound in reach, in id order, one letter a zone, its free area (0: not free).
interface Compact {
  day: string;
  preset: string;
  history: { from: string; to: string };
  refreshedAt: string;
  ids: number[];
  zones: string;
  freeAreas: number[];
}
interface Tally {
  compounds: number;
  people: number;
}
type Tallies = Record<ZoneName, Tally> & { freeCompounds: number };
// GET /api/v1/zones/counts?day=: the day's compounds and people per zone, per district and in total.
interface CountsDay {
  day: string;
  total: Tallies;
  districts: (Tallies & { districtId: number; name: string; nameEn: string | null })[];
}
// GET /api/v1/zones/compounds/:id?from=&to=: one day of a compound's history.
interface CompoundDay {
  day: string;
  zone: ZoneName;
  since: string | null;
  reason: { rule: string; why: ZoneWhy | null; lastCase: { id: number; day: string } | null };
  moves: { on: string; to: ZoneName; rule: string; ifAllNegativeScreeningOn: string | null } | null;
  sealedBuildings: { buildingId: number; releasedOn: string }[];
  epidemicFree: { free: boolean; since: string | null; freeOn: string | null; areaId: number | null };
}

// A designation of the compound under control (GET /api/v1/zones/compounds/:id, designations), and its withdrawal.
interface Designation {
  id: number;
  day: string;
  reason: string;
  withdrawal: { reason: string } | null;
}
/** The compound the card shows, and its day. */
let shown: { compound: CompoundProps; day: string } | null = null;

const ZONE_NAMES: ZoneName[] = ['sealed', 'controlled', 'precaution'];
const LETTERS: Record<string, ZoneName> = { s: 'sealed', c: 'controlled', p: 'precaution' };
// The same colours as the command dashboard's map.
const ZONE_STYLE: Record<ZoneName, { value: number; color: string }> = { sealed: { value: 2, color: '#f05252' }, controlled: { value: 1, color: '#f59e0b' }, precaution: { value: 0, color: '#2fbf8f' } };
const FREE_OUTLINE = '#7dd3fc';
// Constants are declared before the first load below: the page draws while this module is still running.
const num = (n: number, key: string) => h('td', { class: n ? 'num' : 'num zero', 'data-key': key, 'data-value': n }, formatNumber(n));

const message = byId('message');
const mapEl = byId('zone-map');
const slider = byId<HTMLInputElement>('day-slider');
const user = await boot({ page: 'zones' });
document.title = `${t('nav.zones')} · ${t('app.name')}`;

let days: string[] = [];
let geo: { compounds: Collection<CompoundProps>; districts: Collection<DistrictProps>; shaped: Shape[]; byKey: Map<string, CompoundProps> } | null = null;
let chart: echarts.ECharts | null = null;
/** The day on display, and what the map shows of it (for the tooltips and the page's data attributes). */
let current: { day: string; zoneOf: Map<number, { zone: ZoneName; area: number }> } | null = null;
let asked = 0;
let debounce: ReturnType<typeof setTimeout> | undefined;

slider.addEventListener('input', () => {
  byId('day-label').textContent = days[Number(slider.value)] ?? '';
  clearTimeout(debounce);
  debounce = setTimeout(() => void show(days[Number(slider.value)]), 150);
});
slider.addEventListener('change', () => {
  clearTimeout(debounce);
  void show(days[Number(slider.value)]);
});
byId('day-prev').addEventListener('click', () => step(-1));
byId('day-next').addEventListener('click', () => step(1));
byId('map-reset').addEventListener('click', () => chart?.setOption({ geo: { center: null, zoom: 1 } }));
byId('compound-close').addEventListener('click', () => (byId('compound-card').hidden = true));
byId<HTMLFormElement>('designate-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void designate();
});

await guarded(message, mapEl, async () => {
  const [compounds, districts] = await Promise.all([api<Collection<CompoundProps>>(COMPOUNDS_GEOJSON), api<Collection<DistrictProps>>(DISTRICTS_GEOJSON)]);
  geo = { compounds, districts, shaped: compounds.features.filter((f) => f.geometry), byKey: registerCompounds('zones-compounds', compounds) };
});
await show(new URLSearchParams(location.search).get('day') ?? undefined);

function step(by: number): void {
  const i = Number(slider.value) + by;
  if (i < 0 || i >= days.length) return;
  slider.value = String(i);
  void show(days[i]);
}

/** Shows a day (the server's default, today or its last day, when none): the map, the tiles and the counts. */
async function show(day?: string): Promise<void> {
  const mine = ++asked;
  await guarded(message, byId('tiles'), async () => {
    const q = new URLSearchParams({ view: 'compact' });
    if (day) q.set('day', day);
    const zones = await api<Compact>(`/api/v1/zones?${q}`);
    const counts = await api<{ days: CountsDay[] }>(`/api/v1/zones/counts?day=${zones.day}`);
    // A later day was asked for meanwhile: that one draws.
    if (mine !== asked) return;
    message.hidden = true;
    setDays(zones);
    const c = counts.days[0] ?? { day: zones.day, total: emptyTallies(), districts: [] };
    renderTiles(zones, c);
    renderCounts(c);
    draw(zones);
    window.history.replaceState(null, '', `?day=${zones.day}`);
  });
}

function emptyTallies(): Tallies {
  return { sealed: { compounds: 0, people: 0 }, controlled: { compounds: 0, people: 0 }, precaution: { compounds: 0, people: 0 }, freeCompounds: 0 };
}

/** The slider runs over every day of the stored history. */
function setDays(z: Compact): void {
  if (days[0] !== z.history.from || days[days.length - 1] !== z.history.to) {
    days = [];
    for (let d = Date.parse(`${z.history.from}T00:00:00Z`); d <= Date.parse(`${z.history.to}T00:00:00Z`); d += 86_400_000) days.push(new Date(d).toISOString().slice(0, 10));
    slider.max = String(days.length - 1);
  }
  slider.disabled = days.length < 2;
  slider.value = String(Math.max(0, days.indexOf(z.day)));
  slider.setAttribute('aria-valuetext', z.day);
  byId('day-label').textContent = z.day;
  byId('day-range').textContent = `${z.history.from} – ${z.history.to}`;
  byId<HTMLButtonElement>('day-prev').disabled = z.day <= z.history.from;
  byId<HTMLButtonElement>('day-next').disabled = z.day >= z.history.to;
  byId('as-of').textContent = t('zones.asOf', { time: new Date(z.refreshedAt).toLocaleString(), preset: z.preset });
}

function renderTiles(z: Compact, c: CountsDay): void {
  const areas = new Set(z.freeAreas.filter((a) => a > 0)).size;
  const tile = (key: string, label: string, value: number, sub?: string, people?: number) =>
    h(
      'div',
      { class: `stat zone-${key}`, 'data-key': key, 'data-value': value, 'data-people': people ?? null },
      h('div', { class: 'stat-value' }, formatNumber(value)),
      h('div', { class: 'stat-label' }, label),
      sub ? h('div', { class: 'stat-sub small' }, sub) : null,
    );
  byId('tiles').replaceChildren(
    ...ZONE_NAMES.map((zone) => tile(zone, t(`group.${zone}`), c.total[zone].compounds, t('zones.people', { n: formatNumber(c.total[zone].people) }), c.total[zone].people)),
    tile('free', t('zones.free'), c.total.freeCompounds),
    tile('areas', t('zones.areas'), areas),
  );
}

function renderCounts(c: CountsDay): void {
  const body = byId('counts-body');
  body.dataset.day = c.day;
  body.dataset.count = String(c.districts.length);
  if (!c.districts.length) {
    body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 8 }, t('list.empty'))));
    return;
  }
  const row = (name: string, x: Tallies, district: number | 'total') =>
    h(
      'tr',
      { 'data-district': district, class: district === 'total' ? 'total' : '' },
      h('td', {}, name),
      ...ZONE_NAMES.flatMap((zone) => [num(x[zone].compounds, `${zone}.compounds`), num(x[zone].people, `${zone}.people`)]),
      num(x.freeCompounds, 'free'),
    );
  const label = (d: CountsDay['districts'][number]) => districtLabel({ id: d.districtId, code: '', name: d.name, nameEn: d.nameEn });
  body.replaceChildren(...c.districts.map((d) => row(label(d), d, d.districtId)), row(t('zones.total'), c.total, 'total'));
}

/** The compounds coloured by zone, the districts outlined, and each free area's boundary drawn over them. */
function draw(z: Compact): void {
  if (!geo) return;
  mapEl.classList.remove('loading');
  const zoneOf = new Map<number, { zone: ZoneName; area: number }>();
  z.ids.forEach((id, i) => {
    const zone = LETTERS[z.zones[i]];
    if (zone) zoneOf.set(id, { zone, area: z.freeAreas[i] ?? 0 });
  });
  current = { day: z.day, zoneOf };
  if (!geo.shaped.length) {
    mapEl.replaceChildren(h('p', { class: 'map-empty' }, t('map.empty')));
    return ready({ day: z.day, compounds: 0 });
  }
  const drawn = geo.shaped.filter((f) => zoneOf.has(f.properties.id));
  const count = (zone: ZoneName) => drawn.filter((f) => zoneOf.get(f.properties.id)!.zone === zone).length;
  const areas = new Map<number, Shape[]>();
  for (const f of drawn) {
    const a = zoneOf.get(f.properties.id)!.area;
    if (a > 0) areas.set(a, [...(areas.get(a) ?? []), f]);
  }
  const outlines = [...areas.values()].flatMap(boundary);
  const attrs = {
    day: z.day,
    compounds: drawn.length,
    sealed: count('sealed'),
    controlled: count('controlled'),
    precaution: count('precaution'),
    free: [...areas.values()].reduce((s, a) => s + a.length, 0),
    areas: areas.size,
    outlined: outlines.length,
  };
  if (!chart) {
    mapEl.replaceChildren();
    chart = chartIn(mapEl);
    chart.on('click', (p: { name?: string }) => {
      const c = p.name ? geo?.byKey.get(p.name) : undefined;
      if (c && current) void showCompound(c, current.day);
    });
  }
  const { districts, byKey } = geo;
  chart.off('finished');
  chart.on('finished', () => ready(attrs));
  chart.setOption(
    {
      backgroundColor: 'transparent',
      // Thousands of regions: animating them costs seconds and shows nothing useful.
      animation: false,
      tooltip: compoundTooltip(byKey, (co) => {
        const x = current?.zoneOf.get(co.id);
        if (!x) return [];
        return [
          `<span style="color:${ZONE_STYLE[x.zone].color}">${t(`group.${x.zone}`)}</span>${x.area ? ` · <span style="color:${FREE_OUTLINE}">${t('zones.freeArea', { id: x.area })}</span>` : ''}`,
          `${t('map.population')}: ${formatNumber(co.population ?? 0)}`,
          `${t('map.district')}: ${escapeHtml(districtName(co.districtId))}`,
        ];
      }),
      visualMap: {
        type: 'piecewise',
        seriesIndex: 0,
        left: 8,
        bottom: 8,
        textStyle: { color: '#9fb3cc' },
        pieces: ZONE_NAMES.map((zone) => ({ value: ZONE_STYLE[zone].value, color: ZONE_STYLE[zone].color, label: `${t(`group.${zone}`)} ${formatNumber(attrs[zone])}` })),
      },
      geo: compoundGeo('zones-compounds'),
      series: [
        { type: 'map', geoIndex: 0, data: drawn.map((f) => ({ name: regionKey(f.properties), value: ZONE_STYLE[zoneOf.get(f.properties.id)!.zone].value })) },
        ...districtSeries(districts, user.districtId),
        { type: 'lines', coordinateSystem: 'geo', geoIndex: 0, polyline: false, silent: true, large: true, lineStyle: { color: FREE_OUTLINE, width: 2, opacity: 1 }, data: outlines.map((coords) => ({ coords })), z: 8 },
      ],
    },
    { notMerge: true },
  );
}

function ready(attrs: Record<string, string | number>): void {
  for (const [k, v] of Object.entries(attrs)) mapEl.dataset[k] = String(v);
  mapEl.dataset.ready = 'true';
}

function districtName(id: number): string {
  const d = geo?.districts.features.find((f) => f.properties.id === id);
  return d ? districtLabel(d.properties) : String(id);
}

function rings(g: Geometry | null): number[][][] {
  if (!g) return [];
  return g.type === 'Polygon' ? g.coordinates : g.coordinates.flat();
}

/**
 * The outline of an area: the edges of its compounds' rings that no other compound of the area shares
 * (compounds that share a boundary share its vertices, as the registry's shapes do).
 */
function boundary(area: Shape[]): number[][][] {
  const edges = new Map<string, number[][] | null>();
  const key = (p: number[]) => `${p[0].toFixed(6)},${p[1].toFixed(6)}`;
  for (const f of area) {
    for (const ring of rings(f.geometry)) {
      for (let i = 0; i + 1 < ring.length; i++) {
        const a = key(ring[i]);
        const b = key(ring[i + 1]);
        if (a === b) continue;
        const k = a < b ? `${a}|${b}` : `${b}|${a}`;
        edges.set(k, edges.has(k) ? null : [ring[i], ring[i + 1]]);
      }
    }
  }
  return [...edges.values()].filter((e): e is number[][] => e !== null);
}

/** A compound's zone on the day shown: why, since when, what comes next, and whether it is epidemic-free. */
async function showCompound(c: CompoundProps, day: string): Promise<void> {
  const card = byId('compound-card');
  await guarded(message, card, async () => {
    const r = await api<{ compound: { id: number; code: string; name: string }; days: CompoundDay[]; designations: Designation[] }>(`/api/v1/zones/compounds/${c.id}?from=${day}&to=${day}`);
    // What was said of the compound shown before is not said of another.
    if (shown?.compound.id !== c.id || shown.day !== day) byId('designate-note').hidden = true;
    shown = { compound: c, day };
    const d = r.days[0];
    card.hidden = false;
    card.dataset.compound = String(c.id);
    card.dataset.day = day;
    byId('compound-title').textContent = `${r.compound.name} · ${r.compound.code}`;
    if (!d) {
      byId('compound-facts').replaceChildren(h('dd', {}, t('list.empty')));
      return;
    }
    card.dataset.zone = d.zone;
    const row = (label: string, ...value: (Node | string)[]) => [h('dt', {}, label), h('dd', {}, ...value)];
    const zone = (z: ZoneName) => h('span', { class: 'zone-chip', style: `color:${ZONE_STYLE[z].color}` }, t(`group.${z}`));
    const free = d.epidemicFree;
    byId('compound-facts').replaceChildren(
      ...row(t('zones.day'), day),
      ...row(t('zones.zone'), zone(d.zone), d.since ? ` · ${t('zones.since', { day: d.since })}` : ''),
      ...row(t('zones.reason'), h('span', { id: 'zone-reason', title: d.reason.rule, 'data-why': d.reason.why?.code ?? '' }, d.reason.why ? zoneWhyWords(d.reason.why) : d.reason.rule)),
      ...row(t('zones.lastCaseLabel'), d.reason.lastCase ? t('zones.lastCase', { id: d.reason.lastCase.id, day: d.reason.lastCase.day }) : '—'),
      ...row(t('zones.nextLabel'), ...(d.moves ? [t('zones.moves', { day: d.moves.on }), zone(d.moves.to), d.moves.ifAllNegativeScreeningOn ? ` · ${t('zones.ifScreening', { day: d.moves.ifAllNegativeScreeningOn })}` : ''] : [t('zones.stays')])),
      ...(d.sealedBuildings.length ? row(t('zones.sealedBuildings'), d.sealedBuildings.map((b) => t('zones.buildingUntil', { id: b.buildingId, day: b.releasedOn })).join('；')) : []),
      ...row(t('zones.designations'), ...(r.designations.length ? r.designations.map(designationLine) : ['—'])),
      ...row(t('zones.free'), free.free ? `${t('zones.freeSince', { day: free.since ?? '' })}${free.areaId ? ` · ${t('zones.freeArea', { id: free.areaId })}` : ''}` : free.freeOn ? t('zones.freeOn', { day: free.freeOn }) : '—'),
    );
  });
}

/** One designation on the card: withdrawn, with why; or with a way to withdraw it, asking the reason first. */
function designationLine(x: Designation): HTMLElement {
  const line = h('span', { class: 'designation', 'data-id': String(x.id), 'data-withdrawn': String(x.withdrawal !== null) }, t('zones.designation', { day: x.day, reason: x.reason }));
  if (x.withdrawal) {
    line.append(h('span', { class: 'muted' }, ` · ${t('zones.withdrawn', { reason: x.withdrawal.reason })}`));
    return line;
  }
  const reason = h('input', { type: 'text', maxlength: 500, required: true, placeholder: t('zones.withdrawReason'), 'aria-label': t('zones.withdrawReason') });
  const confirm = h('button', { class: 'btn small', type: 'submit' }, t('zones.withdrawConfirm'));
  const form = h(
    'form',
    {
      class: 'withdraw-form',
      'data-withdraw': String(x.id),
      onsubmit: (ev: Event) => {
        ev.preventDefault();
        void withdraw(x, reason.value.trim(), confirm);
      },
    },
    reason,
    confirm,
  );
  const ask = h(
    'button',
    {
      class: 'btn ghost small',
      type: 'button',
      'data-withdraw': String(x.id),
      onclick: () => {
        ask.replaceWith(form);
        reason.focus();
      },
    },
    t('zones.withdraw'),
  );
  line.append(' ', ask);
  return line;
}

/** Withdraws a designation of the compound shown, with the reason typed; then shows the compound again. */
function withdraw(x: Designation, reason: string, submit: HTMLButtonElement): Promise<void> {
  return changeShown(submit, async () => {
    await api(`/api/v1/zones/designations/${x.id}/withdraw`, { method: 'POST', body: { reason } });
    return t('zones.withdrew', { day: x.day });
  });
}

/** Places the compound shown under control from the day shown, with the reason typed; then shows it again. */
function designate(): Promise<void> {
  const reason = byId<HTMLInputElement>('designate-reason');
  return changeShown(byId<HTMLButtonElement>('designate-submit'), async ({ compound, day }) => {
    await api('/api/v1/zones/designations', { method: 'POST', body: { compoundIds: [compound.id], day, reason: reason.value.trim() } });
    reason.value = '';
    return t('zones.designated', { day });
  });
}

/** Runs a change to the compound shown (its words when done), then shows it again; the refusal, in its place, when refused. */
async function changeShown(submit: HTMLButtonElement, change: (on: NonNullable<typeof shown>) => Promise<string>): Promise<void> {
  if (!shown) return;
  const on = shown;
  const note = byId('designate-note');
  submit.disabled = true;
  try {
    note.textContent = await change(on);
    note.dataset.kind = 'done';
    note.title = '';
    await showCompound(on.compound, on.day);
  } catch (e) {
    const { text, title } = problemLine(e);
    note.textContent = text;
    note.title = title;
    note.dataset.kind = 'error';
  } finally {
    note.hidden = false;
    submit.disabled = false;
  }
}

/** A zone's rule in the reader's language (the server's words stay in the title). */
function zoneWhyWords(w: ZoneWhy): string {
  if (w.code !== 'clean') return t(`zones.why.${w.code}`);
  const vars = { from: t(`group.${w.from}`), to: t(`group.${w.to}`), days: w.cleanDays, screening: w.screeningDay ?? '' };
  return t(w.screeningDay === null ? 'zones.why.clean' : 'zones.why.cleanScreening', vars);
}
