// The city drawn from the registry's GeoJSON with ECharts (no tiles): the compounds as regions of one
// registered map, the district outlines as lines and their names as labels. The city map page and the
// command dashboard's zone map both draw on these; each colours the compounds its own way.
import * as echarts from 'echarts/core';
import { currentLang } from './i18n.ts';
import { tooltipStyle } from './charts.ts';

type Position = number[];
export type Geometry = { type: 'Polygon'; coordinates: Position[][] } | { type: 'MultiPolygon'; coordinates: Position[][][] };
export interface Feature<P> {
  type: 'Feature';
  id?: string | number;
  properties: P;
  geometry: Geometry | null;
}
export interface Collection<P> {
  type: 'FeatureCollection';
  features: Feature<P>[];
}
export interface CompoundProps {
  id: number;
  code: string;
  name: string;
  streetId: number;
  districtId: number;
  population: number;
}
export interface DistrictProps {
  id: number;
  code: string;
  name: string;
  nameEn?: string | null;
  population?: number;
}

/** GET /api/v1/map/compounds.geojson and /api/v1/map/districts.geojson (src/registry/routes.ts). */
export const COMPOUNDS_GEOJSON = '/api/v1/map/compounds.geojson';
export const DISTRICTS_GEOJSON = '/api/v1/map/districts.geojson';

// Region names must be unique for ECharts; compound names repeat across a city, ids do not.
export const regionKey = (p: { id: number }) => `c${p.id}`;

/**
 * Registers the compounds that have a shape as the map `name`, each region named by regionKey. Returns the
 * compounds drawn, by region name.
 */
export function registerCompounds(name: string, compounds: Collection<CompoundProps>): Map<string, CompoundProps> {
  const shaped = compounds.features.filter((f) => f.geometry);
  echarts.registerMap(name, { type: 'FeatureCollection', features: shaped.map((f) => ({ ...f, properties: { ...f.properties, name: regionKey(f.properties) } })) });
  return new Map(shaped.map((f) => [regionKey(f.properties), f.properties]));
}

/** The geo component of a registered map of compounds: pan and zoom, no labels, dark fill. */
export function compoundGeo(map: string): Record<string, unknown> {
  return {
    map,
    roam: true,
    scaleLimit: { min: 0.8, max: 40 },
    layoutCenter: ['50%', '50%'],
    layoutSize: '95%',
    label: { show: false },
    itemStyle: { areaColor: '#10233a', borderColor: 'rgba(8, 14, 26, 0.9)', borderWidth: 0.5 },
    emphasis: { label: { show: false }, itemStyle: { areaColor: '#f59e0b', borderColor: '#fff', borderWidth: 1 } },
    select: { disabled: true },
  };
}

/** District outlines (`own` in amber, the others in light blue) and district names, over geo 0. */
export function districtSeries(districts: Collection<DistrictProps>, own: number | null): Record<string, unknown>[] {
  const outline = (mine: boolean) => districts.features.filter((f) => (f.properties.id === own) === mine).flatMap((f) => rings(f.geometry).map((coords) => ({ coords })));
  const labels = districts.features.filter((f) => f.geometry).map((f) => ({ name: districtLabel(f.properties), value: centre(f.geometry as Geometry) }));
  return [
    ...[false, true].map((mine) => ({
      type: 'lines',
      coordinateSystem: 'geo',
      geoIndex: 0,
      polyline: true,
      silent: true,
      lineStyle: mine ? { color: '#f59e0b', width: 3, opacity: 1 } : { color: '#bae6fd', width: 2, opacity: 0.9 },
      data: outline(mine),
      z: mine ? 6 : 5,
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
  ];
}

/** The tooltip of a compound map: the compound's name in bold, then `lines` (HTML); a district label's name. */
export function compoundTooltip(byKey: Map<string, CompoundProps>, lines: (c: CompoundProps) => string[]): Record<string, unknown> {
  return {
    trigger: 'item',
    ...tooltipStyle,
    textStyle: { ...tooltipStyle.textStyle, fontSize: 12 },
    formatter: (p: { name: string; seriesType: string }) => {
      const c = byKey.get(p.name);
      if (!c) return p.seriesType === 'scatter' ? escapeHtml(p.name) : '';
      return [`<b>${escapeHtml(c.name)}</b>`, ...lines(c)].filter(Boolean).join('<br>');
    },
  };
}

/** A district's name in the page's language. */
export function districtLabel(p: DistrictProps): string {
  return currentLang() === 'en' && p.nameEn ? p.nameEn : p.name;
}

function rings(g: Geometry | null): Position[][] {
  if (!g) return [];
  return g.type === 'Polygon' ? g.coordinates : g.coordinates.flat();
}

/** The centre of the largest ring's bounding box: good enough to place a name or a marker. */
export function centre(g: Geometry): number[] {
  let best: Position[] = [];
  for (const r of rings(g)) if (r.length > best.length) best = r;
  const xs = best.map((p) => p[0]);
  const ys = best.map((p) => p[1]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

/** Text for ECharts' HTML tooltips. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
