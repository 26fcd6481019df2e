// Who is calling and what they may see. Every route declares its access (roles); data queries filter by
// the caller's jurisdiction (city, district or street), so that a record outside it is "not found".
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Queryable } from './db.ts';
import { forbidden, personIdUnknown, unauthorized } from './errors.ts';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: { N: number; r: number; p: number; maxmem: number }) => Promise<Buffer>;

export const ROLES = [
  'city_command',
  'district_command',
  'street_worker',
  'epidemiologist',
  'sampler',
  'lab',
  'facility_manager',
  'venue_operator',
  'resident',
] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  kind: 'user' | 'token';
  id: number;
  name: string;
  /** What people see: a user's display name, a token's name. */
  displayName: string;
  role: Role;
  districtId: number | null;
  streetId: number | null;
  labId: number | null;
  facilityId: number | null;
  venueId: number | null;
  personId: number | null;
}

/** What a route requires: `public`, or one of these roles (each within its own jurisdiction). */
export type Access = 'public' | { roles: readonly Role[] };

export const COMMAND: readonly Role[] = ['city_command', 'district_command'];
export const STAFF: readonly Role[] = ['city_command', 'district_command', 'street_worker', 'epidemiologist'];

// scrypt from node:crypto (OpenSSL): memory-hard, no native add-on to build. N=2^15 is about 50 ms here.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p), maxmem: 256 * 1024 * 1024 });
  return timingSafeEqual(expected, got);
}

export const newToken = () => randomBytes(32).toString('base64url');
export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

export const SESSION_COOKIE = 'cordon_session';
export const SESSION_HOURS = 12;

const principalColumns = 'id, role, district_id, street_id, lab_id, facility_id, venue_id';
type PrincipalRow = { id: number; name: string; display_name?: string; role: Role; district_id: number | null; street_id: number | null; lab_id: number | null; facility_id: number | null; venue_id: number | null; person_id?: number | null };
const toPrincipal = (kind: Principal['kind'], r: PrincipalRow): Principal => ({
  kind,
  id: r.id,
  name: r.name,
  displayName: r.display_name ?? r.name,
  role: r.role,
  districtId: r.district_id,
  streetId: r.street_id,
  labId: r.lab_id,
  facilityId: r.facility_id,
  venueId: r.venue_id,
  personId: r.person_id ?? null,
});

export async function principalFromSession(q: Queryable, token: string, now: Date): Promise<Principal | null> {
  const [row] = await q.query<PrincipalRow>(
    `SELECT u.${principalColumns.split(', ').join(', u.')}, u.person_id, u.username AS name, u.display_name
       FROM sessions s JOIN users u ON u.id = s.user_id
      WHERE s.token_hash = $1 AND s.expires_at > $2 AND NOT u.disabled`,
    [tokenHash(token), now],
  );
  return row ? toPrincipal('user', row) : null;
}

export async function principalFromApiToken(q: Queryable, token: string): Promise<Principal | null> {
  const [row] = await q.query<PrincipalRow>(`SELECT ${principalColumns}, name FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, [tokenHash(token)]);
  return row ? toPrincipal('token', row) : null;
}

/** Signs a user in: a new session token (the cookie's value), or null for a wrong name or password. */
export async function login(q: Queryable, username: string, password: string, now: Date): Promise<{ token: string; principal: Principal } | null> {
  const [user] = await q.query<PrincipalRow & { password_hash: string; disabled: boolean }>(
    `SELECT ${principalColumns}, person_id, username AS name, display_name, password_hash, disabled FROM users WHERE username = $1`,
    [username],
  );
  // Hash anyway when the user is unknown, so the answer takes as long either way.
  const ok = await verifyPassword(password, user?.password_hash ?? DUMMY_HASH);
  if (!user || !ok || user.disabled) return null;
  const token = newToken();
  await q.query('INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)', [tokenHash(token), user.id, now, new Date(now.getTime() + SESSION_HOURS * 3600_000)]);
  return { token, principal: toPrincipal('user', user) };
}
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

export async function logout(q: Queryable, token: string): Promise<void> {
  await q.query('DELETE FROM sessions WHERE token_hash = $1', [tokenHash(token)]);
}

/** Whether the caller may use a route of this access (requireAccess refuses the others, saying why). */
export function mayUse(access: Access, p: Principal | null): boolean {
  return access === 'public' || (p !== null && access.roles.includes(p.role));
}

export function requireAccess(access: Access, p: Principal | null): void {
  if (access === 'public') return;
  if (!p) throw unauthorized();
  if (!mayUse(access, p)) throw forbidden(`This needs one of the roles: ${access.roles.join(', ')}; you are ${p.role}.`, { code: 'roleNotAllowed', role: p.role });
}

export const scopeLevel = (p: Principal): 'city' | 'district' | 'street' => (p.streetId ? 'street' : p.districtId ? 'district' : 'city');

/**
 * A SQL condition that keeps rows inside the caller's jurisdiction. `alias` names a table with
 * district_id and street_id columns; the condition's parameters are pushed onto `params`.
 */
export function jurisdictionSql(p: Principal, alias: string, params: unknown[], columns = { district: 'district_id', street: 'street_id' }): string {
  if (p.role === 'resident') {
    params.push(p.personId ?? -1);
    return `${alias}.id = $${params.length}`;
  }
  if (p.streetId) {
    params.push(p.streetId);
    return `${alias}.${columns.street} = $${params.length}`;
  }
  if (p.districtId) {
    params.push(p.districtId);
    return `${alias}.${columns.district} = $${params.length}`;
  }
  return 'TRUE';
}

/** Whether a place (by its district and street) lies within the caller's jurisdiction. */
/** A person if the principal may see them (a resident: only themselves); otherwise "not found", never a hint. */
export async function personInJurisdiction(q: Queryable, p: Principal, personId: number): Promise<{ id: number; district_id: number | null; street_id: number | null }> {
  const params: unknown[] = [personId];
  const rows = await q.query<{ id: number; district_id: number | null; street_id: number | null }>(`SELECT id, district_id, street_id FROM persons p WHERE p.id = $1 AND ${jurisdictionSql(p, 'p', params)}`, params);
  if (!rows[0]) throw personIdUnknown(personId);
  return rows[0];
}

export function withinJurisdiction(p: Principal, place: { districtId: number | null; streetId: number | null }): boolean {
  if (p.streetId) return place.streetId === p.streetId;
  if (p.districtId) return place.districtId === p.districtId;
  return true;
}
