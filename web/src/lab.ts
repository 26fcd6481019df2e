// A lab's page: upload a results CSV (all lines or none: a bad line is named with its number), the lab's load
// against its daily capacity with turnaround, and second results that disagree with the first (conflicts).
import { api, ApiError, problemWords, sentence, type Page } from './api.ts';
import { append, byId, h } from './dom.ts';
import { currentLang, formatNumber, t, tMaybe, type Key } from './i18n.ts';
import { boot, showError } from './shell.ts';
import type { UploadReport } from '../../src/testing/results.ts';
import type { Rejection } from '../../src/testing/rejections.ts';

// The server's own shape of an upload's answer (a type only: nothing of the server is bundled).
type Report = UploadReport;
interface Load {
  labId: number;
  dailyCapacity: number;
  receivedToday: number;
  resultedToday: number;
  pending: number;
  turnaroundHours: { p50: number | null; p90: number | null };
}
interface Conflict {
  id: number;
  barcode: string;
  labId: number;
  result: string;
  ctOrf1ab: number | null;
  ctN: number | null;
  resultedAt: string;
  appliedResult: string | null;
  appliedCtOrf1ab: number | null;
  appliedCtN: number | null;
}
interface Lab {
  id: number;
  code: string;
  name: string;
  dailyCapacity: number;
}

const message = byId('message');
const report = byId('report');
const fileIn = byId<HTMLInputElement>('file');
const submit = byId<HTMLButtonElement>('upload-submit');
const labSel = byId<HTMLSelectElement>('lab');

const user = await boot({ page: 'lab' });
document.title = `${t('nav.lab')} · ${t('app.name')}`;

// A lab user acts for its own lab; command users choose one (kept for the next visit).
const LAB_KEY = 'cordon.lab';
let labId: number | null = user.role === 'lab' ? (user.labId ?? null) : null;

try {
  if (user.role === 'lab') {
    if (labId) {
      const lab = await api<Lab>(`/api/v1/labs/${labId}`);
      byId('lab-name').textContent = `${lab.name} · ${lab.code}`;
    }
  } else {
    const labs = (await api<Page<Lab>>('/api/v1/labs?limit=1000')).items;
    const stored = Number(localStorage.getItem(LAB_KEY));
    labId = labs.find((l) => l.id === stored)?.id ?? labs[0]?.id ?? null;
    labSel.replaceChildren(...labs.map((l) => h('option', { value: l.id, selected: l.id === labId }, `${l.name} · ${l.code}`)));
    byId('lab-pick').hidden = false;
    labSel.addEventListener('change', () => {
      labId = Number(labSel.value);
      localStorage.setItem(LAB_KEY, String(labId));
      report.replaceChildren();
      void refresh();
    });
  }
} catch (e) {
  showError(message, e);
}
if (!labId) showError(message, new Error(t('lab.noLab')));

fileIn.addEventListener('change', () => {
  const f = fileIn.files?.[0];
  byId('file-name').textContent = f ? `${f.name} · ${formatBytes(f.size)}` : t('lab.chooseFile');
  submit.disabled = !f || !labId;
  report.replaceChildren();
});
byId<HTMLFormElement>('upload').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void upload();
});
byId('load-refresh').addEventListener('click', () => void refresh());

void refresh();

async function upload(): Promise<void> {
  const f = fileIn.files?.[0];
  if (!f || !labId) return;
  submit.disabled = true;
  submit.textContent = t('lab.sending');
  report.dataset.state = 'busy';
  report.replaceChildren(h('p', { class: 'muted' }, t('lab.sending')));
  try {
    const r = await api<Report>(`/api/v1/labs/${labId}/results`, { method: 'POST', text: { type: 'text/csv', data: await f.text() } });
    renderReport(r, f.name);
    void refresh();
  } catch (e) {
    renderRejected(e, f.name);
  } finally {
    submit.disabled = false;
    submit.textContent = t('lab.send');
  }
}

function renderReport(r: Report, name: string): void {
  report.dataset.state = 'accepted';
  const tile = (id: string, key: Key, value: number, cls = '') => h('div', { class: `stat ${cls}`, id, 'data-value': value }, h('div', { class: 'stat-value' }, formatNumber(value)), h('div', { class: 'stat-label' }, t(key)));
  report.replaceChildren(
    h('div', { class: 'notice' }, t('lab.accepted', { name, n: formatNumber(r.rows) })),
    h(
      'div',
      { class: 'tiles small-tiles' },
      tile('r-applied', 'lab.applied', r.applied),
      tile('r-duplicates', 'lab.duplicates', r.duplicates),
      tile('r-conflicts', 'lab.conflictCount', r.conflicts, r.conflicts ? 'warn' : ''),
      tile('r-positives', 'lab.positives', r.positives, r.positives ? 'danger' : ''),
      tile('r-controls', 'lab.poolControls', r.poolControls, r.poolControls ? 'warn' : ''),
      tile('r-cleared', 'lab.cleared', r.cleared),
    ),
  );
}

/** A refused upload: nothing was written; each bad line with its number and the reason. */
function renderRejected(e: unknown, name: string): void {
  report.dataset.state = 'rejected';
  const rejected = e instanceof ApiError && Array.isArray(e.problem.rejected) ? (e.problem.rejected as Rejection[]) : [];
  const detail = e instanceof ApiError ? problemWords(e) : e instanceof Error ? e.message : String(e);
  report.replaceChildren();
  append(
    report,
    h('div', { class: 'alert column' }, h('strong', {}, t('lab.rejected', { name })), h('span', {}, rejected.length ? t('lab.rejectedCount', { n: formatNumber(rejected.length) }) : detail)),
    rejected.length
      ? h(
          'div',
          { class: 'table-wrap flat' },
          h(
            'table',
            { class: 'grid compact', id: 'rejected' },
            h('thead', {}, h('tr', {}, h('th', { class: 'num' }, t('lab.line')), h('th', {}, t('lab.reason')))),
            h('tbody', {}, ...rejected.map((x) => h('tr', { 'data-line': x.line }, h('td', { class: 'num mono' }, x.line), h('td', { class: 'reason', title: x.reason, 'data-code': x.why?.code ?? '' }, (x.why && sentence('lab.why', x.why)) || x.reason)))),
          ),
        )
      : null,
  );
}

async function refresh(): Promise<void> {
  if (!labId) return;
  const [load, conflicts] = await Promise.allSettled([api<Load>(`/api/v1/labs/${labId}/load`), api<{ items: Conflict[] }>('/api/v1/results/conflicts')]);
  if (load.status === 'fulfilled') renderLoad(load.value);
  else showError(message, load.reason);
  if (conflicts.status === 'fulfilled') renderConflicts(conflicts.value.items.filter((c) => c.labId === labId));
  else showError(message, conflicts.reason);
}

function renderLoad(l: Load): void {
  const share = l.dailyCapacity ? l.receivedToday / l.dailyCapacity : 0;
  const hours = (v: number | null) => (v === null ? '—' : t('lab.hours', { n: v }));
  const row = (key: Key, value: string, id: string) => h('div', { class: 'kv', id }, h('span', { class: 'muted' }, t(key)), h('b', {}, value));
  byId('load').replaceChildren(
    h(
      'div',
      { class: 'meter-head' },
      h('span', {}, t('lab.receivedOfCapacity', { n: formatNumber(l.receivedToday), cap: formatNumber(l.dailyCapacity) })),
      h('b', { class: share > 1 ? 'error' : '' }, `${Math.round(share * 100)}%`),
    ),
    h('div', { class: 'meter', role: 'meter', 'aria-valuenow': Math.round(share * 100), 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('div', { class: share > 1 ? 'meter-fill over' : share > 0.8 ? 'meter-fill high' : 'meter-fill', style: `width:${Math.min(100, share * 100)}%` })),
    h('div', { class: 'kvs' }, row('lab.resultedToday', formatNumber(l.resultedToday), 'load-resulted'), row('lab.pending', formatNumber(l.pending), 'load-pending'), row('lab.p50', hours(l.turnaroundHours.p50), 'load-p50'), row('lab.p90', hours(l.turnaroundHours.p90), 'load-p90')),
  );
}

function renderConflicts(items: Conflict[]): void {
  byId('conflict-count').textContent = t('lab.conflictTotal', { n: formatNumber(items.length) });
  const table = byId('conflicts');
  table.dataset.rows = String(items.length);
  const ct = (a: number | null, b: number | null) => (a === null && b === null ? '' : ` (${a ?? '—'} / ${b ?? '—'})`);
  const verdict = (v: string | null) => (v ? tMaybe(`verdict.${v}`, v) : '—');
  table.replaceChildren(
    h('thead', {}, h('tr', {}, h('th', {}, t('lab.barcode')), h('th', {}, t('lab.appliedResult')), h('th', {}, t('lab.newResult')), h('th', {}, t('lab.resultedAt')))),
    h(
      'tbody',
      {},
      ...(items.length
        ? items.map((c) =>
            h(
              'tr',
              { 'data-id': c.id },
              h('td', { class: 'mono' }, c.barcode),
              h('td', { class: c.appliedResult === 'positive' ? 'error' : '' }, verdict(c.appliedResult) + ct(c.appliedCtOrf1ab, c.appliedCtN)),
              h('td', { class: c.result === 'positive' ? 'error' : '' }, verdict(c.result) + ct(c.ctOrf1ab, c.ctN)),
              h('td', {}, new Date(c.resultedAt).toLocaleString(currentLang(), { dateStyle: 'short', timeStyle: 'short' })),
            ),
          )
        : [h('tr', { class: 'empty' }, h('td', { colspan: 4 }, t('lab.noConflicts')))]),
    ),
  );
}

function formatBytes(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}
