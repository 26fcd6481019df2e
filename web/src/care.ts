// Cases and care (应收尽收, 应治尽治) for a command centre and for a facility: the beds at a glance (shelter
// hospitals, hospital general beds, ICU: occupied of total, free, waiting, admissions a day and the days of
// beds left), occupancy per day and per district, SANER-style counts per facility, the transfer queue longest
// wait first, the cases with a state filter, those ready to go home, and one case at a time: its triage and
// why, its bed (and a referral's old bed), discharge readiness, the timeline, and the clinician's actions.
// A facility's staff see only their own patients: the server scopes every answer (src/cases/routes.ts).
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api, ApiError, problemWords } from './api.ts';
import { byId, h } from './dom.ts';
import { formatNumber, t, tMaybe, type Key, when } from './i18n.ts';
import { actorName, boot, guarded, showError } from './shell.ts';
import { axisLine, axisText, chartIn, dayAxis, legendText, tooltipStyle, valueAxis } from './charts.ts';
import type { capacityPicture, dischargeList, facilityBeds, QueueEntry } from '../../src/cases/picture.ts';
import type { CareWhy, Destination, DischargeReadiness, Observation, RiskFactor, Severity, Triage } from '../../src/cases/rules.ts';

echarts.use([LineChart, BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

// The server's answers (types only: nothing of the server is bundled).
type Capacity = Awaited<ReturnType<typeof capacityPicture>>;
type KindPicture = Capacity['kinds'][number];
type FacilityBeds = Awaited<ReturnType<typeof facilityBeds>>[number];
type ReadyItem = Awaited<ReturnType<typeof dischargeList>>[number];
type CaseState = 'waiting' | 'assigned' | 'admitted' | 'discharged' | 'died';
type BedType = 'general' | 'icu';
// GET /api/v1/care/cases and /api/v1/care/cases/:id (src/cases/routes.ts casesJson).
interface CareCase {
  id: number;
  personId: number;
  name: string;
  birthDate: string | null;
  classification: 'confirmed' | 'asymptomatic';
  source: 'finding' | 'clinician';
  sampledAt: string;
  onsetAt: string | null;
  reportedAt: string;
  severity: Severity;
  destination: Destination;
  triage: Triage;
  state: CaseState;
  bed: { facilityId: number; name: string; kind: string; bedType: BedType } | null;
  leavingBed: { facilityId: number; bedType: BedType } | null;
  waitingSince: string | null;
  queueReason: string | null;
  admittedAt: string | null;
  dischargedAt: string | null;
  diedAt: string | null;
  monitoringUntil: string | null;
}
interface CaseEvent {
  id: number;
  kind: string;
  at: string;
  facilityId: number | null;
  bedType: BedType | null;
  detail: Record<string, any>;
  recordedBy: string;
}
type CaseDetail = CareCase & { events: CaseEvent[]; readiness: DischargeReadiness | null };
type Assignment = { assigned: true; facilityId: number; bedType: BedType; referral: boolean } | { assigned: false; reason: string; waitingSince: string } | null;

const OPEN_STATES: readonly CaseState[] = ['waiting', 'assigned', 'admitted'];
const COMMAND_ROLES = ['city_command', 'district_command'];
// One colour a kind of bed, the same in the cards and both charts.
const COLOURS: Record<KindPicture['kind'], string> = { shelterHospital: '#22b8cf', designatedHospital: '#a78bfa', icu: '#f05252' };
const PAGE = 50;
// Why a bed was given back (src/cases/store.ts), in words.
const WHY: Record<string, Key> = { 'reassigned before arrival': 'care.whyReassigned', 'referred elsewhere': 'care.whyReferred', discharged: 'care.whyDischarged', died: 'care.whyDied' };

/** A problem with what was typed, found before anything is sent. */
class FormError extends Error {}

const message = byId('message');
const user = await boot({ page: 'care' });
document.title = `${t('nav.care')} · ${t('app.name')}`;
const isCommand = COMMAND_ROLES.includes(user.role);

const panel = byId('case-panel');
const result = byId('case-result');
const stateFilter = byId<HTMLSelectElement>('state-filter');
const dischargesAll = byId<HTMLInputElement>('discharges-all');
const facilityNames = new Map<number, string>();
const districtNames = new Map<number, string>();
let queue: QueueEntry[] = [];
let casesNext: number | null = null;
let openId: number | null = Number(new URLSearchParams(location.search).get('case')) || null;
let occupancyChart: echarts.ECharts | null = null;
let districtChart: echarts.ECharts | null = null;

byId('scope-line').textContent = user.role === 'facility_manager' ? t('care.scopeFacility') : user.districtId !== null ? t('care.scopeDistrict') : t('care.scopeCity');
byId('refresh').addEventListener('click', () => void loadAll());
stateFilter.addEventListener('change', () => void loadCases());
byId('more-cases').addEventListener('click', () => void loadCases(true));
dischargesAll.addEventListener('change', () => void loadDischarges());
byId('case-close').addEventListener('click', closeCase);
document.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape' && !panel.hidden) closeCase();
});
wireActions();
await loadAll();
// Waits grow by the minute: the queue and the beds are read again every minute while the page is in view.
setInterval(() => {
  if (!document.hidden) void Promise.all([loadQueue(), loadCapacity()]);
}, 60_000);

// --- loading ---------------------------------------------------------------------------------------------

async function loadAll(): Promise<void> {
  await Promise.all([loadDistrictNames(), loadBeds()]);
  await Promise.all([loadCapacity(), loadQueue(), loadCases(), loadDischarges()]);
  // After the queue, so that the case shows how long it has waited.
  if (openId !== null) await showCase(openId);
}

async function loadDistrictNames(): Promise<void> {
  if (districtNames.size) return;
  try {
    const { items } = await api<{ items: { id: number; name: string }[] }>('/api/v1/districts?limit=1000');
    for (const d of items) districtNames.set(d.id, d.name);
  } catch {
    // Names are a nicety: the charts fall back to ids.
  }
}

async function loadCapacity(): Promise<void> {
  await guarded(message, byId('kinds'), async () => {
    const cap = await api<Capacity>('/api/v1/care/capacity');
    byId('as-of').textContent = t('care.asOf', { time: when(cap.at), n: cap.rateDays });
    renderKinds(cap);
    renderPerDay(cap);
    renderDistricts(cap);
  });
}

async function loadBeds(): Promise<void> {
  await guarded(message, byId('beds'), async () => {
    const { items } = await api<{ items: FacilityBeds[] }>('/api/v1/care/beds');
    for (const f of items) facilityNames.set(f.facilityId, f.name);
    if (user.role === 'facility_manager' && items.length === 1) byId('scope-line').textContent = t('care.scopeOne', { name: items[0].name });
    renderBeds(items);
  });
}

async function loadQueue(): Promise<void> {
  await guarded(message, byId('queue'), async () => {
    const r = await api<{ total: number; items: QueueEntry[] }>('/api/v1/care/queue');
    queue = r.items;
    renderQueue(r.total, r.items);
  });
}

async function loadCases(more = false): Promise<void> {
  await guarded(message, byId('cases'), async () => {
    const params = new URLSearchParams({ limit: String(PAGE) });
    if (stateFilter.value) params.set('state', stateFilter.value);
    if (more && casesNext !== null) params.set('after', String(casesNext));
    const r = await api<{ items: CareCase[]; next: number | null }>(`/api/v1/care/cases?${params}`);
    for (const c of r.items) if (c.bed) facilityNames.set(c.bed.facilityId, c.bed.name);
    casesNext = r.next;
    renderCases(r.items, more);
  });
}

async function loadDischarges(): Promise<void> {
  await guarded(message, byId('discharges'), async () => {
    const { items } = await api<{ items: ReadyItem[] }>(`/api/v1/care/discharges${dischargesAll.checked ? '?all=true' : ''}`);
    for (const d of items) facilityNames.set(d.facilityId, d.facility);
    renderDischarges(items);
  });
}

// --- beds at a glance --------------------------------------------------------------------------------------

function renderKinds(cap: Capacity): void {
  const box = byId('kinds');
  box.dataset.at = cap.at;
  box.replaceChildren(...cap.kinds.map(kindCard));
}

function kindCard(k: KindPicture): HTMLElement {
  const share = k.total ? k.occupied / k.total : 0;
  const pct = Math.round(share * 100);
  const fill = share >= 1 ? 'over' : share >= 0.85 ? 'high' : '';
  const kv = (key: string, label: string, value: string | number, cls = '') =>
    h('div', { class: `kv ${cls}`.trim(), 'data-key': key, 'data-value': value }, h('span', { class: 'muted' }, label), h('strong', {}, typeof value === 'number' ? formatNumber(value) : value));
  return h(
    'section',
    {
      class: 'card kind-card',
      id: `kind-${k.kind}`,
      'data-kind': k.kind,
      'data-total': k.total,
      'data-occupied': k.occupied,
      'data-available': k.available,
      'data-waiting': k.waiting,
      'data-admissions': k.admissionsPerDay,
      'data-days-left': k.daysLeft ?? '',
      style: `--kind: ${COLOURS[k.kind]}`,
    },
    h('div', { class: 'card-head' }, h('h2', {}, capKindLabel(k.kind)), h('div', { class: 'spacer' }), h('span', { class: `kind-pct ${fill}`.trim() }, `${pct}%`)),
    h('div', { class: 'kind-big' }, h('span', { class: 'kind-occupied' }, formatNumber(k.occupied)), h('span', { class: 'muted' }, ` / ${formatNumber(k.total)} `), h('span', { class: 'muted small' }, t('care.bedsOccupied'))),
    h(
      'div',
      { class: 'meter', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': k.total, 'aria-valuenow': k.occupied, 'aria-label': `${capKindLabel(k.kind)} ${pct}%` },
      h('div', { class: `meter-fill ${fill}`.trim(), style: `width: ${Math.min(100, pct)}%` }),
    ),
    h(
      'div',
      { class: 'kvs' },
      kv('available', t('care.available'), k.available, k.total > 0 && k.available <= 0 ? 'danger' : ''),
      kv('waiting', t('care.waitingQueue'), k.waiting, k.waiting > 0 ? 'warn' : ''),
      kv('admissions', t('care.admissionsPerDay'), k.admissionsPerDay),
      kv('daysLeft', t('care.daysLeft'), k.daysLeft === null ? '—' : t('care.days', { n: formatNumber(k.daysLeft) }), k.daysLeft !== null && k.daysLeft < 3 ? 'danger' : ''),
    ),
  );
}

/** Occupancy at the end of each day, one line a kind of bed; the tooltip adds the beds taken and given back. */
function renderPerDay(cap: Capacity): void {
  const el = byId('occupancy-chart');
  el.setAttribute('aria-label', t('care.perDay'));
  const days = cap.kinds[0]?.perDay.map((d) => d.day) ?? [];
  const chart = (occupancyChart ??= chartIn(el));
  chart.setOption(
    {
      backgroundColor: 'transparent',
      animation: false,
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, right: 8, textStyle: legendText },
      tooltip: {
        trigger: 'axis',
        ...tooltipStyle,
        formatter: (ps: { dataIndex: number; seriesIndex: number; marker: string; seriesName: string }[]) => {
          const i = ps[0]?.dataIndex ?? 0;
          const lines = ps.map((p) => {
            const d = cap.kinds[p.seriesIndex].perDay[i];
            return `${p.marker}${p.seriesName}: ${formatNumber(d.occupied)} <span style="color:#8aa0bb">${t('care.takenReleased', { taken: formatNumber(d.taken), released: formatNumber(d.released) })}</span>`;
          });
          return [days[i], ...lines].join('<br>');
        },
      },
      xAxis: dayAxis(days, false),
      yAxis: valueAxis(),
      series: cap.kinds.map((k) => ({
        name: capKindLabel(k.kind),
        type: 'line',
        symbolSize: 5,
        lineStyle: { width: 2 },
        areaStyle: { opacity: 0.18 },
        itemStyle: { color: COLOURS[k.kind] },
        data: k.perDay.map((d) => d.occupied),
      })),
    },
    { notMerge: true },
  );
  el.dataset.days = String(days.length);
  el.dataset.ready = 'true';
}

/** Beds per district: for each kind, occupied (full colour) and free (faint) stacked. */
function renderDistricts(cap: Capacity): void {
  const el = byId('district-chart');
  el.setAttribute('aria-label', t('care.byDistrict'));
  const ids = [...new Set(cap.kinds.flatMap((k) => k.byDistrict.map((d) => d.districtId)))].sort((a, b) => a - b);
  const chart = (districtChart ??= chartIn(el));
  chart.setOption(
    {
      backgroundColor: 'transparent',
      animation: false,
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, right: 8, textStyle: legendText, data: cap.kinds.map((k) => capKindLabel(k.kind)) },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, ...tooltipStyle },
      xAxis: { type: 'category', data: ids.map(districtName), axisLabel: { ...axisText, interval: 0, overflow: 'truncate', width: 90 }, axisLine },
      yAxis: valueAxis(),
      series: cap.kinds.flatMap((k) => {
        const of = (id: number) => k.byDistrict.find((d) => d.districtId === id);
        return [
          { name: capKindLabel(k.kind), type: 'bar', stack: k.kind, barMaxWidth: 22, itemStyle: { color: COLOURS[k.kind] }, data: ids.map((id) => of(id)?.occupied ?? 0) },
          { name: `${capKindLabel(k.kind)} · ${t('care.available')}`, type: 'bar', stack: k.kind, barMaxWidth: 22, itemStyle: { color: COLOURS[k.kind], opacity: 0.25 }, data: ids.map((id) => of(id)?.available ?? 0) },
        ];
      }),
    },
    { notMerge: true },
  );
  el.dataset.districts = String(ids.length);
  el.dataset.ready = 'true';
}

function renderBeds(items: FacilityBeds[]): void {
  const body = byId('beds-body');
  body.dataset.count = String(items.length);
  if (!items.length) return body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 9 }, t('list.empty'))));
  const num = (n: number, cls = '') => h('td', { class: `num ${cls}`.trim() }, formatNumber(n));
  const counts = (c: { total: number; occupied: number; available: number }) =>
    c.total > 0 ? [num(c.total), num(c.occupied), num(c.available, c.available <= 0 ? 'warn' : '')] : [0, 1, 2].map(() => h('td', { class: 'num muted' }, '—'));
  const sum = (pick: (f: FacilityBeds) => { total: number; occupied: number; available: number }) =>
    items.reduce((s, f) => ({ total: s.total + pick(f).total, occupied: s.occupied + pick(f).occupied, available: s.available + pick(f).available }), { total: 0, occupied: 0, available: 0 });
  body.replaceChildren(
    ...items.map((f) =>
      h(
        'tr',
        { 'data-facility': f.facilityId, 'data-kind': f.kind, 'data-general': `${f.general.occupied}/${f.general.total}`, 'data-icu': `${f.icu.occupied}/${f.icu.total}` },
        h('td', {}, h('div', {}, f.name), h('div', { class: 'muted small' }, `${tMaybe(`kind.${f.kind}`, f.kind)} · `, h('span', { class: 'mono' }, f.code))),
        h('td', {}, districtName(f.districtId)),
        ...counts(f.general),
        ...counts(f.icu),
        num(f.incoming),
      ),
    ),
    ...(items.length > 1 ? [h('tr', { class: 'total', 'data-facility': 'total' }, h('td', {}, t('q.total')), h('td', {}), ...counts(sum((f) => f.general)), ...counts(sum((f) => f.icu)), num(items.reduce((s, f) => s + f.incoming, 0)))] : []),
  );
}

// --- the queue, the cases, the discharges --------------------------------------------------------------------

function renderQueue(total: number, items: QueueEntry[]): void {
  const body = byId('queue-body');
  body.dataset.count = String(items.length);
  const badge = byId('queue-count');
  badge.textContent = formatNumber(total);
  badge.hidden = total === 0;
  if (!items.length) return body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, t('care.queueEmpty'))));
  body.replaceChildren(
    ...items.map((e) =>
      caseRow(
        e.caseId,
        { 'data-minutes': e.waitedMinutes, 'data-destination': e.destination },
        h('td', { class: `num waited${e.waitedMinutes >= 240 ? ' long' : ''}`, title: t('care.waitingSince', { time: when(e.waitingSince) }) }, hoursMinutes(e.waitedMinutes)),
        h(
          'td',
          {},
          h('div', {}, h('span', { class: 'mono muted' }, `#${e.caseId} `), e.name),
          h('div', { class: 'muted small' }, t('care.age', { n: e.age }), e.inBed ? ` · ${t('care.waitsInBed', { facility: facilityName(e.inBed.facilityId) })}` : ` · ${t('care.reportedAt', { time: when(e.reportedAt) })}`),
        ),
        h('td', {}, destinationLabel(e.destination)),
        h('td', {}, severityTag(e.severity)),
        h('td', { class: 'wrap reason', title: e.reason ?? '' }, e.reason ? noFreeBed(e.destination) : '—'),
      ),
    ),
  );
  markOpen();
}

function renderCases(items: CareCase[], append: boolean): void {
  const body = byId('case-list');
  const rows = items.map((c) =>
    caseRow(
      c.id,
      { 'data-state': c.state, 'data-facility': c.bed?.facilityId ?? '', 'data-leaving': c.leavingBed?.facilityId ?? '' },
      h('td', { class: 'num mono' }, c.id),
      h('td', {}, c.name),
      h('td', {}, stateTag(c.state)),
      h('td', {}, severityTag(c.severity)),
      h('td', {}, destinationLabel(c.destination)),
      h('td', {}, c.bed ? `${c.bed.name} · ${bedTypeLabel(c.bed.bedType)}` : c.waitingSince ? h('span', { class: 'warn-text' }, t('care.inQueue')) : '—'),
      h('td', {}, when(c.reportedAt)),
    ),
  );
  if (append) body.querySelector('tr.empty')?.remove();
  if (append) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [h('tr', { class: 'empty' }, h('td', { colspan: 7 }, t('list.empty')))]));
  const n = body.querySelectorAll('tr[data-case]').length;
  body.dataset.count = String(n);
  body.dataset.state = stateFilter.value;
  byId('case-count').textContent = t('care.shown', { n: formatNumber(n) });
  byId('more-cases').hidden = casesNext === null;
  markOpen();
}

function renderDischarges(items: ReadyItem[]): void {
  const body = byId('discharge-list');
  body.dataset.count = String(items.length);
  if (!items.length) return body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 5 }, t(dischargesAll.checked ? 'list.empty' : 'care.noneReady'))));
  body.replaceChildren(
    ...items.map((d) =>
      caseRow(
        d.caseId,
        { 'data-ready': String(d.readiness.ready), 'data-facility': d.facilityId },
        h('td', {}, h('span', { class: 'mono muted' }, `#${d.caseId} `), d.name),
        h('td', {}, d.facility),
        h('td', {}, when(d.admittedAt)),
        h('td', {}, severityTag(d.severity)),
        h('td', { class: 'wrap' }, d.readiness.ready ? h('span', { class: 'tag ok' }, t('care.ready')) : h('span', { class: 'muted small', title: d.readiness.missing.join('; ') }, whyList(d.readiness.missing, d.readiness.missingWhy).join('; '))),
      ),
    ),
  );
  markOpen();
}

/** A row that opens its case (by click or Enter). */
function caseRow(caseId: number, attrs: Record<string, string | number>, ...cells: HTMLElement[]): HTMLElement {
  return h(
    'tr',
    {
      ...attrs,
      'data-case': caseId,
      tabindex: 0,
      title: t('care.openCase'),
      onclick: () => void showCase(caseId),
      onkeydown: (ev: Event) => {
        if ((ev as KeyboardEvent).key === 'Enter') void showCase(caseId);
      },
    },
    ...cells,
  );
}

/** Marks the rows of the open case in every list. */
function markOpen(): void {
  for (const tr of document.querySelectorAll<HTMLElement>('tr[data-case]')) tr.classList.toggle('selected', openId !== null && tr.dataset.case === String(openId));
}

// --- one case ------------------------------------------------------------------------------------------------

async function showCase(id: number, keepResult = false): Promise<CaseDetail | null> {
  openId = id;
  history.replaceState(null, '', `${location.pathname}?case=${id}`);
  panel.setAttribute('aria-busy', 'true');
  if (!keepResult) clearResult();
  markOpen();
  try {
    const c = await api<CaseDetail>(`/api/v1/care/cases/${id}`);
    if (openId !== id) return null;
    renderCase(c);
    panel.hidden = false;
    return c;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) location.reload();
    closeCase();
    showError(message, e);
    if (e instanceof ApiError) message.dataset.status = String(e.status);
    return null;
  } finally {
    panel.setAttribute('aria-busy', 'false');
  }
}

function closeCase(): void {
  openId = null;
  panel.hidden = true;
  delete panel.dataset.case;
  history.replaceState(null, '', location.pathname);
  markOpen();
}

function renderCase(c: CaseDetail): void {
  Object.assign(panel.dataset, { case: String(c.id), state: c.state, severity: c.severity, destination: c.destination, facility: String(c.bed?.facilityId ?? ''), leaving: String(c.leavingBed?.facilityId ?? '') });
  byId('case-title').textContent = t('care.caseTitle', { id: c.id, name: c.name });
  byId('case-chips').replaceChildren(stateTag(c.state), severityTag(c.severity), h('span', { class: 'tag' }, tMaybe(`care.cls.${c.classification}`, c.classification)), h('span', { class: 'tag' }, tMaybe(`care.src.${c.source}`, c.source)));

  const facts: [string, string | null][] = [
    [t('care.person'), `${c.personId}${c.birthDate ? ` · ${c.birthDate}` : ''}`],
    [t('care.sampled'), when(c.sampledAt)],
    [t('care.onset'), c.onsetAt && when(c.onsetAt)],
    [t('care.reported'), when(c.reportedAt)],
    [t('care.admitted'), c.admittedAt && when(c.admittedAt)],
    [t('care.dischargedAt'), c.dischargedAt && when(c.dischargedAt)],
    [t('care.monitoring'), c.monitoringUntil && t('care.until', { time: when(c.monitoringUntil) })],
    [t('care.diedAt'), c.diedAt && when(c.diedAt)],
  ];
  byId('case-facts').replaceChildren(...facts.filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));

  // Triage: where and why, the risk factors and which of them decide the place.
  const tr = c.triage;
  byId('case-triage').replaceChildren(
    h('div', { class: 'triage-dest', id: 'triage-destination', 'data-destination': tr.destination }, destinationLabel(tr.destination), h('span', { class: 'muted small' }, ` · ${severityLabel(tr.severity)}`)),
    h('ul', { id: 'triage-reasons', class: 'care-list' }, ...whyItems(tr.reasons, tr.why, tr.riskFactors)),
    tr.riskFactors.length
      ? h(
          'div',
          { class: 'small' },
          h('div', { class: 'muted' }, t('care.riskFactors')),
          h(
            'ul',
            { id: 'risk-factors', class: 'care-list' },
            ...tr.riskFactors.map((f) => h('li', { 'data-group': f.group, 'data-decides': String(f.toHospital), title: f.value }, riskLabel(f), ' ', f.toHospital ? h('span', { class: 'tag warn' }, t('care.decides')) : null)),
          ),
        )
      : h('div', { class: 'muted small', id: 'risk-factors-none' }, t('care.noRiskFactors')),
    h('div', { class: 'muted small' }, t('care.preset', { preset: tr.preset })),
  );

  // The bed: where now, the old bed a referral still holds, the queue.
  const waited = queue.find((q) => q.caseId === c.id);
  const bed = [
    c.bed
      ? h(
          'div',
          { id: 'bed-now', 'data-facility': c.bed.facilityId, 'data-bed-type': c.bed.bedType },
          h('strong', {}, c.bed.name),
          ` · ${tMaybe(`kind.${c.bed.kind}`, c.bed.kind)} · ${bedTypeLabel(c.bed.bedType)} `,
          h('span', { class: 'tag' }, t(c.state === 'assigned' ? 'care.bedReserved' : 'care.bedIn')),
        )
      : h('div', { id: 'bed-now', class: 'muted' }, c.state === 'discharged' || c.state === 'died' ? t('care.bedGivenBack') : t('care.noBed')),
    c.leavingBed
      ? h('div', { id: 'bed-old', class: 'small', 'data-facility': c.leavingBed.facilityId }, t('care.oldBed', { facility: facilityName(c.leavingBed.facilityId), bed: bedTypeLabel(c.leavingBed.bedType) }))
      : null,
    c.waitingSince
      ? h(
          'div',
          { id: 'bed-queue', class: 'row-error small' },
          h('strong', {}, t('care.inQueueFor', { dest: destinationLabel(c.destination) })),
          ' ',
          waited ? t('care.waitedFor', { hm: hoursMinutes(waited.waitedMinutes) }) : t('care.waitingSince', { time: when(c.waitingSince) }),
          c.queueReason ? h('div', { title: c.queueReason }, noFreeBed(c.destination)) : null,
        )
      : null,
  ];
  byId('case-bed').replaceChildren(...bed.filter((x): x is HTMLDivElement => x !== null));

  // Discharge readiness of an admitted case, with what is missing.
  const box = byId('readiness-box');
  box.hidden = !c.readiness;
  if (c.readiness) {
    const r = c.readiness;
    byId('case-readiness').replaceChildren(
      r.ready
        ? h('div', { id: 'readiness', class: 'notice small', 'data-ready': 'true' }, t('care.readyWith', { n: r.tests.length, preset: r.preset }))
        : h('div', { id: 'readiness', 'data-ready': 'false' }, h('div', { class: 'small muted' }, t('care.missing')), h('ul', { class: 'care-list missing-list' }, ...whyItems(r.missing, r.missingWhy))),
    );
  }

  // Actions as the state allows (the server decides again).
  const open = OPEN_STATES.includes(c.state);
  byId<HTMLButtonElement>('admit').hidden = c.state !== 'assigned';
  byId<HTMLButtonElement>('discharge').hidden = c.state !== 'admitted';
  byId<HTMLButtonElement>('assign').hidden = !(isCommand && open && c.waitingSince !== null);
  byId('obs-form').hidden = !open;
  byId('death-box').hidden = !open;
  byId('case-actions').hidden = !open && result.hidden;
  const link = byId<HTMLAnchorElement>('interview-link');
  link.hidden = !isCommand;
  link.href = `/interview.html?case=${c.personId}`;

  const events = byId('case-events');
  events.dataset.count = String(c.events.length);
  events.replaceChildren(
    ...[...c.events].reverse().map((e) =>
      h(
        'li',
        { class: `ev ev-${e.kind}`, 'data-kind': e.kind },
        h('div', { class: 'ev-head' }, h('strong', {}, tMaybe(`cev.${e.kind}`, e.kind)), h('span', { class: 'muted small' }, `${when(e.at)} · ${actorName(e.recordedBy)}`)),
        eventText(e),
      ),
    ),
  );
}

/** An event's detail in words (the server's own reasons as they are, but why a case waits: noFreeBed). */
function eventText(e: CaseEvent): HTMLElement | null {
  const d = e.detail ?? {};
  const at = e.facilityId !== null ? `${facilityName(e.facilityId)}${e.bedType ? ` · ${bedTypeLabel(e.bedType)}` : ''}` : '';
  const line = (...parts: (string | null | false | undefined)[]) => {
    const text = parts.filter(Boolean).join(' · ');
    return text ? h('div', { class: 'small ev-text' }, text) : null;
  };
  switch (e.kind) {
    case 'reported':
      return line(tMaybe(`care.src.${d.source}`, String(d.source ?? '')), tMaybe(`care.cls.${d.classification}`, String(d.classification ?? '')), d.tubeId ? t('care.tube', { id: d.tubeId }) : null);
    case 'finding':
      return line(t('care.evFinding'), d.tubeId ? t('care.tube', { id: d.tubeId }) : null);
    case 'observation':
      return line(severityLabel(d.severity), signs(d as Observation), ...whyList((d.reasons as string[] | undefined) ?? [], d.why as CareWhy[] | undefined));
    case 'triaged':
      return line(`→ ${destinationLabel(d.destination)}`, ...whyList((d.reasons as string[] | undefined) ?? [], d.why as CareWhy[] | undefined, d.riskFactors as RiskFactor[] | undefined));
    case 'queued':
      return line(d.destination ? noFreeBed(d.destination) : d.reason);
    case 'bedTaken':
      return line(at, d.waitedMs ? t('care.waitedFor', { hm: hoursMinutes(Math.floor(Number(d.waitedMs) / 60_000)) }) : null);
    case 'bedReleased':
      return line(at, WHY[String(d.why)] ? t(WHY[String(d.why)]) : String(d.why ?? ''));
    case 'referred':
      return line(`${facilityName(d.from?.facilityId)} → ${facilityName(d.to?.facilityId)}`, destinationLabel(d.destination));
    case 'admitted':
      return line(at);
    case 'discharged':
      return line(at, d.monitoringUntil ? t('care.monitoringUntil', { time: when(d.monitoringUntil) }) : null);
    case 'died':
      return line(d.cause);
    default:
      return null;
  }
}

/** The signs of an observation, short. */
function signs(o: Observation): string {
  const out: string[] = [];
  if (o.spo2 != null) out.push(`SpO2 ${o.spo2}%`);
  if (o.respiratoryRate != null) out.push(t('care.rrShort', { n: o.respiratoryRate }));
  if (o.temperature != null) out.push(`${o.temperature} °C`);
  if (o.pao2Fio2 != null) out.push(`PaO2/FiO2 ${o.pao2Fio2}`);
  if (o.pneumonia) out.push(t('care.pneumonia'));
  if (o.mechanicalVentilation) out.push(t('care.ventilation'));
  if (o.shock) out.push(t('care.shock'));
  if (o.organFailure) out.push(t('care.organFailure'));
  if (o.improving === true) out.push(t('care.improvingYes'));
  if (o.improving === false) out.push(t('care.improvingNo'));
  return out.join(', ');
}

// --- actions -------------------------------------------------------------------------------------------------

function wireActions(): void {
  byId('admit').addEventListener('click', (ev) =>
    void act(ev.currentTarget as HTMLButtonElement, 'admit', {}, (c) => t('care.admittedOk', { facility: c?.bed?.name ?? '' })),
  );
  byId('discharge').addEventListener('click', (ev) =>
    void act(ev.currentTarget as HTMLButtonElement, 'discharge', {}, (c) => t('care.dischargedOk', { time: c?.monitoringUntil ? when(c.monitoringUntil) : '' })),
  );
  byId('assign').addEventListener('click', (ev) =>
    void act(ev.currentTarget as HTMLButtonElement, 'assign', {}, (c) => (c?.bed && !c.waitingSince ? t('care.assignedOk', { facility: c.bed.name }) : t('care.stillWaiting'))),
  );
  const obs = byId<HTMLFormElement>('obs-form');
  obs.addEventListener('submit', (ev) => {
    ev.preventDefault();
    let body: Observation;
    try {
      body = readObservation();
    } catch (e) {
      if (e instanceof FormError) return say('error', e.message);
      throw e;
    }
    void act(byId<HTMLButtonElement>('obs-save'), 'observations', body, (c, r) => {
      obs.reset();
      return observed(c, r as { severity: Severity; triage: Triage; assignment: Assignment });
    });
  });
  const death = byId<HTMLFormElement>('death-form');
  death.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const cause = byId<HTMLInputElement>('death-cause').value.trim();
    if (cause.length < 3) return say('error', t('care.causeTooShort'));
    const raw = byId<HTMLInputElement>('death-at').value;
    const at = raw ? new Date(raw) : null;
    if (at && Number.isNaN(at.getTime())) return say('error', t('care.badTime'));
    void act(byId<HTMLButtonElement>('death-save'), 'death', at ? { cause, at: at.toISOString() } : { cause }, () => {
      death.reset();
      (byId('death-box') as HTMLDetailsElement).open = false;
      return t('care.diedOk');
    });
  });
}

/** Posts an action on the open case, then reads everything again; the result (or the problem) shows in the panel. */
async function act(button: HTMLButtonElement, action: string, body: unknown, ok: (c: CaseDetail | null, r: unknown) => string): Promise<void> {
  const id = openId;
  if (id === null) return;
  button.disabled = true;
  clearResult();
  try {
    const r = await api<unknown>(`/api/v1/care/cases/${id}/${action}`, { method: 'POST', body });
    await Promise.all([loadBeds(), loadCapacity(), loadQueue(), loadCases(), loadDischarges()]);
    const c = await showCase(id, true);
    say('ok', ok(c, r));
    result.dataset.action = action;
  } catch (e) {
    problem(e, action);
  } finally {
    button.disabled = false;
  }
}

function observed(c: CaseDetail | null, r: { severity: Severity; triage: Triage; assignment: Assignment }): string {
  const base = t('care.observedOk', { severity: severityLabel(r.severity), dest: destinationLabel(r.triage.destination) });
  const a = r.assignment;
  if (!a) return base;
  if (a.assigned) return `${base} ${t(a.referral ? 'care.referredTo' : 'care.assignedOk', { facility: c?.bed?.name ?? facilityName(a.facilityId) })}`;
  return `${base} ${t('care.queuedNow', { reason: noFreeBed(r.triage.destination) })}`;
}

function readObservation(): Observation {
  const num = (id: string, label: Key): number | null => {
    const input = byId<HTMLInputElement>(id);
    if (input.validity.badInput) throw new FormError(t('care.badNumber', { field: t(label) }));
    const v = input.value.trim();
    if (!v) return null;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new FormError(t('care.badNumber', { field: t(label) }));
    return n;
  };
  const checked = (id: string) => byId<HTMLInputElement>(id).checked || null;
  const severity = byId<HTMLSelectElement>('obs-severity').value as Severity | '';
  const improving = byId<HTMLSelectElement>('obs-improving').value;
  const o: Observation = {
    severity: severity || null,
    spo2: num('obs-spo2', 'care.spo2'),
    respiratoryRate: num('obs-rr', 'care.rr'),
    temperature: num('obs-temp', 'care.temperature'),
    pao2Fio2: num('obs-pao2', 'care.pao2Fio2'),
    pneumonia: checked('obs-pneumonia'),
    mechanicalVentilation: checked('obs-ventilation'),
    shock: checked('obs-shock'),
    organFailure: checked('obs-organ'),
    improving: improving === '' ? null : improving === 'true',
  };
  // Only what was said goes to the server.
  const said = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null)) as Observation;
  if (!Object.keys(said).length) throw new FormError(t('care.obsEmpty'));
  return said;
}

function clearResult(): void {
  result.hidden = true;
  result.replaceChildren();
  delete result.dataset.kind;
  delete result.dataset.status;
  delete result.dataset.action;
}

function say(kind: 'ok' | 'error', text: string): void {
  result.className = kind === 'ok' ? 'notice small' : 'row-error small';
  result.dataset.kind = kind;
  result.textContent = text;
  result.hidden = false;
  byId('case-actions').hidden = false;
}

/** The server's problem in its own words; a refused discharge lists what is missing. */
function problem(e: unknown, action: string): void {
  if (e instanceof ApiError && e.status === 401) location.reload();
  say('error', '');
  result.dataset.action = action;
  if (!(e instanceof ApiError)) return void (result.textContent = e instanceof Error ? e.message : String(e));
  result.dataset.status = String(e.status);
  const missing = Array.isArray(e.problem.missing) ? (e.problem.missing as unknown[]).map(String) : [];
  const missingWhy = Array.isArray(e.problem.missingWhy) ? (e.problem.missingWhy as CareWhy[]) : undefined;
  if (missing.length) {
    result.replaceChildren(h('strong', {}, t(action === 'discharge' ? 'care.dischargeRefused' : 'care.refused')), h('ul', { class: 'care-list missing-list', id: 'refused-missing' }, ...whyItems(missing, missingWhy)));
  } else {
    // As the other pages show a refusal (problemLine): its status and the problem in the reader's words, the server's own in the title.
    result.replaceChildren(h('strong', { title: e.detail || e.title }, `${e.status} ·`), ' ', problemWords(e));
  }
}

// --- words -----------------------------------------------------------------------------------------------------

/** Minutes as hours:minutes (e.g. 2:05; 30:40 past a day). */
function hoursMinutes(minutes: number): string {
  const m = Math.max(0, Math.floor(minutes));
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
}

function capKindLabel(kind: KindPicture['kind']): string {
  return t(kind === 'shelterHospital' ? 'kind.shelterHospital' : kind === 'icu' ? 'care.icu' : 'care.hospitalGeneral');
}

function destinationLabel(d: string): string {
  return d === 'icu' ? t('care.icuDest') : tMaybe(`kind.${d}`, d);
}

/**
 * Why a case waits, in the reader's language: the server queues a case only when no bed of its destination's
 * kind is free anywhere in the city (src/cases/store.ts), and says so in English.
 */
function noFreeBed(destination: string): string {
  return t('care.noFreeBed', { place: destinationLabel(destination) });
}

/**
 * The care rules' reasons in the reader's language, from the data the server sends beside its English words
 * (src/cases/rules.ts CareWhy); the server's words stay in each item's title. Events recorded before the
 * server sent the data keep its words.
 */
function whyItems(words: string[], why: CareWhy[] | undefined, factors?: RiskFactor[]): HTMLElement[] {
  return whyList(words, why, factors).map((text, i) => h('li', { title: words[i] ?? '', 'data-code': why?.[i]?.code ?? '' }, text));
}

function whyList(words: string[], why: CareWhy[] | undefined, factors?: RiskFactor[]): string[] {
  if (!why || why.length !== words.length) return words;
  return why.map((w) => whyText(w, factors));
}

function whyText(w: CareWhy, factors: RiskFactor[] = []): string {
  switch (w.code) {
    case 'clinician':
    case 'unchanged':
      return t(`care.why.${w.code}`, { severity: severityLabel(w.severity) });
    case 'respiratoryRate':
    case 'spo2':
    case 'pao2Fio2':
    case 'lesionGrowth':
      return t(`care.why.${w.code}`, { value: w.value, limit: w.limit });
    case 'place':
      return t('care.why.place', { severity: severityLabel(w.severity), destination: destinationLabel(w.destination), preset: w.preset, rule: w.severity });
    case 'highRisk':
    case 'riskNoted': {
      // The factors in the reader's words when the triage came with them (the decisive ones for a hospital).
      const listed = factors.filter((f) => w.code === 'riskNoted' || f.toHospital);
      return t(`care.why.${w.code}`, { factors: listed.length ? listed.map(riskLabel).join('、') : w.factors, preset: w.preset });
    }
    case 'moreResults':
      return t('care.why.moreResults', { count: w.count, ct: w.ct, hours: w.hours, preset: w.preset });
    case 'afebrile':
      return t('care.why.afebrile', { days: w.days, of: w.of, preset: w.preset });
    default:
      return t(`care.why.${w.code}`);
  }
}

/** A risk factor in the reader's words (the server's in `value`). */
function riskLabel(f: RiskFactor): string {
  if ((f.group === 'ageOver' || f.group === 'child') && f.age !== undefined && f.limit !== undefined) return t(f.group === 'ageOver' ? 'care.risk.ageOver' : 'care.risk.child', { age: f.age, limit: f.limit });
  if (f.group === 'pregnancy' && f.item) return t('care.risk.pregnancy', { stage: tMaybe(`pregnancy.${f.item}`, f.item) });
  return f.item ? tMaybe(`vocab.${f.item}`, f.item) : f.value;
}

function severityLabel(s: string): string {
  return tMaybe(`sev.${s}`, s);
}

function severityTag(s: string): HTMLElement {
  return h('span', { class: `tag sev sev-${s}`, 'data-severity': s }, severityLabel(s));
}

function stateTag(s: CaseState): HTMLElement {
  return h('span', { class: `tag cstate cstate-${s}`, 'data-state': s }, tMaybe(`cstate.${s}`, s));
}

function bedTypeLabel(b: BedType): string {
  return t(b === 'icu' ? 'care.bedIcu' : 'care.bedGeneral');
}

function facilityName(id: number | null | undefined): string {
  if (id === null || id === undefined) return '—';
  return facilityNames.get(id) ?? t('care.facilityN', { id });
}

function districtName(id: number): string {
  return districtNames.get(id) ?? t('chains.districtN', { id });
}

