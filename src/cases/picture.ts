// What the command centre and the facilities read: the transfer queue, beds now and per day, the days of
// beds left at the current admission rate, SANER-style counts per facility, and who is ready to go home.
// Beds now are sums over the facilities' counters (no count over cases); per day they are the running sum
// of the bedTaken / bedReleased events.
import type { Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { readinessFacts } from './store.ts';
import type { DischargeReadiness } from './rules.ts';
import { DAY_MS } from '../core/days.ts';

/** A SQL condition on cases `c` and facilities `f` for the caller's reach, its parameters pushed. */
export type Scope = { districtId: number | null; streetId: number | null; facilityId: number | null };

function scopeSql(s: Scope, params: unknown[], caseAlias = 'c'): string {
  if (s.facilityId !== null) {
    params.push(s.facilityId);
    return `(${caseAlias}.facility_id = $${params.length} OR ${caseAlias}.leaving_facility_id = $${params.length})`;
  }
  if (s.streetId !== null) {
    params.push(s.streetId);
    return `${caseAlias}.street_id = $${params.length}`;
  }
  if (s.districtId !== null) {
    params.push(s.districtId);
    return `${caseAlias}.district_id = $${params.length}`;
  }
  return 'TRUE';
}

export interface QueueEntry {
  caseId: number;
  personId: number;
  name: string;
  age: number;
  districtId: number | null;
  destination: string;
  severity: string;
  reason: string | null;
  reportedAt: string;
  waitingSince: string;
  /** Waited since the positive result (new cases) or since the referral (cases already in a bed). */
  waitedMinutes: number;
  inBed: { facilityId: number; bedType: string } | null;
}

/** The transfer queue: everyone waiting for a bed, the longest wait first. */
export async function transferQueue(q: Queryable, scope: Scope, now: Date, limit = 500): Promise<{ total: number; items: QueueEntry[] }> {
  const params: unknown[] = [now, limit];
  const where = scopeSql(scope, params);
  const rows = await q.query<QueueEntry & { total: number }>(
    `SELECT c.id AS "caseId", c.person_id AS "personId", p.name, date_part('year', age($1::timestamptz, p.birth_date))::int AS age, c.district_id AS "districtId",
            c.destination, c.severity, c.queue_reason AS reason, c.reported_at AS "reportedAt", c.waiting_since AS "waitingSince",
            floor(extract(epoch FROM ($1::timestamptz - c.waiting_since)) / 60)::int AS "waitedMinutes",
            CASE WHEN c.facility_id IS NULL THEN NULL ELSE json_build_object('facilityId', c.facility_id, 'bedType', c.bed_type) END AS "inBed",
            count(*) OVER ()::int AS total
       FROM cases c JOIN persons p ON p.id = c.person_id
      WHERE c.waiting_since IS NOT NULL AND ${where}
      ORDER BY c.waiting_since, c.id LIMIT $2`,
    params,
  );
  return { total: rows[0]?.total ?? 0, items: rows.map(({ total: _t, ...r }) => r) };
}

export interface BedCount {
  total: number;
  occupied: number;
  available: number;
}
const bedCount = (total: number, occupied: number): BedCount => ({ total, occupied, available: total - occupied });

/** SANER-style bed counts per facility (total, occupied, available by bed type), hospitals and shelters. */
export async function facilityBeds(q: Queryable, districtId: number | null, facilityId: number | null = null) {
  const params: unknown[] = [];
  const where = [`f.kind IN ('shelterHospital', 'designatedHospital')`];
  if (districtId !== null) where.push(`f.district_id = $${params.push(districtId)}`);
  if (facilityId !== null) where.push(`f.id = $${params.push(facilityId)}`);
  const rows = await q.query<{ id: number; code: string; name: string; kind: string; district_id: number; beds_general: number; occupied_general: number; beds_icu: number; occupied_icu: number; assigned: number }>(
    `SELECT f.id, f.code, f.name, f.kind, f.district_id, f.beds_general, f.occupied_general, f.beds_icu, f.occupied_icu,
            (SELECT count(*)::int FROM cases c WHERE c.facility_id = f.id AND c.state = 'assigned') AS assigned
       FROM facilities f WHERE ${where.join(' AND ')} ORDER BY f.district_id, f.kind, f.code`,
    params,
  );
  return rows.map((r) => ({
    facilityId: r.id,
    code: r.code,
    name: r.name,
    kind: r.kind,
    districtId: r.district_id,
    general: bedCount(r.beds_general, r.occupied_general),
    icu: bedCount(r.beds_icu, r.occupied_icu),
    /** Beds held for patients on their way (included in occupied). */
    incoming: r.assigned,
  }));
}

const KINDS = [
  { key: 'shelterHospital', kind: 'shelterHospital', beds: 'beds_general', occupied: 'occupied_general', bedType: 'general' },
  { key: 'designatedHospital', kind: 'designatedHospital', beds: 'beds_general', occupied: 'occupied_general', bedType: 'general' },
  { key: 'icu', kind: 'designatedHospital', beds: 'beds_icu', occupied: 'occupied_icu', bedType: 'icu' },
] as const;

/**
 * The capacity picture: beds by kind (shelter, hospital general, ICU) and district now, the queue per
 * kind, admissions per day over the last `rateDays` and the days of beds left at that rate, and the
 * occupancy at the end of each of the last `days` days.
 */
export async function capacityPicture(q: Queryable, preset: Preset, now: Date, districtId: number | null, opts: { days?: number; rateDays?: number } = {}) {
  const days = opts.days ?? 14;
  const rateDays = opts.rateDays ?? 3;
  const params: unknown[] = [];
  const fWhere = districtId !== null ? `AND f.district_id = $${params.push(districtId)}` : '';
  const nowRows = await q.query<{ district_id: number; kind: string; total: number; occupied: number }>(
    KINDS.map((k) => `SELECT f.district_id, '${k.key}' AS kind, sum(f.${k.beds})::int AS total, sum(f.${k.occupied})::int AS occupied FROM facilities f WHERE f.kind = '${k.kind}' ${fWhere} GROUP BY f.district_id`).join(' UNION ALL '),
    params,
  );
  const qParams: unknown[] = [];
  const qWhere = districtId !== null ? `AND c.district_id = $${qParams.push(districtId)}` : '';
  const queue = await q.query<{ destination: string; n: number }>(`SELECT destination, count(*)::int AS n FROM cases c WHERE c.waiting_since IS NOT NULL ${qWhere} GROUP BY destination`, qParams);
  // Beds taken and given back per local day, by the facility's district and the kind of bed.
  const eParams: unknown[] = [new Date(now.getTime() - days * DAY_MS), preset.reporting.timeZone];
  const eWhere = districtId !== null ? `AND f.district_id = $${eParams.push(districtId)}` : '';
  const moves = await q.query<{ day: string; kind: string; taken: number; released: number }>(
    `SELECT to_char(e.at AT TIME ZONE $2, 'YYYY-MM-DD') AS day, CASE WHEN e.bed_type = 'icu' THEN 'icu' ELSE f.kind END AS kind,
            count(*) FILTER (WHERE e.kind = 'bedTaken')::int AS taken, count(*) FILTER (WHERE e.kind = 'bedReleased')::int AS released
       FROM case_events e JOIN facilities f ON f.id = e.facility_id
      WHERE e.kind IN ('bedTaken', 'bedReleased') AND e.at >= $1 ${eWhere}
      GROUP BY 1, 2`,
    eParams,
  );
  const byKind = KINDS.map((k) => {
    const rows = nowRows.filter((r) => r.kind === k.key);
    const total = rows.reduce((s, r) => s + (r.total ?? 0), 0);
    const occupied = rows.reduce((s, r) => s + (r.occupied ?? 0), 0);
    const recent = moves.filter((m) => m.kind === k.key);
    const dayKeys = lastDays(now, rateDays, preset.reporting.timeZone);
    const admissionsPerDay = recent.filter((m) => dayKeys.includes(m.day)).reduce((s, m) => s + m.taken, 0) / rateDays;
    // Occupancy at the end of each day, walking back from now through the day's moves.
    const series: { day: string; occupied: number; taken: number; released: number }[] = [];
    let occ = occupied;
    for (const day of lastDays(now, days, preset.reporting.timeZone).reverse()) {
      const m = recent.find((x) => x.day === day);
      series.unshift({ day, occupied: occ, taken: m?.taken ?? 0, released: m?.released ?? 0 });
      occ -= (m?.taken ?? 0) - (m?.released ?? 0);
    }
    return {
      kind: k.key,
      ...bedCount(total, occupied),
      waiting: queue.find((x) => x.destination === k.key)?.n ?? 0,
      admissionsPerDay: Math.round(admissionsPerDay * 10) / 10,
      /** Free beds over the admissions per day of the last `rateDays` days (null: no admissions). */
      daysLeft: admissionsPerDay > 0 ? Math.round(((total - occupied) / admissionsPerDay) * 10) / 10 : null,
      byDistrict: rows.map((r) => ({ districtId: r.district_id, ...bedCount(r.total ?? 0, r.occupied ?? 0) })).sort((a, b) => a.districtId - b.districtId),
      perDay: series,
    };
  });
  return { at: now.toISOString(), rateDays, kinds: byKind };
}

/** The local calendar days (oldest first) of the `n` days ending with today in `timeZone`. */
function lastDays(now: Date, n: number, timeZone: string): string[] {
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const out: string[] = [];
  for (let i = n - 1; i >= 0; i--) out.push(fmt.format(new Date(now.getTime() - i * DAY_MS)));
  return out;
}

/** Admitted cases of a facility (or every facility in reach) with their discharge readiness, ready first. */
export async function dischargeList(q: Queryable, scope: Scope, preset: Preset, now: Date, onlyReady: boolean) {
  const params: unknown[] = [];
  const where = scopeSql(scope, params);
  const rows = await q.query<{ id: number; person_id: number; name: string; facility_id: number; facility: string; admitted_at: Date; severity: string }>(
    `SELECT c.id, c.person_id, p.name, c.facility_id, f.name AS facility, c.admitted_at, c.severity
       FROM cases c JOIN persons p ON p.id = c.person_id JOIN facilities f ON f.id = c.facility_id
      WHERE c.state = 'admitted' AND ${where} ORDER BY c.facility_id, c.admitted_at`,
    params,
  );
  const ready = await readinessFacts(q, rows.map((r) => Number(r.id)), preset, now);
  const items = rows
    .map((r) => ({ caseId: Number(r.id), personId: r.person_id, name: r.name, facilityId: r.facility_id, facility: r.facility, admittedAt: new Date(r.admitted_at).toISOString(), severity: r.severity, readiness: ready.get(Number(r.id)) as DischargeReadiness }))
    .filter((x) => !onlyReady || x.readiness.ready);
  return items.sort((a, b) => Number(b.readiness.ready) - Number(a.readiness.ready) || a.facilityId - b.facilityId);
}
