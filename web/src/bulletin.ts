// The daily bulletin (信息发布). Public, without signing in: a published day's counts, the table by district, the
// compounds where the day's cases lived (never a person, never a building) and the curve as the server's SVG,
// in zh-CN or en, with the list of published days. City command, signed in, also works the day's bulletin
// here: drafts it from the daily figures, sees the addresses, holds some back with a reason, has another
// person approve it, and publishes it (src/command/routes.ts; the server enforces each step).
import { api, ApiError, me, problemLine, type Principal } from './api.ts';
import { append, byId, h } from './dom.ts';
import { applyStatic, currentLang, formatNumber, setLang, t, type Key, type Lang, when } from './i18n.ts';
import { actorName, showError } from './shell.ts';
import type { Bulletin, publicBulletin } from '../../src/command/bulletin.ts';

type PublicBulletin = ReturnType<typeof publicBulletin>;
type Totals = PublicBulletin['totals'];
type DistrictRow = PublicBulletin['districts'][number];

const COUNTS = ['confirmed', 'asymptomatic', 'discharged', 'died'] as const;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

// ?lang= makes a link in one language whatever the reader chose before.
const langParam = new URLSearchParams(location.search).get('lang');
if (langParam === 'en' || langParam === 'zh-CN') setLang(langParam as Lang);
applyStatic();

const message = byId('message');
const dayParam = new URLSearchParams(location.search).get('day');
let shown: string | null = dayParam && DAY.test(dayParam) ? dayParam : null;

const lang = byId<HTMLButtonElement>('lang');
lang.textContent = t('lang.switch');
lang.title = t('lang.switchTitle');
lang.addEventListener('click', () => {
  setLang(currentLang() === 'zh-CN' ? 'en' : 'zh-CN');
  const url = new URL(location.href);
  url.searchParams.delete('lang');
  location.replace(url);
});

// Who is reading: nobody needs to sign in; city command gets the workflow.
const user = await me().catch(() => null);
renderWho(user);
const days = await loadDays();
shown ??= days[0] ?? null;
await showDay(shown);
if (user?.role === 'city_command') wireWorkflow(user);

// --- the public bulletin -------------------------------------------------------------------------------------

function renderWho(u: Principal | null): void {
  byId('sign-in').hidden = u !== null;
  byId('console-link').hidden = u === null;
  const who = byId('who');
  who.hidden = u === null;
  if (u) who.textContent = `${u.displayName || u.name} · ${t(`role.${u.role}` as Key)}`;
}

async function loadDays(): Promise<string[]> {
  const list = byId('days');
  try {
    const { items } = await api<{ items: { day: string; publishedAt: string }[] }>('/api/v1/public/bulletins');
    list.dataset.count = String(items.length);
    list.replaceChildren(...(items.length ? items.map((b) => h('li', {}, h('a', { href: `?day=${b.day}`, 'data-day': b.day, 'aria-current': b.day === shown ? 'page' : null }, b.day))) : [h('li', { class: 'muted small' }, t('bul.noneYet'))]));
    return items.map((b) => b.day);
  } catch (e) {
    showError(message, e);
    return [];
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
}

async function showDay(day: string | null): Promise<void> {
  const sheet = byId('bulletin');
  const content = byId('bul-content');
  document.title = `${t('bul.title')} · ${t('app.name')}`;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('#days a')) {
    if (a.dataset.day === day) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!day) {
    byId('bul-none').hidden = false;
    content.hidden = true;
    sheet.setAttribute('aria-busy', 'false');
    return;
  }
  try {
    const b = await api<PublicBulletin>(`/api/v1/public/bulletins/${day}`);
    renderBulletin(b);
    byId('bul-none').hidden = true;
    content.hidden = false;
  } catch (e) {
    content.hidden = true;
    if (e instanceof ApiError && e.status === 404) {
      byId('bul-none').hidden = false;
      byId('bul-none').textContent = t('bul.notPublished', { day });
    } else showError(message, e);
  } finally {
    sheet.setAttribute('aria-busy', 'false');
  }
}

function renderBulletin(b: PublicBulletin): void {
  const sheet = byId('bulletin');
  sheet.dataset.day = b.day;
  document.title = `${t('bul.titleDay', { day: b.day })} · ${t('app.name')}`;
  byId('bul-title').textContent = t('bul.titleDay', { day: b.day });
  byId('bul-published').textContent = b.publishedAt ? t('bul.publishedAt', { time: when(b.publishedAt) }) : '';
  byId('bul-lead').textContent = t('bul.lead', { day: b.day, confirmed: formatNumber(b.totals.confirmed ?? 0), asymptomatic: formatNumber(b.totals.asymptomatic ?? 0), compounds: formatNumber(b.addresses.length) });
  byId('counts').replaceChildren(...countTiles(b.totals));
  const img = byId<HTMLImageElement>('curve');
  img.alt = t('bul.curveAlt', { day: b.day });
  img.src = `/api/v1/public/bulletins/${b.day}/curve.svg?lang=${currentLang()}`;
  renderDistricts(b.districts);
  renderAddresses(b.addresses);
}

function countTiles(totals: Totals): HTMLElement[] {
  return COUNTS.map((k) => h('div', { class: `stat ${k === 'confirmed' || k === 'asymptomatic' ? 'danger' : ''}`.trim(), id: `count-${k}`, 'data-value': totals[k] ?? 0 }, h('div', { class: 'stat-value' }, formatNumber(totals[k] ?? 0)), h('div', { class: 'stat-label' }, t(`bul.${k}`))));
}

function renderDistricts(rows: DistrictRow[]): void {
  // Districts with nothing to report that day are left out; the total comes last.
  const shownRows = rows.filter((r) => COUNTS.some((k) => r[k] > 0));
  const num = (n: number) => h('td', { class: 'num' }, formatNumber(n));
  const body = byId('district-rows');
  body.dataset.count = String(shownRows.length);
  body.replaceChildren(
    ...(shownRows.length ? shownRows.map((r) => h('tr', { 'data-district': r.id }, h('td', {}, place(r.name, r.nameEn)), ...COUNTS.map((k) => num(r[k])))) : [h('tr', { class: 'empty' }, h('td', { colspan: 5 }, t('bul.nothing')))]),
    h('tr', { class: 'total' }, h('td', {}, t('bul.total')), ...COUNTS.map((k) => num(rows.reduce((s, r) => s + r[k], 0)))),
  );
}

/** The compounds by district and street, as the bulletin lists them. */
function renderAddresses(addresses: PublicBulletin['addresses']): void {
  const box = byId('addresses');
  box.dataset.count = String(addresses.length);
  if (!addresses.length) return box.replaceChildren(h('p', { class: 'empty' }, t('bul.noAddresses')));
  const byDistrict = new Map<string, PublicBulletin['addresses']>();
  for (const a of addresses) {
    const key = place(a.district, a.districtEn);
    byDistrict.set(key, [...(byDistrict.get(key) ?? []), a]);
  }
  box.replaceChildren(
    ...[...byDistrict].map(([district, list]) =>
      h('section', {}, h('h3', {}, t('bul.districtCount', { district, n: list.length })), h('ul', {}, ...list.map((a) => h('li', { class: 'address' }, `${a.street} ${a.compound}`)))),
    ),
  );
}

/** A place's name in the reader's language, where the registry has an English one. */
function place(name: string, nameEn: string | null): string {
  return currentLang() === 'en' && nameEn ? nameEn : name;
}

// --- the workflow (city command) -------------------------------------------------------------------------------

function wireWorkflow(u: Principal): void {
  const me = `${u.kind}:${u.id}:${u.name}`;
  const section = byId('workflow');
  const dayInput = byId<HTMLInputElement>('wf-day');
  const out = byId('wf-result');
  const picked = new Set<number>();
  let current: Bulletin | null = null;
  section.hidden = false;

  const say = (kind: 'ok' | 'error', text: string, title = '') => {
    out.className = kind === 'ok' ? 'notice small' : 'row-error small';
    out.dataset.kind = kind;
    out.textContent = text;
    out.title = title;
    out.hidden = false;
  };
  const fail = (e: unknown) => {
    if (e instanceof ApiError && e.status === 401) location.reload();
    const { text, title } = problemLine(e);
    say('error', text, title);
  };
  /** Runs a step against the server, then shows the bulletin as it is now. */
  const step = async (button: HTMLButtonElement, run: () => Promise<unknown>, ok: () => string) => {
    button.disabled = true;
    out.hidden = true;
    try {
      await run();
      await open();
      say('ok', ok());
    } catch (e) {
      fail(e);
    } finally {
      render();
    }
  };

  async function open(): Promise<void> {
    const day = dayInput.value;
    if (!DAY.test(day)) return;
    picked.clear();
    try {
      current = await api<Bulletin>(`/api/v1/bulletins/${day}`);
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
      current = null;
    }
    render();
  }

  function render(): void {
    const body = byId('wf-body');
    section.dataset.state = current?.state ?? 'none';
    body.hidden = current === null;
    byId<HTMLButtonElement>('wf-draft').disabled = current !== null && current.state !== 'draft';
    if (!current) {
      byId('wf-hint').textContent = '';
      return;
    }
    const b = current;
    const held = new Map(b.redactions.map((r) => [r.compoundId, r]));
    const state = byId('wf-state');
    state.replaceChildren(h('span', { class: `tag state-tag ${b.state}`, id: 'wf-state-tag' }, t(`bul.state.${b.state}`)), h('span', { class: 'muted' }, t('bul.draftedBy', { who: actorName(b.draftedBy) })));
    append(
      state,
      b.approvedBy ? h('span', { class: 'muted' }, t('bul.approvedBy', { who: actorName(b.approvedBy) })) : null,
      b.publishedAt ? h('a', { href: `?day=${b.day}` }, t('bul.publishedAt', { time: when(b.publishedAt) })) : null,
    );
    byId('wf-totals').replaceChildren(...countTiles(b.content.totals));
    const list = byId('wf-address-list');
    list.dataset.count = String(b.content.addresses.length);
    list.replaceChildren(
      ...(b.content.addresses.length
        ? b.content.addresses.map((a) => {
            const r = held.get(a.compoundId);
            const box = h('input', { type: 'checkbox', class: 'wf-pick', 'aria-label': a.compound, checked: picked.has(a.compoundId), disabled: b.state !== 'draft' });
            box.addEventListener('change', () => {
              if (box.checked) picked.add(a.compoundId);
              else picked.delete(a.compoundId);
              sync();
            });
            return h(
              'tr',
              { 'data-compound': a.compoundId, class: r ? 'redacted' : null },
              h('td', {}, box),
              h('td', {}, a.compound),
              h('td', {}, a.street),
              h('td', {}, place(a.district, a.districtEn)),
              h('td', { class: 'small' }, r ? h('span', { class: 'held' }, t('bul.heldBack', { reason: r.reason, who: actorName(r.by) })) : h('span', { class: 'muted' }, t('bul.shown'))),
            );
          })
        : [h('tr', { class: 'empty' }, h('td', { colspan: 5 }, t('bul.noAddresses')))]),
    );
    const mine = b.draftedBy === me;
    byId<HTMLButtonElement>('wf-approve').disabled = b.state !== 'draft' || mine;
    byId<HTMLButtonElement>('wf-publish').disabled = b.state !== 'approved';
    byId('wf-hint').textContent = b.state === 'draft' ? (mine ? t('bul.secondPerson') : t('bul.mayApprove')) : b.state === 'approved' ? t('bul.mayPublish') : t('bul.isPublic');
    byId<HTMLInputElement>('wf-all').disabled = b.state !== 'draft';
    sync();
  }

  function sync(): void {
    byId<HTMLButtonElement>('wf-redact-go').disabled = !current || current.state !== 'draft' || picked.size === 0;
    byId<HTMLButtonElement>('wf-redact-go').textContent = picked.size ? t('bul.redactN', { n: picked.size }) : t('bul.redact');
  }

  byId<HTMLFormElement>('wf-pick').addEventListener('submit', (ev) => {
    ev.preventDefault();
    out.hidden = true;
    open().catch(fail);
  });
  byId('wf-all').addEventListener('change', (ev) => {
    const on = (ev.currentTarget as HTMLInputElement).checked;
    for (const a of current?.content.addresses ?? []) if (on) picked.add(a.compoundId);
    else picked.delete(a.compoundId);
    for (const box of document.querySelectorAll<HTMLInputElement>('#wf-address-list .wf-pick')) box.checked = on;
    sync();
  });
  const draft = byId<HTMLButtonElement>('wf-draft');
  draft.addEventListener('click', () => {
    // Drafting again starts over: the redactions made so far are dropped.
    if (current?.state === 'draft' && current.redactions.length && !confirm(t('bul.redraftConfirm'))) return;
    void step(draft, () => api(`/api/v1/bulletins/${dayInput.value}/draft`, { method: 'POST', body: {} }), () => t('bul.drafted', { day: dayInput.value }));
  });
  byId<HTMLFormElement>('wf-redact').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const reason = byId<HTMLInputElement>('wf-reason').value.trim();
    if (reason.length < 3) return say('error', t('bul.reasonTooShort'));
    const ids = [...picked];
    void step(byId<HTMLButtonElement>('wf-redact-go'), () => api(`/api/v1/bulletins/${dayInput.value}/redact`, { method: 'POST', body: { compoundIds: ids, reason } }), () => {
      byId<HTMLInputElement>('wf-reason').value = '';
      return t('bul.redacted', { n: ids.length });
    });
  });
  const approve = byId<HTMLButtonElement>('wf-approve');
  approve.addEventListener('click', () => void step(approve, () => api(`/api/v1/bulletins/${dayInput.value}/approve`, { method: 'POST', body: {} }), () => t('bul.approved')));
  const publish = byId<HTMLButtonElement>('wf-publish');
  publish.addEventListener(
    'click',
    () =>
      void step(
        publish,
        async () => {
          await api(`/api/v1/bulletins/${dayInput.value}/publish`, { method: 'POST', body: {} });
          // Now public: in the list of days, and on the sheet below.
          shown = dayInput.value;
          await loadDays();
          await showDay(shown);
        },
        () => t('bul.publishedOk'),
      ),
  );
  // The platform's clock (a demo's may run ahead or behind) in the city's time zone: yesterday, the last complete day, unless a day was asked for.
  Promise.all([api<{ now: string }>('/api/v1/clock'), api<{ reporting: { timeZone: string } }>('/api/v1/preset')])
    .then(([clock, preset]) => {
      const local = (ms: number) => new Date(ms).toLocaleDateString('en-CA', { timeZone: preset.reporting.timeZone });
      const now = Date.parse(clock.now);
      dayInput.max = local(now);
      dayInput.value = shown && !days.includes(shown) ? shown : local(now - 86_400_000);
      return open();
    })
    .catch(fail);
}
