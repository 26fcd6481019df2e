// The command page for status and entrances (city and district command): manual overrides that wait for a
// second person (approve, or refuse with a reason; a request for a person), the appeal queue oldest first
// (answered upheld or rejected, with words the person will read), and the use of venue codes and sentinel
// devices per district. The server decides who may do what (it refuses the requester their own approval);
// the page shows its answers, problems included.
import { api, ApiError, problemLine, problemWords } from './api.ts';
import { byId, h } from './dom.ts';
import { currentLang, formatNumber, t, tMaybe, type Key, when } from './i18n.ts';
import { actorName, boot, showError } from './shell.ts';
import type { Colour, Reason } from '../../src/status/rules.ts';

// GET /api/v1/status/overrides, /api/v1/status/appeals, /api/v1/checkpoints/usage (src/status/routes.ts).
interface Override {
  id: number;
  personId: number;
  colour: Colour;
  reason: string;
  requestedBy: string;
  requestedAt: string;
  expiresAt: string;
  approvedBy: string | null;
  approvedAt: string | null;
  refusedBy: string | null;
  refusal: string | null;
}
interface QueuedAppeal {
  id: number;
  personId: number;
  text: string;
  colour: Colour;
  reasons: Reason[];
  filedAt: string;
  state: 'open' | 'upheld' | 'rejected';
  answer: string | null;
  answeredAt: string | null;
  waitedHours: number | string;
}
interface DistrictUsage {
  districtId: number;
  name: string;
  venues: number;
  codesIssued: number;
  venuesScanning: number;
  scansPerVenuePerDay: number;
  stoppedScanning: number;
  sentinels: number;
}

const message = byId('message');
const user = await boot({ page: 'checkpoints' });
document.title = `${t('nav.checkpoints')} · ${t('app.name')}`;
const me = `${user.kind}:${user.id}:${user.name}`;

const overrideState = byId<HTMLSelectElement>('override-state');
const usageDays = byId<HTMLSelectElement>('usage-days');
overrideState.addEventListener('change', () => void loadOverrides());
usageDays.addEventListener('change', () => void loadUsage());

void loadOverrides();
void loadAppeals();
void loadUsage();

/** Runs a load; a problem goes to the page's message (a 401 back to sign-in). */
async function guarded(busy: HTMLElement, fn: () => Promise<void>): Promise<void> {
  busy.setAttribute('aria-busy', 'true');
  try {
    await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) location.reload();
    message.className = 'alert';
    delete message.dataset.kind;
    showError(message, e);
  } finally {
    busy.setAttribute('aria-busy', 'false');
  }
}

// --- (a) overrides -------------------------------------------------------------------------------------

async function loadOverrides(): Promise<void> {
  const list = byId('override-list');
  await guarded(list, async () => {
    const state = overrideState.value;
    const { items } = await api<{ items: Override[] }>(`/api/v1/status/overrides?state=${state}`);
    list.dataset.count = String(items.length);
    list.dataset.state = state;
    byId('override-count').textContent = t('cp.count', { n: items.length });
    list.replaceChildren(...(items.length ? items.map(overrideItem) : [h('li', { class: 'empty' }, t('cp.noOverrides'))]));
  });
}

function overrideItem(o: Override): HTMLElement {
  const mine = o.requestedBy === me;
  const problem = h('div', { class: 'row-error', role: 'alert', hidden: true });
  const refusal = h('input', { type: 'text', class: 'refusal', maxlength: 2000, placeholder: t('cp.refusalPlaceholder'), 'aria-label': t('cp.refusalPlaceholder') });
  const pending = !o.approvedAt && !o.refusal && !o.refusedBy;
  const hours = Math.round((new Date(o.expiresAt).getTime() - new Date(o.requestedAt).getTime()) / 3_600_000);

  const decide = async (action: 'approve' | 'refuse', buttons: HTMLButtonElement[]) => {
    problem.hidden = true;
    const body = action === 'refuse' ? { reason: refusal.value.trim() } : {};
    if (action === 'refuse' && body.reason!.length < 5) return say(problem, { text: t('cp.refusalTooShort') });
    buttons.forEach((b) => (b.disabled = true));
    try {
      await api(`/api/v1/status/overrides/${o.id}/${action}`, { method: 'POST', body });
      flash(t(action === 'approve' ? 'cp.approvedOk' : 'cp.refusedOk', { id: o.id }));
      await loadOverrides();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) location.reload();
      // The refusal in the reader's language where it has a code (e.g. that a second person must decide).
      say(problem, problemLine(e));
      problem.dataset.status = e instanceof ApiError ? String(e.status) : '';
      buttons.forEach((b) => (b.disabled = false));
    }
  };
  const approve = h('button', { class: 'btn primary small approve', type: 'button' }, t('cp.approve'));
  const refuse = h('button', { class: 'btn small refuse', type: 'button' }, t('cp.refuse'));
  approve.addEventListener('click', () => void decide('approve', [approve, refuse]));
  refuse.addEventListener('click', () => void decide('refuse', [approve, refuse]));

  return h(
    'li',
    { class: `cp-item ${o.colour}`, 'data-id': o.id, 'data-person': o.personId, 'data-mine': String(mine) },
    h(
      'div',
      { class: 'cp-item-head' },
      h('strong', {}, t('cp.overrideNo', { id: o.id })),
      h('span', {}, t('cp.person', { id: o.personId })),
      colourChip(o.colour),
      h('span', { class: 'muted' }, t('cp.forHours', { n: hours })),
      mine ? h('span', { class: 'tag warn' }, t('cp.yourRequest')) : null,
    ),
    h('div', { class: 'cp-text' }, o.reason),
    h('div', { class: 'muted small' }, t('cp.requested', { who: actorName(o.requestedBy), time: when(o.requestedAt) }), ' · ', t('cp.expires', { time: when(o.expiresAt) })),
    o.approvedBy ? h('div', { class: 'small row-ok' }, t('cp.approvedBy', { who: actorName(o.approvedBy), time: o.approvedAt ? when(o.approvedAt) : '' })) : null,
    o.refusedBy ? h('div', { class: 'small' }, t('cp.refusedBy', { who: actorName(o.refusedBy), reason: o.refusal ?? '' })) : null,
    pending ? h('div', { class: 'cp-actions' }, approve, refusal, refuse) : null,
    problem,
  );
}

const form = byId<HTMLFormElement>('override-form');
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void (async () => {
    const out = byId('ov-result');
    const personId = Number(byId<HTMLInputElement>('ov-person').value);
    const colour = byId<HTMLSelectElement>('ov-colour').value as Colour;
    const hours = Number(byId<HTMLInputElement>('ov-hours').value);
    const reason = byId<HTMLTextAreaElement>('ov-reason').value.trim();
    if (!Number.isInteger(personId) || personId < 1) return say(out, { text: t('cp.personMissing') });
    if (!Number.isInteger(hours) || hours < 1 || hours > 336) return say(out, { text: t('cp.hoursRange') });
    if (reason.length < 10) return say(out, { text: t('cp.reasonTooShort') });
    const submit = byId<HTMLButtonElement>('ov-submit');
    submit.disabled = true;
    try {
      const r = await api<{ id: number; state: string }>(`/api/v1/persons/${personId}/status/overrides`, { method: 'POST', body: { colour, reason, hours } });
      out.className = 'row-ok';
      out.dataset.kind = 'ok';
      out.dataset.id = String(r.id);
      out.textContent = t('cp.requestedOk', { id: r.id });
      out.title = '';
      out.hidden = false;
      byId<HTMLTextAreaElement>('ov-reason').value = '';
      if (overrideState.value !== 'pending') overrideState.value = 'pending';
      await loadOverrides();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) location.reload();
      say(out, e instanceof ApiError ? { text: problemWords(e), title: e.detail } : { text: String(e) });
    } finally {
      submit.disabled = false;
    }
  })();
});

// --- (b) appeals --------------------------------------------------------------------------------------

async function loadAppeals(): Promise<void> {
  const list = byId('appeal-queue');
  await guarded(list, async () => {
    const { items } = await api<{ items: QueuedAppeal[] }>('/api/v1/status/appeals?state=open');
    list.dataset.count = String(items.length);
    byId('appeal-count').textContent = t('cp.count', { n: items.length });
    list.replaceChildren(...(items.length ? items.map(appealItem) : [h('li', { class: 'empty' }, t('cp.noAppeals'))]));
  });
}

function appealItem(a: QueuedAppeal): HTMLElement {
  const problem = h('div', { class: 'row-error', role: 'alert', hidden: true });
  const name = `answer-${a.id}`;
  const upheld = h('input', { type: 'radio', name, value: 'upheld' });
  const rejected = h('input', { type: 'radio', name, value: 'rejected' });
  const answer = h('textarea', { class: 'answer-text', rows: 2, maxlength: 4000, placeholder: t('cp.answerPlaceholder'), 'aria-label': t('cp.answerPlaceholder') });
  const send = h('button', { class: 'btn primary small answer', type: 'submit' }, t('cp.answerSend'));
  const override = h('button', { class: 'btn ghost small', type: 'button' }, t('cp.overrideFor'));
  override.addEventListener('click', () => {
    byId<HTMLInputElement>('ov-person').value = String(a.personId);
    byId('override-form').scrollIntoView({ block: 'center' });
    byId<HTMLTextAreaElement>('ov-reason').focus();
  });
  const f = h(
    'form',
    { class: 'cp-answer', novalidate: true },
    h('div', { class: 'cp-actions' }, h('label', { class: 'check' }, upheld, t('appeal.upheld')), h('label', { class: 'check' }, rejected, t('appeal.rejected'))),
    answer,
    h('div', { class: 'cp-actions' }, send, override),
  );
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void (async () => {
      problem.hidden = true;
      const state = upheld.checked ? 'upheld' : rejected.checked ? 'rejected' : null;
      const words = answer.value.trim();
      if (!state) return say(problem, { text: t('cp.pickAnswer') });
      if (words.length < 5) return say(problem, { text: t('cp.answerTooShort') });
      send.disabled = true;
      try {
        await api(`/api/v1/status/appeals/${a.id}/answer`, { method: 'POST', body: { state, answer: words } });
        flash(t('cp.answeredOk', { id: a.id, state: t(`appeal.${state}`) }));
        await loadAppeals();
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) location.reload();
        say(problem, problemLine(e));
        send.disabled = false;
      }
    })();
  });
  const reasons = (a.reasons ?? []).filter((r) => !r.overridden);
  return h(
    'li',
    { class: `cp-item ${a.colour}`, 'data-id': a.id, 'data-person': a.personId },
    h(
      'div',
      { class: 'cp-item-head' },
      h('strong', {}, t('cp.appealNo', { id: a.id })),
      h('span', {}, t('cp.person', { id: a.personId })),
      colourChip(a.colour),
      // A number on PGlite; PostgreSQL's numeric may arrive as a string.
      h('span', { class: 'waited', 'data-hours': Number(a.waitedHours) }, t('cp.waited', { n: Math.floor(Number(a.waitedHours)) })),
    ),
    h('div', { class: 'muted small' }, t('cp.filed', { time: when(a.filedAt) })),
    h('div', { class: 'cp-text' }, a.text),
    reasons.length ? h('div', { class: 'small' }, `${t('cp.reasonsThen')}: `, reasons.map((r) => tMaybe(`reason.${r.code}`, r.text)).join(currentLang() === 'en' ? '; ' : '；')) : null,
    f,
    problem,
  );
}

// --- (c) use of venue codes and sentinels ---------------------------------------------------------------

async function loadUsage(): Promise<void> {
  const table = byId('usage-table');
  await guarded(table, async () => {
    const r = await api<{ days: number; districts: DistrictUsage[] }>(`/api/v1/checkpoints/usage?days=${usageDays.value}`);
    const body = byId('usage-body');
    body.dataset.count = String(r.districts.length);
    if (!r.districts.length) return body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 7 }, t('list.empty'))));
    const sum = (k: keyof DistrictUsage) => r.districts.reduce((s, d) => s + Number(d[k]), 0);
    const scanning = sum('venuesScanning');
    const total: DistrictUsage = {
      districtId: 0,
      name: t('cp.total'),
      venues: sum('venues'),
      codesIssued: sum('codesIssued'),
      venuesScanning: scanning,
      scansPerVenuePerDay: scanning ? Math.round((r.districts.reduce((s, d) => s + d.scansPerVenuePerDay * d.venuesScanning, 0) / scanning) * 10) / 10 : 0,
      stoppedScanning: sum('stoppedScanning'),
      sentinels: sum('sentinels'),
    };
    body.replaceChildren(...r.districts.map((d) => usageRow(d, false)), ...(r.districts.length > 1 ? [usageRow(total, true)] : []));
  });
}

function usageRow(d: DistrictUsage, total: boolean): HTMLElement {
  const share = d.venues ? d.venuesScanning / d.venues : 0;
  const num = (n: number) => h('td', { class: 'num' }, formatNumber(n));
  return h(
    'tr',
    { 'data-district': total ? 'total' : d.districtId, class: total ? 'total' : '' },
    h('td', {}, total ? h('strong', {}, d.name) : d.name),
    num(d.venues),
    h('td', { class: 'num' }, formatNumber(d.codesIssued)),
    h(
      'td',
      { class: 'num', title: `${Math.round(share * 100)}%` },
      formatNumber(d.venuesScanning),
      h('span', { class: 'usage-bar', 'aria-hidden': 'true' }, h('span', { style: `width: ${Math.round(share * 100)}%` })),
    ),
    num(d.scansPerVenuePerDay),
    h('td', { class: d.stoppedScanning > 0 ? 'num warn' : 'num' }, formatNumber(d.stoppedScanning)),
    num(d.sentinels),
  );
}

// --- small things ---------------------------------------------------------------------------------------

function colourChip(c: Colour): HTMLElement {
  return h('span', { class: `colour-chip ${c}`, 'data-colour': c }, h('span', { class: `dot ${c}`, 'aria-hidden': 'true' }), t(`colour.${c}` as Key));
}

/** A line in red where the action was taken; a refusal's (problemLine) carries the server's own words in its title. */
function say(target: HTMLElement, { text, title = '' }: { text: string; title?: string }): void {
  target.className = 'row-error';
  target.dataset.kind = 'error';
  target.textContent = text;
  target.title = title;
  target.hidden = false;
}

/** A short note at the top of the page that a decision went through. */
function flash(text: string): void {
  message.className = 'notice';
  message.dataset.kind = 'ok';
  message.textContent = text;
  message.hidden = false;
}

