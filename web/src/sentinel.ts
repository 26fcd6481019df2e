// An entrance device (数字哨兵) as a full-screen kiosk: the device token is entered once (kept in this
// browser), then a scanner types an ID number or personal code and presses Enter; the page asks the server
// (POST /api/v1/sentinel/checks with X-Device-Token) and shows its answer across the whole screen: admit or
// refuse, the colour, the reasons, the last negative test and vaccination, then goes back to scanning. The
// input keeps the focus throughout, so the next person can be scanned while an answer is still shown.
// The server decides everything (a hospital's emergency entrance admits everyone); the page only shows it.
import { ApiError, me, problemWords, sentence, type Principal } from './api.ts';
import { byId, h } from './dom.ts';
import { applyStatic, currentLang, setLang, t, tMaybe, type Key, when } from './i18n.ts';
import type { Colour, EntryWhy } from '../../src/status/rules.ts';

// POST /api/v1/sentinel/checks (src/status/routes.ts, checkpoints.ts).
export interface Check {
  admit: boolean;
  because: string[];
  /** `because` as data, in the same order (a far scan's note, the server's words only, comes after). */
  why?: EntryWhy[];
  colour: Colour;
  reasons: { code: string; text: string; until: string | null }[];
  lastNegativeSampledAt: string | null;
  lastSampledAt: string | null;
  venue: { id: number; name: string };
  far: boolean;
  vaccination: { doses: number; lastDoseOn: string | null; fullyVaccinated: boolean; boosted: boolean };
  entrance: 'main' | 'emergency';
}
interface Device {
  venueId?: number;
  venueName?: string;
  entrance?: 'main' | 'emergency';
}

const TOKEN_KEY = 'cordon.sentinel.token';
const DEVICE_KEY = 'cordon.sentinel.device';
// How long an answer stays on the screen (seconds); ?hold=N sets it for this device.
const HOLD_MS = Math.max(1, Math.min(60, Number(new URLSearchParams(location.search).get('hold')) || 6)) * 1000;

const setup = byId('setup');
const kiosk = byId('kiosk');
const screen = byId('screen');
const scan = byId<HTMLInputElement>('scan');
const tokenInput = byId<HTMLInputElement>('token-input');
const setupError = byId('setup-error');

applyStatic();
document.title = `${t('sentinel.title')} · ${t('app.name')}`;
for (const b of document.querySelectorAll<HTMLButtonElement>('.lang-switch')) {
  b.addEventListener('click', () => {
    setLang(currentLang() === 'zh-CN' ? 'en' : 'zh-CN');
    location.reload();
  });
}

// The platform clock, not the device's: a demo or a replay may run in 2022 ("10 hours ago" must agree).
let skew = 0;
void fetch('/api/v1/clock', { headers: { accept: 'application/json' } })
  .then((r) => (r.ok ? r.json() : null))
  .then((c: { now?: string } | null) => {
    if (c?.now) skew = new Date(c.now).getTime() - Date.now();
    tick();
  })
  .catch(() => undefined);
const platformNow = () => Date.now() + skew;
function tick(): void {
  byId('clock').textContent = new Date(platformNow()).toLocaleString(currentLang(), { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}
window.setInterval(tick, 15_000);

const token = () => localStorage.getItem(TOKEN_KEY);
const device = (): Device => {
  try {
    return JSON.parse(localStorage.getItem(DEVICE_KEY) ?? '{}') as Device;
  } catch {
    return {};
  }
};
const remember = (d: Device) => localStorage.setItem(DEVICE_KEY, JSON.stringify({ ...device(), ...d }));

if (token()) startKiosk();
else void startSetup();

// --- first use: the device token -------------------------------------------------------------------------

async function startSetup(): Promise<void> {
  kiosk.hidden = true;
  setup.hidden = false;
  document.body.dataset.mode = 'setup';
  tokenInput.value = '';
  tokenInput.focus();
  // A signed-in venue operator (or command user) may register this screen directly.
  // The server sends a venue operator's venue (web/src/api.ts's Principal leaves it out).
  const user = (await me().catch(() => null)) as (Principal & { venueId?: number | null }) | null;
  if (user && (user.role === 'venue_operator' || user.role === 'city_command' || user.role === 'district_command')) {
    byId('register-form').hidden = false;
    const venue = byId<HTMLInputElement>('register-venue');
    if (user.role === 'venue_operator' && user.venueId) {
      venue.value = String(user.venueId);
      byId('register-venue-row').hidden = true;
    }
    byId<HTMLInputElement>('register-name').value = t('sentinel.defaultName');
  }
}

byId<HTMLFormElement>('token-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const value = tokenInput.value.trim();
  if (value.length < 16) return setupProblem(t('sentinel.tokenMissing'));
  localStorage.setItem(TOKEN_KEY, value);
  localStorage.removeItem(DEVICE_KEY);
  startKiosk();
});

byId<HTMLFormElement>('register-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  void (async () => {
    const venueId = Number(byId<HTMLInputElement>('register-venue').value);
    const name = byId<HTMLInputElement>('register-name').value.trim();
    const entrance = byId<HTMLSelectElement>('register-entrance').value as 'main' | 'emergency';
    if (!Number.isInteger(venueId) || venueId < 1) return setupProblem(t('sentinel.venueMissing'));
    if (!name) return setupProblem(t('sentinel.nameMissing'));
    const submit = byId<HTMLButtonElement>('register-submit');
    submit.disabled = true;
    try {
      const d = await call<{ id: number; venueId: number; entrance: 'main' | 'emergency'; token: string }>(`/api/v1/venues/${venueId}/sentinels`, { name, entrance }, { session: true });
      localStorage.setItem(TOKEN_KEY, d.token);
      localStorage.setItem(DEVICE_KEY, JSON.stringify({ venueId: d.venueId, entrance: d.entrance }));
      startKiosk();
    } catch (e) {
      setupProblem(e instanceof Error ? e.message : String(e));
    } finally {
      submit.disabled = false;
    }
  })();
});

function setupProblem(text: string): void {
  setupError.replaceChildren(h('strong', {}, t('error.title')), h('span', {}, text));
  setupError.hidden = false;
}

// --- the kiosk --------------------------------------------------------------------------------------------

let seq = 0;
let idleTimer: number | undefined;

function startKiosk(): void {
  setup.hidden = true;
  setupError.hidden = true;
  kiosk.hidden = false;
  document.body.dataset.mode = 'kiosk';
  showDevice();
  idle();
  scan.focus();
}

function showDevice(): void {
  const d = device();
  byId('venue-name').textContent = d.venueName ?? (d.venueId ? t('sentinel.venueNo', { id: d.venueId }) : t('sentinel.title'));
  const entrance = byId('entrance');
  entrance.textContent = d.entrance ? t(`sentinel.entrance.${d.entrance}` as Key) : '';
  entrance.className = `sn-entrance ${d.entrance ?? ''}`;
  entrance.hidden = !d.entrance;
}

// A kiosk keeps its scanner input focused: a tap anywhere else (but a button) gives it back.
document.addEventListener('click', (ev) => {
  if (kiosk.hidden) return;
  const target = ev.target as HTMLElement;
  if (target.closest('button, a, select, input')) return;
  scan.focus();
});
scan.addEventListener('blur', () => {
  window.setTimeout(() => {
    if (!kiosk.hidden && (document.activeElement === document.body || document.activeElement === null)) scan.focus();
  }, 50);
});

byId<HTMLFormElement>('scan-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const person = scan.value.trim().toUpperCase();
  // Cleared at once: the scanner's next code goes into an empty input while this one is checked.
  scan.value = '';
  scan.focus();
  if (!person) return;
  void check(person);
});

async function check(person: string): Promise<void> {
  const mine = ++seq;
  window.clearTimeout(idleTimer);
  screen.dataset.state = 'checking';
  screen.className = 'sn-screen checking';
  screen.replaceChildren(h('div', { class: 'sn-idle-main' }, t('sentinel.checking')));
  try {
    const r = await call<Check>('/api/v1/sentinel/checks', { person }, { device: token() ?? '' });
    if (mine !== seq) return;
    remember({ venueId: r.venue.id, venueName: r.venue.name, entrance: r.entrance });
    showDevice();
    showAnswer(r);
  } catch (e) {
    if (mine !== seq) return;
    showProblem(e);
  }
  idleTimer = window.setTimeout(() => {
    if (mine === seq) idle();
  }, HOLD_MS);
}

function idle(): void {
  screen.dataset.state = 'idle';
  screen.className = 'sn-screen idle';
  delete screen.dataset.colour;
  screen.replaceChildren(h('div', { class: 'sn-scan-icon', 'aria-hidden': 'true' }), h('div', { class: 'sn-idle-main' }, t('sentinel.scanPrompt')), h('div', { class: 'sn-idle-sub' }, t('sentinel.scanHint')));
}

function showAnswer(r: Check): void {
  const state = r.admit ? 'admit' : 'refuse';
  screen.dataset.state = state;
  screen.dataset.colour = r.colour;
  screen.className = `sn-screen ${state}`;
  const hours = r.lastNegativeSampledAt ? Math.max(0, Math.floor((platformNow() - new Date(r.lastNegativeSampledAt).getTime()) / 3_600_000)) : null;
  const v = r.vaccination;
  screen.replaceChildren(
    h(
      'div',
      { class: 'sn-verdict', id: 'verdict' },
      h('span', { class: 'sn-verdict-mark', 'aria-hidden': 'true' }, r.admit ? '✓' : '✕'),
      h('span', {}, t(r.admit ? 'sentinel.admit' : 'sentinel.refuse')),
    ),
    h(
      'div',
      { class: 'sn-facts' },
      h('div', { class: `sn-colour ${r.colour}`, id: 'answer-colour', 'data-colour': r.colour }, t(`colour.${r.colour}` as Key)),
      h(
        'div',
        { class: 'sn-fact', id: 'answer-negative', 'data-at': r.lastNegativeSampledAt ?? '' },
        h('div', { class: 'sn-fact-label' }, t('sentinel.lastNegative')),
        h('div', { class: 'sn-fact-value' }, r.lastNegativeSampledAt ? `${when(r.lastNegativeSampledAt)} · ${t('sentinel.hoursAgo', { n: hours ?? 0 })}` : t('sentinel.noNegative')),
      ),
      h(
        'div',
        { class: 'sn-fact', id: 'answer-vaccination', 'data-doses': v.doses, 'data-boosted': String(v.boosted) },
        h('div', { class: 'sn-fact-label' }, t('sentinel.vaccination')),
        h('div', { class: 'sn-fact-value' }, [t('sentinel.doses', { n: v.doses }), t(v.boosted ? 'sentinel.boosted' : v.fullyVaccinated ? 'sentinel.fullyVaccinated' : 'sentinel.notFully')].join(' · ')),
      ),
    ),
    ...(r.reasons.length
      ? [
          h(
            'ul',
            { class: 'sn-reasons', id: 'answer-reasons' },
            ...r.reasons.map((x) =>
              h('li', { 'data-code': x.code }, tMaybe(`reason.${x.code}`, x.text), x.until ? h('span', { class: 'sn-until' }, ` · ${t('status.until', { time: when(x.until) })}`) : null),
            ),
          ),
        ]
      : []),
    h('ul', { class: 'sn-because', id: 'answer-because' }, ...r.because.map((b, i) => h('li', { title: b, 'data-code': r.why?.[i]?.code ?? '' }, r.why?.[i] ? entryWords(r.why[i], b) : b))),
    h('div', { class: 'sn-hold', style: `animation-duration: ${HOLD_MS}ms` }),
  );
}

/** An entry decision's reason in the reader's language (the server's words stay in the title). */
function entryWords(w: EntryWhy, words: string): string {
  // Without a sampling allowed instead, the refusal names the negative test only.
  if (w.code === 'noNegative' && w.sampledHours !== null) return t('entry.why.noNegativeNorSampled', { hours: w.hours, sampledHours: w.sampledHours });
  return sentence('entry.why', w) ?? words;
}

function showProblem(e: unknown): void {
  const err = e instanceof ApiError ? e : new ApiError(0, t('error.title'), e instanceof Error ? e.message : String(e));
  const kind = err.status === 401 ? 'device' : err.status === 404 ? 'unknown' : err.status === 0 ? 'network' : 'error';
  screen.dataset.state = 'error';
  screen.dataset.problem = kind;
  delete screen.dataset.colour;
  screen.className = `sn-screen problem ${kind}`;
  const title: Key = kind === 'device' ? 'sentinel.badDevice' : kind === 'unknown' ? 'sentinel.unknownPerson' : kind === 'network' ? 'error.network' : 'sentinel.failed';
  screen.replaceChildren(
    h('div', { class: 'sn-verdict' }, h('span', {}, t(title))),
    // In the reader's language where the problem has a code; the server's words in the title.
    h('div', { class: 'sn-problem-detail', id: 'answer-problem', title: err.detail || err.title }, problemWords(err)),
    ...(kind === 'device' ? [h('button', { class: 'btn big', type: 'button', id: 'answer-reset', onclick: () => askReset() }, t('sentinel.reset'))] : []),
    h('div', { class: 'sn-hold', style: `animation-duration: ${HOLD_MS}ms` }),
  );
}

// --- reset: forget the token (two taps, no browser dialog on a kiosk) ----------------------------------------

function askReset(): void {
  byId('reset-confirm').hidden = false;
  byId('reset-yes').focus();
}
byId('reset').addEventListener('click', askReset);
byId('reset-no').addEventListener('click', () => {
  byId('reset-confirm').hidden = true;
  scan.focus();
});
byId('reset-yes').addEventListener('click', () => {
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(DEVICE_KEY);
  byId('reset-confirm').hidden = true;
  seq++;
  window.clearTimeout(idleTimer);
  void startSetup();
});

// --- HTTP ----------------------------------------------------------------------------------------------

/** POSTs JSON; with the device token (no session) or the signed-in session. Problems become ApiError. */
async function call<T>(path: string, body: unknown, auth: { device?: string; session?: boolean }): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/json' };
  if (auth.device !== undefined) headers['x-device-token'] = auth.device;
  let res: Response;
  try {
    res = await fetch(path, { method: 'POST', headers, credentials: auth.session ? 'same-origin' : 'omit', body: JSON.stringify(body) });
  } catch {
    throw new ApiError(0, t('error.network'), t('error.network'));
  }
  const text = await res.text();
  const parsed: unknown = text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
  if (!res.ok) {
    const p = (typeof parsed === 'object' && parsed ? parsed : {}) as { title?: string; detail?: string };
    throw new ApiError(res.status, p.title ?? res.statusText, p.detail ?? p.title ?? res.statusText, p as Record<string, unknown>);
  }
  return parsed as T;
}

