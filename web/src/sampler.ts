// The sampler's phone page: choose a sampling point, scan a tube's barcode to open it, scan persons' codes
// into it, close it. A barcode scanner types into the focused input and presses Enter, so every step is a
// form whose input keeps the focus; scans that arrive while a request is running wait their turn.
// A positive pool's members are retested one by one: with "retest of a pool" ticked, the pool's barcode is
// scanned once and every tube opened after it is a single tube for that pool, until the box is unticked.
import { api, ApiError, problemWords, type Page } from './api.ts';
import { byId, h } from './dom.ts';
import { currentLang, formatNumber, t, type Key } from './i18n.ts';
import { boot, showError } from './shell.ts';

interface Point {
  id: number;
  code: string;
  name: string;
  stations: number | null;
}
interface Campaign {
  id: number;
  name: string;
  defaultGroup: string | null;
  startsAt: string;
  endsAt: string;
}
interface Throughput {
  samplingPointId: number;
  name: string;
  stations: number;
  samplesLastHour: number;
  perStationPerHour: number;
  queue: { waiting: number; reportedAt: string } | null;
  expectedWaitMinutes: number | null;
  crowded: boolean;
}
interface Added {
  personId: number;
  name: string;
  count: number;
  capacity: number;
  repeatInRound: boolean;
}
interface Tube {
  barcode: string;
  capacity: number;
  count: number;
  members: { name: string; count: number; repeat: boolean }[];
  /** The positive pool this single tube retests. */
  retestOf?: string | null;
}
interface Retest {
  on: boolean;
  pool: string;
}
interface Setup {
  pointId: number | null;
  campaignId: number | null;
  group: string;
}

const GROUPS = ['quarantine', 'keyGroup', 'sealed', 'controlled', 'precaution', 'other'] as const;
// The choice of point outlives the session (a sampler works at one point for days); the open tube only the tab.
const SETUP_KEY = 'cordon.sampler';
const TUBE_KEY = 'cordon.sampler.tube';
// Retesting one pool's members outlives a tube (one tube each), not the tab.
const RETEST_KEY = 'cordon.sampler.retest';

const message = byId('message');
const setupBox = byId<HTMLDetailsElement>('setup');
const pointSel = byId<HTMLSelectElement>('point');
const campaignSel = byId<HTMLSelectElement>('campaign');
const groupSel = byId<HTMLSelectElement>('group');
const barcodeIn = byId<HTMLInputElement>('barcode');
const personIn = byId<HTMLInputElement>('person');
const retestBox = byId<HTMLInputElement>('retest');
const poolIn = byId<HTMLInputElement>('retest-of');
const feedback = byId('feedback');

const user = await boot({ page: 'sampler' });
document.title = `${t('nav.sampler')} · ${t('app.name')}`;

const setup: Setup = { pointId: null, campaignId: null, group: '', ...readJson<Partial<Setup>>(localStorage, SETUP_KEY) };
let tube: Tube | null = readJson<Tube | null>(sessionStorage, TUBE_KEY);
const retest: Retest = { on: false, pool: '', ...readJson<Partial<Retest>>(sessionStorage, RETEST_KEY) };
let points: Point[] = [];
let campaigns: Campaign[] = [];

try {
  const [pts, cs, preset] = await Promise.all([
    loadPoints(),
    api<{ items: Campaign[] }>('/api/v1/campaigns'),
    api<{ testing?: { poolSizeByGroup?: Record<string, number> } }>('/api/v1/preset').catch(() => null),
  ]);
  points = pts;
  campaigns = cs.items;
  fillSelects(preset?.testing?.poolSizeByGroup ?? {});
} catch (e) {
  showError(message, e);
}

setupBox.open = !points.some((p) => p.id === setup.pointId);
renderSetupSummary();
renderRetest();
renderTube();
void refreshThroughput();
// The queue moves while the sampler works: keep the expected wait current.
setInterval(() => void refreshThroughput(), 60_000);

byId('setup-done').addEventListener('click', () => {
  saveSetup();
  if (!setup.pointId) return say('error', t('sampler.choosePoint'), undefined, byId('setup-done'));
  setupBox.open = false;
  feedback.hidden = true;
  focusStep();
  void refreshThroughput();
});
for (const sel of [pointSel, campaignSel, groupSel]) sel.addEventListener('change', saveSetup);
campaignSel.addEventListener('change', () => {
  // A campaign's default group decides the tube size unless the sampler picks another.
  const c = campaigns.find((x) => x.id === Number(campaignSel.value));
  if (c?.defaultGroup) groupSel.value = c.defaultGroup;
  saveSetup();
});

// One request at a time, in scan order.
let chain: Promise<void> = Promise.resolve();
const enqueue = (job: () => Promise<void>) => (chain = chain.then(job, job));

byId<HTMLFormElement>('open-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const barcode = barcodeIn.value.trim();
  if (!barcode) return;
  if (retest.on && !poolIn.value.trim()) return refuse(poolIn, '', t('sampler.poolMissing'));
  barcodeIn.value = '';
  enqueue(() => openTube(barcode));
});
retestBox.addEventListener('change', () => {
  retest.on = retestBox.checked;
  saveRetest();
  renderRetest();
  feedback.hidden = true;
  (retest.on && !retest.pool ? poolIn : barcodeIn).focus();
});
poolIn.addEventListener('input', saveRetest);
// A scanner ends the pool's barcode with Enter: go on to the new tube's barcode rather than submitting.
poolIn.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Enter') return;
  ev.preventDefault();
  poolIn.value = poolIn.value.trim();
  saveRetest();
  if (poolIn.value) barcodeIn.focus();
});
byId<HTMLFormElement>('person-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const ref = personIn.value.trim();
  if (!ref) return;
  personIn.value = '';
  enqueue(() => addPerson(ref));
});
byId('close-tube').addEventListener('click', () => enqueue(closeTube));
byId<HTMLFormElement>('queue-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  enqueue(reportQueue);
});

focusStep();

async function loadPoints(): Promise<Point[]> {
  // The points of the sampler's own street (or district) first; the whole list when that has none.
  const scoped = user.streetId ? `&streetId=${user.streetId}` : user.districtId ? `&districtId=${user.districtId}` : '';
  const mine = await api<Page<Point>>(`/api/v1/sampling-points?limit=1000${scoped}`);
  if (mine.items.length || !scoped) return mine.items;
  return (await api<Page<Point>>('/api/v1/sampling-points?limit=1000')).items;
}

function fillSelects(poolSizes: Record<string, number>): void {
  pointSel.replaceChildren(
    h('option', { value: '' }, t('sampler.pointPick')),
    ...points.map((p) => h('option', { value: p.id, selected: p.id === setup.pointId }, `${p.name} · ${p.code}`)),
  );
  campaignSel.replaceChildren(
    h('option', { value: '' }, t('sampler.noCampaign')),
    ...campaigns.map((c) => h('option', { value: c.id, selected: c.id === setup.campaignId }, `${c.name} · ${day(c.startsAt)}`)),
  );
  const size = (g: string) => (poolSizes[g] === undefined ? '' : poolSizes[g] === 1 ? ` · ${t('sampler.single')}` : ` · ${t('sampler.poolOf', { n: poolSizes[g] })}`);
  groupSel.replaceChildren(
    h('option', { value: '' }, t('sampler.groupDefault')),
    ...GROUPS.map((g) => h('option', { value: g, selected: g === setup.group }, `${t(`group.${g}` as Key)}${size(g)}`)),
  );
}

function saveSetup(): void {
  setup.pointId = Number(pointSel.value) || null;
  setup.campaignId = Number(campaignSel.value) || null;
  setup.group = groupSel.value;
  localStorage.setItem(SETUP_KEY, JSON.stringify(setup));
  renderSetupSummary();
}

function renderSetupSummary(): void {
  const point = points.find((p) => p.id === setup.pointId);
  const campaign = campaigns.find((c) => c.id === setup.campaignId);
  const group = setup.group || campaign?.defaultGroup;
  byId('setup-summary').textContent = point ? [point.name, campaign?.name, group ? t(`group.${group}` as Key) : null].filter(Boolean).join(' · ') : t('sampler.pointPick');
}

function saveRetest(): void {
  retest.pool = poolIn.value.trim();
  sessionStorage.setItem(RETEST_KEY, JSON.stringify(retest));
}

function renderRetest(): void {
  retestBox.checked = retest.on;
  poolIn.value = retest.pool;
  byId('retest-row').hidden = !retest.on;
  byId('tube-step').classList.toggle('retesting', retest.on);
  byId('barcode-label').textContent = t(retest.on ? 'sampler.scanRetestTube' : 'sampler.scanTube');
}

function renderTube(): void {
  byId('tube-step').hidden = tube !== null;
  byId('person-step').hidden = tube === null;
  if (tube) sessionStorage.setItem(TUBE_KEY, JSON.stringify(tube));
  else sessionStorage.removeItem(TUBE_KEY);
  if (!tube) return;
  byId('tube-barcode').textContent = tube.barcode;
  const banner = byId('tube-retest');
  banner.hidden = !tube.retestOf;
  banner.dataset.pool = tube.retestOf ?? '';
  banner.textContent = tube.retestOf ? t('sampler.retestBanner', { pool: tube.retestOf }) : '';
  const count = byId('tube-count');
  count.textContent = `${tube.count}/${tube.capacity}`;
  count.classList.toggle('full', tube.count >= tube.capacity);
  byId('members').replaceChildren(
    ...tube.members.map((m) =>
      h('li', {}, h('span', { class: 'member-no' }, m.count), h('span', { class: 'member-name' }, m.name), m.repeat ? h('span', { class: 'tag warn' }, t('sampler.repeat')) : null),
    ),
  );
  byId<HTMLButtonElement>('close-tube').disabled = tube.count === 0;
}

function focusStep(): void {
  (tube ? personIn : retest.on && !retest.pool ? poolIn : barcodeIn).focus();
}

async function openTube(barcode: string): Promise<void> {
  if (!setup.pointId) {
    setupBox.open = true;
    return refuse(barcodeIn, barcode, t('sampler.choosePoint'));
  }
  const retestOf = retest.on ? poolIn.value.trim() : null;
  if (retest.on && !retestOf) return refuse(poolIn, '', t('sampler.poolMissing'));
  if (retestOf && retestOf === barcode) return refuse(barcodeIn, barcode, t('sampler.poolIsTube'));
  // A retest is a single tube for the pool's person, outside the round's count (the pool was their sample in it).
  const campaign = retestOf ? undefined : campaigns.find((c) => c.id === setup.campaignId);
  const group = retestOf ? undefined : setup.group || campaign?.defaultGroup || undefined;
  try {
    const r = await api<{ barcode: string; capacity: number }>('/api/v1/tubes', {
      method: 'POST',
      body: { barcode, samplingPointId: setup.pointId, ...(campaign ? { campaignId: campaign.id } : {}), ...(group ? { group } : {}), ...(retestOf ? { retestOf } : {}) },
    });
    tube = { barcode: r.barcode, capacity: r.capacity, count: 0, members: [], retestOf };
    renderTube();
    say('ok', retestOf ? t('sampler.openedRetest', { barcode: r.barcode, pool: retestOf }) : t('sampler.opened', { barcode: r.barcode, n: r.capacity }));
    personIn.focus();
  } catch (e) {
    refuse(barcodeIn, barcode, e);
  }
}

async function addPerson(ref: string): Promise<void> {
  if (!tube) return;
  try {
    const r = await api<Added>(`/api/v1/tubes/${encodeURIComponent(tube.barcode)}/samples`, { method: 'POST', body: { person: ref } });
    tube.count = r.count;
    tube.capacity = r.capacity;
    tube.members.push({ name: r.name, count: r.count, repeat: r.repeatInRound });
    renderTube();
    say('ok', `${r.name} ✓ ${r.count}/${r.capacity}`, r.count >= r.capacity ? t('sampler.fullHint') : r.repeatInRound ? t('sampler.repeatHint') : undefined);
    personIn.focus();
  } catch (e) {
    refuse(personIn, ref, e);
  }
}

async function closeTube(): Promise<void> {
  if (!tube) return;
  try {
    const r = await api<{ barcode: string; count: number }>(`/api/v1/tubes/${encodeURIComponent(tube.barcode)}/close`, { method: 'POST' });
    tube = null;
    renderTube();
    say('ok', t('sampler.closed', { barcode: r.barcode, n: r.count }));
    barcodeIn.focus();
    void refreshThroughput();
  } catch (e) {
    refuse(personIn, '', e);
  }
}

async function reportQueue(): Promise<void> {
  const input = byId<HTMLInputElement>('waiting');
  const waiting = Number(input.value);
  if (!setup.pointId) return refuse(input, input.value, t('sampler.choosePoint'));
  if (!input.value || !Number.isInteger(waiting) || waiting < 0) return refuse(input, input.value, t('sampler.waitingInvalid'));
  try {
    renderThroughput(await api<Throughput>(`/api/v1/sampling-points/${setup.pointId}/queue`, { method: 'POST', body: { waiting } }));
    say('ok', t('sampler.queueReported', { n: formatNumber(waiting) }), undefined, byId('queue-form'));
    input.value = '';
    focusStep();
  } catch (e) {
    refuse(input, input.value, e);
  }
}

async function refreshThroughput(): Promise<void> {
  if (!setup.pointId) return renderThroughput(null);
  try {
    renderThroughput(await api<Throughput>(`/api/v1/sampling-points/${setup.pointId}/throughput`));
  } catch (e) {
    showError(message, e);
  }
}

function renderThroughput(tp: Throughput | null): void {
  byId('point-name').textContent = tp ? `${tp.name} · ${t('sampler.stations', { n: tp.stations })}` : t('sampler.pointStats');
  const box = byId('throughput');
  if (!tp) return box.replaceChildren(h('p', { class: 'muted' }, t('sampler.choosePoint')));
  const tile = (id: string, value: string, label: Key, cls = '') => h('div', { class: `stat ${cls}`, id }, h('div', { class: 'stat-value' }, value), h('div', { class: 'stat-label' }, t(label)));
  const wait = tp.expectedWaitMinutes;
  box.replaceChildren(
    tile('tp-waiting', tp.queue ? formatNumber(tp.queue.waiting) : '—', 'sampler.queueNow'),
    tile('tp-wait', wait === null ? '—' : t('sampler.minutes', { n: wait }), 'sampler.expectedWait', tp.crowded ? 'danger' : ''),
    tile('tp-hour', formatNumber(tp.samplesLastHour), 'sampler.lastHour'),
    tile('tp-station', formatNumber(tp.perStationPerHour), 'sampler.perStation'),
  );
  if (tp.queue) box.append(h('p', { class: 'muted small tiles-note' }, t('sampler.reportedAt', { time: new Date(tp.queue.reportedAt).toLocaleTimeString(currentLang(), { hour: '2-digit', minute: '2-digit' }) })));
}

/** A success line, green; `note` is a second, amber line (tube full, sampled before in this round). */
function say(kind: 'ok' | 'error', text: string, note?: string, anchor?: HTMLElement): void {
  feedback.dataset.kind = kind;
  feedback.className = `feedback ${kind}`;
  feedback.replaceChildren(h('div', { class: 'feedback-main' }, text));
  if (note) feedback.append(h('div', { class: 'feedback-note' }, note));
  show(anchor);
}

// Right under the form in use: with a phone's keyboard open, little else of the page is on screen.
function show(anchor: HTMLElement = byId(tube ? 'person-form' : 'open-form')): void {
  anchor.after(feedback);
  feedback.hidden = false;
  feedback.scrollIntoView({ block: 'nearest' });
}

/** A refusal: the server's reason in red, the refused text back in the input and selected so the next scan replaces it. */
function refuse(input: HTMLInputElement, value: string, e: unknown): void {
  const detail = e instanceof ApiError ? e.detail : e instanceof Error ? e.message : String(e);
  const code = e instanceof ApiError && typeof e.problem.code === 'string' ? e.problem.code : '';
  feedback.dataset.kind = 'error';
  feedback.dataset.code = code;
  feedback.className = 'feedback error';
  feedback.replaceChildren(h('strong', { class: 'feedback-main' }, t('sampler.refused')), h('div', { class: 'feedback-detail', title: detail }, e instanceof ApiError ? problemWords(e) : detail));
  show(input.closest('form') ?? undefined);
  if (e instanceof ApiError && e.status === 401) location.reload();
  input.value = value;
  input.focus();
  input.select();
  navigator.vibrate?.(200);
}

function readJson<T>(store: Storage, key: string): T | null {
  try {
    return JSON.parse(store.getItem(key) ?? 'null') as T;
  } catch {
    return null;
  }
}

function day(iso: string): string {
  return new Date(iso).toLocaleDateString(currentLang(), { month: 'short', day: 'numeric' });
}
