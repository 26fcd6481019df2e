// The epidemiologist's page for one case (?case=<person id>): the interview (onset, sampling, isolation,
// places and persons named) saved with PUT, and beside it the contacts the server finds from it (household,
// building, venue scans, persons named, and their own contacts), close first, each with every exposure and
// the evidence in words. Candidates found automatically are confirmed or dismissed here; orders are issued
// for the confirmed ones. The server decides everything (src/tracing/routes.ts); the page shows its answers.
import { api, ApiError, problemLine } from './api.ts';
import { byId, h, instant } from './dom.ts';
import { currentLang, formatNumber, t, tMaybe, type Key, when } from './i18n.ts';
import { boot, showError } from './shell.ts';

// GET /api/v1/cases/{personId}/contacts (src/tracing/routes.ts).
type Level = 'close' | 'secondary';
type State = 'candidate' | 'confirmed' | 'dismissed';
interface Exposure {
  id: number;
  kind: string;
  level: Level;
  sourcePersonId: number;
  at: string;
  evidence: Record<string, unknown> | null;
  rule: string;
  state: State;
}
interface Contact {
  personId: number;
  name: string;
  level: Level;
  firstExposureAt: string;
  lastExposureAt: string;
  exposures: Exposure[] | null;
}
interface Person {
  id: number;
  name: string;
  personalCode: string;
}

/** A problem with what was typed, found before anything is sent. */
class FormError extends Error {}

const message = byId('message');
await boot({ page: 'interview' });
document.title = `${t('nav.interview')} · ${t('app.name')}`;

const caseInput = byId<HTMLInputElement>('case-id');
const caseLine = byId('case-line');
const form = byId<HTMLFormElement>('interview-form');
const placesList = byId('iv-places');
const personsList = byId('iv-persons');
const traceButton = byId<HTMLButtonElement>('trace');
const ordersButton = byId<HTMLButtonElement>('orders');
const traceResult = byId('trace-result');
const ordersResult = byId('orders-result');
const contactList = byId('contact-list');
let caseId: number | null = null;

byId('iv-add-place').addEventListener('click', () => placesList.append(placeRow()));
byId('iv-add-person').addEventListener('click', () => personsList.append(personRow()));
byId<HTMLFormElement>('case-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void openCase(caseInput.value);
});
form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void save();
});
traceButton.addEventListener('click', () => void trace());
ordersButton.addEventListener('click', () => void issueOrders());

resetForm();
setEnabled(false);
const fromLink = new URLSearchParams(location.search).get('case');
if (fromLink) {
  caseInput.value = fromLink;
  void openCase(fromLink);
} else renderEmpty(t('iv.noCase'));

// --- the case -------------------------------------------------------------------------------------------

async function openCase(raw: string): Promise<void> {
  hideMessage();
  const id = Number(raw);
  if (!Number.isInteger(id) || id < 1) return fail(message, t('iv.caseMissing'));
  caseId = null;
  setEnabled(false);
  resetForm();
  for (const el of [traceResult, ordersResult, byId('iv-result')]) el.hidden = true;
  caseLine.replaceChildren(t('list.loading'));
  try {
    const person = await api<Person>(`/api/v1/persons/${id}`);
    caseId = id;
    history.replaceState(null, '', `?case=${id}`);
    caseLine.className = 'case-line';
    caseLine.dataset.case = String(id);
    caseLine.replaceChildren(h('strong', {}, person.name), h('span', { class: 'muted' }, t('iv.caseLine', { id, code: person.personalCode })));
    setEnabled(true);
    await loadContacts();
  } catch (e) {
    problem(e);
    caseLine.className = 'case-line muted';
    caseLine.textContent = t('iv.pickCase');
    renderEmpty(t('iv.noCase'));
  }
}

function setEnabled(on: boolean): void {
  traceButton.disabled = !on;
  ordersButton.disabled = !on;
  byId<HTMLButtonElement>('iv-save').disabled = !on;
}

// --- the interview form ---------------------------------------------------------------------------------

function resetForm(): void {
  form.reset();
  placesList.replaceChildren(placeRow());
  personsList.replaceChildren(personRow());
}

function field(label: string, input: HTMLInputElement): HTMLElement {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

function removeButton(): HTMLButtonElement {
  const b = h('button', { class: 'btn ghost small remove', type: 'button', title: t('iv.remove'), 'aria-label': t('iv.remove') }, '×');
  b.addEventListener('click', () => b.closest('li')?.remove());
  return b;
}

function placeRow(): HTMLElement {
  return h(
    'li',
    { class: 'iv-row place' },
    field(t('iv.place'), h('input', { class: 'pl-name', maxlength: 200 })),
    field(t('iv.venueId'), h('input', { class: 'pl-venue', type: 'number', min: 1, inputmode: 'numeric' })),
    field(t('iv.from'), h('input', { class: 'pl-from', type: 'datetime-local' })),
    field(t('iv.to'), h('input', { class: 'pl-to', type: 'datetime-local' })),
    removeButton(),
  );
}

function personRow(): HTMLElement {
  return h(
    'li',
    { class: 'iv-row person' },
    field(t('iv.personName'), h('input', { class: 'ps-name', maxlength: 100 })),
    field(t('iv.personId'), h('input', { class: 'ps-id', type: 'number', min: 1, inputmode: 'numeric' })),
    field(t('iv.relation'), h('input', { class: 'ps-relation', maxlength: 100 })),
    field(t('iv.lastContact'), h('input', { class: 'ps-at', type: 'datetime-local' })),
    removeButton(),
  );
}

/** An optional id field: undefined when empty, else a positive integer (or a FormError naming the field). */
function optionalId(input: HTMLInputElement, label: string): number | undefined {
  const v = input.value.trim();
  if (!v) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new FormError(t('iv.badId', { field: label }));
  return n;
}

function readForm(): Record<string, unknown> {
  const val = (sel: string, root: ParentNode = form) => (root.querySelector(sel) as HTMLInputElement).value.trim();
  const places = [...placesList.children].flatMap((li, i) => {
    const name = val('.pl-name', li);
    const from = instant(val('.pl-from', li));
    const to = instant(val('.pl-to', li));
    const venueInput = li.querySelector('.pl-venue') as HTMLInputElement;
    if (!name && !from && !to && !venueInput.value.trim()) return [];
    if (!name || !from || !to) throw new FormError(t('iv.placeIncomplete', { n: i + 1 }));
    const venueId = optionalId(venueInput, t('iv.venueId'));
    return [{ place: name, from, to, ...(venueId ? { venueId } : {}) }];
  });
  const persons = [...personsList.children].flatMap((li, i) => {
    const name = val('.ps-name', li);
    const at = instant(val('.ps-at', li));
    const relation = val('.ps-relation', li);
    const idInput = li.querySelector('.ps-id') as HTMLInputElement;
    if (!name && !at && !relation && !idInput.value.trim()) return [];
    if (!name || !at) throw new FormError(t('iv.personIncomplete', { n: i + 1 }));
    const personId = optionalId(idInput, t('iv.personId'));
    return [{ name, lastContactAt: at, ...(personId ? { personId } : {}), ...(relation ? { relation } : {}) }];
  });
  const body: Record<string, unknown> = { symptomatic: byId<HTMLInputElement>('iv-symptomatic').checked, places, persons };
  // Empty times are left out: the server takes them from the positive result (and says when it cannot).
  const onsetAt = instant(val('#iv-onset'));
  const sampledAt = instant(val('#iv-sampled'));
  const isolatedAt = instant(val('#iv-isolated'));
  if (onsetAt) body.onsetAt = onsetAt;
  if (sampledAt) body.sampledAt = sampledAt;
  if (isolatedAt) body.isolatedAt = isolatedAt;
  const notes = byId<HTMLTextAreaElement>('iv-notes').value.trim();
  if (notes) body.notes = notes;
  return body;
}

async function save(): Promise<void> {
  const out = byId('iv-result');
  out.hidden = true;
  if (caseId === null) return;
  let body: Record<string, unknown>;
  try {
    body = readForm();
  } catch (e) {
    if (e instanceof FormError) return fail(out, e.message);
    throw e;
  }
  const button = byId<HTMLButtonElement>('iv-save');
  button.disabled = true;
  try {
    await api(`/api/v1/cases/${caseId}/interview`, { method: 'PUT', body });
    ok(out, t('iv.saved', { places: (body.places as unknown[]).length, persons: (body.persons as unknown[]).length }));
  } catch (e) {
    answerProblem(out, e);
  } finally {
    button.disabled = false;
  }
}

// --- contacts -------------------------------------------------------------------------------------------

async function trace(): Promise<void> {
  if (caseId === null) return;
  traceResult.hidden = true;
  traceButton.disabled = true;
  try {
    const r = await api<{ close: number; secondary: number; exposures: number }>(`/api/v1/cases/${caseId}/trace`, { method: 'POST', body: {} });
    ok(traceResult, t('iv.traced', { close: formatNumber(r.close), secondary: formatNumber(r.secondary), exposures: formatNumber(r.exposures) }));
    Object.assign(traceResult.dataset, { close: String(r.close), secondary: String(r.secondary), exposures: String(r.exposures) });
    await loadContacts();
  } catch (e) {
    answerProblem(traceResult, e);
  } finally {
    traceButton.disabled = caseId === null;
  }
}

async function issueOrders(): Promise<void> {
  if (caseId === null) return;
  ordersResult.hidden = true;
  ordersButton.disabled = true;
  try {
    const r = await api<{ issued: number; upgraded: number }>(`/api/v1/cases/${caseId}/orders`, { method: 'POST', body: {} });
    ok(ordersResult, t('iv.ordersDone', { issued: formatNumber(r.issued), upgraded: formatNumber(r.upgraded) }));
    Object.assign(ordersResult.dataset, { issued: String(r.issued), upgraded: String(r.upgraded) });
  } catch (e) {
    answerProblem(ordersResult, e);
  } finally {
    ordersButton.disabled = caseId === null;
  }
}

async function loadContacts(): Promise<void> {
  if (caseId === null) return;
  const id = caseId;
  contactList.setAttribute('aria-busy', 'true');
  try {
    const { items } = await api<{ items: Contact[] }>(`/api/v1/cases/${id}/contacts`);
    if (id !== caseId) return;
    renderContacts(items);
  } catch (e) {
    problem(e);
  } finally {
    contactList.setAttribute('aria-busy', 'false');
  }
}

function renderEmpty(text: string): void {
  contactList.dataset.count = '0';
  byId('contact-counts').textContent = '';
  contactList.replaceChildren(h('li', { class: 'empty muted' }, text));
}

function renderContacts(items: Contact[]): void {
  if (!items.length) return renderEmpty(t('iv.noContacts'));
  const close = items.filter((c) => c.level === 'close');
  const secondary = items.filter((c) => c.level !== 'close');
  const candidates = items.reduce((n, c) => n + (c.exposures ?? []).filter((e) => e.state === 'candidate').length, 0);
  contactList.dataset.count = String(items.length);
  contactList.dataset.case = String(caseId);
  byId('contact-counts').textContent = t('iv.counts', { close: formatNumber(close.length), secondary: formatNumber(secondary.length), candidates: formatNumber(candidates) });
  contactList.replaceChildren(
    ...(close.length ? [h('li', { class: 'group' }, `${t('iv.level.close')} · ${formatNumber(close.length)}`), ...close.map(contactItem)] : []),
    ...(secondary.length ? [h('li', { class: 'group' }, `${t('iv.level.secondary')} · ${formatNumber(secondary.length)}`), ...secondary.map(contactItem)] : []),
  );
}

function contactItem(c: Contact): HTMLElement {
  return h(
    'li',
    { class: `contact ${c.level}`, 'data-person': c.personId, 'data-level': c.level },
    h(
      'div',
      { class: 'contact-head' },
      h('strong', { class: 'contact-name' }, c.name),
      h('span', { class: 'muted' }, `#${c.personId}`),
      h('span', { class: `tag ${c.level}` }, t(c.level === 'close' ? 'iv.level.close' : 'iv.level.secondary')),
      h('span', { class: 'muted small' }, t('iv.firstLast', { first: when(c.firstExposureAt), last: when(c.lastExposureAt) })),
    ),
    h('ul', { class: 'exposures' }, ...(c.exposures ?? []).map(exposureItem)),
  );
}

function exposureItem(e: Exposure): HTMLElement {
  const problemLine = h('div', { class: 'row-error', role: 'alert', hidden: true });
  const buttons: HTMLButtonElement[] = [];
  if (e.state === 'candidate') {
    for (const decision of ['confirm', 'dismiss'] as const) {
      const b = h('button', { class: `btn small ${decision}${decision === 'confirm' ? ' primary' : ''}`, type: 'button' }, t(decision === 'confirm' ? 'iv.confirm' : 'iv.dismiss'));
      b.addEventListener('click', () => void decide(e, decision, buttons, problemLine));
      buttons.push(b);
    }
  }
  return h(
    'li',
    { class: `exposure ${e.state}`, 'data-id': e.id, 'data-kind': e.kind, 'data-state': e.state, 'data-level': e.level },
    h(
      'div',
      { class: 'exp-main' },
      h('span', { class: 'exp-kind' }, tMaybe(`exp.${e.kind}`, e.kind)),
      h('span', { class: 'exp-time muted', 'data-at': e.at }, when(e.at)),
      e.sourcePersonId !== caseId && e.kind !== 'contactOfContact' ? h('span', { class: 'muted small' }, t('chains.case', { id: e.sourcePersonId })) : null,
      h('span', { class: 'exp-words' }, evidenceWords(e)),
    ),
    h('div', { class: 'exp-side' }, h('span', { class: `tag ${e.state}` }, t(`iv.state.${e.state}` as Key)), ...buttons),
    h('div', { class: 'exp-rule', title: e.rule }, `${t('iv.rule')}: ${ruleCitation(e.rule)}`),
    problemLine,
  );
}

async function decide(e: Exposure, decision: 'confirm' | 'dismiss', buttons: HTMLButtonElement[], out: HTMLElement): Promise<void> {
  out.hidden = true;
  buttons.forEach((b) => (b.disabled = true));
  try {
    const r = await api<{ id: number; state: State }>(`/api/v1/contact-exposures/${e.id}/${decision}`, { method: 'POST', body: {} });
    flash(t('iv.decided', { id: r.id, state: t(`iv.state.${r.state}` as Key) }));
    await loadContacts();
  } catch (err) {
    answerProblem(out, err);
    buttons.forEach((b) => (b.disabled = false));
  }
}

/** The evidence of an exposure in words (src/tracing/rules.ts writes what each kind carries). */
function evidenceWords(e: Exposure): string {
  const ev = e.evidence ?? {};
  if (e.kind === 'contactOfContact') return t('ev.via', { source: e.sourcePersonId, what: describe(String(ev.via ?? ''), ev) });
  return describe(e.kind, ev);
}

function describe(kind: string, ev: Record<string, unknown>): string {
  const s = (k: string) => String(ev[k] ?? '—');
  const shared = ev.sharedFacilities ? t('ev.shared') : '';
  switch (kind) {
    case 'household':
      return t('ev.household', { household: s('householdId'), building: s('buildingId'), floor: s('floor') }) + shared;
    case 'sameFloor':
    case 'adjacentFloor':
    case 'building':
      return t('ev.floor', { building: s('buildingId'), floor: s('floor'), caseFloor: s('caseFloor') }) + shared;
    case 'venue':
      return ev.namedStay
        ? t('ev.namedStay', { venue: s('venueId'), at: when(s('scanAt')) })
        : t('ev.venue', { venue: s('venueId'), caseAt: when(s('caseScanAt')), at: when(s('scanAt')), minutes: s('minutesApart') });
    case 'interview':
      return ev.relation ? t('ev.interviewRelation', { name: s('name'), relation: s('relation') }) : t('ev.interview', { name: s('name') });
    default:
      return Object.entries(ev)
        .filter(([k]) => k !== 'via')
        .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(', ');
  }
}

// --- messages -------------------------------------------------------------------------------------------

/** A problem from the server (its problem+json detail) in the page's message; a lost session goes to sign-in. */
function problem(e: unknown): void {
  if (e instanceof ApiError && e.status === 401) location.reload();
  message.className = 'alert';
  delete message.dataset.kind;
  showError(message, e);
  if (e instanceof ApiError) message.dataset.status = String(e.status);
}

/** A problem shown where the action was taken: the status and the problem in words, the server's own in the title. */
function answerProblem(target: HTMLElement, e: unknown): void {
  if (e instanceof ApiError && e.status === 401) location.reload();
  const { text, title } = problemLine(e);
  fail(target, text);
  target.title = title;
  if (e instanceof ApiError) target.dataset.status = String(e.status);
}

function fail(target: HTMLElement, text: string): void {
  target.className = target === message ? 'alert' : 'row-error';
  target.dataset.kind = 'error';
  target.textContent = text;
  target.hidden = false;
}

function ok(target: HTMLElement, text: string): void {
  target.className = 'row-ok';
  target.dataset.kind = 'ok';
  delete target.dataset.status;
  target.title = '';
  target.textContent = text;
  target.hidden = false;
}

function flash(text: string): void {
  message.className = 'notice';
  message.dataset.kind = 'ok';
  message.textContent = text;
  message.hidden = false;
}

function hideMessage(): void {
  message.hidden = true;
}


/**
 * The rule an exposure cites: whole in English; in another language only its place in rules.md (the kind
 * and the evidence above already say what happened in the reader's words), the server's words in the title.
 */
function ruleCitation(rule: string): string {
  if (currentLang() === 'en') return rule;
  return /^rules\.md [\d, -]+/.exec(rule)?.[0].replace(/[, ]+$/, '') ?? rule;
}
