// Creating users. The roles and their jurisdictions are in auth.ts.
import type { Queryable } from './db.ts';
import { hashPassword, ROLES, type Role } from './auth.ts';
import { appendAudit } from './audit.ts';

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  displayName?: string;
  districtId?: number | null;
  streetId?: number | null;
  labId?: number | null;
  facilityId?: number | null;
  venueId?: number | null;
  personId?: number | null;
}

export async function createUser(q: Queryable, u: NewUser, now: Date, by = 'system'): Promise<number> {
  if (!ROLES.includes(u.role)) throw new Error(`Unknown role "${u.role}"; roles: ${ROLES.join(', ')}`);
  if (u.role === 'resident' && !u.personId) throw new Error('A resident user needs the person record it belongs to');
  if (u.password.length < 8) throw new Error('A password needs at least 8 characters');
  let districtId = u.districtId ?? null;
  if (u.streetId) {
    // A street user's district follows from the street, so district-level filters include them too.
    const [s] = await q.query<{ district_id: number }>('SELECT district_id FROM streets WHERE id = $1', [u.streetId]);
    if (!s) throw new Error(`No street ${u.streetId}`);
    districtId = s.district_id;
  }
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO users (username, display_name, password_hash, role, district_id, street_id, lab_id, facility_id, venue_id, person_id)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) RETURNING id`,
    [u.username, u.displayName ?? u.username, await hashPassword(u.password), u.role, districtId, u.streetId ?? null, u.labId ?? null, u.facilityId ?? null, u.venueId ?? null, u.personId ?? null],
  );
  await appendAudit(q, [{ actor: by, action: 'create', entity: 'user', entityId: row.id, detail: { username: u.username, role: u.role, districtId, streetId: u.streetId ?? null } }], now);
  return row.id;
}
