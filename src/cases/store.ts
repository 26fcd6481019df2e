// Cases and care in storage: cases from positive findings (or a clinician), triage, beds taken and given
// back, the transfer queue, admission, referral, discharge and death, each step a row in case_events.
// Beds are counted on the facility (occupied_general, occupied_icu, under CHECK constraints). Cases are
// opened and given beds a batch at a time (a lab upload brings thousands): the facilities with free beds
// are locked while the batch is placed, so racing admissions wait for each other and never share a bed.
import type { Db, Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { conflict, notFound, personIdUnknown } from '../core/errors.ts';
import { markStatusStale } from '../core/stale.ts';
import { createTasks, raiseAlerts, type NewTask } from '../core/work.ts';
import { ownDistrictThenNearest } from '../core/geo.ts';
import { bedFor, dischargeReadiness, severityOf, triage, type BedType, type CareTest, type Destination, type DischargeReadiness, type Observation, type Patient, type Severity, type Triage } from './rules.ts';
import { DAY_MS } from '../core/days.ts';

type Classification = 'confirmed' | 'asymptomatic';
const OPEN = `('waiting', 'assigned', 'admitted')`;
/** A case id that does not exist (or is outside the caller's reach): one code and wording for every route. */
export const caseUnknown = (caseId: number) => notFound(`Case ${caseId}`, { code: 'caseUnknown', caseId });
/** A case that has left care (discharged or died) cannot be changed further. */
const caseClosed = (caseId: number, caseState: string) => conflict(`Case ${caseId} is ${caseState}.`, { code: 'caseClosed', caseId, caseState });
const occupiedCol = (b: BedType) => (b === 'icu' ? 'occupied_icu' : 'occupied_general');
type Bed = { facilityId: number; bedType: BedType };

interface PatientRow {
  person_id: number;
  birth_date: Date;
  comorbidities: string[];
  pregnancy: string;
  care_needs: string[];
  doses: number;
  district_id: number | null;
  street_id: number | null;
  compound_id: number | null;
  building_id: number | null;
  household_id: number | null;
  order_id: number | null;
  site_id: number | null;
  pool_tube_id: number | null;
}

/**
 * What the registry knows of each patient, where they live, and the control they were under at `at`
 * (a quarantine order, a room at a quarantine site, a positive pool): zoning reads it to tell
 * society-level cases from those found inside control.
 */
async function patientsOf(q: Queryable, who: { personId: number; at: Date }[]): Promise<Map<number, PatientRow>> {
  const rows = await q.query<PatientRow>(
    `SELECT p.id AS person_id, p.birth_date, p.comorbidities, p.pregnancy, p.care_needs, p.district_id, p.street_id, p.compound_id, h.building_id, p.household_id,
            (SELECT count(*)::int FROM vaccinations v WHERE v.person_id = p.id) AS doses,
            (SELECT o.id FROM quarantine_orders o WHERE o.person_id = p.id AND o.issued_at <= w.at AND (o.released_at IS NULL OR o.released_at > w.at) AND o.superseded_by IS NULL ORDER BY o.issued_at DESC LIMIT 1) AS order_id,
            (SELECT qp.facility_id FROM quarantine_placements qp WHERE qp.person_id = p.id AND qp.placed_at <= w.at AND (qp.left_at IS NULL OR qp.left_at > w.at) ORDER BY qp.placed_at DESC LIMIT 1) AS site_id,
            (SELECT pc.pool_tube_id FROM pool_controls pc WHERE pc.person_id = p.id AND pc.since <= w.at AND (pc.cleared_at IS NULL OR pc.cleared_at > w.at) ORDER BY pc.since DESC LIMIT 1) AS pool_tube_id
       FROM jsonb_to_recordset($1::jsonb) AS w(person_id int, at timestamptz)
       JOIN persons p ON p.id = w.person_id LEFT JOIN households h ON h.id = p.household_id`,
    [JSON.stringify(who.map((w) => ({ person_id: w.personId, at: w.at.toISOString() })))],
  );
  return new Map(rows.map((r) => [Number(r.person_id), r]));
}

const asPatient = (r: PatientRow): Patient => ({ birthDate: new Date(r.birth_date), comorbidities: r.comorbidities, pregnancy: r.pregnancy, careNeeds: r.care_needs, vaccineDoses: r.doses });

function controlOf(r: PatientRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.order_id !== null) out.quarantineOrderId = Number(r.order_id);
  if (r.site_id !== null) out.quarantineSiteId = r.site_id;
  if (r.pool_tube_id !== null) out.poolControlTubeId = Number(r.pool_tube_id);
  return out;
}

interface CaseEvent {
  caseId: number;
  kind: string;
  at: Date;
  detail?: Record<string, unknown>;
  bed?: Bed | null;
}

/** Records events, many in one statement. */
async function recordEvents(q: Queryable, events: CaseEvent[], by: string): Promise<void> {
  if (!events.length) return;
  await q.query(
    `INSERT INTO case_events (case_id, kind, at, facility_id, bed_type, detail, recorded_by)
     SELECT e.case_id, e.kind, e.at, e.facility_id, e.bed_type, e.detail, $2 FROM jsonb_to_recordset($1::jsonb) AS e(case_id bigint, kind text, at timestamptz, facility_id int, bed_type text, detail jsonb)`,
    [JSON.stringify(events.map((e) => ({ case_id: e.caseId, kind: e.kind, at: e.at.toISOString(), facility_id: e.bed?.facilityId ?? null, bed_type: e.bed?.bedType ?? null, detail: e.detail ?? {} }))), by],
  );
}

export interface NewCase {
  personId: number;
  classification: Classification;
  source: 'finding' | 'clinician';
  findingTubeId?: number | null;
  sampledAt: Date;
  onsetAt?: Date | null;
  reportedAt: Date;
  observation?: Observation;
}

/**
 * Opens cases, triages them and looks for their beds at once. A person with an open case gets an event
 * on that case instead (a second positive while in care, or a discharge test with a Ct under the cutoff).
 * Returns, in input order, each one's case and whether it is new.
 */
export async function openCases(q: Queryable, list: NewCase[], preset: Preset, by: string, now: Date): Promise<{ caseId: number; created: boolean }[]> {
  if (!list.length) return [];
  const persons = [...new Set(list.map((c) => c.personId))];
  const open = new Map(
    (await q.query<{ id: number; person_id: number }>(`SELECT id, person_id FROM cases WHERE person_id = ANY($1) AND state IN ${OPEN} ORDER BY id FOR UPDATE`, [persons])).map((r) => [Number(r.person_id), Number(r.id)]),
  );
  // A positive within the preset's days after a discharge (or found before it) is a re-positive of that
  // case, not a new one (rules.md 23).
  const windowMs = preset.discharge.notRepositiveWithinDays * DAY_MS;
  const discharged = new Map(
    (await q.query<{ id: number; person_id: number; discharged_at: Date }>(
      `SELECT DISTINCT ON (person_id) id, person_id, discharged_at FROM cases WHERE person_id = ANY($1) AND state = 'discharged' ORDER BY person_id, discharged_at DESC`,
      [persons.filter((p) => !open.has(p))],
    )).map((r) => [Number(r.person_id), { id: Number(r.id), at: new Date(r.discharged_at).getTime() }]),
  );
  const repositive = (c: NewCase) => {
    const d = discharged.get(c.personId);
    return d && c.reportedAt.getTime() - d.at <= windowMs ? d.id : null;
  };
  const fresh = new Map<number, NewCase>();
  for (const c of list) if (!open.has(c.personId) && !fresh.has(c.personId) && repositive(c) === null) fresh.set(c.personId, c);
  const patients = await patientsOf(q, [...fresh.values()].map((c) => ({ personId: c.personId, at: c.reportedAt })));
  for (const id of fresh.keys()) if (!patients.has(id)) throw personIdUnknown(id);
  const rows = [...fresh.values()].map((c) => {
    const p = patients.get(c.personId)!;
    const sev = severityOf(c.observation ?? {}, null, preset);
    return { c, p, sev, t: triage(asPatient(p), sev.severity, preset, now), found: controlOf(p) };
  });
  const inserted = await q.query<{ id: number; person_id: number }>(
    `INSERT INTO cases (person_id, classification, source, finding_tube_id, sampled_at, onset_at, reported_at, district_id, street_id, compound_id, building_id, household_id,
                        found_under, severity, destination, triage, state, waiting_since, created_by, created_at, updated_at)
     SELECT r.person_id, r.classification, r.source, r.finding_tube_id, r.sampled_at, r.onset_at, r.reported_at, r.district_id, r.street_id, r.compound_id, r.building_id, r.household_id,
            r.found_under, r.severity, r.destination, r.triage, 'waiting', r.reported_at, $2, $3, $3
       FROM jsonb_to_recordset($1::jsonb) AS r(person_id int, classification text, source text, finding_tube_id bigint, sampled_at timestamptz, onset_at timestamptz, reported_at timestamptz,
            district_id int, street_id int, compound_id int, building_id int, household_id int, found_under jsonb, severity text, destination text, triage jsonb)
     RETURNING id, person_id`,
    [
      JSON.stringify(
        rows.map(({ c, p, sev, t, found }) => ({
          person_id: c.personId, classification: c.classification, source: c.source, finding_tube_id: c.findingTubeId ?? null, sampled_at: c.sampledAt.toISOString(), onset_at: c.onsetAt?.toISOString() ?? null,
          reported_at: c.reportedAt.toISOString(), district_id: p.district_id, street_id: p.street_id, compound_id: p.compound_id, building_id: p.building_id, household_id: p.household_id,
          found_under: found, severity: sev.severity, destination: t.destination, triage: t,
        })),
      ),
      by,
      now,
    ],
  );
  const created = new Map(inserted.map((r) => [Number(r.person_id), Number(r.id)]));
  const events: CaseEvent[] = [];
  for (const { c, sev, t, found } of rows) {
    const caseId = created.get(c.personId)!;
    events.push({ caseId, kind: 'reported', at: c.reportedAt, detail: { source: c.source, tubeId: c.findingTubeId ?? null, classification: c.classification, foundUnder: found } });
    if (c.observation) events.push({ caseId, kind: 'observation', at: now, detail: { ...c.observation, severity: sev.severity, reasons: sev.reasons, why: sev.why } });
    events.push({ caseId, kind: 'triaged', at: now, detail: { ...t } });
  }
  // Every other finding is an event of the person's case (open before, or opened just now).
  const out = list.map((c) => {
    const isNew = fresh.get(c.personId) === c;
    const earlier = open.has(c.personId) || created.has(c.personId) ? null : repositive(c);
    const caseId = open.get(c.personId) ?? created.get(c.personId) ?? earlier!;
    if (!isNew) events.push({ caseId, kind: 'finding', at: c.reportedAt, detail: { tubeId: c.findingTubeId ?? null, source: c.source, ...(earlier !== null ? { repositive: true } : {}) } });
    return { caseId, created: isNew };
  });
  await recordEvents(q, events, by);
  await markStatusStale(q, fresh.keys(), now);
  await assignBeds(q, [...created.values()], preset, by, now);
  return out;
}

export async function openCase(q: Queryable, c: NewCase, preset: Preset, by: string, now: Date): Promise<{ caseId: number; created: boolean }> {
  return (await openCases(q, [c], preset, by, now))[0];
}

interface LockedCase {
  id: number;
  person_id: number;
  state: string;
  destination: Destination;
  severity: Severity;
  facility_id: number | null;
  bed_type: BedType | null;
  facility_kind: string | null;
  leaving_facility_id: number | null;
  leaving_bed_type: BedType | null;
  waiting_since: Date | null;
  queue_reason: string | null;
  reported_at: Date;
  district_id: number | null;
  street_id: number | null;
  lon: number | null;
  lat: number | null;
}

async function lockCases(q: Queryable, caseIds: number[]): Promise<LockedCase[]> {
  return q.query<LockedCase>(
    `SELECT c.id, c.person_id, c.state, c.destination, c.severity, c.facility_id, c.bed_type, f.kind AS facility_kind, c.leaving_facility_id, c.leaving_bed_type,
            c.waiting_since, c.queue_reason, c.reported_at, c.district_id, c.street_id, h.centroid_lon AS lon, h.centroid_lat AS lat
       FROM cases c LEFT JOIN facilities f ON f.id = c.facility_id LEFT JOIN compounds h ON h.id = c.compound_id
      WHERE c.id = ANY($1) ORDER BY c.id FOR UPDATE OF c`,
    [caseIds],
  );
}

async function lockCase(q: Queryable, caseId: number): Promise<LockedCase> {
  const [c] = await lockCases(q, [caseId]);
  if (!c) throw caseUnknown(caseId);
  return c;
}

async function releaseBed(q: Queryable, caseId: number, bed: Bed, by: string, now: Date, why: string): Promise<void> {
  await q.query(`UPDATE facilities SET ${occupiedCol(bed.bedType)} = ${occupiedCol(bed.bedType)} - 1 WHERE id = $1`, [bed.facilityId]);
  await recordEvents(q, [{ caseId, kind: 'bedReleased', at: now, detail: { why }, bed }], by);
}

export type Assignment = { caseId: number; assigned: true; facilityId: number; bedType: BedType; referral: boolean } | { caseId: number; assigned: false; reason: string; waitingSince: Date };

/**
 * Beds of each case's triaged kind, the cases taken in order (the longest wait first as the caller
 * lists them): a facility of the case's own district with a free bed first, then the nearest (全市一盘棋).
 * With none anywhere, the case waits in the queue with the reason and an alert is raised; it is never
 * dropped. A case already in a bed of the right kind keeps it (no entry in the answer).
 */
export async function assignBeds(q: Queryable, caseIds: number[], preset: Preset, by: string, now: Date): Promise<Assignment[]> {
  if (!caseIds.length) return [];
  const order = new Map(caseIds.map((id, i) => [id, i]));
  const cases = (await lockCases(q, caseIds)).sort((a, b) => order.get(Number(a.id))! - order.get(Number(b.id))!);
  for (const c of cases) if (!['waiting', 'assigned', 'admitted'].includes(c.state)) throw caseClosed(Number(c.id), c.state);
  const todo = cases.filter((c) => {
    const need = bedFor(c.destination);
    return !(c.facility_id !== null && c.facility_kind === need.facilityKind && c.bed_type === need.bedType);
  });
  if (!todo.length) return [];
  // The facilities with free beds, locked (in id order, so two batches cannot deadlock) until this
  // transaction ends: what is read here is what is free.
  const facilities = await q.query<{ id: number; kind: string; districtId: number; lon: number; lat: number; general: number; icu: number }>(
    `SELECT id, kind, district_id AS "districtId", lon, lat, beds_general - occupied_general AS general, beds_icu - occupied_icu AS icu
       FROM facilities WHERE kind IN ('shelterHospital', 'designatedHospital') AND (beds_general > occupied_general OR beds_icu > occupied_icu) ORDER BY id FOR UPDATE`,
  );
  const delta = new Map<string, number>();
  const move = (bed: Bed, n: number) => delta.set(`${bed.facilityId}:${bed.bedType}`, (delta.get(`${bed.facilityId}:${bed.bedType}`) ?? 0) + n);
  const out: Assignment[] = [];
  const updates: { id: number; facility_id: number; bed_type: BedType; leaving_facility_id: number | null; leaving_bed_type: BedType | null }[] = [];
  const queued: { id: number; waiting_since: string; queue_reason: string }[] = [];
  const events: CaseEvent[] = [];
  const alerts: Parameters<typeof raiseAlerts>[1] = [];
  const resolved: string[] = [];
  // Each bed taken is a transfer to carry out (the district's task, done on admission).
  const transfers: NewTask[] = [];
  const superseded: number[] = [];
  for (const c of todo) {
    const caseId = Number(c.id);
    const need = bedFor(c.destination);
    const free = facilities.filter((f) => f.kind === need.facilityKind && f[need.bedType] > 0);
    const f = ownDistrictThenNearest(free, { districtId: c.district_id, lon: c.lon, lat: c.lat })[0];
    if (f) {
      f[need.bedType]--;
      const bed: Bed = { facilityId: f.id, bedType: need.bedType };
      const old: Bed | null = c.facility_id !== null ? { facilityId: c.facility_id, bedType: c.bed_type! } : null;
      // A referral from a bed the patient is still in keeps that bed until admission at the new place.
      const leaving: Bed | null = old && c.state === 'admitted' ? old : c.leaving_facility_id !== null ? { facilityId: c.leaving_facility_id, bedType: c.leaving_bed_type! } : null;
      if (old && c.state === 'assigned') {
        move(old, -1);
        events.push({ caseId, kind: 'bedReleased', at: now, detail: { why: 'reassigned before arrival' }, bed: old });
      }
      move(bed, 1);
      updates.push({ id: caseId, facility_id: bed.facilityId, bed_type: bed.bedType, leaving_facility_id: leaving?.facilityId ?? null, leaving_bed_type: leaving?.bedType ?? null });
      events.push({ caseId, kind: 'bedTaken', at: now, detail: { destination: c.destination, waitedMs: c.waiting_since ? now.getTime() - new Date(c.waiting_since).getTime() : 0 }, bed });
      if (old) events.push({ caseId, kind: 'referred', at: now, detail: { from: old, to: bed, destination: c.destination } });
      if (c.queue_reason !== null) resolved.push(...['shelterHospital', 'designatedHospital', 'icu'].map((d) => `noBed:${caseId}:${d}`));
      if (c.state === 'assigned') superseded.push(caseId);
      transfers.push({
        kind: 'transfer',
        title: `Take case ${caseId} to facility ${bed.facilityId} (${c.destination})`,
        districtId: c.district_id,
        streetId: c.street_id,
        personIds: [Number(c.person_id)],
        dueAt: new Date(now.getTime() + preset.command.taskDeadlineHours.transfer * 3_600_000),
        source: { caseId, facilityId: bed.facilityId, bedType: bed.bedType, rule: 'command.taskDeadlineHours.transfer' },
        dedupeKey: `transfer:${caseId}:${bed.facilityId}:${bed.bedType}`,
      });
      out.push({ caseId, assigned: true, facilityId: bed.facilityId, bedType: bed.bedType, referral: old !== null });
      continue;
    }
    const reason = `No free ${need.bedType === 'icu' ? 'ICU' : 'general'} bed at any ${need.facilityKind === 'shelterHospital' ? 'shelter hospital' : 'designated hospital'} in the city`;
    const waitingSince = c.waiting_since ? new Date(c.waiting_since) : now;
    if (c.waiting_since === null || c.queue_reason !== reason) {
      queued.push({ id: caseId, waiting_since: waitingSince.toISOString(), queue_reason: reason });
      events.push({ caseId, kind: 'queued', at: now, detail: { reason, destination: c.destination } });
    }
    alerts.push({
      kind: 'noBed',
      severity: 'critical',
      title: `Case ${caseId} waits for a bed: ${reason.toLowerCase()}`,
      districtId: c.district_id,
      streetId: c.street_id,
      facts: { caseId, destination: c.destination, reason, waitingSince: waitingSince.toISOString() },
      assignee: 'city_command',
      dedupeKey: `noBed:${caseId}:${c.destination}`,
    });
    out.push({ caseId, assigned: false, reason, waitingSince });
  }
  if (delta.size) {
    const d = [...delta].map(([k, n]) => ({ id: Number(k.split(':')[0]), bed: k.split(':')[1], n }));
    await q.query(
      `UPDATE facilities f SET occupied_general = f.occupied_general + d.general, occupied_icu = f.occupied_icu + d.icu
         FROM (SELECT id, sum(n) FILTER (WHERE bed = 'general') AS general, sum(n) FILTER (WHERE bed = 'icu') AS icu FROM jsonb_to_recordset($1::jsonb) AS x(id int, bed text, n int) GROUP BY id) d0,
              LATERAL (SELECT coalesce(d0.general, 0) AS general, coalesce(d0.icu, 0) AS icu) d
        WHERE f.id = d0.id`,
      [JSON.stringify(d)],
    );
  }
  if (updates.length) {
    await q.query(
      `UPDATE cases c SET state = 'assigned', facility_id = u.facility_id, bed_type = u.bed_type, leaving_facility_id = u.leaving_facility_id, leaving_bed_type = u.leaving_bed_type,
                          waiting_since = NULL, queue_reason = NULL, updated_at = $2
         FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, facility_id int, bed_type text, leaving_facility_id int, leaving_bed_type text) WHERE c.id = u.id`,
      [JSON.stringify(updates), now],
    );
  }
  if (queued.length) {
    await q.query(
      `UPDATE cases c SET waiting_since = u.waiting_since, queue_reason = u.queue_reason, updated_at = $2
         FROM jsonb_to_recordset($1::jsonb) AS u(id bigint, waiting_since timestamptz, queue_reason text) WHERE c.id = u.id`,
      [JSON.stringify(queued), now],
    );
  }
  await recordEvents(q, events, by);
  // A transfer not carried out before the case was given another bed is cancelled.
  if (superseded.length) await q.query(`UPDATE tasks SET status = 'cancelled', updated_at = $2 WHERE kind = 'transfer' AND status IN ('open', 'accepted') AND (source->>'caseId')::bigint = ANY($1)`, [superseded, now]);
  await createTasks(q, transfers, now, by);
  await raiseAlerts(q, alerts, now);
  if (resolved.length) await q.query(`UPDATE alerts SET resolved_at = $2 WHERE dedupe_key = ANY($1) AND resolved_at IS NULL`, [resolved, now]);
  return out;
}

export async function assignBed(q: Queryable, caseId: number, preset: Preset, by: string, now: Date): Promise<Assignment | null> {
  const [a] = await assignBeds(q, [caseId], preset, by, now);
  return a ?? null;
}

async function resolveNoBedAlert(q: Queryable, caseId: number, now: Date): Promise<void> {
  await q.query(`UPDATE alerts SET resolved_at = $2 WHERE dedupe_key = ANY($1) AND resolved_at IS NULL`, [['shelterHospital', 'designatedHospital', 'icu'].map((d) => `noBed:${caseId}:${d}`), now]);
}

/** The patient arrives at the bed assigned to them; a referral gives back its old bed now. */
export async function admit(q: Queryable, caseId: number, facilityId: number | null, by: string, now: Date): Promise<void> {
  const c = await lockCase(q, caseId);
  if (c.state !== 'assigned') throw conflict(`Case ${caseId} is ${c.state}: only a case with an assigned bed can be admitted.`, { code: 'caseNotAssigned', caseId, caseState: c.state });
  if (facilityId !== null && c.facility_id !== facilityId) throw conflict(`Case ${caseId} is assigned to facility ${c.facility_id}, not ${facilityId}.`, { code: 'caseAtOtherFacility', caseId, facilityId: c.facility_id, yourFacilityId: facilityId });
  if (c.leaving_facility_id !== null) await releaseBed(q, caseId, { facilityId: c.leaving_facility_id, bedType: c.leaving_bed_type! }, by, now, 'referred elsewhere');
  await q.query(`UPDATE cases SET state = 'admitted', admitted_at = $2, leaving_facility_id = NULL, leaving_bed_type = NULL, updated_at = $2 WHERE id = $1`, [caseId, now]);
  await recordEvents(q, [{ caseId, kind: 'admitted', at: now, bed: { facilityId: c.facility_id!, bedType: c.bed_type! } }], by);
  await q.query(`UPDATE tasks SET status = 'done', done_at = $2, updated_at = $2 WHERE dedupe_key = $1 AND status IN ('open', 'accepted')`, [`transfer:${caseId}:${c.facility_id}:${c.bed_type}`, now]);
}

/**
 * A clinician's observation: severity (raised by the signs), triage again, and a referral when the place
 * no longer fits (shelter to hospital when worse, hospital to shelter when better).
 */
export async function observe(q: Queryable, caseId: number, o: Observation, preset: Preset, by: string, now: Date): Promise<{ severity: Severity; triage: Triage; assignment: Assignment | null }> {
  const c = await lockCase(q, caseId);
  if (!['waiting', 'assigned', 'admitted'].includes(c.state)) throw caseClosed(caseId, c.state);
  const sev = severityOf(o, c.severity, preset);
  const p = (await patientsOf(q, [{ personId: c.person_id, at: now }])).get(Number(c.person_id))!;
  const t = triage(asPatient(p), sev.severity, preset, now);
  await recordEvents(q, [{ caseId, kind: 'observation', at: now, detail: { ...o, severity: sev.severity, reasons: sev.reasons, why: sev.why } }], by);
  await q.query('UPDATE cases SET severity = $2, destination = $3, triage = $4, updated_at = $5 WHERE id = $1', [caseId, sev.severity, t.destination, JSON.stringify(t), now]);
  if (t.destination !== c.destination) await recordEvents(q, [{ caseId, kind: 'triaged', at: now, detail: { ...t } }], by);
  const assignment = t.destination !== c.destination ? await assignBed(q, caseId, preset, by, now) : null;
  return { severity: sev.severity, triage: t, assignment };
}

/** The case's own single-tube PCR results since it was found, and what the clinicians observed. */
async function readinessFacts(q: Queryable, caseIds: number[], preset: Preset, now: Date): Promise<Map<number, DischargeReadiness>> {
  const out = new Map<number, DischargeReadiness>();
  if (!caseIds.length) return out;
  const rows = await q.query<{ id: number; kind: string; reported_at: Date; tests: { sampledAt: string; verdict: CareTest['verdict']; ctOrf1ab: number | null; ctN: number | null }[] | null; last_fever_at: Date | null; improving: boolean | null }>(
    `SELECT c.id, f.kind, c.reported_at,
            (SELECT json_agg(json_build_object('sampledAt', s.sampled_at, 'verdict', r.verdict, 'ctOrf1ab', r.ct_orf1ab, 'ctN', r.ct_n))
               FROM samples s JOIN tubes t ON t.id = s.tube_id AND t.samples = 1 JOIN lab_results r ON r.tube_id = s.tube_id AND r.state = 'applied'
              WHERE s.person_id = c.person_id AND s.sampled_at >= c.sampled_at) AS tests,
            (SELECT max(e.at) FROM case_events e WHERE e.case_id = c.id AND e.kind = 'observation' AND (e.detail->>'temperature')::real >= $2) AS last_fever_at,
            (SELECT (e.detail->>'improving')::boolean FROM case_events e WHERE e.case_id = c.id AND e.kind = 'observation' AND e.detail ? 'improving' AND e.detail->>'improving' IS NOT NULL ORDER BY e.id DESC LIMIT 1) AS improving
       FROM cases c LEFT JOIN facilities f ON f.id = c.facility_id WHERE c.id = ANY($1)`,
    [caseIds, preset.discharge.feverAtLeastC],
  );
  for (const r of rows) {
    const tests = (r.tests ?? []).map((x) => ({ sampledAt: new Date(x.sampledAt), verdict: x.verdict, ctOrf1ab: x.ctOrf1ab, ctN: x.ctN }));
    out.set(Number(r.id), dischargeReadiness({ inHospital: r.kind === 'designatedHospital', reportedAt: new Date(r.reported_at), lastFeverAt: r.last_fever_at && new Date(r.last_fever_at), improving: r.improving }, tests, preset, now));
  }
  return out;
}

export async function readiness(q: Queryable, caseId: number, preset: Preset, now: Date): Promise<DischargeReadiness> {
  const r = (await readinessFacts(q, [caseId], preset, now)).get(caseId);
  if (!r) throw caseUnknown(caseId);
  return r;
}

/** Discharge when the preset's criteria hold; then home health monitoring for the preset's days. */
export async function discharge(q: Queryable, caseId: number, preset: Preset, by: string, now: Date): Promise<{ monitoringUntil: Date; readiness: DischargeReadiness }> {
  const c = await lockCase(q, caseId);
  if (c.state !== 'admitted') throw conflict(`Case ${caseId} is ${c.state}: only an admitted case is discharged.`, { code: 'caseNotAdmitted', caseId, caseState: c.state });
  const r = await readiness(q, caseId, preset, now);
  if (!r.ready) throw conflict(`Case ${caseId} does not meet the discharge criteria yet: ${r.missing.join('; ')}.`, { code: 'dischargeNotReady', caseId, missing: r.missing, missingWhy: r.missingWhy });
  const monitoringUntil = new Date(now.getTime() + preset.discharge.homeMonitoringDays * DAY_MS);
  await releaseBed(q, caseId, { facilityId: c.facility_id!, bedType: c.bed_type! }, by, now, 'discharged');
  await q.query(`UPDATE cases SET state = 'discharged', discharged_at = $2, monitoring_until = $3, facility_id = NULL, bed_type = NULL, updated_at = $2 WHERE id = $1`, [caseId, now, monitoringUntil]);
  await recordEvents(q, [{ caseId, kind: 'discharged', at: now, detail: { tests: r.tests, monitoringUntil: monitoringUntil.toISOString(), preset: r.preset }, bed: { facilityId: c.facility_id!, bedType: c.bed_type! } }], by);
  await markStatusStale(q, [c.person_id], now);
  return { monitoringUntil, readiness: r };
}

export async function recordDeath(q: Queryable, caseId: number, at: Date, cause: string, by: string, now: Date): Promise<void> {
  const c = await lockCase(q, caseId);
  if (!['waiting', 'assigned', 'admitted'].includes(c.state)) throw caseClosed(caseId, c.state);
  for (const bed of [c.facility_id !== null ? { facilityId: c.facility_id, bedType: c.bed_type! } : null, c.leaving_facility_id !== null ? { facilityId: c.leaving_facility_id, bedType: c.leaving_bed_type! } : null]) {
    if (bed) await releaseBed(q, caseId, bed, by, now, 'died');
  }
  await q.query(`UPDATE cases SET state = 'died', died_at = $2, facility_id = NULL, bed_type = NULL, leaving_facility_id = NULL, leaving_bed_type = NULL, waiting_since = NULL, updated_at = $3 WHERE id = $1`, [caseId, at, now]);
  await recordEvents(q, [{ caseId, kind: 'died', at, detail: { cause } }], by);
  await q.query(`UPDATE tasks SET status = 'cancelled', updated_at = $2 WHERE kind = 'transfer' AND status IN ('open', 'accepted') AND (source->>'caseId')::bigint = $1`, [caseId, now]);
  await resolveNoBedAlert(q, caseId, now);
  await markStatusStale(q, [c.person_id], now);
}

/**
 * Takes in the positive findings testing recorded (the inbox a trigger fills), each as a new case or an
 * event of the person's open case, until the inbox is empty; then tries the waiting cases again, oldest
 * first, where beds of their kind are free. The server's job.
 */
export async function careUpkeep(db: Db, preset: Preset, now: Date, batch = 1000, onProgress?: (opened: number) => void): Promise<{ opened: number; placed: number; waiting: number }> {
  let opened = 0;
  for (;;) {
    const inbox = await db.query<{ person_id: number; tube_id: number; sampled_at: Date; resulted_at: Date }>(
      `SELECT i.person_id, i.tube_id, f.sampled_at, f.resulted_at FROM case_inbox i JOIN positive_findings f USING (person_id, tube_id) JOIN persons p ON p.id = i.person_id ORDER BY f.resulted_at LIMIT $1`,
      [batch],
    );
    if (!inbox.length) break;
    await db.tx(async (q) => {
      const r = await openCases(q, inbox.map((f) => ({ personId: f.person_id, classification: 'confirmed', source: 'finding', findingTubeId: Number(f.tube_id), sampledAt: new Date(f.sampled_at), reportedAt: new Date(f.resulted_at) })), preset, 'system', now);
      opened += r.filter((x) => x.created).length;
      await q.query('DELETE FROM case_inbox i USING jsonb_to_recordset($1::jsonb) AS d(person_id int, tube_id bigint) WHERE i.person_id = d.person_id AND i.tube_id = d.tube_id', [
        JSON.stringify(inbox.map((f) => ({ person_id: f.person_id, tube_id: f.tube_id }))),
      ]);
    });
    onProgress?.(opened);
    // Between batches, let waiting requests in (PGlite runs on the server's only thread).
    await new Promise((resolve) => setImmediate(resolve));
  }
  let placed = 0;
  const waiting = await db.query<{ id: number }>(
    `SELECT c.id FROM cases c
      WHERE c.waiting_since IS NOT NULL
        AND EXISTS (SELECT 1 FROM facilities f WHERE f.kind = CASE c.destination WHEN 'icu' THEN 'designatedHospital' ELSE c.destination END
                      AND CASE c.destination WHEN 'icu' THEN f.beds_icu > f.occupied_icu ELSE f.beds_general > f.occupied_general END)
      ORDER BY c.waiting_since, c.id LIMIT $1`,
    [batch],
  );
  if (waiting.length) placed = (await db.tx((q) => assignBeds(q, waiting.map((w) => Number(w.id)), preset, 'system', now))).filter((a) => a.assigned).length;
  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM cases WHERE waiting_since IS NOT NULL');
  return { opened, placed, waiting: n };
}

export { readinessFacts };
