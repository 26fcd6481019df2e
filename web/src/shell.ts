// The frame of every signed-in page: header (product, user and role, language, sign out) and navigation.
import { api, ApiError, me, problemWords, toLogin, type Principal } from './api.ts';
import { h, byId } from './dom.ts';
import { applyStatic, currentLang, setLang, t, type Key } from './i18n.ts';
import { ENTITY_ORDER } from './entities.ts';

export type Here = { page: 'map' } | { page: 'registry'; entity: string } | { page: 'sampler' } | { page: 'campaigns' } | { page: 'lab' } | { page: 'resident' } | { page: 'poster' } | { page: 'checkpoints' } | { page: 'sentinel' } | { page: 'interview' } | { page: 'chains' } | { page: 'quarantine' } | { page: 'care' } | { page: 'support' } | { page: 'dashboard' } | { page: 'zones' };

/** Checks the session (to the sign-in page when there is none), then draws the frame. */
export async function boot(here: Here): Promise<Principal> {
  applyStatic();
  let user: Principal | null;
  try {
    user = await me();
  } catch (e) {
    // The server is down or failing: say so where the page shows messages, and go no further.
    const target = document.getElementById('message');
    if (target) showError(target, e);
    return new Promise(() => undefined);
  }
  if (!user) return toLogin();
  renderTopbar(user);
  renderNav(here, user.role);
  document.body.classList.add('ready');
  return user;
}

function renderTopbar(user: Principal): void {
  const bar = byId('topbar');
  bar.replaceChildren(
    h('a', { class: 'brand', href: '/' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), h('span', { class: 'brand-name' }, t('app.name')), h('span', { class: 'brand-short' }, t('app.short'))),
    h('div', { class: 'spacer' }),
    h(
      'div',
      { class: 'user', 'data-testid': 'user' },
      h('span', { class: 'user-name', title: user.name }, user.displayName || user.name),
      h('span', { class: 'user-role' }, t(`role.${user.role}` as Key)),
    ),
    h(
      'button',
      {
        class: 'btn ghost',
        type: 'button',
        id: 'lang-switch',
        title: t('lang.switchTitle'),
        onclick: () => {
          setLang(currentLang() === 'zh-CN' ? 'en' : 'zh-CN');
          location.reload();
        },
      },
      t('lang.switch'),
    ),
    h(
      'button',
      {
        class: 'btn ghost',
        type: 'button',
        id: 'sign-out',
        onclick: async () => {
          await api('/api/v1/auth/logout', { method: 'POST', body: {} }).catch(() => undefined);
          location.replace('/login.html');
        },
      },
      t('auth.signOut'),
    ),
  );
}

// Mirrors the registry's read access (src/registry/routes.ts) only to leave out links that would answer 403;
// the server stays the one that decides.
const PERSON_READERS = ['city_command', 'district_command', 'street_worker', 'epidemiologist', 'resident'];
const mayRead = (entity: string, role: string) => (entity === 'persons' ? PERSON_READERS.includes(role) : role !== 'resident');
// The same for the testing pages (src/testing/routes.ts): who may open tubes, who reads campaigns, who uploads results.
const TESTING_PAGES = [
  { page: 'sampler', href: '/sampler.html', label: 'nav.sampler', roles: ['sampler', 'street_worker', 'city_command', 'district_command'] },
  { page: 'campaigns', href: '/campaigns.html', label: 'nav.campaigns', roles: ['city_command', 'district_command', 'street_worker', 'epidemiologist'] },
  { page: 'lab', href: '/lab.html', label: 'nav.lab', roles: ['lab', 'city_command', 'district_command'] },
  // A resident's own tests and antigen self-reports (a person's history answers a resident for themself only).
  { page: 'resident', href: '/resident.html', label: 'nav.resident', roles: ['resident'] },
] as const;
// The same for status and entrances (src/status/routes.ts): overrides, appeals and usage for command; the
// entrance device screen for a venue's operator (the device itself then runs on its own token).
const STATUS_PAGES = [
  { page: 'checkpoints', href: '/checkpoints.html', label: 'nav.checkpoints', roles: ['city_command', 'district_command'] },
  { page: 'sentinel', href: '/sentinel.html', label: 'nav.sentinel', roles: ['venue_operator'] },
] as const;
// The same for tracing and quarantine (src/tracing/routes.ts): interviews, contacts and chains for
// epidemiologists and command; rooms and their allocation for command.
const TRACING_PAGES = [
  { page: 'interview', href: '/interview.html', label: 'nav.interview', roles: ['epidemiologist', 'city_command', 'district_command'] },
  { page: 'chains', href: '/chains.html', label: 'nav.chains', roles: ['epidemiologist', 'city_command', 'district_command'] },
  { page: 'quarantine', href: '/quarantine.html', label: 'nav.quarantine', roles: ['city_command', 'district_command'] },
] as const;
// The same for cases and care (src/cases/routes.ts): beds, the transfer queue and the cases for command, and
// for a facility's staff their own patients.
const CARE_PAGES = [{ page: 'care', href: '/care.html', label: 'nav.careCases', roles: ['facility_manager', 'city_command', 'district_command'] }] as const;

// The same for livelihood (src/support/routes.ts): the request queue for a street's workers and command, with the
// figures and vaccination coverage; a resident's own requests.
const SUPPORT_PAGES = [{ page: 'support', href: '/support.html', label: 'nav.support', roles: ['street_worker', 'city_command', 'district_command', 'resident'] }] as const;

// The command centre (src/command/routes.ts): the dashboard for command. The daily bulletin is public (everyone).
const COMMAND_PAGES = [
  { page: 'dashboard', href: '/dashboard.html', label: 'nav.dashboard', roles: ['city_command', 'district_command'] },
  // Zones and epidemic-free areas (src/zoning/routes.ts): command.
  { page: 'zones', href: '/zones.html', label: 'nav.zones', roles: ['city_command', 'district_command'] },
] as const;

/** The page a role starts on after signing in: a sampler's phone goes straight to tubes, a lab to uploads, a resident to their tests. */
export function homeOf(role: string): string {
  return role === 'sampler' ? '/sampler.html' : role === 'lab' ? '/lab.html' : role === 'resident' ? '/resident.html' : '/';
}

function renderNav(here: Here, role: string): void {
  const link = (href: string, label: string, active: boolean, id: string) =>
    h('a', { href, class: active ? 'nav-link active' : 'nav-link', id, 'aria-current': active ? 'page' : null }, label);
  const testing = TESTING_PAGES.filter((p) => (p.roles as readonly string[]).includes(role));
  const status = STATUS_PAGES.filter((p) => (p.roles as readonly string[]).includes(role));
  const tracing = TRACING_PAGES.filter((p) => (p.roles as readonly string[]).includes(role));
  const care = CARE_PAGES.filter((p) => (p.roles as readonly string[]).includes(role));
  const support = SUPPORT_PAGES.filter((p) => (p.roles as readonly string[]).includes(role));
  byId('sidebar').replaceChildren(
    h('div', { class: 'nav-group' }, t('nav.command')),
    link('/', t('nav.map'), here.page === 'map', 'nav-map'),
    ...COMMAND_PAGES.filter((p) => (p.roles as readonly string[]).includes(role)).map((p) => link(p.href, t(p.label), here.page === p.page, `nav-${p.page}`)),
    link('/bulletin.html', t('nav.bulletin'), false, 'nav-bulletin'),
    ...(testing.length ? [h('div', { class: 'nav-group' }, t('nav.testing'))] : []),
    ...testing.map((p) => link(p.href, t(p.label), here.page === p.page, `nav-${p.page}`)),
    ...(status.length ? [h('div', { class: 'nav-group' }, t('nav.status'))] : []),
    ...status.map((p) => link(p.href, t(p.label), here.page === p.page, `nav-${p.page}`)),
    ...(tracing.length ? [h('div', { class: 'nav-group' }, t('nav.tracing'))] : []),
    ...tracing.map((p) => link(p.href, t(p.label), here.page === p.page, `nav-${p.page}`)),
    ...(care.length ? [h('div', { class: 'nav-group' }, t('nav.care'))] : []),
    ...care.map((p) => link(p.href, t(p.label), here.page === p.page, `nav-${p.page}`)),
    ...(support.length ? [h('div', { class: 'nav-group' }, t('nav.livelihood'))] : []),
    ...support.map((p) => link(p.href, t(p.label), here.page === p.page, `nav-${p.page}`)),
    h('div', { class: 'nav-group' }, t('nav.registry')),
    ...ENTITY_ORDER.filter((e) => mayRead(e, role)).map((e) => link(`/registry.html?entity=${e}`, t(`entity.${e}` as Key), here.page === 'registry' && here.entity === e, `nav-${e}`)),
    h('div', { class: 'nav-foot' }, t('footer.audit')),
  );
}

/** Runs a load with `busy` marked aria-busy; a problem goes to the page's `message` (a 401 back to sign-in). */
export async function guarded(message: HTMLElement, busy: HTMLElement, fn: () => Promise<void>): Promise<void> {
  busy.setAttribute('aria-busy', 'true');
  try {
    await fn();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) location.reload();
    showError(message, e);
    if (e instanceof ApiError) message.dataset.status = String(e.status);
  } finally {
    busy.setAttribute('aria-busy', 'false');
  }
}

/** Shows an error (the problem+json detail) in a page's message area. */
export function showError(target: HTMLElement, e: unknown): void {
  const text = e instanceof ApiError ? problemWords(e) : e instanceof Error ? e.message : String(e);
  // The server's own words in the title, where the text is worded from the problem's code.
  target.replaceChildren(h('strong', {}, t('error.title')), ' ', h('span', { class: 'error-text', title: e instanceof ApiError ? e.detail || e.title : '' }, text));
  target.hidden = false;
}

/** "user:12:alice" → "alice" (the server's actor names); others (e.g. "system") as they are. */
export function actorName(actor: string): string {
  const m = /^[a-z]+:\d+:(.*)$/.exec(actor);
  return m ? m[1] : actor;
}
