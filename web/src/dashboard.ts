// The command centre's one screen (监测预警, 指挥调度): where the epidemic is, whether it is growing, what needs
// doing, by whom, by when. New cases per day (confirmed and asymptomatic stacked, society-level as a line),
// Rt with its 95% band and the latest Rt of each district, tests and positivity, 四早 (close contacts in
// quarantine within 24 h), discharges and deaths, gauges of the shelter, hospital and ICU beds, the map of
// compounds, the open alerts (resolved here with a note) and the overdue tasks (changed in bulk). All of it
// from GET /api/v1/command/dashboard (src/command/dashboard.ts), which reads the daily figures: the city or
// one district, and a district's command only ever its own district (the server decides).
import * as echarts from 'echarts/core';
import { BarChart, GaugeChart, LineChart, LinesChart, MapChart, ScatterChart } from 'echarts/charts';
import { GeoComponent, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api, ApiError, problemLine } from './api.ts';
import { byId, h } from './dom.ts';
import { formatNumber, t, tMaybe, type Key, when } from './i18n.ts';
import { boot, guarded } from './shell.ts';
import { axisLine, axisText, chartIn, dayAxis, legendText, splitLine, tooltipStyle, valueAxis } from './charts.ts';
import { centre, compoundGeo, compoundTooltip, COMPOUNDS_GEOJSON, districtLabel, districtSeries, DISTRICTS_GEOJSON, escapeHtml, registerCompounds, regionKey, type Collection, type CompoundProps, type DistrictProps } from './geo.ts';
import type { dashboardData } from '../../src/command/dashboard.ts';

echarts.use([BarChart, LineChart, GaugeChart, MapChart, LinesChart, ScatterChart, GeoComponent, GridComponent, LegendComponent, MarkLineComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

type Shape = Collection<CompoundProps>['features'][number];
type ZoneName = 'sealed' | 'controlled' | 'precaution';
// GET /api/v1/zones?view=compact (src/zoning/routes.ts): ids in order, one letter a zone, the free area (0: not free).
interface CompactZones {
  day: string;
  ids: number[];
  zones: string;
  freeAreas: number[];
}
// The server's answer as it arrives over JSON (dates as ISO strings).
type Wire<T> = T extends Date ? string : T extends (infer U)[] ? Wire<U>[] : T extends object ? { [K in keyof T]: Wire<T[K]> } : T;
type Dashboard = Wire<Awaited<ReturnType<typeof dashboardData>>>;
type Alert = Dashboard['alerts']['items'][number];
type Task = Dashboard['overdueTasks']['items'][number];
type Beds = Dashboard['beds'][number];
type RtPoint = Dashboard['rt']['area'][number];
// GET /api/v1/alerts?kind=firstCaseInCompound (src/command/routes.ts): the compounds whose first case raised an alert.
interface FirstCaseAlert {
  id: number;
  districtId: number | null;
  facts: { compoundId?: number; reportedAt?: string };
  raisedAt: string;
  resolvedAt: string | null;
}

// Constants are declared before the first load below: the page draws while this module is still running.
const ZONES: Record<string, ZoneName> = { s: 'sealed', c: 'controlled', p: 'precaution' };
const ZONE_STYLE: Record<ZoneName, { value: number; color: string }> = { sealed: { value: 2, color: '#f05252' }, controlled: { value: 1, color: '#f59e0b' }, precaution: { value: 0, color: '#2fbf8f' } };
const COLOURS = { confirmed: '#f05252', asymptomatic: '#f59e0b', society: '#e879f9', rt: '#22b8cf', up: '#f05252', down: '#34d399', tubes: '#22b8cf', positivity: '#f05252', close: '#a78bfa', within: '#34d399', discharged: '#34d399', died: '#94a3b8' };
const BED_COLOURS: Record<string, string> = { shelterHospital: '#22b8cf', designatedHospital: '#a78bfa', icu: '#f05252' };
const HOUR = 3_600_000;

const message = byId('message');
const districtSel = byId<HTMLSelectElement>('district');
const daysSel = byId<HTMLSelectElement>('days');
const user = await boot({ page: 'dashboard' });
document.title = `${t('nav.dashboard')} · ${t('app.name')}`;
const isCity = user.role === 'city_command';
const params = new URLSearchParams(location.search);
let districtId: number | null = user.districtId ?? (Number(params.get('district')) || null);
if (params.get('days') && [...daysSel.options].some((o) => o.value === params.get('days'))) daysSel.value = params.get('days') as string;

const charts = new Map<string, echarts.ECharts>();
const chart = (id: string) => {
  let c = charts.get(id);
  if (!c) charts.set(id, (c = chartIn(byId(id))));
  return c;
};
let data: Dashboard | null = null;
let geo: { compounds: Collection<CompoundProps>; districts: Collection<DistrictProps>; byKey: Map<string, CompoundProps> } | null = null;
const selected = new Set<number>();

districtSel.addEventListener('change', () => {
  districtId = Number(districtSel.value) || null;
  void load();
});
daysSel.addEventListener('change', () => void load());
byId('refresh').addEventListener('click', () => void load());
byId('map-reset').addEventListener('click', () => charts.get('zone-map')?.setOption({ geo: { center: null, zoom: 1 } }));
wireTasks();
await load();
// The daily figures are kept by the server's job each minute: the screen reads them again as often while in view.
setInterval(() => {
  if (!document.hidden) void load();
}, 60_000);

// --- loading -----------------------------------------------------------------------------------------------

async function load(): Promise<void> {
  const q = new URLSearchParams({ days: daysSel.value });
  if (districtId !== null && isCity) q.set('districtId', String(districtId));
  history.replaceState(null, '', `${location.pathname}?${new URLSearchParams({ ...(districtId !== null && isCity ? { district: String(districtId) } : {}), days: daysSel.value })}`);
  await guarded(message, byId('tiles'), async () => {
    const d = await api<Dashboard>(`/api/v1/command/dashboard?${q}`);
    data = d;
    message.hidden = true;
    renderScope(d);
    byId('as-of').textContent = t('dash.asOf', { time: when(d.at), refreshed: d.refreshedAt ? when(d.refreshedAt) : '—' });
    renderTiles(d);
    renderCurve(d);
    renderRt(d);
    renderRtDistricts(d);
    renderTests(d);
    renderContacts(d);
    renderOutcomes(d);
    renderBeds(d.beds);
    renderAlerts(d.alerts.items, d.alerts.total);
    renderTasks(d.overdueTasks.items, d.overdueTasks.total);
    await loadMap(d);
  });
}

/** The area choice: the city and each district for city command; a district's command sees its own only. */
function renderScope(d: Dashboard): void {
  if (districtSel.options.length === 0) {
    const own = d.rt.byDistrict.filter((x) => isCity || x.districtId === user.districtId);
    districtSel.replaceChildren(...(isCity ? [h('option', { value: '' }, t('dash.city'))] : []), ...own.map((x) => h('option', { value: x.districtId }, districtName(x.districtId))));
  }
  districtSel.value = districtId === null ? '' : String(districtId);
  districtSel.disabled = !isCity;
}

// --- tiles ---------------------------------------------------------------------------------------------------

function renderTiles(d: Dashboard): void {
  const total = d.curve.total;
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  // Today is not over: the week is the seven complete days before it.
  const week = sum(total.slice(-8, -1));
  const weekBefore = sum(total.slice(-15, -8));
  const rt = d.rt.area.at(-1) ?? null;
  const lastTested = lastIndex(d.tests.resulted, (n) => n > 0);
  const close = sum(d.contacts.closeOfCases.slice(-8, -1));
  const within = sum(d.contacts.within24h.slice(-8, -1));
  const tile = (key: string, label: string, value: string, sub: string | null, cls = '') =>
    h('div', { class: `stat ${cls}`.trim(), id: `tile-${key}`, 'data-value': value }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label), sub ? h('div', { class: 'stat-sub small' }, sub) : null);
  byId('tiles').replaceChildren(
    tile('today', t('dash.tileToday'), formatNumber(total.at(-1) ?? 0), t('dash.tileYesterday', { n: formatNumber(total.at(-2) ?? 0) }), (total.at(-1) ?? 0) > 0 ? 'danger' : ''),
    tile('week', t('dash.tileWeek'), formatNumber(week), t('dash.tileWeekSub', { n: formatNumber(weekBefore) }), week > weekBefore ? 'danger' : ''),
    tile('rt', t('dash.tileRt'), rt ? rt.mean.toFixed(2) : '—', rt ? `${t('dash.tileRtBand', { low: rt.low.toFixed(2), high: rt.high.toFixed(2) })}${growthText(rt)}` : t('dash.rtNone'), rt ? (rt.mean > 1 ? 'danger' : 'ok') : ''),
    tile(
      'positivity',
      t('dash.tilePositivity'),
      lastTested >= 0 ? percent(d.tests.positivity[lastTested]) : '—',
      lastTested >= 0 ? t('dash.tilePositivitySub', { day: d.days[lastTested].slice(5), n: formatNumber(d.tests.resulted[lastTested]) }) : null,
    ),
    tile('share', t('dash.tileShare'), close ? percent(within / close) : '—', t('dash.tileShareSub', { n: formatNumber(close) }), close && within / close < 0.9 ? 'warn' : ''),
    tile('alerts', t('dash.tileAlerts'), formatNumber(d.alerts.total), null, d.alerts.items.some((a) => a.severity === 'critical') ? 'danger' : d.alerts.total ? 'warn' : ''),
    tile('tasks', t('dash.tileTasks'), formatNumber(d.overdueTasks.total), null, d.overdueTasks.total ? 'warn' : ''),
  );
}

function growthText(rt: RtPoint): string {
  if (rt.doublingTime === null || !Number.isFinite(rt.doublingTime)) return '';
  const n = Math.abs(rt.doublingTime).toFixed(1);
  return ` · ${rt.doublingTime > 0 ? t('dash.tileDoubling', { n }) : t('dash.tileHalving', { n })}`;
}

// --- charts --------------------------------------------------------------------------------------------------

/** Common frame of the day charts: no animation, grid, legend at the top right, axis tooltip. */
function dayChart(days: string[], extra: Record<string, unknown>): Record<string, unknown> {
  return {
    backgroundColor: 'transparent',
    animation: false,
    grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, right: 8, textStyle: legendText },
    tooltip: { trigger: 'axis', ...tooltipStyle },
    xAxis: dayAxis(days),
    ...extra,
  };
}

function ready(id: string, attrs: Record<string, string | number>): void {
  const el = byId(id);
  for (const [k, v] of Object.entries(attrs)) el.dataset[k] = String(v);
  el.dataset.ready = 'true';
}

/** New cases per day: confirmed and asymptomatic stacked; society-level cases as a line when there are any. */
function renderCurve(d: Dashboard): void {
  const society = d.curve.society.some((n) => n > 0);
  const el = byId('curve-chart');
  el.setAttribute('aria-label', t('dash.curve'));
  chart('curve-chart').setOption(
    dayChart(d.days, {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, ...tooltipStyle },
      yAxis: valueAxis(),
      series: [
        { name: t('dash.confirmed'), type: 'bar', stack: 'cases', barMaxWidth: 22, itemStyle: { color: COLOURS.confirmed }, data: d.curve.confirmed },
        { name: t('dash.asymptomatic'), type: 'bar', stack: 'cases', barMaxWidth: 22, itemStyle: { color: COLOURS.asymptomatic }, data: d.curve.asymptomatic },
        ...(society ? [{ name: t('dash.society'), type: 'line', symbolSize: 5, lineStyle: { width: 2 }, itemStyle: { color: COLOURS.society }, data: d.curve.society }] : []),
      ],
    }),
    { notMerge: true },
  );
  ready('curve-chart', { total: d.curve.total.reduce((s, n) => s + n, 0), days: d.days.length, society: String(society) });
}

/** Rt of the area: the posterior mean as a line inside its 95% band, and the line Rt = 1. */
function renderRt(d: Dashboard): void {
  const el = byId('rt-chart');
  el.setAttribute('aria-label', t('dash.rt'));
  const by = new Map(d.rt.area.map((r) => [r.day, r]));
  const pick = (f: (r: RtPoint) => number) => d.days.map((day) => (by.has(day) ? round2(f(by.get(day) as RtPoint)) : null));
  byId('rt-note').textContent = d.rt.area.length ? t('dash.rtNote', { mean: d.rt.serialInterval.siMean, sd: d.rt.serialInterval.siSd }) : t('dash.rtNone');
  chart('rt-chart').setOption(
    dayChart(d.days, {
      grid: { left: 8, right: 40, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, right: 8, textStyle: legendText, data: [t('dash.rtMean'), t('dash.rtBand')] },
      tooltip: {
        trigger: 'axis',
        ...tooltipStyle,
        formatter: (ps: { dataIndex: number }[]) => {
          const r = by.get(d.days[ps[0]?.dataIndex ?? 0]);
          return r ? `${r.day}<br>Rt ${r.mean.toFixed(2)} (${r.low.toFixed(2)}–${r.high.toFixed(2)})${growthText(r)}` : '';
        },
      },
      yAxis: valueAxis({ minInterval: undefined, min: 0, max: (v: { max: number }) => Math.max(2, Math.ceil(v.max)) }),
      series: [
        // The band: the lower bound (invisible) with the width of the band stacked on it.
        { name: 'low', type: 'line', stack: 'band', symbol: 'none', lineStyle: { opacity: 0 }, data: pick((r) => r.low), silent: true },
        { name: t('dash.rtBand'), type: 'line', stack: 'band', symbol: 'none', lineStyle: { opacity: 0 }, areaStyle: { color: 'rgba(34, 184, 207, 0.25)' }, itemStyle: { color: 'rgba(34, 184, 207, 0.45)' }, data: pick((r) => r.high - r.low), silent: true },
        {
          name: t('dash.rtMean'),
          type: 'line',
          symbolSize: 4,
          lineStyle: { width: 2 },
          itemStyle: { color: COLOURS.rt },
          data: pick((r) => r.mean),
          markLine: { silent: true, symbol: 'none', lineStyle: { color: '#f05252', type: 'dashed' }, label: { color: '#f05252', formatter: 'Rt = 1' }, data: [{ yAxis: 1 }] },
        },
      ],
    }),
    { notMerge: true },
  );
  ready('rt-chart', { windows: d.rt.area.length, last: d.rt.area.at(-1)?.mean.toFixed(3) ?? '' });
}

/** The latest Rt of every district as bars, red above 1 and green below; the chosen district stands out. */
function renderRtDistricts(d: Dashboard): void {
  const el = byId('rt-districts');
  el.setAttribute('aria-label', t('dash.rtDistricts'));
  const rows = [...d.rt.byDistrict].sort((a, b) => (b.rt?.mean ?? -1) - (a.rt?.mean ?? -1) || b.cases7d - a.cases7d);
  el.style.height = `${Math.max(200, 50 + rows.length * 24)}px`;
  const c = chart('rt-districts');
  c.resize();
  c.setOption(
    {
      backgroundColor: 'transparent',
      animation: false,
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      tooltip: {
        trigger: 'axis',
        axisPointer: { type: 'shadow' },
        ...tooltipStyle,
        formatter: (ps: { dataIndex: number }[]) => {
          const r = rows[ps[0]?.dataIndex ?? 0];
          if (!r) return '';
          const band = r.rt ? `Rt ${r.rt.mean.toFixed(2)} (${r.rt.low.toFixed(2)}–${r.rt.high.toFixed(2)})` : t('dash.rtNone');
          return `${escapeHtml(districtName(r.districtId))}<br>${band}<br>${t('dash.cases7d', { n: formatNumber(r.cases7d) })}`;
        },
      },
      xAxis: { type: 'value', min: 0, axisLabel: axisText, splitLine },
      yAxis: { type: 'category', inverse: true, data: rows.map((r) => districtName(r.districtId)), axisLabel: { color: '#e6edf7', width: 110, overflow: 'truncate' }, axisLine },
      series: [
        {
          type: 'bar',
          barMaxWidth: 16,
          data: rows.map((r) => ({
            value: r.rt ? round2(r.rt.mean) : 0,
            itemStyle: { color: r.rt ? (r.rt.mean > 1 ? COLOURS.up : COLOURS.down) : '#334155', opacity: districtId === null || districtId === r.districtId ? 1 : 0.35 },
            label: { show: true, position: 'right', color: '#e6edf7', formatter: () => (r.rt ? r.rt.mean.toFixed(2) : '—') },
          })),
          markLine: { silent: true, symbol: 'none', lineStyle: { color: '#e6edf7', type: 'dashed', opacity: 0.6 }, label: { show: false }, data: [{ xAxis: 1 }] },
        },
      ],
    },
    { notMerge: true },
  );
  ready('rt-districts', { districts: rows.length, above: rows.filter((r) => r.rt && r.rt.mean > 1).length });
}

/** Tubes sampled per day as bars; positivity (positive of resulted tubes) as a line on the right axis. */
function renderTests(d: Dashboard): void {
  byId('tests-chart').setAttribute('aria-label', t('dash.tests'));
  chart('tests-chart').setOption(
    dayChart(d.days, {
      tooltip: {
        trigger: 'axis',
        ...tooltipStyle,
        formatter: (ps: { dataIndex: number }[]) => {
          const i = ps[0]?.dataIndex ?? 0;
          return [d.days[i], `${t('dash.tubes')}: ${formatNumber(d.tests.tubes[i])}`, `${t('dash.persons')}: ${formatNumber(d.tests.persons[i])}`, `${t('dash.positive')}: ${formatNumber(d.tests.positive[i])}`, `${t('dash.positivity')}: ${percent(d.tests.positivity[i])}`].join('<br>');
        },
      },
      yAxis: [valueAxis(), valueAxis({ splitLine: { show: false }, min: 0 }, true)],
      series: [
        { name: t('dash.tubes'), type: 'bar', barMaxWidth: 22, itemStyle: { color: COLOURS.tubes, opacity: 0.7 }, data: d.tests.tubes },
        { name: t('dash.positivity'), type: 'line', yAxisIndex: 1, connectNulls: true, symbolSize: 4, itemStyle: { color: COLOURS.positivity }, data: d.tests.positivity },
      ],
    }),
    { notMerge: true },
  );
  ready('tests-chart', { tubes: d.tests.tubes.reduce((s, n) => s + n, 0) });
}

/** 四早: close contacts of each day's cases, those in quarantine within 24 h (overlaid), and the share. */
function renderContacts(d: Dashboard): void {
  byId('contacts-chart').setAttribute('aria-label', t('dash.contacts'));
  chart('contacts-chart').setOption(
    dayChart(d.days, {
      yAxis: [valueAxis(), valueAxis({ splitLine: { show: false }, min: 0, max: 1 }, true)],
      series: [
        { name: t('dash.closeOfCases'), type: 'bar', barMaxWidth: 22, barGap: '-100%', itemStyle: { color: COLOURS.close, opacity: 0.45 }, data: d.contacts.closeOfCases },
        { name: t('dash.within24h'), type: 'bar', barMaxWidth: 22, itemStyle: { color: COLOURS.within }, data: d.contacts.within24h },
        { name: t('dash.share'), type: 'line', yAxisIndex: 1, connectNulls: true, symbolSize: 4, itemStyle: { color: '#f7e08a' }, data: d.contacts.share.map((s) => (s === null ? null : round2(s))) },
      ],
    }),
    { notMerge: true },
  );
  ready('contacts-chart', { close: d.contacts.closeOfCases.reduce((s, n) => s + n, 0) });
}

function renderOutcomes(d: Dashboard): void {
  byId('outcomes-chart').setAttribute('aria-label', t('dash.outcomes'));
  chart('outcomes-chart').setOption(
    dayChart(d.days, {
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, ...tooltipStyle },
      yAxis: valueAxis(),
      series: [
        { name: t('dash.discharged'), type: 'bar', barMaxWidth: 22, itemStyle: { color: COLOURS.discharged }, data: d.outcomes.discharged },
        { name: t('dash.died'), type: 'bar', barMaxWidth: 22, itemStyle: { color: COLOURS.died }, data: d.outcomes.died },
      ],
    }),
    { notMerge: true },
  );
  ready('outcomes-chart', { discharged: d.outcomes.discharged.reduce((s, n) => s + n, 0) });
}

/** A gauge a kind of bed (occupied of total), and beneath each the beds free and the days they last. */
function renderBeds(beds: Beds[]): void {
  const el = byId('beds-chart');
  el.setAttribute('aria-label', t('dash.beds'));
  const n = Math.max(1, beds.length);
  chart('beds-chart').setOption(
    {
      backgroundColor: 'transparent',
      animation: false,
      series: beds.map((b, i) => {
        const share = b.total ? b.occupied / b.total : 0;
        const colour = share >= 1 ? '#f05252' : share >= 0.85 ? '#f59e0b' : BED_COLOURS[b.kind] ?? '#22b8cf';
        return {
          type: 'gauge',
          center: [`${((i + 0.5) * 100) / n}%`, '58%'],
          radius: `${Math.min(80, 240 / n)}%`,
          startAngle: 210,
          endAngle: -30,
          min: 0,
          max: 100,
          progress: { show: true, width: 12, itemStyle: { color: colour } },
          axisLine: { lineStyle: { width: 12, color: [[1, '#1d3350']] } },
          axisTick: { show: false },
          splitLine: { show: false },
          axisLabel: { show: false },
          pointer: { show: false },
          anchor: { show: false },
          title: { offsetCenter: [0, '62%'], color: '#9fb3cc', fontSize: 12 },
          detail: { offsetCenter: [0, '0%'], color: '#e6edf7', fontSize: 18, fontWeight: 700, formatter: () => `${Math.round(share * 100)}%` },
          data: [{ value: Math.min(100, Math.round(share * 100)), name: bedLabel(b.kind) }],
        };
      }),
    },
    { notMerge: true },
  );
  byId('beds-list').replaceChildren(
    ...beds.map((b) =>
      h(
        'li',
        { 'data-kind': b.kind, 'data-occupied': b.occupied, 'data-total': b.total, 'data-days-left': b.daysLeft ?? '', style: `--kind: ${BED_COLOURS[b.kind] ?? '#22b8cf'}` },
        h('strong', { class: 'beds-count' }, `${formatNumber(b.occupied)} / ${formatNumber(b.total)}`),
        h('span', { class: 'muted small' }, t('dash.free', { n: formatNumber(b.available) })),
        h('span', { class: `small ${b.daysLeft !== null && b.daysLeft < 3 ? 'danger-text' : ''}`.trim() }, b.daysLeft === null ? t('dash.daysLeftNone') : t('dash.daysLeft', { n: formatNumber(b.daysLeft) })),
      ),
    ),
  );
  ready('beds-chart', { kinds: beds.length });
}

// --- the map -------------------------------------------------------------------------------------------------

/**
 * The compounds of the city (shapes from the registry, read once), coloured by their zone today from the
 * zoning capability (GET /api/v1/zones?view=compact: one letter a compound). Until zones are computed (409),
 * or where the server has none (404), each compound is shaded by its district's new cases of the last 7 days
 * (the Rt per district above), and the compounds whose first case raised an alert carry a red dot.
 */
async function loadMap(d: Dashboard): Promise<void> {
  const el = byId('zone-map');
  if (!geo) {
    const [compounds, districts] = await Promise.all([api<Collection<CompoundProps>>(COMPOUNDS_GEOJSON), api<Collection<DistrictProps>>(DISTRICTS_GEOJSON)]);
    geo = { compounds, districts, byKey: registerCompounds('dash-compounds', compounds) };
  }
  const shaped = geo.compounds.features.filter((f) => f.geometry);
  if (!shaped.length) {
    el.replaceChildren(h('p', { class: 'map-empty' }, t('map.empty')));
    return ready('zone-map', { compounds: 0 });
  }
  const zones = await zonesToday();
  if (zones) drawZones(shaped, zones);
  else await drawDistrictCases(shaped, d);
}

async function zonesToday(): Promise<CompactZones | null> {
  const q = new URLSearchParams({ view: 'compact' });
  if (districtId !== null && isCity) q.set('districtId', String(districtId));
  try {
    return await api<CompactZones>(`/api/v1/zones?${q}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 409)) return null;
    throw e;
  }
}

/** Is a compound of this district within the area shown? */
function inScope(districtOf: number | null): boolean {
  return districtId === null || districtOf === districtId;
}

function drawZones(shaped: Shape[], z: CompactZones): void {
  const zoneOf = new Map<number, { zone: ZoneName; free: boolean }>();
  z.ids.forEach((id, i) => {
    const zone = ZONES[z.zones[i]];
    if (zone) zoneOf.set(id, { zone, free: z.freeAreas[i] > 0 });
  });
  const count = (zone: ZoneName) => [...zoneOf.values()].filter((x) => x.zone === zone).length;
  byId('map-note').textContent = t('dash.mapZones', { day: z.day });
  drawMap({
    source: 'zones',
    data: shaped.map((f) => {
      const x = zoneOf.get(f.properties.id);
      return { name: regionKey(f.properties), value: x ? ZONE_STYLE[x.zone].value : null };
    }),
    visualMap: {
      type: 'piecewise',
      pieces: (Object.keys(ZONE_STYLE) as ZoneName[]).map((zone) => ({ value: ZONE_STYLE[zone].value, color: ZONE_STYLE[zone].color, label: `${t(`group.${zone}`)} ${formatNumber(count(zone))}` })),
    },
    lines: (co) => {
      const x = zoneOf.get(co.id);
      return x ? [`<span style="color:${ZONE_STYLE[x.zone].color}">${t(`group.${x.zone}`)}</span>${x.free ? ` · ${t('dash.zoneFree')}` : ''}`] : [];
    },
    attrs: { sealed: count('sealed'), controlled: count('controlled'), precaution: count('precaution'), day: z.day },
  });
}

async function drawDistrictCases(shaped: Shape[], d: Dashboard): Promise<void> {
  const firsts = await api<{ items: FirstCaseAlert[] }>('/api/v1/alerts?kind=firstCaseInCompound&open=false&limit=1000').catch(() => ({ items: [] as FirstCaseAlert[] }));
  const cases7d = new Map(d.rt.byDistrict.map((r) => [r.districtId, r.cases7d]));
  const first = new Map<number, FirstCaseAlert>();
  for (const a of firsts.items) if (a.facts.compoundId !== undefined && !first.has(a.facts.compoundId)) first.set(a.facts.compoundId, a);
  const dots = shaped.filter((f) => first.has(f.properties.id) && inScope(f.properties.districtId)).map((f) => ({ name: regionKey(f.properties), value: centre(f.geometry as NonNullable<Shape['geometry']>) }));
  const max = Math.max(1, ...cases7d.values());
  byId('map-note').textContent = t('dash.mapDistrictCases');
  drawMap({
    source: 'districtCases',
    data: shaped.map((f) => ({ name: regionKey(f.properties), value: inScope(f.properties.districtId) ? cases7d.get(f.properties.districtId) ?? 0 : null })),
    visualMap: { type: 'continuous', min: 0, max, itemHeight: 90, text: [formatNumber(max), '0'], inRange: { color: ['#12314f', '#7c5a2a', '#c2410c', '#f05252'] } },
    lines: (co) => {
      const f = first.get(co.id);
      return [`${t('dash.mapCases')}: ${formatNumber(cases7d.get(co.districtId) ?? 0)}`, f?.facts.reportedAt ? `<span style="color:#f05252">${t('dash.firstCase', { time: when(f.facts.reportedAt) })}</span>` : ''];
    },
    dots,
    attrs: { flagged: dots.length },
  });
}

/** The compounds (coloured by `data` through `visualMap`), the district outlines and names, and any red dots. */
function drawMap(m: { source: string; data: { name: string; value: number | null }[]; visualMap: Record<string, unknown>; lines: (c: CompoundProps) => string[]; dots?: { name: string; value: number[] }[]; attrs: Record<string, string | number> }): void {
  if (!geo) return;
  const { districts, byKey } = geo;
  const c = chart('zone-map');
  c.off('finished');
  c.on('finished', () => ready('zone-map', { compounds: m.data.length, source: m.source, ...m.attrs }));
  c.setOption(
    {
      backgroundColor: 'transparent',
      animation: false,
      tooltip: compoundTooltip(byKey, (co) => [`${t('map.district')}: ${escapeHtml(districtName(co.districtId))}`, ...m.lines(co)]),
      visualMap: { seriesIndex: 0, left: 8, bottom: 8, textStyle: { color: '#9fb3cc' }, ...m.visualMap },
      geo: compoundGeo('dash-compounds'),
      series: [
        { type: 'map', geoIndex: 0, data: m.data },
        ...districtSeries(districts, districtId),
        ...(m.dots ? [{ type: 'scatter', coordinateSystem: 'geo', geoIndex: 0, symbolSize: 7, itemStyle: { color: '#ff3b3b', borderColor: '#fff', borderWidth: 1 }, data: m.dots, z: 8 }] : []),
      ],
    },
    { notMerge: true },
  );
}

// --- alerts --------------------------------------------------------------------------------------------------

function renderAlerts(items: Alert[], total: number): void {
  const list = byId('alerts');
  list.setAttribute('aria-busy', 'false');
  list.dataset.count = String(items.length);
  const badge = byId('alerts-count');
  badge.textContent = formatNumber(total);
  badge.hidden = total === 0;
  if (!items.length) return list.replaceChildren(h('li', { class: 'empty' }, t('dash.alertsNone')));
  list.replaceChildren(...items.map(alertItem), ...(total > items.length ? [h('li', { class: 'muted small' }, t('dash.shown', { n: items.length, total }))] : []));
}

function alertItem(a: Alert): HTMLElement {
  // A district's command resolves the alerts of its district; the city's have no district and are the city's.
  const mayResolve = isCity || (a.district_id !== null && a.district_id === user.districtId);
  // The facts that raised it, on one line (all of them on hover).
  const facts = Object.entries((a.facts ?? {}) as Record<string, unknown>)
    .filter(([k]) => k !== 'rule')
    .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' · ');
  const rule = (a.facts as { rule?: string } | null)?.rule;
  const li = h(
    'li',
    { class: `dash-alert sev-${a.severity}`, 'data-id': a.id, 'data-kind': a.kind, 'data-severity': a.severity },
    h(
      'div',
      { class: 'alert-head' },
      h('span', { class: `tag alert-sev ${a.severity}` }, tMaybe(`alertSev.${a.severity}`, a.severity)),
      h('span', { class: 'tag' }, tMaybe(`alertKind.${a.kind}`, a.kind)),
      h('strong', { class: 'alert-title' }, alertTitle(a)),
    ),
    h(
      'div',
      { class: 'muted small' },
      a.assignee ? h('span', { class: 'alert-who' }, t('dash.mustAct', { who: assigneeLabel(a.assignee) })) : null,
      ` · ${a.district_id !== null ? districtName(a.district_id) : t('dash.city')} · ${when(a.raised_at)}`,
    ),
    facts ? h('div', { class: 'alert-facts small mono', title: facts }, facts) : null,
    rule ? h('div', { class: 'muted small mono' }, rule) : null,
  );
  if (mayResolve) li.append(resolveForm(a));
  return li;
}

/**
 * An alert's sentence in the reader's language, from its kind and the facts that raised it. The server's
 * own title (English) where the kind has no sentence here or a fact it needs is missing (an alert raised
 * before that fact was kept).
 */
function alertTitle(a: { kind: string; title: string; facts: unknown }): string {
  return worded(`alertTitle.${a.kind}`, alertTitleVars(a.kind, (a.facts ?? {}) as Record<string, unknown>), a.title);
}

/** The dictionary's sentence with these values; `fallback` (the server's words) when there is none or a value is missing. */
function worded(key: string, vars: Record<string, string | number | null | undefined> | null, fallback: string): string {
  if (!vars || Object.values(vars).some((v) => v === undefined || v === null)) return fallback;
  return t(key as Key, vars as Record<string, string | number>);
}

// Function declarations, not consts: the page renders during the module's own top-level await.
/** The values of each kind's sentence (alertTitle.<kind> in i18n.ts); null for a kind without one. */
function alertTitleVars(kind: string, f: Record<string, unknown>): Record<string, string | number | null | undefined> | null {
  switch (kind) {
    case 'firstCaseInCompound':
      return { compound: text(f.compoundName) };
    case 'societyLevelCase':
      return { cases: num(f.cases), day: text(f.day) };
    case 'positivityRising':
      return { point: text(f.samplingPointName), tubes: num(f.tubes), rate: share(f.positive, f.tubes), before: share(f.positiveBefore, f.tubesBefore) };
    case 'capacityRunningOut':
      return { what: bedsOf(f.kind), free: num(f.free), perDay: num(f.perDay)?.toFixed(1), daysLeft: num(f.daysLeft)?.toFixed(1) };
    case 'tasksOverdue':
      return { overdue: num(f.overdue) };
    case 'labOverdue':
      return { lab: num(f.labId), tubes: num(f.tubes), hours: num(f.deadlineHours) };
    case 'noBed':
      return { caseId: num(f.caseId), what: bedsOf(f.destination) };
    case 'supportOverdue':
      return { requestId: num(f.requestId), kind: vocab('sup.kind', f.kind) };
    case 'supportMedicalRefused':
      return { kind: vocab('sup.kind', f.kind) };
    case 'supplyComplaint': {
      // About the street's own delivery when there is no supplier; about a supplier, only with its name.
      const supplier = text(f.supplierName);
      return { kind: vocab('sup.complaint', f.kind), about: f.supplierId === null ? t('alertTitle.streetDelivery') : supplier === undefined ? undefined : t('alertTitle.supplier', { name: supplier }) };
    }
    default:
      return null;
  }
}

/**
 * A task's title in the reader's language, from its kind and the facts that made it (as alertTitle). A task
 * someone wrote keeps their words, as does a task made before the fact it needs was kept.
 */
function taskTitle(x: { kind: string; title: string; source?: unknown }): string {
  return worded(`taskTitle.${x.kind}`, taskTitleVars(x.kind, (x.source ?? {}) as Record<string, unknown>), x.title);
}

/** The values of each system task's sentence (taskTitle.<kind> in i18n.ts); null for a kind without one. */
function taskTitleVars(kind: string, f: Record<string, unknown>): Record<string, string | number | null | undefined> | null {
  switch (kind) {
    case 'locate':
      return { person: num(f.personId) };
    case 'transfer':
      return { caseId: num(f.caseId), facility: num(f.facilityId), bed: f.bedType === 'icu' ? t('care.bedIcu') : f.bedType === 'general' ? t('care.bedGeneral') : undefined };
    case 'supplyMissed':
      return { round: num(f.roundId), households: Array.isArray(f.householdIds) ? f.householdIds.length : undefined };
    case 'supportEscalation':
      return { requestId: num(f.requestId), kind: vocab('sup.kind', f.kind), minutes: num(f.overdueMinutes) };
    default:
      return null;
  }
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}

function text(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** part / whole as a percentage with one decimal (0 of nothing is 0). */
function share(part: unknown, whole: unknown): string | undefined {
  const p = num(part);
  const w = num(whole);
  return p === undefined || w === undefined ? undefined : ((w ? p / w : 0) * 100).toFixed(1);
}

/** The beds or rooms a capacity or bed alert is about (its facts' kind or destination). */
function bedsOf(v: unknown): string | undefined {
  if (v === 'quarantineRooms') return t('kind.quarantineSite');
  return v === 'shelterHospital' || v === 'designatedHospital' || v === 'icu' ? bedLabel(v) : undefined;
}

/** A vocabulary word (a request or complaint kind) in the reader's language, or as it came. */
function vocab(prefix: string, v: unknown): string | undefined {
  return typeof v === 'string' ? tMaybe(`${prefix}.${v}`, v) : undefined;
}

/** "Resolve" opens a note; the alert is resolved with it, then the screen is read again. */
function resolveForm(a: Alert): HTMLElement {
  const note = h('input', { type: 'text', minlength: 3, maxlength: 1000, placeholder: t('dash.resolveNote'), 'aria-label': t('dash.resolveNote'), class: 'resolve-note' });
  const problem = h('span', { class: 'row-error small', hidden: true });
  const form = h(
    'form',
    { class: 'resolve-form', hidden: true, autocomplete: 'off', novalidate: true },
    note,
    h('button', { class: 'btn primary small resolve-save', type: 'submit' }, t('dash.resolveSave')),
    h('button', { class: 'btn ghost small', type: 'button', onclick: () => void (form.hidden = true) }, t('dash.cancel')),
    problem,
  );
  const open = h('button', { class: 'btn ghost small resolve', type: 'button', onclick: () => ((form.hidden = false), note.focus()) }, t('dash.resolve'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const text = note.value.trim();
    problem.hidden = true;
    if (text.length < 3) return void ((problem.textContent = t('dash.noteTooShort')), (problem.hidden = false));
    const save = form.querySelector('button[type="submit"]') as HTMLButtonElement;
    save.disabled = true;
    try {
      await api(`/api/v1/alerts/${a.id}/resolve`, { method: 'POST', body: { note: text } });
      await load();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) location.reload();
      const { text, title } = problemLine(e);
      problem.textContent = text;
      problem.title = title;
      problem.hidden = false;
      save.disabled = false;
    }
  });
  return h('div', { class: 'alert-actions' }, open, form);
}

/** "district_command" → 区级指挥部; "lab:3" → 检测机构 3. */
function assigneeLabel(who: string): string {
  const [role, id] = who.split(':');
  return `${tMaybe(`role.${role}`, role)}${id ? ` ${id}` : ''}`;
}

// --- overdue tasks -------------------------------------------------------------------------------------------

function renderTasks(items: Task[], total: number): void {
  const body = byId('task-list');
  byId('tasks').setAttribute('aria-busy', 'false');
  body.dataset.count = String(items.length);
  const badge = byId('tasks-count');
  badge.textContent = formatNumber(total);
  badge.hidden = total === 0;
  for (const id of [...selected]) if (!items.some((x) => x.id === id)) selected.delete(id);
  if (!items.length) body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 4 }, t('dash.tasksNone'))));
  else {
    const now = data ? Date.parse(data.at) : Date.now();
    body.replaceChildren(
      ...items.map((x) => {
        const title = taskTitle(x);
        const box = h('input', { type: 'checkbox', class: 'task-check', 'aria-label': title, checked: selected.has(x.id) });
        box.addEventListener('change', () => {
          if (box.checked) selected.add(x.id);
          else selected.delete(x.id);
          syncBulk();
        });
        const late = Math.max(0, now - Date.parse(x.due_at));
        return h(
          'tr',
          { 'data-id': x.id, 'data-kind': x.kind },
          h('td', {}, box),
          h('td', { class: 'wrap' }, h('div', { class: 'task-title', title: x.title }, title), h('div', { class: 'muted small' }, tMaybe(`taskKind.${x.kind}`, x.kind))),
          h('td', {}, [x.district_id !== null ? districtName(x.district_id) : null, x.street_id !== null ? t('dash.street', { id: x.street_id }) : null, x.team ? t('dash.team', { team: x.team }) : null].filter(Boolean).join(' · ') || '—'),
          h('td', {}, h('div', {}, when(x.due_at)), h('div', { class: 'danger-text small' }, t('dash.overdueBy', { hm: hoursText(late) }))),
        );
      }),
    );
  }
  if (total > items.length) body.append(h('tr', { class: 'more' }, h('td', { colspan: 4, class: 'muted small' }, t('dash.shown', { n: items.length, total }))));
  syncBulk();
}

function wireTasks(): void {
  const all = byId<HTMLInputElement>('tasks-all');
  all.addEventListener('change', () => {
    for (const x of data?.overdueTasks.items ?? []) if (all.checked) selected.add(x.id);
    else selected.delete(x.id);
    for (const box of document.querySelectorAll<HTMLInputElement>('#task-list .task-check')) box.checked = all.checked;
    syncBulk();
  });
  byId<HTMLFormElement>('bulk-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (!selected.size) return;
    const button = byId<HTMLButtonElement>('bulk-apply');
    const out = byId('bulk-result');
    button.disabled = true;
    out.hidden = true;
    try {
      const r = await api<{ changed: number[] }>('/api/v1/tasks/bulk', { method: 'POST', body: { ids: [...selected], status: byId<HTMLSelectElement>('bulk-status').value } });
      selected.clear();
      byId<HTMLInputElement>('tasks-all').checked = false;
      await load();
      say(out, 'ok', t('dash.bulkOk', { n: r.changed.length }));
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) location.reload();
      const { text, title } = problemLine(e);
      say(out, 'error', text, title);
    } finally {
      syncBulk();
    }
  });
}

function syncBulk(): void {
  byId('bulk-selected').textContent = selected.size ? t('dash.selected', { n: selected.size }) : '';
  byId<HTMLButtonElement>('bulk-apply').disabled = selected.size === 0;
}

/** A line of outcome; a refusal's title carries the server's own words. */
function say(el: HTMLElement, kind: 'ok' | 'error', text: string, title = ''): void {
  el.className = kind === 'ok' ? 'notice small' : 'row-error small';
  el.dataset.kind = kind;
  el.textContent = text;
  el.title = title;
  el.hidden = false;
}

// --- words ---------------------------------------------------------------------------------------------------

function districtName(id: number): string {
  const f = geo?.districts.features.find((x) => x.properties.id === id);
  if (f) return districtLabel(f.properties);
  return data?.rt.byDistrict.find((x) => x.districtId === id)?.name ?? t('chains.districtN', { id });
}

function bedLabel(kind: string): string {
  return t(kind === 'shelterHospital' ? 'kind.shelterHospital' : kind === 'icu' ? 'care.icu' : 'care.hospitalGeneral');
}

function percent(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`;
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function hoursText(ms: number): string {
  const hours = Math.floor(ms / HOUR);
  return hours >= 48 ? t('dash.nDays', { n: Math.floor(hours / 24) }) : t('dash.nHours', { n: hours });
}

function lastIndex<T>(xs: T[], f: (x: T) => boolean): number {
  for (let i = xs.length - 1; i >= 0; i--) if (f(xs[i])) return i;
  return -1;
}
