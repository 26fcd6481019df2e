// Calls to the cordon HTTP API from the pages. The session is an httpOnly cookie, so the pages never see
// a token; errors arrive as application/problem+json and are shown with their detail.
import { t, tMaybe, when, type Key } from './i18n.ts';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    /** The whole problem+json body, for fields beyond title and detail (e.g. a lab upload's `rejected`). */
    readonly problem: Record<string, unknown> = {},
  ) {
    super(detail || title);
  }
}

/**
 * A problem in the reader's language. For a refusal a page's user meets often, the server sends a `code` and
 * its values beside its words, and the dictionary has problem.<code>; a value that names a vocabulary entry
 * (group: controlled -> group.controlled) is worded too. Otherwise the server's words.
 */
export function problemWords(e: ApiError): string {
  return sentence('problem', e.problem) ?? (e.detail || e.title);
}

/** A refusal as a page shows it on one line (the HTTP status · the problem in words) and the server's own words, for the line's title. */
export function problemLine(e: unknown): { text: string; title: string } {
  if (e instanceof ApiError) return { text: `${e.status} · ${problemWords(e)}`, title: e.detail || e.title };
  return { text: e instanceof Error ? e.message : String(e), title: '' };
}

/**
 * Values whose vocabulary has another name in the dictionary (a support request's status: sup.status.done; a
 * case's: cstate.died), or more than one: a field is labelled where its page labels it (col.birthDate, care.spo2).
 */
const VOCABULARY: Record<string, string | string[]> = { requestStatus: 'sup.status', requestedStatus: 'sup.status', caseState: 'cstate', bulletinState: 'bul.state', referencedBy: 'entity', zone: 'group', column: ['col', 'care'] };

/** A value in words by its vocabulary, or as it is. */
const worded = (k: string, v: string | number): string => {
  for (const prefix of [VOCABULARY[k] ?? k].flat()) {
    const w = tMaybe(`${prefix}.${v}`, '');
    if (w) return w;
  }
  return String(v);
};

/** A value that is an instant in ISO text. */
const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

/**
 * The dictionary's sentence <prefix>.<code> for a reason the server sends as data (a code and its values),
 * the values as its variables; a value that names a vocabulary entry (group: controlled -> group.controlled,
 * colour: red -> colour.red) is worded too, and an instant (a quarantine order's end) is shown as the pages
 * show times. Null when the dictionary has no such sentence.
 */
export function sentence(prefix: string, data: Record<string, unknown>): string | null {
  const key = `${prefix}.${String(data.code)}`;
  if (typeof data.code !== 'string' || !tMaybe(key, '')) return null;
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) {
    if (typeof v === 'string' && INSTANT.test(v)) vars[k] = when(v);
    else if (typeof v === 'string' || typeof v === 'number') vars[k] = worded(k, v);
  }
  return t(key as Key, vars);
}

export interface Principal {
  kind: 'user' | 'token';
  id: number;
  /** The user name. */
  name: string;
  /** The name to show (e.g. 市指挥部), when the server sends one. */
  displayName?: string | null;
  role: string;
  districtId: number | null;
  streetId: number | null;
  /** The lab a lab user acts for. */
  labId?: number | null;
  /** The person a resident's account belongs to. */
  personId?: number | null;
}

export interface Page<T> {
  items: T[];
  next: number | null;
}

/** `body` goes as JSON; `text` goes as is with its content type (a lab's CSV file). */
export async function api<T>(path: string, init: { method?: string; body?: unknown; text?: { type: string; data: string } } = {}): Promise<T> {
  let res: Response;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.text) headers['content-type'] = init.text.type;
  else if (init.body !== undefined) headers['content-type'] = 'application/json';
  try {
    res = await fetch(path, {
      method: init.method ?? 'GET',
      credentials: 'same-origin',
      headers,
      body: init.text ? init.text.data : init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch {
    throw new ApiError(0, t('error.network'), t('error.network'));
  }
  const text = await res.text();
  const body: unknown = text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
  if (!res.ok) {
    const p = (typeof body === 'object' && body ? body : {}) as { title?: string; detail?: string };
    throw new ApiError(res.status, p.title ?? res.statusText, p.detail ?? p.title ?? (typeof body === 'string' ? body : res.statusText), p as Record<string, unknown>);
  }
  return body as T;
}

/** The signed-in user, or null when the session is missing or expired. */
export async function me(): Promise<Principal | null> {
  try {
    return (await api<{ user: Principal }>('/api/v1/auth/me')).user;
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return null;
    throw e;
  }
}

/** Goes to the sign-in page, to come back here after; the promise never settles, so the page stops. */
export function toLogin(): Promise<never> {
  const next = location.pathname + location.search;
  location.replace(`/login.html${next && next !== '/' ? `?next=${encodeURIComponent(next)}` : ''}`);
  return new Promise(() => undefined);
}
