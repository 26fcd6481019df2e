// A resident's phone page: their status on top (my-status.ts: colour, reasons, appeals), then their own tests
// (newest first) with the time of their last negative result and whether a positive pool holds them for a
// retest, and a form to report an antigen self-test. The server
// decides what they may see (only themself) and what a report sets off (a positive one: a PCR task for
// their street); the page says what the server answered.
import { api, ApiError, problemWords } from './api.ts';
import { byId, h } from './dom.ts';
import { t, when as whenIn, type Key } from './i18n.ts';
import { boot, showError } from './shell.ts';
import { mountMyStatus } from './my-status.ts';

// The answers of GET /api/v1/persons/{id}/tests and POST /api/v1/antigen-reports (src/testing/routes.ts).
interface Test {
  barcode: string;
  sampledAt: string;
  pooled: boolean;
  verdict: 'positive' | 'negative' | 'invalid' | null;
  ctOrf1ab: number | null;
  ctN: number | null;
  resultedAt: string | null;
}
interface History {
  tests: Test[];
  lastNegativeAt: string | null;
  lastSampledAt: string | null;
  underPoolControl: boolean;
}
interface AntigenReport {
  id: number;
  pcrTask: boolean;
}

const message = byId('message');
const form = byId<HTMLFormElement>('antigen-form');
const testedAt = byId<HTMLInputElement>('tested-at');
const submit = byId<HTMLButtonElement>('antigen-submit');
const answer = byId('antigen-result');

const user = await boot({ page: 'resident' });
document.title = `${t('nav.resident')} · ${t('app.name')}`;

// The platform clock, not the phone's: a demo or a replay may run in 2022.
const clock = await api<{ now: string }>('/api/v1/clock').catch(() => ({ now: new Date().toISOString() }));
const skew = new Date(clock.now).getTime() - Date.now();
const platformNow = () => new Date(Date.now() + skew);
resetTime();

const personId = user.personId ?? null;
if (!personId) {
  // Only a resident's account belongs to a person; anyone else has no tests of their own here.
  showError(message, new Error(t('resident.noPerson')));
  form.querySelectorAll<HTMLInputElement | HTMLButtonElement>('input, button').forEach((el) => (el.disabled = true));
  byId('tests').setAttribute('aria-busy', 'false');
  byId('my-status').hidden = true;
} else {
  mountMyStatus(personId, () => location.reload());
  void loadHistory(personId);
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void report();
});

async function loadHistory(id: number): Promise<void> {
  const list = byId('tests');
  list.setAttribute('aria-busy', 'true');
  try {
    render(await api<History>(`/api/v1/persons/${id}/tests`));
  } catch (e) {
    showError(message, e);
    if (e instanceof ApiError && e.status === 401) location.reload();
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
}

function render(hist: History): void {
  const last = byId('last-negative');
  last.textContent = hist.lastNegativeAt ? when(hist.lastNegativeAt) : t('resident.noNegative');
  last.dataset.at = hist.lastNegativeAt ?? '';
  last.classList.toggle('muted', !hist.lastNegativeAt);

  const pool = byId('pool-control');
  pool.dataset.state = hist.underPoolControl ? 'pending' : 'clear';
  pool.className = `status-line pool-control ${hist.underPoolControl ? 'pending' : 'clear'}`;
  pool.replaceChildren(h('strong', {}, t(hist.underPoolControl ? 'resident.poolPending' : 'resident.poolClear')));
  if (hist.underPoolControl) pool.append(h('div', { class: 'small' }, t('resident.poolPendingHint')));

  byId('test-count').textContent = t('resident.testCount', { n: hist.tests.length });
  const list = byId('tests');
  list.dataset.count = String(hist.tests.length);
  if (!hist.tests.length) return list.replaceChildren(h('li', { class: 'empty' }, t('resident.noTests')));
  list.replaceChildren(...hist.tests.map(testItem));
}

function testItem(x: Test): HTMLElement {
  const verdict = x.verdict ?? 'pending';
  const ct = [x.ctOrf1ab !== null ? `ORF1ab ${x.ctOrf1ab}` : null, x.ctN !== null ? `N ${x.ctN}` : null].filter(Boolean).join(' · ');
  return h(
    'li',
    { class: `test ${verdict}`, 'data-barcode': x.barcode, 'data-verdict': verdict },
    h(
      'div',
      { class: 'test-main' },
      h('span', { class: 'test-when' }, when(x.sampledAt)),
      h('span', { class: `verdict ${verdict}` }, t(x.verdict ? (`verdict.${x.verdict}` as Key) : 'resident.pending')),
    ),
    h(
      'div',
      { class: 'test-sub muted small' },
      h('span', { class: 'tag' }, t(x.pooled ? 'resident.pooled' : 'resident.single')),
      h('span', { class: 'mono' }, x.barcode),
      ct ? h('span', { class: 'test-ct' }, `Ct ${ct}`) : null,
      x.resultedAt ? h('span', {}, t('resident.resultedAt', { time: when(x.resultedAt) })) : null,
    ),
  );
}

async function report(): Promise<void> {
  const data = new FormData(form);
  const result = String(data.get('result') ?? '');
  const symptoms = data.get('symptoms') === 'yes';
  const at = testedAt.value ? new Date(testedAt.value) : null;
  answer.hidden = true;
  if (result !== 'positive' && result !== 'negative') return refuse(t('resident.pickResult'));
  if (!at || Number.isNaN(at.getTime())) return refuse(t('resident.pickTime'));
  // A few minutes of slack for a phone whose clock runs ahead.
  if (at.getTime() > platformNow().getTime() + 5 * 60_000) return refuse(t('resident.futureTime'));
  submit.disabled = true;
  try {
    const r = await api<AntigenReport>('/api/v1/antigen-reports', { method: 'POST', body: { result, testedAt: at.toISOString(), symptoms } });
    showSent(r, result, at, symptoms);
    form.reset();
    resetTime();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) location.reload();
    refuse(e instanceof ApiError ? problemWords(e) : e instanceof Error ? e.message : String(e));
  } finally {
    submit.disabled = false;
  }
}

function showSent(r: AntigenReport, result: 'positive' | 'negative', at: Date, symptoms: boolean): void {
  answer.className = `feedback ok antigen-answer ${result}`;
  answer.dataset.kind = 'ok';
  answer.dataset.result = result;
  answer.dataset.reportId = String(r.id);
  answer.dataset.pcrTask = String(r.pcrTask);
  const next: Key = result === 'negative' ? 'resident.sentNegative' : r.pcrTask ? 'resident.sentPcrTask' : 'resident.sentNoTask';
  answer.replaceChildren(
    h('div', { class: 'feedback-main' }, t('resident.sent', { id: r.id })),
    h('div', { class: 'feedback-detail' }, [t('resident.antigenResult', { result: t(`verdict.${result}`) }), when(at.toISOString()), t(symptoms ? 'resident.withSymptoms' : 'resident.noSymptoms')].join(' · ')),
    h('div', { class: result === 'positive' ? 'feedback-note' : 'feedback-detail' }, t(next)),
  );
  answer.hidden = false;
  answer.scrollIntoView({ block: 'nearest' });
}

function refuse(detail: string): void {
  answer.className = 'feedback error antigen-answer';
  answer.dataset.kind = 'error';
  answer.replaceChildren(h('strong', { class: 'feedback-main' }, t('resident.notSent')), h('div', { class: 'feedback-detail' }, detail));
  answer.hidden = false;
  answer.scrollIntoView({ block: 'nearest' });
}

/** The platform's now as a datetime-local value (local time, to the minute). */
function resetTime(): void {
  const d = platformNow();
  testedAt.value = new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** A resident's own records may reach back more than a year: their times carry it. */
const when = (iso: string) => whenIn(iso, { year: true });
