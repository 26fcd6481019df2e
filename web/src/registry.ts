// A registry entity as a table: search box, keyset paging (the API's `next` is the cursor of the next
// page), and a detail panel. The page is registry.html?entity=persons (or any entity of ENTITY_ORDER).
import { api, ApiError, problemLine, problemWords, type Page, type Principal } from './api.ts';
import { h, byId, instant } from './dom.ts';
import { currentLang, formatNumber, t, tMaybe, when, type Key } from './i18n.ts';
import { boot, showError } from './shell.ts';
import { COLUMNS, FIELD_FORMATS, FIELD_LABELS, isEntity, type Column, type Entity, type RefEntity } from './entities.ts';

type Rec = Record<string, unknown>;
const PAGE_SIZE = 50;

const params = new URLSearchParams(location.search);
const entityParam = params.get('entity');
const entity: Entity = isEntity(entityParam) ? entityParam : 'persons';

// Cursors of the pages seen so far, so that "previous" works with a forward-only keyset.
const state = { q: params.get('q') ?? '', cursors: [0] as number[], next: null as number | null, loading: false };

const message = byId('message');
const table = byId<HTMLTableElement>('table');
const form = byId<HTMLFormElement>('search');
const input = byId<HTMLInputElement>('q');

const user = await boot({ page: 'registry', entity });
document.title = `${t(`entity.${entity}` as Key)} · ${t('app.name')}`;
byId('title').textContent = t(`entity.${entity}` as Key);
input.placeholder = t(entity === 'persons' ? 'list.searchPlaceholder.persons' : 'list.searchPlaceholder');
input.value = state.q;
if (!isEntity(entityParam)) showError(message, new Error(`${t('list.unknownEntity')}: ${entityParam ?? ''}`));

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  state.q = input.value.trim();
  state.cursors = [0];
  void load();
});
byId('first').addEventListener('click', () => {
  state.cursors = [0];
  void load();
});
byId('prev').addEventListener('click', () => {
  if (state.cursors.length > 1) state.cursors.pop();
  void load();
});
byId('next').addEventListener('click', () => {
  if (state.next === null) return;
  state.cursors.push(state.next);
  void load();
});
byId('detail-close').addEventListener('click', () => (byId('detail').hidden = true));

void load();

async function load(): Promise<void> {
  if (state.loading) return;
  state.loading = true;
  const section = byId('list');
  section.setAttribute('aria-busy', 'true');
  message.hidden = true;
  const after = state.cursors[state.cursors.length - 1];
  const qs = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.q) qs.set('q', state.q);
  if (after) qs.set('after', String(after));
  const url = new URLSearchParams({ entity });
  if (state.q) url.set('q', state.q);
  history.replaceState(null, '', `?${url}`);
  try {
    const page = await api<Page<Rec>>(`/api/v1/${entity}?${qs}`);
    state.next = page.next;
    await resolveRefs(page.items);
    renderTable(page.items);
  } catch (e) {
    state.next = null;
    renderTable(null);
    showError(message, e);
  } finally {
    state.loading = false;
    section.setAttribute('aria-busy', 'false');
    renderPager();
  }
}

function renderPager(): void {
  byId<HTMLButtonElement>('next').disabled = state.next === null;
  byId<HTMLButtonElement>('prev').disabled = state.cursors.length <= 1;
  byId<HTMLButtonElement>('first').disabled = state.cursors.length <= 1;
  byId('page-no').textContent = t('list.page', { n: state.cursors.length });
}

/** Draws the page of records; null (after an error) leaves the body empty rather than claiming no matches. */
function renderTable(page: Rec[] | null): void {
  const cols = COLUMNS[entity];
  const items = page ?? [];
  const posters = entity === 'venues' && POSTER_ROLES.includes(user.role);
  table.replaceChildren(
    h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { class: c.format === 'number' ? 'num' : '' }, t(c.label))), posters ? h('th', {}, t('poster.link')) : null)),
    h(
      'tbody',
      {},
      ...(page === null
        ? []
        : items.length === 0
        ? [h('tr', { class: 'empty' }, h('td', { colspan: cols.length + (posters ? 1 : 0) }, t('list.empty')))]
        : items.map((r) =>
            h(
              'tr',
              { 'data-id': String(r.id), tabindex: 0, onclick: () => void openDetail(r), onkeydown: (ev: Event) => (ev as KeyboardEvent).key === 'Enter' && void openDetail(r) },
              ...cols.map((c) => h('td', { class: alignOf(c) }, cell(r, c))),
              posters ? h('td', {}, mayPrintPoster(user, r) ? posterLink(r) : null) : null,
            ),
          )),
    ),
  );
  byId('row-count').textContent = t('list.rows', { n: items.length });
  table.dataset.rows = String(items.length);
}

// Mirrors the venue-code routes' access (src/status/venue-code-routes.ts) only to leave out links that would
// answer 403; the server stays the one that decides.
const POSTER_ROLES = ['city_command', 'district_command', 'street_worker', 'epidemiologist', 'venue_operator'];
function mayPrintPoster(p: Principal, r: Rec): boolean {
  if (p.role === 'venue_operator') return (p as { venueId?: number | null }).venueId === r.id;
  if (p.streetId) return r.streetId === p.streetId;
  if (p.districtId) return r.districtId === p.districtId;
  return true;
}

/** A venue's poster, opened without opening the row's detail. */
function posterLink(r: Rec): HTMLAnchorElement {
  const stop = (ev: Event) => ev.stopPropagation();
  return h('a', { href: `/poster.html?venue=${String(r.id)}`, class: 'poster-link', onclick: stop, onkeydown: stop }, t('poster.link'));
}

const alignOf = (c: Column) => (c.format === 'number' ? 'num' : c.format === 'mono' || c.format === 'lonlat' ? 'mono' : '');

const valueOf = (r: Rec, c: Column): unknown => r[c.key];

function cell(r: Rec, c: Column): string {
  const v = valueOf(r, c);
  if (c.ref) return refName(c.ref, v);
  if (c.format === 'lonlat') {
    const lon = v;
    const lat = c.key === 'centroidLon' ? r.centroidLat : r.lat;
    return typeof lon === 'number' && typeof lat === 'number' ? `${lon.toFixed(4)}, ${lat.toFixed(4)}` : '—';
  }
  if (c.format === 'hours') return r.opens && r.closes ? `${String(r.opens).slice(0, 5)}–${String(r.closes).slice(0, 5)}` : '—';
  return show(v, c.format);
}

function show(v: unknown, format: Column['format'] = 'text'): string {
  if (v === null || v === undefined || v === '') return '—';
  switch (format) {
    case 'number':
      return typeof v === 'number' ? formatNumber(v) : String(v);
    case 'bool':
      return v ? t('yes') : t('no');
    case 'sex':
      return tMaybe(`sex.${String(v)}`, String(v));
    case 'kind':
      return tMaybe(`kind.${String(v)}`, String(v));
    case 'pregnancy':
      return tMaybe(`pregnancy.${String(v)}`, String(v));
    case 'date':
      return String(v).slice(0, 10);
    case 'datetime':
      return new Date(String(v)).toLocaleString(currentLang(), { dateStyle: 'short', timeStyle: 'short' });
    case 'list':
      return Array.isArray(v) ? (v.length ? v.map((x) => tMaybe(`vocab.${String(x)}`, String(x))).join(currentLang() === 'en' ? ', ' : '、') : '—') : String(v);
    default:
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

// Names of referenced districts, streets and compounds, fetched once per id and kept for the page's life.
const refNames: Record<RefEntity, Map<number, string>> = { districts: new Map(), streets: new Map(), compounds: new Map() };

function refName(ref: RefEntity, v: unknown): string {
  if (typeof v !== 'number') return show(v);
  return refNames[ref].get(v) ?? `#${v}`;
}

async function resolveRefs(items: Rec[], columns: Column[] = COLUMNS[entity]): Promise<void> {
  const wanted: [RefEntity, number][] = [];
  for (const c of columns) {
    if (!c.ref) continue;
    const seen = new Set<number>();
    for (const r of items) {
      const v = valueOf(r, c);
      if (typeof v === 'number' && !refNames[c.ref].has(v) && !seen.has(v)) {
        seen.add(v);
        wanted.push([c.ref, v]);
      }
    }
  }
  // A failed lookup (e.g. outside the caller's jurisdiction) leaves the id showing; the table still renders.
  await Promise.all(
    wanted.map(async ([ref, id]) => {
      try {
        const rec = await api<Rec>(`/api/v1/${ref}/${id}`);
        const name = currentLang() === 'en' && rec.nameEn ? rec.nameEn : rec.name;
        refNames[ref].set(id, String(name ?? rec.code ?? `#${id}`));
      } catch {
        refNames[ref].set(id, `#${id}`);
      }
    }),
  );
}

const REFS: Record<string, RefEntity> = { districtId: 'districts', streetId: 'streets', compoundId: 'compounds' };

// Every plain field of a record, labelled and formatted like the table; shapes and nested objects are left out.
function detailColumns(rec: Rec): Column[] {
  return Object.entries(rec)
    .filter(([k, v]) => k !== 'geometry' && k !== 'geom' && (v === null || typeof v !== 'object' || Array.isArray(v)))
    .map(([k]) => ({ key: k, label: entity === 'persons' && k === 'name' ? 'col.personName' : (FIELD_LABELS[k] ?? (k as Key)), format: FIELD_FORMATS[k], ref: REFS[k] }));
}

async function openDetail(r: Rec): Promise<void> {
  const panel = byId('detail');
  const body = byId('detail-body');
  byId('detail-title').textContent = `${t(`entity.${entity}` as Key)} · ${String(r.name ?? r.code ?? r.id)}`;
  body.replaceChildren(h('p', { class: 'muted' }, t('list.loading')));
  panel.hidden = false;
  try {
    const rec = await api<Rec>(`/api/v1/${entity}/${String(r.id)}`);
    await resolveRefs([rec], detailColumns(rec));
    body.replaceChildren(
      h(
        'dl',
        { class: 'fields' },
        ...detailColumns(rec).flatMap((c) => [h('dt', {}, t(c.label)), h('dd', { class: c.format === 'mono' ? 'mono' : '' }, cell(rec, c))]),
      ),
    );
    // The card stays when the arrivals cannot be read: the refusal is shown in their place.
    if (entity === 'persons' && ARRIVAL_RECORDERS.includes(user.role)) body.append(await arrivalsOf(Number(rec.id)).catch((e: unknown) => h('p', { class: 'error' }, problemLine(e).text)));
  } catch (e) {
    body.replaceChildren(h('p', { class: 'error' }, e instanceof ApiError ? problemWords(e) : String(e)));
  }
}

// Arrivals into the city (src/tracing/routes.ts): who may record them, as the server decides.
const ARRIVAL_RECORDERS = ['street_worker', 'epidemiologist', 'city_command', 'district_command'];
const ARRIVAL_KINDS = ['inbound', 'highRisk', 'mediumRisk', 'lowRisk'] as const;
interface Arrival {
  id: number;
  kind: (typeof ARRIVAL_KINDS)[number];
  origin: string;
  arrivedAt: string;
}

/** The quarantine order an arrival got (src/tracing/arrivals.ts): issued, or one in force already; null when its days were over or its kind has none. */
interface ArrivalOrder {
  issued: boolean;
  centralUntil: string | null;
  homeUntil: string | null;
  endsAt: string;
}

function orderNote(kind: Arrival['kind'], o: ArrivalOrder | null): string {
  if (kind === 'lowRisk') return t('arrivals.testsAsked');
  if (!o) return t('arrivals.recorded');
  if (!o.issued) return t('arrivals.orderInForce', { until: when(o.endsAt) });
  if (o.centralUntil) return o.homeUntil ? t('arrivals.ordered.centralHome', { central: when(o.centralUntil), home: when(o.homeUntil) }) : t('arrivals.ordered.central', { central: when(o.centralUntil) });
  return t('arrivals.ordered.home', { home: when(o.homeUntil ?? o.endsAt) });
}

/** A person's arrivals and a form to record one; recorded, the section is drawn again with it. */
async function arrivalsOf(personId: number): Promise<HTMLElement> {
  const { items } = await api<{ items: Arrival[] }>(`/api/v1/persons/${personId}/arrivals`);
  const kind = h('select', { id: 'arrival-kind' }, ...ARRIVAL_KINDS.map((k) => h('option', { value: k }, t(`arrival.${k}`))));
  const origin = h('input', { id: 'arrival-origin', type: 'text', maxlength: 200, required: true });
  const at = h('input', { id: 'arrival-at', type: 'datetime-local', required: true });
  const submit = h('button', { id: 'arrival-submit', class: 'btn small', type: 'submit' }, t('arrivals.record'));
  const note = h('p', { id: 'arrival-note', class: 'small', hidden: true });
  const section = h(
    'section',
    { id: 'arrivals', class: 'stack small' },
    h('h3', {}, t('arrivals.title')),
    items.length ? h('ul', { id: 'arrival-list' }, ...items.map((a) => h('li', { 'data-kind': a.kind }, t('arrivals.item', { at: when(a.arrivedAt), kind: t(`arrival.${a.kind}`), origin: a.origin })))) : h('p', { class: 'muted' }, t('arrivals.none')),
    h(
      'form',
      {
        id: 'arrival-form',
        class: 'arrival-form',
        onsubmit: (ev: Event) => {
          ev.preventDefault();
          void record();
        },
      },
      h('label', { class: 'field' }, h('span', {}, t('arrivals.kind')), kind),
      h('label', { class: 'field' }, h('span', {}, t('arrivals.origin')), origin),
      h('label', { class: 'field' }, h('span', {}, t('arrivals.at')), at),
      h('div', {}, submit),
      note,
    ),
  );
  async function record(): Promise<void> {
    submit.disabled = true;
    try {
      const { kind: recorded, order } = await api<{ kind: Arrival['kind']; order: ArrivalOrder | null }>(`/api/v1/persons/${personId}/arrivals`, { method: 'POST', body: { kind: kind.value, origin: origin.value, arrivedAt: instant(at.value) } });
      const fresh = await arrivalsOf(personId);
      const freshNote = fresh.querySelector<HTMLElement>('#arrival-note')!;
      freshNote.textContent = orderNote(recorded, order);
      freshNote.dataset.kind = 'done';
      freshNote.hidden = false;
      section.replaceWith(fresh);
    } catch (e) {
      const { text, title } = problemLine(e);
      note.textContent = text;
      note.title = title;
      note.dataset.kind = 'error';
      note.hidden = false;
    } finally {
      submit.disabled = false;
    }
  }
  return section;
}
