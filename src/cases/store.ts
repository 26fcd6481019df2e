// Cases and care in storage: cases from positive findings (or a clinician), triage, beds taken and given
// back, the transfer queue, admission, referral, discharge and death, each step a row in case_events.
// Beds are counted on the facility (occupied_general, occupied_icu under CHECK constraints): a bed is
// taken by one UPDATE that cannot succeed twice for the last bed, however many requests race.
import type { Db, Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { conflict, notFound } from '../core/errors.ts';
import { markStatusStale } from '../core/stale.ts';
import { raiseAlert } from '../core/work.ts';
import { ownDistrictThenNearest } from '../core/geo.ts';
import { bedFor, dischargeReadiness, severityOf, triage, type BedType, type CareTest, type Destination, type DischargeReadiness, type Observation, type Patient, type Severity, type Triage } from './rules.ts';

type Classification = 'confirmed' | 'asymptomatic';
const OPEN = `('waiting', 'assigned', 'admitted')`;
const occupiedCol = (b: BedType) => (b === 'icu' ? 'occupied_icu' : 'occupied_general');
const bedsCol = (b: BedType) => (b === 'icu' ? 'beds_icu' : 'beds_general');

interface PatientRow {
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
  lon: number | null;
  lat: number | null;
}

async function patientOf(q: Queryable, personId: number): Promise<PatientRow> {
  const [r] = await q.query<PatientRow>(
    `SELECT p.birth_date, p.comorbidities, p.pregnancy, p.care_needs, p.district_id, p.street_id, p.compound_id, h.building_id, p.household_id,
            c.centroid_lon AS lon, c.centroid_lat AS lat, (SELECT count(*)::int FROM vaccinations v WHERE v.person_id = p.id) AS doses
       FROM persons p LEFT JOIN households h ON h.id = p.household_id LEFT JOIN compounds c ON c.id = p.compound_id WHERE p.id = $1`,
    [personId],
  );
  if (!r) throw notFound(`Person ${personId}`);
  return r;
}

const asPatient = (r: PatientRow): Patient => ({ birthDate: new Date(r.birth_date), comorbidities: r.comorbidities, pregnancy: r.pregnancy, careNeeds: r.care_needs, vaccineDoses: r.doses });

async function event(q: Queryable, caseId: number, kind: string, at: Date, by: string, detail: Record<string, unknown> = {}, bed?: { facilityId: number; bedType: BedType }): Promise<void> {
  await q.query('INSERT INTO case_events (case_id, kind, at, facility_id, bed_type, detail, recorded_by) VALUES ($1,$2,$3,$4,$5,$6,$7)', [
    caseId, kind, at, bed?.facilityId ?? null, bed?.bedType ?? null, JSON.stringify(detail), by,
  ]);
}

/** The control a person was under when found (zoning reads it to tell society-level cases). */
async function controlAt(q: Queryable, personId: number, at: Date): Promise<Record<string, unknown>> {
  const [r] = await q.query<{ order_id: number | null; site_id: number | null; pool_tube_id: number | null }>(
    `SELECT (SELECT o.id FROM quarantine_orders o WHERE o.person_id = $1 AND o.issued_at <= $2 AND (o.released_at IS NULL OR o.released_at > $2) AND o.superseded_by IS NULL ORDER BY o.issued_at DESC LIMIT 1) AS order_id,
            (SELECT qp.facility_id FROM quarantine_placements qp WHERE qp.person_id = $1 AND qp.placed_at <= $2 AND (qp.left_at IS NULL OR qp.left_at > $2) ORDER BY qp.placed_at DESC LIMIT 1) AS site_id,
            (SELECT pc.pool_tube_id FROM pool_controls pc WHERE pc.person_id = $1 AND pc.since <= $2 AND (pc.cleared_at IS NULL OR pc.cleared_at > $2) ORDER BY pc.since DESC LIMIT 1) AS pool_tube_id`,
    [personId, at],
  );
  const out: Record<string, unknown> = {};
  if (r.order_id !== null) out.quarantineOrderId = Number(r.order_id);
  if (r.site_id !== null) out.quarantineSiteId = r.site_id;
  if (r.pool_tube_id !== null) out.poolControlTubeId = Number(r.pool_tube_id);
  return out;
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
 * Opens a case and looks for its bed at once. A person with an open case gets an event on that case
 * instead (a second positive while in care, or a discharge test with a Ct under the cutoff).
 */
export async function openCase(q: Queryable, c: NewCase, preset: Preset, by: string, now: Date): Promise<{ caseId: number; created: boolean }> {
  const [open] = await q.query<{ id: number }>(`SELECT id FROM cases WHERE person_id = $1 AND state IN ${OPEN} FOR UPDATE`, [c.personId]);
  if (open) {
    await event(q, Number(open.id), 'finding', c.reportedAt, by, { tubeId: c.findingTubeId ?? null, source: c.source });
    return { caseId: Number(open.id), created: false };
  }
  const p = await patientOf(q, c.personId);
  const sev = severityOf(c.observation ?? {}, null, preset);
  const t = triage(asPatient(p), sev.severity, preset, now);
  const found = await controlAt(q, c.personId, c.reportedAt);
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO cases (person_id, classification, source, finding_tube_id, sampled_at, onset_at, reported_at, district_id, street_id, compound_id, building_id, household_id,
                        found_under, severity, destination, triage, state, waiting_since, created_by, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,'waiting',$7,$17,$18,$18) RETURNING id`,
    [c.personId, c.classification, c.source, c.findingTubeId ?? null, c.sampledAt, c.onsetAt ?? null, c.reportedAt, p.district_id, p.street_id, p.compound_id, p.building_id, p.household_id,
      JSON.stringify(found), sev.severity, t.destination, JSON.stringify(t), by, now],
  );
  const caseId = Number(row.id);
  await event(q, caseId, 'reported', c.reportedAt, by, { source: c.source, tubeId: c.findingTubeId ?? null, classification: c.classification, foundUnder: found });
  if (c.observation) await event(q, caseId, 'observation', now, by, { ...c.observation, severity: sev.severity, reasons: sev.reasons });
  await event(q, caseId, 'triaged', now, by, { ...t });
  await markStatusStale(q, [c.personId], now);
  await assignBed(q, caseId, by, now);
  return { caseId, created: true };
}

interface LockedCase {
  id: number;
  person_id: number;
  state: string;
  destination: Destination;
  severity: Severity;
  facility_id: number | null;
  bed_type: BedType | null;
  leaving_facility_id: number | null;
  leaving_bed_type: BedType | null;
  waiting_since: Date | null;
  queue_reason: string | null;
  reported_at: Date;
  district_id: number | null;
  street_id: number | null;
  compound_id: number | null;
}

async function lockCase(q: Queryable, caseId: number): Promise<LockedCase> {
  const [c] = await q.query<LockedCase>('SELECT * FROM cases WHERE id = $1 FOR UPDATE', [caseId]);
  if (!c) throw notFound(`Case ${caseId}`);
  return c;
}

async function releaseBed(q: Queryable, caseId: number, bed: { facilityId: number; bedType: BedType }, by: string, now: Date, why: string): Promise<void> {
  await q.query(`UPDATE facilities SET ${occupiedCol(bed.bedType)} = ${occupiedCol(bed.bedType)} - 1 WHERE id = $1`, [bed.facilityId]);
  await event(q, caseId, 'bedReleased', now, by, { why }, bed);
}

export type Assignment = { assigned: true; facilityId: number; bedType: BedType; referral: boolean } | { assigned: false; reason: string; waitingSince: Date };

/**
 * A bed of the case's triaged kind: a facility of its own district with a free bed first, then the
 * nearest one (全市一盘棋). With none anywhere, the case waits in the queue with the reason and an alert
 * is raised; it is never dropped. A case already in a bed of the right kind keeps it.
 */
export async function assignBed(q: Queryable, caseId: number, by: string, now: Date): Promise<Assignment | null> {
  const c = await lockCase(q, caseId);
  if (!['waiting', 'assigned', 'admitted'].includes(c.state)) throw conflict(`Case ${caseId} is ${c.state}.`);
  const need = bedFor(c.destination);
  if (c.facility_id !== null) {
    const [f] = await q.query<{ kind: string }>('SELECT kind FROM facilities WHERE id = $1', [c.facility_id]);
    if (f.kind === need.facilityKind && c.bed_type === need.bedType) return null;
  }
  const [home] = await q.query<{ lon: number | null; lat: number | null }>('SELECT centroid_lon AS lon, centroid_lat AS lat FROM compounds WHERE id = $1', [c.compound_id ?? -1]);
  const free = await q.query<{ id: number; districtId: number; lon: number; lat: number }>(
    `SELECT id, district_id AS "districtId", lon, lat FROM facilities WHERE kind = $1 AND ${bedsCol(need.bedType)} > ${occupiedCol(need.bedType)}`,
    [need.facilityKind],
  );
  for (const f of ownDistrictThenNearest(free, { districtId: c.district_id, lon: home?.lon ?? null, lat: home?.lat ?? null })) {
    // Taken only if still free when this row is locked: a racing admission that took it first makes this
    // UPDATE match nothing, and the next facility is tried.
    const took = await q.query(`UPDATE facilities SET ${occupiedCol(need.bedType)} = ${occupiedCol(need.bedType)} + 1 WHERE id = $1 AND ${bedsCol(need.bedType)} > ${occupiedCol(need.bedType)} RETURNING id`, [f.id]);
    if (!took.length) continue;
    const bed = { facilityId: f.id, bedType: need.bedType };
    const old = c.facility_id !== null ? { facilityId: c.facility_id, bedType: c.bed_type! } : null;
    // A referral from a bed the patient is still in keeps that bed until admission at the new place.
    const leaving = old && c.state === 'admitted' ? old : c.leaving_facility_id !== null ? { facilityId: c.leaving_facility_id, bedType: c.leaving_bed_type! } : null;
    if (old && c.state === 'assigned') await releaseBed(q, caseId, old, by, now, 'reassigned before arrival');
    await q.query(
      `UPDATE cases SET state = 'assigned', facility_id = $2, bed_type = $3, leaving_facility_id = $4, leaving_bed_type = $5, waiting_since = NULL, queue_reason = NULL, updated_at = $6 WHERE id = $1`,
      [caseId, bed.facilityId, bed.bedType, leaving?.facilityId ?? null, leaving?.bedType ?? null, now],
    );
    await event(q, caseId, 'bedTaken', now, by, { destination: c.destination, waitedMs: c.waiting_since ? now.getTime() - new Date(c.waiting_since).getTime() : 0 }, bed);
    if (old) await event(q, caseId, 'referred', now, by, { from: old, to: bed, destination: c.destination });
    await resolveNoBedAlert(q, caseId, now);
    return { assigned: true, facilityId: bed.facilityId, bedType: bed.bedType, referral: old !== null };
  }
  const reason = `No free ${need.bedType === 'icu' ? 'ICU' : 'general'} bed at any ${need.facilityKind === 'shelterHospital' ? 'shelter hospital' : 'designated hospital'} in the city`;
  const waitingSince = c.waiting_since ? new Date(c.waiting_since) : now;
  if (c.waiting_since === null || c.queue_reason !== reason) {
    await q.query('UPDATE cases SET waiting_since = $2, queue_reason = $3, updated_at = $4 WHERE id = $1', [caseId, waitingSince, reason, now]);
    await event(q, caseId, 'queued', now, by, { reason, destination: c.destination });
  }
  await raiseAlert(
    q,
    {
      kind: 'noBed',
      severity: 'critical',
      title: `Case ${caseId} waits for a bed: ${reason.toLowerCase()}`,
      districtId: c.district_id,
      streetId: c.street_id,
      facts: { caseId, destination: c.destination, reason, waitingSince: waitingSince.toISOString() },
      assignee: 'city_command',
      dedupeKey: `noBed:${caseId}:${c.destination}`,
    },
    now,
  );
  return { assigned: false, reason, waitingSince };
}

async function resolveNoBedAlert(q: Queryable, caseId: number, now: Date): Promise<void> {
  await q.query(`UPDATE alerts SET resolved_at = $2 WHERE kind = 'noBed' AND resolved_at IS NULL AND dedupe_key LIKE $1`, [`noBed:${caseId}:%`, now]);
}

/** The patient arrives at the bed assigned to them; a referral gives back its old bed now. */
export async function admit(q: Queryable, caseId: number, facilityId: number | null, by: string, now: Date): Promise<void> {
  const c = await lockCase(q, caseId);
  if (c.state !== 'assigned') throw conflict(`Case ${caseId} is ${c.state}: only a case with an assigned bed can be admitted.`);
  if (facilityId !== null && c.facility_id !== facilityId) throw conflict(`Case ${caseId} is assigned to facility ${c.facility_id}, not ${facilityId}.`);
  if (c.leaving_facility_id !== null) await releaseBed(q, caseId, { facilityId: c.leaving_facility_id, bedType: c.leaving_bed_type! }, by, now, 'referred elsewhere');
  await q.query(`UPDATE cases SET state = 'admitted', admitted_at = $2, leaving_facility_id = NULL, leaving_bed_type = NULL, updated_at = $2 WHERE id = $1`, [caseId, now]);
  await event(q, caseId, 'admitted', now, by, {}, { facilityId: c.facility_id!, bedType: c.bed_type! });
}

/**
 * A clinician's observation: severity (raised by the signs), triage again, and a referral when the place
 * no longer fits (shelter to hospital when worse, hospital to shelter when better).
 */
export async function observe(q: Queryable, caseId: number, o: Observation, preset: Preset, by: string, now: Date): Promise<{ severity: Severity; triage: Triage; assignment: Assignment | null }> {
  const c = await lockCase(q, caseId);
  if (!['waiting', 'assigned', 'admitted'].includes(c.state)) throw conflict(`Case ${caseId} is ${c.state}.`);
  const sev = severityOf(o, c.severity, preset);
  const p = await patientOf(q, c.person_id);
  const t = triage(asPatient(p), sev.severity, preset, now);
  await event(q, caseId, 'observation', now, by, { ...o, severity: sev.severity, reasons: sev.reasons });
  await q.query('UPDATE cases SET severity = $2, destination = $3, triage = $4, updated_at = $5 WHERE id = $1', [caseId, sev.severity, t.destination, JSON.stringify(t), now]);
  if (t.destination !== c.destination) await event(q, caseId, 'triaged', now, by, { ...t });
  const assignment = t.destination !== c.destination ? await assignBed(q, caseId, by, now) : null;
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
  if (!r) throw notFound(`Case ${caseId}`);
  return r;
}

/** Discharge when the preset's criteria hold; then home health monitoring for the preset's days. */
export async function discharge(q: Queryable, caseId: number, preset: Preset, by: string, now: Date): Promise<{ monitoringUntil: Date; readiness: DischargeReadiness }> {
  const c = await lockCase(q, caseId);
  if (c.state !== 'admitted') throw conflict(`Case ${caseId} is ${c.state}: only an admitted case is discharged.`);
  const r = await readiness(q, caseId, preset, now);
  if (!r.ready) throw conflict(`Case ${caseId} does not meet the discharge criteria yet: ${r.missing.join('; ')}.`, { missing: r.missing });
  const monitoringUntil = new Date(now.getTime() + preset.discharge.homeMonitoringDays * 86_400_000);
  await releaseBed(q, caseId, { facilityId: c.facility_id!, bedType: c.bed_type! }, by, now, 'discharged');
  await q.query(`UPDATE cases SET state = 'discharged', discharged_at = $2, monitoring_until = $3, facility_id = NULL, bed_type = NULL, updated_at = $2 WHERE id = $1`, [caseId, now, monitoringUntil]);
  await event(q, caseId, 'discharged', now, by, { tests: r.tests, monitoringUntil: monitoringUntil.toISOString(), preset: r.preset }, { facilityId: c.facility_id!, bedType: c.bed_type! });
  await markStatusStale(q, [c.person_id], now);
  return { monitoringUntil, readiness: r };
}

export async function recordDeath(q: Queryable, caseId: number, at: Date, cause: string, by: string, now: Date): Promise<void> {
  const c = await lockCase(q, caseId);
  if (!['waiting', 'assigned', 'admitted'].includes(c.state)) throw conflict(`Case ${caseId} is ${c.state}.`);
  for (const bed of [c.facility_id !== null ? { facilityId: c.facility_id, bedType: c.bed_type! } : null, c.leaving_facility_id !== null ? { facilityId: c.leaving_facility_id, bedType: c.leaving_bed_type! } : null]) {
    if (bed) await releaseBed(q, caseId, bed, by, now, 'died');
  }
  await q.query(`UPDATE cases SET state = 'died', died_at = $2, facility_id = NULL, bed_type = NULL, leaving_facility_id = NULL, leaving_bed_type = NULL, waiting_since = NULL, updated_at = $3 WHERE id = $1`, [caseId, at, now]);
  await event(q, caseId, 'died', at, by, { cause });
  await resolveNoBedAlert(q, caseId, now);
  await markStatusStale(q, [c.person_id], now);
}

/**
 * Takes in the positive findings testing recorded (the inbox a trigger fills), each as a new case or an
 * event of the person's open case, and tries the waiting cases again, oldest first. The job of the server.
 */
export async function careUpkeep(db: Db, preset: Preset, now: Date, limit = 1000): Promise<{ opened: number; placed: number; waiting: number }> {
  let opened = 0;
  const inbox = await db.query<{ person_id: number; tube_id: number; sampled_at: Date; resulted_at: Date }>(
    `SELECT i.person_id, i.tube_id, f.sampled_at, f.resulted_at FROM case_inbox i JOIN positive_findings f USING (person_id, tube_id) ORDER BY f.resulted_at LIMIT $1`,
    [limit],
  );
  for (const f of inbox) {
    await db.tx(async (q) => {
      const r = await openCase(q, { personId: f.person_id, classification: 'confirmed', source: 'finding', findingTubeId: Number(f.tube_id), sampledAt: new Date(f.sampled_at), reportedAt: new Date(f.resulted_at) }, preset, 'system', now);
      if (r.created) opened++;
      await q.query('DELETE FROM case_inbox WHERE person_id = $1 AND tube_id = $2', [f.person_id, f.tube_id]);
    });
  }
  let placed = 0;
  const waiting = await db.query<{ id: number }>('SELECT id FROM cases WHERE waiting_since IS NOT NULL ORDER BY waiting_since, id LIMIT $1', [limit]);
  for (const w of waiting) {
    const a = await db.tx((q) => assignBed(q, Number(w.id), 'system', now));
    if (a?.assigned) placed++;
  }
  const [{ n }] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM cases WHERE waiting_since IS NOT NULL');
  return { opened, placed, waiting: n };
}

export { readinessFacts };
