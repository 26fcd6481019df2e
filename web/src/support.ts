// Livelihood (物资保供, 就医配药) for a street's worker and the command centre: the figures at a glance (open,
// overdue, time to answer and to serve), open and overdue by kind and the worst streets as charts, the
// request queue emergencies first with each deadline counting down and the overdue highlighted, the steps
// (accept, on the way, done, refuse with a reason), filing a request on a resident's behalf, and the
// vaccination coverage of the elderly. A resident sees their own requests, files for themselves, and
// confirms or complains at the end. The server scopes every answer (src/support/routes.ts).
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api, ApiError, problemLine } from './api.ts';
import { byId, h } from './dom.ts';
import { formatNumber, t, tMaybe, type Key, when } from './i18n.ts';
import { boot, guarded } from './shell.ts';
import { axisText, chartIn, tooltipStyle } from './charts.ts';
import type { QueueItem } from '../../src/support/store.ts';
import type { supportPicture } from '../../src/support/picture.ts';
import type { coverage } from '../../src/support/vaccination.ts';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

// The server's answers (types only: nothing of the server is bundled).
type Picture = Awaited<ReturnType<typeof supportPicture>>;
type Coverage = Awaited<ReturnType<typeof coverage>>;
type BandFigures = Coverage['total'][string];
type Status = QueueItem['status'];

// The kinds as the server knows them (src/support/rules.ts REQUEST_KINDS), emergencies first.
const KINDS = ['medicalEmergency', 'maternity', 'dialysis', 'chemotherapy', 'medicineRefill', 'food', 'other'] as const;
const COMPLAINTS = ['spoiled', 'expired', 'missing', 'damaged', 'late', 'refused', 'other'] as const;
const HANDLERS = ['street_worker', 'city_command', 'district_command'];
const COMMAND = ['city_command', 'district_command'];

const message = byId('message');
const result = byId('action-result');
const user = await boot({ page: 'support' });
document.title = `${t('nav.support')} · ${t('app.name')}`;
const isResident = user.role === 'resident';
const handles = HANDLERS.includes(user.role);
const overdueOnly = byId<HTMLInputElement>('overdue-only');
let kindChart: echarts.ECharts | null = null;
let streetChart: echarts.ECharts | null = null;

byId('scope-line').textContent = isResident ? t('sup.scopeOwn') : user.streetId !== null ? t('sup.scopeStreet') : user.districtId !== null ? t('sup.scopeDistrict') : t('sup.scopeCity');
byId('figures').hidden = !handles;
byId('coverage-card').hidden = !handles;
byId('overdue-only-box').hidden = isResident;
byId('person-field').hidden = isResident;
if (isResident) byId('queue-title').textContent = t('sup.mine');
byId('refresh').addEventListener('click', () => void loadAll());
overdueOnly.addEventListener('change', () => void loadQueue());
wireForm();
await loadAll();
// Deadlines run by the minute: the queue and the figures are read again every minute while the page is in view.
setInterval(() => {
  if (!document.hidden) void loadAll();
}, 60_000);

// --- loading ---------------------------------------------------------------------------------------------

async function loadAll(): Promise<void> {
  await Promise.all([loadQueue(), ...(handles ? [loadFigures(), loadCoverage()] : [])]);
}

async function loadQueue(): Promise<void> {
  await guarded(message, byId('queue'), async () => {
    const r = await api<{ asOf: string; items: QueueItem[] }>(`/api/v1/support/requests?limit=200${overdueOnly.checked ? '&overdue=true' : ''}`);
    byId('as-of').textContent = t('sup.asOf', { time: when(r.asOf) });
    renderQueue(r.items);
  });
}

async function loadFigures(): Promise<void> {
  await guarded(message, byId('tiles'), async () => {
    const p = await api<Picture>('/api/v1/support/dashboard');
    renderTiles(p);
    renderKinds(p);
    renderStreets(p);
  });
}

async function loadCoverage(): Promise<void> {
  await guarded(message, byId('coverage'), async () => renderCoverage(await api<Coverage>('/api/v1/vaccination/coverage')));
}

// --- the queue ---------------------------------------------------------------------------------------------

function renderQueue(items: QueueItem[]): void {
  const body = byId('queue-body');
  body.dataset.count = String(items.length);
  const overdue = items.filter((i) => i.overdue).length;
  body.dataset.overdue = String(overdue);
  const badge = byId('queue-count');
  badge.hidden = !items.length;
  badge.textContent = overdue ? t('sup.countOverdue', { n: formatNumber(items.length), overdue: formatNumber(overdue) }) : formatNumber(items.length);
  badge.classList.toggle('danger', overdue > 0);
  if (!items.length) return body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 7 }, t(isResident ? 'sup.noneMine' : 'sup.none'))));
  body.replaceChildren(...items.map(row));
}

function row(r: QueueItem): HTMLElement {
  const open = r.status === 'open' || r.status === 'accepted' || r.status === 'onTheWay';
  const deadline = open
    ? h('td', { class: `deadline ${r.overdue ? 'overdue' : r.minutesLeft < 60 ? 'soon' : ''}`.trim(), title: when(r.deadlineAt) }, r.overdue ? t('sup.overdueBy', { hm: hoursMinutes(-r.minutesLeft) }) : t('sup.left', { hm: hoursMinutes(r.minutesLeft) }))
    : h('td', { class: 'deadline muted' }, when(r.deadlineAt));
  return h(
    'tr',
    { 'data-request': r.id, 'data-kind': r.kind, 'data-status': r.status, 'data-overdue': r.overdue, 'data-minutes': r.minutesLeft, 'data-priority': r.priority, class: r.overdue && open ? 'overdue' : '' },
    deadline,
    h('td', {}, h('span', { class: `tag kind ${r.medical ? 'medical' : ''}`.trim() }, kindLabel(r.kind)), r.prescriptionDays ? h('span', { class: 'muted small' }, ` ${t('sup.days', { n: r.prescriptionDays })}`) : null, r.escalatedAt ? h('span', { class: 'tag escalated', title: when(r.escalatedAt) }, t('sup.escalated')) : null),
    h('td', {}, h('div', {}, r.name), r.colour !== 'green' ? h('span', { class: `tag colour-${r.colour}`, 'data-colour': r.colour }, t(`sup.colour.${r.colour}` as Key)) : null, r.details ? h('div', { class: 'muted small wrap' }, r.details) : null),
    h('td', {}, r.compound ?? '—'),
    h('td', {}, h('span', { class: `tag status-${r.status}`, 'data-status': r.status }, statusLabel(r.status)), r.precautions.length ? h('div', { class: 'muted small' }, r.precautions.map((p) => tMaybe(`sup.precaution.${p}`, p)).join(' · ')) : null),
    h('td', {}, r.team ?? '—'),
    h('td', { class: 'actions' }, ...actions(r)),
  );
}

function actions(r: QueueItem): HTMLElement[] {
  const button = (label: Key, cls: string, onclick: () => void) => h('button', { class: `btn small ${cls}`.trim(), type: 'button', 'data-action': label.split('.')[1], onclick }, t(label));
  if (isResident) {
    if ((r.status === 'done' || r.status === 'refused') && !r.feedback) {
      return [button('sup.confirm', 'primary', () => void feedback(r.id, { outcome: 'confirmed' })), button('sup.complain', 'ghost', () => complainForm(r))];
    }
    return r.feedback ? [h('span', { class: 'muted small' }, t(r.feedback === 'confirmed' ? 'sup.confirmed' : 'sup.complained'))] : [];
  }
  const out: HTMLElement[] = [];
  if (r.status === 'open') out.push(button('sup.accept', 'primary', () => void step(r.id, 'accept', {})));
  if (r.status === 'open' || r.status === 'accepted') out.push(button('sup.dispatch', r.status === 'accepted' ? 'primary' : '', () => void step(r.id, 'dispatch', {})));
  if (r.status !== 'open') out.push(button('sup.done', 'primary', () => void step(r.id, 'done', {})));
  // A medical request is refused by command only (the server says so too).
  if ((r.status === 'open' || r.status === 'accepted') && (!r.medical || COMMAND.includes(user.role))) out.push(button('sup.refuse', 'ghost danger', () => refuseForm(r)));
  return out;
}

function refuseForm(r: QueueItem): void {
  const cell = document.querySelector<HTMLElement>(`#queue-body tr[data-request="${r.id}"] td.actions`);
  if (!cell) return;
  const input = h('input', { type: 'text', class: 'refuse-reason', minlength: 5, maxlength: 1000, placeholder: t('sup.refuseReason') });
  cell.replaceChildren(
    input,
    h('button', { class: 'btn small danger', type: 'button', 'data-action': 'refuse-confirm', onclick: () => void step(r.id, 'refuse', { reason: input.value.trim() }) }, t('sup.refuse')),
    h('button', { class: 'btn small ghost', type: 'button', onclick: () => cell.replaceChildren(...actions(r)) }, t('sup.cancel')),
  );
  input.focus();
}

function complainForm(r: QueueItem): void {
  const cell = document.querySelector<HTMLElement>(`#queue-body tr[data-request="${r.id}"] td.actions`);
  if (!cell) return;
  const kind = h('select', { class: 'complaint-kind' }, ...COMPLAINTS.map((c) => h('option', { value: c }, t(`sup.complaint.${c}` as Key))));
  const text = h('input', { type: 'text', class: 'complaint-text', minlength: 3, maxlength: 2000, placeholder: t('sup.complaintText') });
  cell.replaceChildren(kind, text, h('button', { class: 'btn small danger', type: 'button', 'data-action': 'complain-send', onclick: () => void feedback(r.id, { outcome: 'complaint', kind: kind.value, text: text.value.trim() }) }, t('sup.complain')));
  text.focus();
}

async function step(id: number, path: 'accept' | 'dispatch' | 'done' | 'refuse', body: Record<string, unknown>): Promise<void> {
  await act(async () => {
    const r = await api<{ status: Status }>(`/api/v1/support/requests/${id}/${path}`, { method: 'POST', body });
    return t('sup.moved', { id, status: statusLabel(r.status) });
  });
}

async function feedback(id: number, body: Record<string, unknown>): Promise<void> {
  await act(async () => {
    await api(`/api/v1/support/requests/${id}/feedback`, { method: 'POST', body });
    return t(body.outcome === 'confirmed' ? 'sup.confirmed' : 'sup.complained');
  });
}

/** Runs an action, says how it went (the server's problem in words when refused), and reads the page again. */
async function act(fn: () => Promise<string>): Promise<void> {
  result.hidden = true;
  try {
    const text = await fn();
    result.className = 'notice';
    result.dataset.kind = 'ok';
    result.title = '';
    result.textContent = text;
    await loadAll();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) location.reload();
    result.className = 'row-error';
    result.dataset.kind = 'error';
    ({ text: result.textContent, title: result.title } = problemLine(e));
  }
  result.hidden = false;
}

// --- filing ------------------------------------------------------------------------------------------------

function wireForm(): void {
  const kind = byId<HTMLSelectElement>('file-kind');
  kind.replaceChildren(...KINDS.map((k) => h('option', { value: k }, kindLabel(k))));
  kind.value = 'food';
  const days = byId('days-field');
  kind.addEventListener('change', () => (days.hidden = kind.value !== 'medicineRefill'));
  const out = byId('file-result');
  byId<HTMLFormElement>('file-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    out.hidden = true;
    const body: Record<string, unknown> = { kind: kind.value };
    const person = byId<HTMLInputElement>('file-person').value;
    if (!isResident) body.personId = Number(person);
    const details = byId<HTMLTextAreaElement>('file-details').value.trim();
    if (details) body.details = details;
    if (kind.value === 'medicineRefill') body.prescriptionDays = Number(byId<HTMLInputElement>('file-days').value);
    try {
      if (!isResident && !(Number(person) > 0)) throw new Error(t('sup.personMissing'));
      const r = await api<{ id: number; deadlineAt: string; dispatch: { colour: string } }>('/api/v1/support/requests', { method: 'POST', body });
      out.className = 'notice';
      out.dataset.kind = 'ok';
      out.dataset.request = String(r.id);
      out.title = '';
      out.textContent = t('sup.filed', { id: r.id, time: when(r.deadlineAt) });
      await loadAll();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) location.reload();
      out.className = 'row-error';
      out.dataset.kind = 'error';
      ({ text: out.textContent, title: out.title } = problemLine(e));
    }
    out.hidden = false;
  });
}

// --- figures -----------------------------------------------------------------------------------------------

function renderTiles(p: Picture): void {
  const all = p.answerTimes.find((a) => a.kind === 'all');
  const minutes = (v: number | null | undefined) => (v === null || v === undefined ? '—' : hoursMinutes(v));
  const tile = (key: string, label: string, value: string, sub: string | null, cls = '') =>
    h('div', { class: `stat ${cls}`.trim(), 'data-key': key, 'data-value': value }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, label), sub ? h('div', { class: 'stat-sub muted small' }, sub) : null);
  byId('tiles').replaceChildren(
    tile('open', t('sup.open'), formatNumber(p.total.open), null),
    tile('overdue', t('sup.overdue'), formatNumber(p.total.overdue), null, p.total.overdue > 0 ? 'danger' : ''),
    tile('answerP50', t('sup.answerP50'), minutes(all?.answerP50), t('sup.p90', { v: minutes(all?.answerP90) })),
    tile('doneP50', t('sup.doneP50'), minutes(all?.doneP50), t('sup.p90', { v: minutes(all?.doneP90) })),
    tile('filed', t('sup.filedDays', { n: p.days }), formatNumber(all?.filed ?? 0), t('sup.answeredOf', { n: formatNumber(all?.answered ?? 0) })),
  );
  byId('tiles').dataset.asOf = p.asOf;
}

/** Per kind: still within the deadline and overdue, stacked. */
function renderKinds(p: Picture): void {
  const el = byId('kind-chart');
  el.setAttribute('aria-label', t('sup.byKind'));
  const kinds = KINDS.filter((k) => p.byKind.some((b) => b.kind === k));
  const of = (k: string) => p.byKind.find((b) => b.kind === k) ?? { open: 0, overdue: 0 };
  (kindChart ??= chartIn(el)).setOption(
    {
      backgroundColor: 'transparent',
      animation: false,
      grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true },
      legend: { top: 0, right: 8, textStyle: { color: '#9fb3cc' } },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, ...tooltipStyle },
      xAxis: { type: 'category', data: kinds.map(kindLabel), axisLabel: { ...axisText, interval: 0 }, axisLine: { lineStyle: { color: '#2b4a6f' } } },
      yAxis: { type: 'value', minInterval: 1, axisLabel: axisText, splitLine: { lineStyle: { color: '#1d3350' } } },
      series: [
        { name: t('sup.withinDeadline'), type: 'bar', stack: 'k', barMaxWidth: 28, itemStyle: { color: '#22b8cf' }, data: kinds.map((k) => of(k).open - of(k).overdue) },
        { name: t('sup.overdue'), type: 'bar', stack: 'k', barMaxWidth: 28, itemStyle: { color: '#f05252' }, data: kinds.map((k) => of(k).overdue) },
      ],
    },
    { notMerge: true },
  );
  el.dataset.kinds = String(kinds.length);
  el.dataset.ready = 'true';
}

/** The streets with the most overdue requests, worst on top. */
function renderStreets(p: Picture): void {
  const el = byId('street-chart');
  el.setAttribute('aria-label', t('sup.worstStreets'));
  const worst = [...p.worstStreets].reverse();
  (streetChart ??= chartIn(el)).setOption(
    {
      backgroundColor: 'transparent',
      animation: false,
      grid: { left: 8, right: 24, top: 12, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, ...tooltipStyle },
      xAxis: { type: 'value', minInterval: 1, axisLabel: axisText, splitLine: { lineStyle: { color: '#1d3350' } } },
      yAxis: { type: 'category', data: worst.map((s) => s.name ?? t('sup.noStreet')), axisLabel: { ...axisText, width: 110, overflow: 'truncate' } },
      series: [{ name: t('sup.overdue'), type: 'bar', barMaxWidth: 18, itemStyle: { color: '#f05252' }, label: { show: true, position: 'right', color: '#e6edf7' }, data: worst.map((s) => s.overdue) }],
    },
    { notMerge: true },
  );
  el.dataset.streets = String(p.worstStreets.length);
  el.dataset.worst = p.worstStreets[0] ? String(p.worstStreets[0].streetId) : '';
  el.dataset.ready = 'true';
}

function renderCoverage(c: Coverage): void {
  byId('coverage-asof').textContent = t('sup.coverageAsOf', { day: c.asOf });
  for (const b of c.bands) byId(`band-${b.band}`).textContent = t('sup.band', { label: b.label });
  const body = byId('coverage-body');
  body.dataset.count = String(c.areas.length);
  if (!c.areas.length) return body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 7 }, t('list.empty'))));
  const percentCell = (v: number | null) =>
    h('td', { class: 'pct', 'data-value': v ?? '' }, h('span', { class: 'q-bar', 'aria-hidden': 'true' }, h('span', { class: v !== null && v < 50 ? 'full' : '', style: `width:${Math.round(v ?? 0)}%` })), ` ${v === null ? '—' : `${v}%`}`);
  const cells = (f: BandFigures) => [h('td', { class: 'num' }, formatNumber(f.persons)), percentCell(f.fullyPercent), percentCell(f.boostedPercent)];
  const line = (id: string, name: string, bands: Record<string, BandFigures>, cls = '') => h('tr', { 'data-area': id, class: cls }, h('td', {}, name), ...cells(bands.elderly), ...cells(bands.oldest));
  body.replaceChildren(...c.areas.map((a) => line(String(a.id ?? ''), a.name ?? t('sup.noStreet'), a.bands)), line('total', t('sup.total'), c.total, 'total'));
}

// --- words -------------------------------------------------------------------------------------------------

/** Minutes as hours:minutes (e.g. 2:05; 30:40 past a day). */
function hoursMinutes(minutes: number): string {
  const m = Math.max(0, Math.round(minutes));
  return `${Math.floor(m / 60)}:${String(m % 60).padStart(2, '0')}`;
}

function kindLabel(k: string): string {
  return tMaybe(`sup.kind.${k}`, k);
}

function statusLabel(s: string): string {
  return tMaybe(`sup.status.${s}`, s);
}
