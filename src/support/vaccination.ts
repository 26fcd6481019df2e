// Vaccination in storage: dose records (facts, never edited), a person's state, coverage by age band and
// area, the lists of unvaccinated and unboosted elderly for door-to-door work, and bookings at sampling
// points that vaccinate. Ages and series are computed in SQL from the preset's numbers.
import type { Queryable } from '../core/db.ts';
import { jurisdictionSql, type Principal } from '../core/auth.ts';
import type { Preset } from '../core/presets.ts';
import { badRequest, conflict, notFound, personIdUnknown } from '../core/errors.ts';
import { bookingProblems, doseProblems, localTime, problemsBody, vaccinationState, type DoseRecord, type VaccinationState } from './rules.ts';

export interface DoseRow extends DoseRecord {
  id: number;
  recordedBy: string;
  recordedAt: string;
}

export async function dosesOf(q: Queryable, personId: number): Promise<DoseRow[]> {
  const rows = await q.query<DoseRow>(
    `SELECT id, dose, product, to_char(given_on, 'YYYY-MM-DD') AS "givenOn", recorded_by AS "recordedBy", recorded_at AS "recordedAt" FROM vaccinations WHERE person_id = $1 ORDER BY dose`,
    [personId],
  );
  return rows.map((r) => ({ ...r, id: Number(r.id), recordedAt: new Date(r.recordedAt).toISOString() }));
}

export const today = (preset: Preset, now: Date) => localTime(now, preset.reporting.timeZone).day;

/** Records a dose after checking it against the doses before it; an open booking for that dose is done. */
export async function recordDose(q: Queryable, personId: number, d: { dose: number; product: string; givenOn: string }, preset: Preset, by: string, now: Date): Promise<{ id: number; state: VaccinationState }> {
  const [person] = await q.query<{ birth: string }>("SELECT to_char(birth_date, 'YYYY-MM-DD') AS birth FROM persons WHERE id = $1 FOR UPDATE", [personId]);
  if (!person) throw personIdUnknown(personId);
  const existing = await dosesOf(q, personId);
  const problems = doseProblems(existing, d, person.birth, today(preset, now));
  const words = problems.map((p) => p.text).join(' ');
  // Recorded already: a conflict with the record, whatever else is wrong with the request.
  const recorded = problems.filter((p) => p.code === 'doseRecorded');
  if (recorded.length) throw conflict(words, problemsBody([...recorded, ...problems.filter((p) => p.code !== 'doseRecorded')]));
  if (problems.length) throw badRequest(words, problemsBody(problems));
  const [row] = await q.query<{ id: number }>('INSERT INTO vaccinations (person_id, dose, product, given_on, recorded_by, recorded_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id', [personId, d.dose, d.product, d.givenOn, by, now]);
  await q.query("UPDATE vaccination_bookings SET state = 'done', vaccination_id = $3, closed_at = $4 WHERE person_id = $1 AND dose = $2 AND state = 'booked'", [personId, d.dose, row.id, now]);
  return { id: Number(row.id), state: vaccinationState([...existing, d], preset, today(preset, now)) };
}

// Per person: doses, the first dose's product and from it the primary series' length, and the day the
// series was completed. $map: the preset's primaryDosesByProduct, $def: its primaryDoses.
const seriesSql = (map: string, def: string) => `
  CROSS JOIN LATERAL (SELECT count(*)::int AS doses, min(v.product) FILTER (WHERE v.dose = 1) AS first_product FROM vaccinations v WHERE v.person_id = p.id) v
  CROSS JOIN LATERAL (SELECT coalesce((${map}::jsonb ->> v.first_product)::int, ${def}::int) AS need) n`;

/**
 * Coverage of the elderly (the preset's 60+ and 80+) by area: persons, with at least one dose, with the
 * primary series complete, and boosted. `by` district or street.
 */
export async function coverage(q: Queryable, p: Principal, preset: Preset, now: Date, by: 'district' | 'street') {
  const v = preset.vaccination;
  const params: unknown[] = [today(preset, now), v.elderlyAgeAtLeast, v.oldestAgeAtLeast, JSON.stringify(v.primaryDosesByProduct), v.primaryDoses];
  const reach = jurisdictionSql(p, 'p', params);
  const area = by === 'street' ? 'p.street_id' : 'p.district_id';
  const rows = await q.query<{ area: number | null; band: string; persons: number; one: number; full: number; boosted: number }>(
    `SELECT ${area} AS area, b.band, count(*)::int AS persons, count(*) FILTER (WHERE v.doses > 0)::int AS one,
            count(*) FILTER (WHERE v.doses >= n.need)::int AS full, count(*) FILTER (WHERE v.doses > n.need)::int AS boosted
       FROM persons p ${seriesSql('$4', '$5')}
       CROSS JOIN LATERAL (SELECT 'elderly' AS band UNION ALL SELECT 'oldest' WHERE p.birth_date <= ($1::date - make_interval(years => $3))::date) b
      WHERE p.birth_date <= ($1::date - make_interval(years => $2))::date AND ${reach}
      GROUP BY ${area}, b.band`,
    params,
  );
  const table = by === 'street' ? 'streets' : 'districts';
  const ids = [...new Set(rows.map((r) => r.area).filter((x): x is number => x !== null))];
  const names = new Map((ids.length ? await q.query<{ id: number; name: string }>(`SELECT id, name FROM ${table} WHERE id = ANY($1)`, [ids]) : []).map((r) => [r.id, r.name]));
  const bands = [
    { band: 'elderly', label: `${v.elderlyAgeAtLeast}+`, ageAtLeast: v.elderlyAgeAtLeast },
    { band: 'oldest', label: `${v.oldestAgeAtLeast}+`, ageAtLeast: v.oldestAgeAtLeast },
  ];
  const rate = (n: number, d: number) => (d ? Math.round((n / d) * 1000) / 10 : null);
  const figures = (rs: typeof rows) => {
    const persons = rs.reduce((s, r) => s + r.persons, 0);
    const one = rs.reduce((s, r) => s + r.one, 0);
    const full = rs.reduce((s, r) => s + r.full, 0);
    const boosted = rs.reduce((s, r) => s + r.boosted, 0);
    return { persons, atLeastOneDose: one, fullyVaccinated: full, boosted, unvaccinated: persons - one, fullyPercent: rate(full, persons), boostedPercent: rate(boosted, persons) };
  };
  const areas = [...new Set(rows.map((r) => r.area))].map((id) => ({
    id,
    name: id === null ? null : (names.get(id) ?? null),
    bands: Object.fromEntries(bands.map((b) => [b.band, figures(rows.filter((r) => r.area === id && r.band === b.band))])),
  }));
  areas.sort((a, b) => (a.bands.elderly.boostedPercent ?? 0) - (b.bands.elderly.boostedPercent ?? 0) || (a.id ?? 0) - (b.id ?? 0));
  return { asOf: today(preset, now), by, bands, total: Object.fromEntries(bands.map((b) => [b.band, figures(rows.filter((r) => r.band === b.band))])), areas };
}

export interface ElderlyEntry {
  personId: number;
  name: string;
  age: number;
  phone: string | null;
  compound: string | null;
  building: string | null;
  unit: string | null;
  streetId: number | null;
  doses: number;
  primaryCompletedOn: string | null;
  boosterDueFrom: string | null;
  booked: { samplingPointId: number; slotAt: string } | null;
}

/**
 * The door-to-door lists: elderly (the preset's age) with no dose, or with the primary series complete and
 * no booster (`dueOnly`: the booster already due). Oldest first within the keyset `after` (person id).
 */
export async function elderlyList(q: Queryable, p: Principal, list: 'unvaccinated' | 'unboosted', preset: Preset, now: Date, opts: { limit?: number; after?: number; dueOnly?: boolean; ageAtLeast?: number } = {}): Promise<{ items: ElderlyEntry[]; next: number | null }> {
  const v = preset.vaccination;
  const limit = opts.limit ?? 100;
  const params: unknown[] = [today(preset, now), Math.max(opts.ageAtLeast ?? v.elderlyAgeAtLeast, v.elderlyAgeAtLeast), JSON.stringify(v.primaryDosesByProduct), v.primaryDoses, v.boosterAfterMonths, limit, opts.after ?? 0];
  const reach = jurisdictionSql(p, 'p', params);
  const which = list === 'unvaccinated' ? 'v.doses = 0' : `v.doses = n.need${opts.dueOnly ? ' AND d.due_from <= $1::date' : ''}`;
  const rows = await q.query<ElderlyEntry & { due_from: string | null }>(
    `SELECT p.id AS "personId", p.name, date_part('year', age($1::date, p.birth_date))::int AS age, p.phone, c.name AS compound, b.name AS building, h.unit, p.street_id AS "streetId",
            v.doses, to_char(d.completed_on, 'YYYY-MM-DD') AS "primaryCompletedOn", to_char(d.due_from, 'YYYY-MM-DD') AS "boosterDueFrom",
            (SELECT json_build_object('samplingPointId', k.sampling_point_id, 'slotAt', k.slot_at) FROM vaccination_bookings k WHERE k.person_id = p.id AND k.state = 'booked') AS booked
       FROM persons p ${seriesSql('$3', '$4')}
       CROSS JOIN LATERAL (SELECT x.given_on AS completed_on, (x.given_on + make_interval(months => $5))::date AS due_from FROM (SELECT max(given_on) FILTER (WHERE dose = n.need) AS given_on FROM vaccinations WHERE person_id = p.id) x) d
       LEFT JOIN households h ON h.id = p.household_id LEFT JOIN buildings b ON b.id = h.building_id LEFT JOIN compounds c ON c.id = p.compound_id
      WHERE p.id > $7 AND p.birth_date <= ($1::date - make_interval(years => $2))::date AND ${which} AND ${reach}
      ORDER BY p.id LIMIT $6`,
    params,
  );
  const items = rows.map(({ due_from: _d, ...r }) => ({ ...r, booked: r.booked ? { samplingPointId: r.booked.samplingPointId, slotAt: new Date(r.booked.slotAt).toISOString() } : null }));
  return { items, next: rows.length === limit ? rows[rows.length - 1].personId : null };
}

/** Sampling points that vaccinate, in the caller's district when it has one. */
export async function vaccinatingPoints(q: Queryable, districtId: number | null) {
  const params: unknown[] = [];
  const where = districtId !== null ? `AND district_id = $${params.push(districtId)}` : '';
  return q.query(
    `SELECT id, code, name, district_id AS "districtId", street_id AS "streetId", stations, to_char(opens, 'HH24:MI') AS opens, to_char(closes, 'HH24:MI') AS closes
       FROM sampling_points WHERE vaccinates ${where} ORDER BY district_id, code LIMIT 1000`,
    params,
  );
}

/**
 * Books the person's next dose in an hour slot at a sampling point that vaccinates. The point's row is
 * locked, so that two bookings racing for the last place of an hour cannot both take it.
 */
export async function book(q: Queryable, personId: number, pointId: number, slotAt: Date, preset: Preset, by: string, now: Date) {
  const [point] = await q.query<{ id: number; vaccinates: boolean; opens: string; closes: string; stations: number }>(
    "SELECT id, vaccinates, to_char(opens, 'HH24:MI') AS opens, to_char(closes, 'HH24:MI') AS closes, stations FROM sampling_points WHERE id = $1 FOR UPDATE",
    [pointId],
  );
  if (!point) throw notFound(`Sampling point ${pointId}`, { code: 'samplingPointUnknown', pointId });
  const slot = new Date(Math.floor(slotAt.getTime() / 3_600_000) * 3_600_000);
  const [{ n }] = await q.query<{ n: number }>("SELECT count(*)::int AS n FROM vaccination_bookings WHERE sampling_point_id = $1 AND slot_at = $2 AND state = 'booked'", [pointId, slot]);
  const state = vaccinationState(await dosesOf(q, personId), preset, today(preset, now));
  const { problems, capacity } = bookingProblems(point, slot, state, n, preset, now);
  if (problems.length) throw conflict(problems.map((p) => p.text).join(' '), { ...problemsBody(problems), capacity, booked: n });
  const [person] = await q.query<{ district_id: number | null; street_id: number | null }>('SELECT district_id, street_id FROM persons WHERE id = $1', [personId]);
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO vaccination_bookings (person_id, sampling_point_id, slot_at, dose, series, district_id, street_id, booked_by, booked_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT DO NOTHING RETURNING id`,
    [personId, pointId, slot, state.next!.dose, state.next!.series, person.district_id, person.street_id, by, now],
  );
  if (!row) throw conflict(`Person ${personId} has a booking already; cancel it first.`, { code: 'bookingExists', personId });
  return { id: Number(row.id), personId, samplingPointId: pointId, slotAt: slot.toISOString(), dose: state.next!.dose, series: state.next!.series, capacity, bookedInSlot: n + 1 };
}

/** Bookings of a point on a local day, by hour, with who comes. */
export async function pointBookings(q: Queryable, pointId: number, day: string, preset: Preset) {
  return q.query(
    `SELECT k.id, k.person_id AS "personId", p.name, p.personal_code AS "personalCode", k.slot_at AS "slotAt", k.dose, k.series, k.state
       FROM vaccination_bookings k JOIN persons p ON p.id = k.person_id
      WHERE k.sampling_point_id = $1 AND k.state <> 'cancelled' AND k.slot_at >= ($2::date::timestamp AT TIME ZONE $3) AND k.slot_at < (($2::date + 1)::timestamp AT TIME ZONE $3)
      ORDER BY k.slot_at, k.id`,
    [pointId, day, preset.reporting.timeZone],
  );
}
