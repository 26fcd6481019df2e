// Screening rounds (应检尽检): the list, a round's progress (tiles and street by street), and who has not
// been sampled, grouped by compound and building for door-to-door work. Command users start new rounds.
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api, type Page } from './api.ts';
import { byId, h } from './dom.ts';
import { formatNumber, t, type Key, when } from './i18n.ts';
import { boot, showError } from './shell.ts';
import type { CoverageRow } from '../../src/testing/store.ts';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

interface Campaign {
  id: number;
  name: string;
  areaLevel: 'city' | 'district' | 'street' | 'compound';
  areaIds: number[];
  defaultGroup: string | null;
  cohort: string | null;
  startsAt: string;
  endsAt: string;
}
interface Progress {
  expected: number;
  sampled: number;
  resulted: number;
  positive: number;
}
interface StreetProgress {
  streetId: number | null;
  streetName: string | null;
  expected: number;
  sampled: number;
}
// A row of the coverage list as the server defines it (a type only: nothing of the server is bundled).
type Gap = CoverageRow;

const GROUPS = ['quarantine', 'keyGroup', 'sealed', 'controlled', 'precaution', 'other'] as const;
const LEVELS = ['city', 'district', 'street', 'compound'] as const;
// The page shows this many untested persons; the CSV link has them all (a city round can miss millions).
const COVERAGE_SHOWN = 2000;
// Streets drawn in the bar chart, worst first; the rest are in the CSV and the list.
const STREETS_SHOWN = 30;

const message = byId('message');
const notice = byId('notice');
const list = byId('campaign-list');

const user = await boot({ page: 'campaigns' });
document.title = `${t('nav.campaigns')} · ${t('app.name')}`;
const isCommand = user.role === 'city_command' || user.role === 'district_command';

let campaigns: Campaign[] = [];
let selected: number | null = Number(new URLSearchParams(location.search).get('id')) || null;
let chart: echarts.ECharts | null = null;

await loadList();
if (isCommand) setupForm();

async function loadList(): Promise<void> {
  try {
    campaigns = (await api<{ items: Campaign[] }>('/api/v1/campaigns')).items;
  } catch (e) {
    showError(message, e);
    return;
  }
  if (!campaigns.some((c) => c.id === selected)) selected = campaigns[0]?.id ?? null;
  renderList();
  if (selected) await show(selected);
  else byId('campaign').hidden = true;
}

function renderList(): void {
  list.dataset.count = String(campaigns.length);
  if (!campaigns.length) return list.replaceChildren(h('li', { class: 'muted empty' }, t('campaigns.none')));
  list.replaceChildren(
    ...campaigns.map((c) =>
      h(
        'li',
        {},
        h(
          'button',
          {
            type: 'button',
            class: c.id === selected ? 'pick active' : 'pick',
            'data-id': c.id,
            'aria-current': c.id === selected ? 'true' : null,
            onclick: () => {
              selected = c.id;
              renderList();
              void show(c.id);
            },
          },
          h('span', { class: 'pick-name' }, c.name),
          h('span', { class: 'pick-meta muted' }, `${t(`level.${c.areaLevel}` as Key)} · ${when(c.startsAt)}`),
        ),
      ),
    ),
  );
}

async function show(id: number): Promise<void> {
  const c = campaigns.find((x) => x.id === id);
  if (!c) return;
  history.replaceState(null, '', `?id=${id}`);
  message.hidden = true;
  const section = byId('campaign');
  section.hidden = false;
  section.setAttribute('aria-busy', 'true');
  byId('c-name').textContent = c.name;
  byId('c-window').textContent = `${t(`level.${c.areaLevel}` as Key)} · ${when(c.startsAt)} – ${when(c.endsAt)}${c.defaultGroup ? ` · ${t(`group.${c.defaultGroup}` as Key)}` : ''}`;
  const csv = byId<HTMLAnchorElement>('coverage-csv');
  csv.href = `/api/v1/campaigns/${id}/coverage?format=csv`;
  csv.setAttribute('download', `coverage-${id}.csv`);
  try {
    const [progress, streets, coverage] = await Promise.all([
      api<Progress>(`/api/v1/campaigns/${id}/progress`),
      api<{ items: StreetProgress[] }>(`/api/v1/campaigns/${id}/progress/by-street`),
      api<{ missing: number; items: Gap[] }>(`/api/v1/campaigns/${id}/coverage?limit=${COVERAGE_SHOWN}`),
    ]);
    if (selected !== id) return;
    renderTiles(progress);
    renderStreets(streets.items);
    renderCoverage(coverage.items, progress.expected - progress.sampled);
  } catch (e) {
    showError(message, e);
  } finally {
    section.setAttribute('aria-busy', 'false');
  }
}

function renderTiles(p: Progress): void {
  const pct = (n: number) => (p.expected ? `${Math.floor((n / p.expected) * 1000) / 10}%` : '—');
  const tile = (id: string, key: Key, value: number, sub?: string, cls = '') =>
    h('div', { class: `stat ${cls}`, id, 'data-value': value }, h('div', { class: 'stat-value' }, formatNumber(value)), h('div', { class: 'stat-label' }, t(key), sub ? h('span', { class: 'stat-sub' }, ` · ${sub}`) : null));
  byId('tiles').replaceChildren(
    tile('stat-expected', 'campaigns.expected', p.expected),
    tile('stat-sampled', 'campaigns.sampled', p.sampled, pct(p.sampled)),
    tile('stat-missing', 'campaigns.missing', p.expected - p.sampled, pct(p.expected - p.sampled), p.expected > p.sampled ? 'warn' : ''),
    tile('stat-resulted', 'campaigns.resulted', p.resulted, p.sampled ? `${Math.floor((p.resulted / p.sampled) * 1000) / 10}%` : undefined),
    tile('stat-positive', 'campaigns.positive', p.positive, undefined, p.positive ? 'danger' : ''),
  );
}

function renderStreets(items: StreetProgress[]): void {
  const el = byId('street-chart');
  // The API sorts worst first; the chart lists from the top, so the category axis runs inverted.
  const shown = items.slice(0, STREETS_SHOWN);
  byId('street-note').textContent = items.length > shown.length ? t('campaigns.streetsShown', { n: shown.length, total: items.length }) : '';
  el.style.height = `${Math.max(160, 60 + shown.length * 26)}px`;
  el.dataset.streets = String(shown.length);
  if (!chart) {
    const c = (chart = echarts.init(el, undefined, { renderer: 'canvas' }));
    new ResizeObserver(() => c.resize()).observe(el);
  }
  chart.resize();
  chart.setOption(
    {
      backgroundColor: 'transparent',
      animation: false,
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      legend: { top: 0, right: 8, textStyle: { color: '#9fb3cc' }, data: [t('campaigns.sampled'), t('campaigns.missing')] },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, backgroundColor: 'rgba(10, 18, 32, 0.94)', borderColor: '#2b4a6f', textStyle: { color: '#e6edf7' } },
      xAxis: { type: 'value', axisLabel: { color: '#8aa0bb' }, splitLine: { lineStyle: { color: '#1d3350' } } },
      yAxis: {
        type: 'category',
        inverse: true,
        data: shown.map((s) => s.streetName ?? `#${s.streetId ?? '—'}`),
        axisLabel: { color: '#e6edf7', width: 140, overflow: 'truncate' },
        axisLine: { lineStyle: { color: '#2b4a6f' } },
      },
      series: [
        { name: t('campaigns.sampled'), type: 'bar', stack: 'all', barMaxWidth: 18, itemStyle: { color: '#22b8cf' }, data: shown.map((s) => s.sampled) },
        { name: t('campaigns.missing'), type: 'bar', stack: 'all', barMaxWidth: 18, itemStyle: { color: '#f59e0b' }, data: shown.map((s) => s.expected - s.sampled) },
      ],
    },
    { notMerge: true },
  );
  el.dataset.ready = 'true';
}

function renderCoverage(rows: Gap[], total: number): void {
  const box = byId('coverage');
  box.dataset.rows = String(rows.length);
  box.dataset.missing = String(total);
  byId('coverage-count').textContent = rows.length < total ? t('campaigns.coverageShown', { n: formatNumber(rows.length), total: formatNumber(total) }) : t('campaigns.coverageCount', { n: formatNumber(total) });
  if (!rows.length) return box.replaceChildren(h('p', { class: 'muted empty' }, t('campaigns.allSampled')));
  // Rows arrive sorted by compound, building, floor and unit: group runs of the same compound and building.
  const compounds: { code: string; name: string; buildings: { code: string; rows: Gap[] }[]; count: number }[] = [];
  for (const r of rows) {
    let c = compounds[compounds.length - 1];
    if (!c || c.code !== (r.compoundCode ?? '')) compounds.push((c = { code: r.compoundCode ?? '', name: r.compoundName ?? '—', buildings: [], count: 0 }));
    let b = c.buildings[c.buildings.length - 1];
    if (!b || b.code !== (r.buildingCode ?? '')) c.buildings.push((b = { code: r.buildingCode ?? '', rows: [] }));
    b.rows.push(r);
    c.count++;
  }
  box.replaceChildren(
    ...compounds.map((c) =>
      h(
        'section',
        { class: 'cov-compound', 'data-code': c.code },
        h('h3', {}, h('span', {}, c.name), h('span', { class: 'mono muted' }, c.code), h('span', { class: 'count-badge' }, formatNumber(c.count))),
        ...c.buildings.map((b) =>
          h(
            'div',
            { class: 'cov-building' },
            h('h4', {}, `${t('col.building')} `, h('span', { class: 'mono' }, b.code || '—'), h('span', { class: 'muted' }, ` · ${formatNumber(b.rows.length)}`)),
            h(
              'table',
              { class: 'grid compact' },
              h(
                'tbody',
                {},
                ...b.rows.map((r) =>
                  h(
                    'tr',
                    { 'data-person': r.personId },
                    h('td', { class: 'mono' }, [r.floor === null ? null : t('campaigns.floor', { n: r.floor }), r.unit].filter(Boolean).join(' · ') || '—'),
                    h('td', {}, r.name),
                    h('td', { class: 'mono' }, r.phone ?? '—'),
                    h('td', { class: 'muted' }, t(`group.${r.samplingGroup}` as Key)),
                  ),
                ),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}

// --- starting a round (command users) -----------------------------------------------------------------

function setupForm(): void {
  const form = byId<HTMLFormElement>('campaign-form');
  const level = byId<HTMLSelectElement>('cf-level');
  const areaQ = byId<HTMLInputElement>('cf-area-q');
  const areas = byId('cf-areas');
  const chosen = new Map<number, string>();
  const error = byId('cf-error');
  const toggle = byId('new-campaign');
  toggle.hidden = false;

  // A district command screens inside its own district only (the server refuses more).
  const levels = LEVELS.filter((l) => !(user.districtId && l === 'city'));
  level.replaceChildren(...levels.map((l) => h('option', { value: l }, t(`level.${l}` as Key))));
  byId<HTMLSelectElement>('cf-group').replaceChildren(...GROUPS.map((g) => h('option', { value: g, selected: g === 'precaution' }, t(`group.${g}` as Key))));

  toggle.addEventListener('click', async () => {
    form.hidden = !form.hidden;
    if (form.hidden) return;
    // The platform clock, not the browser's: a demo or a replay may run in 2022.
    const clock = await api<{ now: string }>('/api/v1/clock').catch(() => ({ now: new Date().toISOString() }));
    const start = new Date(clock.now);
    byId<HTMLInputElement>('cf-starts').value = localInput(start);
    byId<HTMLInputElement>('cf-ends').value = localInput(new Date(start.getTime() + 24 * 3600_000));
    byId<HTMLInputElement>('cf-name').focus();
    void loadAreas();
  });
  byId('cf-cancel').addEventListener('click', () => (form.hidden = true));
  level.addEventListener('change', () => {
    chosen.clear();
    void loadAreas();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  areaQ.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void loadAreas(), 250);
  });

  async function loadAreas(): Promise<void> {
    const l = level.value;
    byId('cf-area-field').hidden = l === 'city';
    if (l === 'city') return;
    const qs = new URLSearchParams({ limit: '200' });
    if (areaQ.value.trim()) qs.set('q', areaQ.value.trim());
    if (user.districtId && l !== 'district') qs.set('districtId', String(user.districtId));
    try {
      const page = await api<Page<{ id: number; code: string; name: string }>>(`/api/v1/${l}s?${qs}`);
      const items = page.items.filter((a) => !(user.districtId && l === 'district' && a.id !== user.districtId));
      const option = (id: number, label: string) =>
        h(
          'label',
          { class: 'check' },
          h('input', {
            type: 'checkbox',
            value: id,
            checked: chosen.has(id),
            onchange: (ev: Event) => ((ev.target as HTMLInputElement).checked ? chosen.set(id, label) : chosen.delete(id)),
          }),
          label,
        );
      // What is already ticked stays on top while the search changes.
      areas.replaceChildren(...[...chosen].map(([id, label]) => option(id, label)), ...items.filter((a) => !chosen.has(a.id)).map((a) => option(a.id, `${a.name} · ${a.code}`)));
    } catch (e) {
      showError(error, e);
    }
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    const l = level.value as Campaign['areaLevel'];
    if (l !== 'city' && chosen.size === 0) return showError(error, new Error(t('campaigns.pickArea')));
    const submit = byId<HTMLButtonElement>('cf-submit');
    submit.disabled = true;
    try {
      const body = {
        name: byId<HTMLInputElement>('cf-name').value.trim(),
        areaLevel: l,
        ...(l === 'city' ? {} : { areaIds: [...chosen.keys()] }),
        startsAt: new Date(byId<HTMLInputElement>('cf-starts').value).toISOString(),
        endsAt: new Date(byId<HTMLInputElement>('cf-ends').value).toISOString(),
        defaultGroup: byId<HTMLSelectElement>('cf-group').value,
      };
      const r = await api<{ id: number; expected: number }>('/api/v1/campaigns', { method: 'POST', body });
      form.hidden = true;
      form.reset();
      chosen.clear();
      notice.textContent = t('campaigns.started', { name: body.name, n: formatNumber(r.expected) });
      notice.hidden = false;
      selected = r.id;
      await loadList();
    } catch (e) {
      showError(error, e);
    } finally {
      submit.disabled = false;
    }
  });
}

function localInput(d: Date): string {
  const local = new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

