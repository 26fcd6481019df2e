// The city map: compounds from the registry's GeoJSON, coloured by population, with district outlines.
// ECharts draws the shapes itself (registerMap + geo), so there is no tile server and it works offline.
import * as echarts from 'echarts/core';
import { LinesChart, MapChart, ScatterChart } from 'echarts/charts';
import { GeoComponent, TooltipComponent, VisualMapComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api } from './api.ts';
import { byId, h } from './dom.ts';
import { formatNumber, t } from './i18n.ts';
import { boot, showError } from './shell.ts';
import { compoundGeo, compoundTooltip, COMPOUNDS_GEOJSON, districtLabel, districtSeries, DISTRICTS_GEOJSON, escapeHtml, registerCompounds, regionKey, type Collection, type CompoundProps, type DistrictProps, type Feature } from './geo.ts';

echarts.use([MapChart, LinesChart, ScatterChart, GeoComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

const el = byId('map');
const message = byId('message');

const user = await boot({ page: 'map' });
document.title = `${t('nav.map')} · ${t('app.name')}`;

try {
  const [compounds, districts] = await Promise.all([
    api<Collection<CompoundProps>>(COMPOUNDS_GEOJSON),
    api<Collection<DistrictProps>>(DISTRICTS_GEOJSON),
  ]);
  draw(compounds, districts);
} catch (e) {
  el.classList.remove('loading');
  showError(message, e);
}

function draw(compounds: Collection<CompoundProps>, districts: Collection<DistrictProps>): void {
  const shaped = compounds.features.filter((f) => f.geometry);
  el.classList.remove('loading');
  const districtName = new Map(districts.features.map((f) => [f.properties.id, districtLabel(f.properties)]));
  renderSummary(shaped, districts.features);
  if (shaped.length === 0) {
    el.replaceChildren(h('p', { class: 'map-empty' }, t('map.empty')));
    markReady(0);
    return;
  }

  const byKey = registerCompounds('cordon-compounds', compounds);

  const pops = shaped.map((f) => f.properties.population ?? 0).sort((a, b) => a - b);
  // The 98th percentile, so that one giant estate does not wash every other compound into one colour.
  const max = Math.max(1, pops[Math.floor((pops.length - 1) * 0.98)]);

  const chart = echarts.init(el, undefined, { renderer: 'canvas' });
  chart.on('finished', () => markReady(shaped.length));
  chart.setOption({
    backgroundColor: 'transparent',
    // Thousands of regions: animating them costs seconds on a command-centre PC and shows nothing useful.
    animation: false,
    tooltip: compoundTooltip(byKey, (c) => [
      `${t('map.code')}: <span class="mono">${escapeHtml(c.code)}</span>`,
      `${t('map.population')}: ${formatNumber(c.population ?? 0)}`,
      `${t('map.district')}: ${escapeHtml(districtName.get(c.districtId) ?? String(c.districtId))}`,
    ]),
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
    geo: compoundGeo('cordon-compounds'),
    // A district user's own district stands out in amber; the others in light blue.
    series: [{ type: 'map', geoIndex: 0, data: shaped.map((f) => ({ name: regionKey(f.properties), value: f.properties.population ?? 0 })) }, ...districtSeries(districts, user.districtId)],
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
