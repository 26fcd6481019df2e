// Rooms at central quarantine sites per district (rooms, used, free, the transfer queue and its longest
// wait), and for command the allocation of rooms to the queue: households together, own district first,
// then the nearest site with rooms (src/tracing/store.ts allocateRooms). The page shows the server's answer.
import { api, ApiError, problemLine } from './api.ts';
import { byId, h } from './dom.ts';
import { formatNumber, t } from './i18n.ts';
import { boot, showError } from './shell.ts';

// GET /api/v1/quarantine/capacity (src/tracing/routes.ts).
interface DistrictRooms {
  districtId: number;
  name: string;
  rooms: number;
  used: number;
  free: number;
  waiting: number;
  longestWaitHours: number | string | null;
}

const message = byId('message');
const user = await boot({ page: 'quarantine' });
document.title = `${t('nav.quarantine')} · ${t('app.name')}`;

const allocate = byId<HTMLButtonElement>('allocate');
const result = byId('allocate-result');
// Allocation is for command (the server says so too).
allocate.hidden = !['city_command', 'district_command'].includes(user.role);
allocate.addEventListener('click', () => void allocateRooms());
byId('refresh').addEventListener('click', () => void load());
await load();

async function load(): Promise<void> {
  const table = byId('capacity');
  table.setAttribute('aria-busy', 'true');
  try {
    const { districts } = await api<{ districts: DistrictRooms[] }>('/api/v1/quarantine/capacity');
    render(districts);
    message.hidden = true;
  } catch (e) {
    problem(e);
  } finally {
    table.setAttribute('aria-busy', 'false');
  }
}

function render(districts: DistrictRooms[]): void {
  const body = byId('capacity-body');
  body.dataset.count = String(districts.length);
  if (!districts.length) {
    body.replaceChildren(h('tr', { class: 'empty' }, h('td', { colspan: 7 }, t('list.empty'))));
    byId('totals').replaceChildren();
    return;
  }
  const sum = (k: 'rooms' | 'used' | 'free' | 'waiting') => districts.reduce((s, d) => s + Number(d[k]), 0);
  const waits = districts.map((d) => hours(d.longestWaitHours)).filter((x): x is number => x !== null);
  const total: DistrictRooms = { districtId: 0, name: t('q.total'), rooms: sum('rooms'), used: sum('used'), free: sum('free'), waiting: sum('waiting'), longestWaitHours: waits.length ? Math.max(...waits) : null };
  body.replaceChildren(...districts.map((d) => row(d, false)), row(total, true));
  body.dataset.waiting = String(total.waiting);
  body.dataset.used = String(total.used);
  const tile = (key: 'rooms' | 'used' | 'free' | 'waiting', label: string, warn = false) =>
    h('div', { class: `stat${warn ? ' warn' : ''}`, 'data-key': key, 'data-value': total[key] }, h('div', { class: 'stat-value' }, formatNumber(Number(total[key]))), h('div', { class: 'stat-label' }, label));
  byId('totals').replaceChildren(tile('rooms', t('q.rooms')), tile('used', t('q.used')), tile('free', t('q.free')), tile('waiting', t('q.waiting'), total.waiting > 0));
}

function row(d: DistrictRooms, isTotal: boolean): HTMLElement {
  const rooms = Number(d.rooms);
  const used = Number(d.used);
  const share = rooms ? Math.min(1, used / rooms) : 0;
  const wait = hours(d.longestWaitHours);
  const num = (n: number, cls = '') => h('td', { class: `num ${cls}`.trim() }, formatNumber(n));
  return h(
    'tr',
    { 'data-district': isTotal ? 'total' : d.districtId, 'data-waiting': d.waiting, 'data-free': d.free, class: isTotal ? 'total' : '' },
    h('td', {}, d.name),
    num(rooms),
    num(used),
    num(Number(d.free), Number(d.free) <= 0 && rooms > 0 ? 'warn' : ''),
    h('td', { title: `${Math.round(share * 100)}%` }, h('span', { class: 'q-bar', 'aria-hidden': 'true' }, h('span', { class: share >= 1 ? 'full' : '', style: `width:${Math.round(share * 100)}%` })), ` ${Math.round(share * 100)}%`),
    num(Number(d.waiting), Number(d.waiting) > 0 ? 'warn' : ''),
    h('td', { class: 'num' }, wait === null ? '—' : t('q.hours', { n: wait < 10 ? wait.toFixed(1) : Math.round(wait) })),
  );
}

/** Hours as a number (PostgreSQL may send a numeric as a string), or null when nobody waits. */
function hours(v: number | string | null): number | null {
  if (v === null || v === undefined) return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

async function allocateRooms(): Promise<void> {
  result.hidden = true;
  allocate.disabled = true;
  try {
    const r = await api<{ placed: number; waiting: number }>('/api/v1/quarantine/allocate', { method: 'POST', body: {} });
    result.className = 'notice';
    result.dataset.kind = 'ok';
    result.dataset.placed = String(r.placed);
    result.dataset.waiting = String(r.waiting);
    result.textContent = t('q.allocated', { placed: formatNumber(r.placed), waiting: formatNumber(r.waiting) });
    result.title = '';
    result.hidden = false;
    await load();
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) location.reload();
    result.className = 'row-error';
    result.dataset.kind = 'error';
    ({ text: result.textContent, title: result.title } = problemLine(e));
    result.hidden = false;
  } finally {
    allocate.disabled = false;
  }
}

function problem(e: unknown): void {
  if (e instanceof ApiError && e.status === 401) location.reload();
  showError(message, e);
}
