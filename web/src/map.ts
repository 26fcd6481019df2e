// The city map: compounds from the registry's GeoJSON, coloured by population, with district outlines.
// ECharts draws the shapes itself (registerMap + geo), so there is no tile server and it works offline.
import * as echarts from 'echarts/core';
import { LinesChart, MapChart, ScatterChart } from 'echarts/charts';
import { GeoComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api } from './api.ts';
import { byId, h } from './dom.ts';
import { currentLang, formatNumber, t } from './i18n.ts';
import { boot, showError } from './shell.ts';

echarts.use([MapChart, LinesChart, ScatterChart, GeoComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

type Position = number[];
type Geometry = { type: 'Polygon'; coordinates: Position[][] } | { type: 'MultiPolygon'; coordinates: Position[][][] };
interface Feature<P> {
  type: 'Feature';
  id?: string | number;
  properties: P;
  geometry: Geometry | null;
}
interface Collection<P> {
  type: 'FeatureCollection';
  features: Feature<P>[];
}
interface CompoundProps {
  id: number;
  code: string;
  name: string;
  streetId: number;
  districtId: number;
  population: number;
}
interface DistrictProps {
  id: number;
  code: string;
  name: string;
  nameEn?: string | null;
  population?: number;
}

const el = byId('map');
const message = byId('message');

const user = await boot({ page: 'map' });
document.title = `${t('nav.map')} · ${t('app.name')}`;

try {
  const [compounds, districts] = await Promise.all([
    api<Collection<CompoundProps>>('/api/v1/map/compounds.geojson'),
    api<Collection<DistrictProps>>('/api/v1/map/districts.geojson'),
  ]);
  draw(compounds, districts);
} catch (e) {
  el.classList.remove('loading');
  showError(message, e);
}

function draw(compounds: Collection<CompoundProps>, districts: Collection<DistrictProps>): void {
  const shaped = compounds.features.filter((f) => f.geometry);
  el.classList.remove('loading');
  const districtName = new Map(districts.features.map((f) => [f.properties.id, label(f.properties)]));
  renderSummary(shaped, districts.features);
  if (shaped.length === 0) {
    el.replaceChildren(h('p', { class: 'map-empty' }, t('map.empty')));
    markReady(0);
    return;
  }

  // Region names must be unique for ECharts; compound names repeat across a city, ids do not.
  const regionKey = (p: CompoundProps) => `c${p.id}`;
  const byKey = new Map(shaped.map((f) => [regionKey(f.properties), f.properties]));
  echarts.registerMap('cordon-compounds', {
    type: 'FeatureCollection',
    features: shaped.map((f) => ({ ...f, properties: { ...f.properties, name: regionKey(f.properties) } })),
  });

  const pops = shaped.map((f) => f.properties.population ?? 0).sort((a, b) => a - b);
  // The 98th percentile, so that one giant estate does not wash every other compound into one colour.
  const max = Math.max(1, pops[Math.floor((pops.length - 1) * 0.98)]);

  // A district user's own district stands out in amber; the others in light blue.
  const outline = (own: boolean) => districts.features.filter((f) => (f.properties.id === user.districtId) === own).flatMap((f) => rings(f.geometry).map((coords) => ({ coords })));
  const labels = districts.features.filter((f) => f.geometry).map((f) => ({ name: label(f.properties), value: centre(f.geometry as Geometry) }));

  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  chart.on('finished', () => markReady(shaped.length));
  chart.setOption({
    backgroundColor: 'transparent',
    // Thousands of regions: animating them costs seconds on a command-centre PC and shows nothing useful.
    animation: false,
    tooltip: {
      trigger: 'item',
      backgroundColor: 'rgba(10, 18, 32, 0.94)',
      borderColor: '#2b4a6f',
      textStyle: { color: '#e6edf7', fontSize: 12 },
      formatter: (p: { name: string; seriesType: string }) => {
        const c = byKey.get(p.name);
        if (!c) return p.seriesType === 'scatter' ? p.name : '';
        return [
          `<b>${escape(c.name)}</b>`,
          `${t('map.code')}: <span class="mono">${escape(c.code)}</span>`,
          `${t('map.population')}: ${formatNumber(c.population ?? 0)}`,
          `${t('map.district')}: ${escape(districtName.get(c.districtId) ?? String(c.districtId))}`,
        ].join('<br>');
      },
    },
    visualMap: {
      type: 'continuous',
      seriesIndex: 0,
      min: 0,
      max,
      calculable: true,
      left: 16,
      bottom: 16,
      itemHeight: 120,
      text: [t('map.high'), t('map.low')],
      textStyle: { color: '#9fb3cc' },
      inRange: { color: ['#0f2a44', '#12507a', '#0e7fa6', '#22b8cf', '#8be0c9', '#f7e08a'] },
    },
    geo: {
      map: 'cordon-compounds',
      roam: true,
      scaleLimit: { min: 0.8, max: 40 },
      layoutCenter: ['50%', '50%'],
      layoutSize: '95%',
      label: { show: false },
      itemStyle: { areaColor: '#10233a', borderColor: 'rgba(8, 14, 26, 0.9)', borderWidth: 0.5 },
      emphasis: { label: { show: false }, itemStyle: { areaColor: '#f59e0b', borderColor: '#fff', borderWidth: 1 } },
      select: { disabled: true },
    },
    series: [
      { type: 'map', geoIndex: 0, data: shaped.map((f) => ({ name: regionKey(f.properties), value: f.properties.population ?? 0 })) },
      ...[false, true].map((own) => ({
        type: 'lines',
        coordinateSystem: 'geo',
        geoIndex: 0,
        polyline: true,
        silent: true,
        lineStyle: own ? { color: '#f59e0b', width: 3, opacity: 1 } : { color: '#bae6fd', width: 2, opacity: 0.9 },
        data: outline(own),
        z: own ? 6 : 5,
      })),
      {
        type: 'scatter',
        coordinateSystem: 'geo',
        geoIndex: 0,
        symbolSize: 0,
        silent: true,
        label: { show: true, formatter: '{b}', color: '#e6edf7', fontSize: 13, fontWeight: 600, textBorderColor: '#07101d', textBorderWidth: 3 },
        data: labels,
        z: 7,
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
  byId('map-reset').addEventListener('click', () => chart.setOption({ geo: { center: null, zoom: 1 } }));
}

function markReady(count: number): void {
  el.dataset.compounds = String(count);
  el.dataset.ready = 'true';
}

function renderSummary(compounds: Feature<CompoundProps>[], districts: Feature<DistrictProps>[]): void {
  const population = compounds.reduce((s, f) => s + (f.properties.population ?? 0), 0);
  const stat = (id: string, key: Parameters<typeof t>[0], value: number) => h('div', { class: 'stat', id }, h('div', { class: 'stat-value' }, formatNumber(value)), h('div', { class: 'stat-label' }, t(key)));
  byId('summary').replaceChildren(stat('stat-districts', 'map.districts', districts.length), stat('stat-compounds', 'map.compounds', compounds.length), stat('stat-population', 'map.population', population));
}

function label(p: DistrictProps): string {
  return currentLang() === 'en' && p.nameEn ? p.nameEn : p.name;
}

function rings(g: Geometry | null): Position[][] {
  if (!g) return [];
  return g.type === 'Polygon' ? g.coordinates : g.coordinates.flat();
}

// The centre of the largest ring's bounding box: good enough to place a district's name.
function centre(g: Geometry): number[] {
  let best: Position[] = [];
  for (const r of rings(g)) if (r.length > best.length) best = r;
  const xs = best.map((p) => p[0]);
  const ys = best.map((p) => p[1]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
