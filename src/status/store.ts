// Status storage: gathers each person's facts from the capabilities that record them, runs the rules, and
// keeps person_status current. Every change of colour is audited with the facts that caused it.
import type { Db, Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { appendAudit, takeAuditLock } from '../core/audit.ts';
import { noFacts, statusOf, type Colour, type HomeZone, type PersonFacts, type Status } from './rules.ts';
import { homeZones } from '../zoning/index.ts';
import { localDay } from '../core/days.ts';

type Ids = number[];

/** Each person's last sampling, and last sampling with a negative result in force (persons never sampled are left out). */
export async function lastTests(q: Queryable, personIds: Ids): Promise<{ personId: number; lastSampledAt: Date | null; lastNegativeSampledAt: Date | null }[]> {
  const rows = await q.query<{ person_id: number; last_sampled: Date | null; last_negative: Date | null }>(
    `SELECT s.person_id, max(s.sampled_at) AS last_sampled, max(s.sampled_at) FILTER (WHERE r.verdict = 'negative') AS last_negative
       FROM samples s LEFT JOIN lab_results r ON r.tube_id = s.tube_id AND r.state = 'applied'
      WHERE s.person_id = ANY($1) GROUP BY s.person_id`,
    [personIds],
  );
  return rows.map((r) => ({ personId: Number(r.person_id), lastSampledAt: r.last_sampled && new Date(r.last_sampled), lastNegativeSampledAt: r.last_negative && new Date(r.last_negative) }));
}

/** The facts of each person, read in a few set-wise queries (a round's end concerns 50,000 persons). */
export async function gatherFacts(q: Queryable, personIds: Ids): Promise<Map<number, PersonFacts>> {
  const facts = new Map<number, PersonFacts>(personIds.map((id) => [id, noFacts()]));
  if (!personIds.length) return facts;
  const of = (id: number) => facts.get(Number(id))!;
  // Positive findings count while the result they came from is still the one in force.
  for (const r of await q.query<{ person_id: number; result_id: number; resulted_at: Date }>(
    `SELECT f.person_id, f.result_id, f.resulted_at FROM positive_findings f JOIN lab_results r ON r.id = f.result_id AND r.state = 'applied'
      WHERE f.person_id = ANY($1)`,
    [personIds],
  )) {
    of(r.person_id).findings.push({ id: Number(r.result_id), resultedAt: new Date(r.resulted_at) });
  }
  for (const r of await q.query<{ person_id: number; pool_tube_id: number; barcode: string; since: Date; cleared_at: Date | null }>(
    `SELECT c.person_id, c.pool_tube_id, t.barcode, c.since, c.cleared_at FROM pool_controls c JOIN tubes t ON t.id = c.pool_tube_id
      WHERE c.person_id = ANY($1) AND c.cleared_at IS NULL`,
    [personIds],
  )) {
    of(r.person_id).poolControls.push({ id: Number(r.pool_tube_id), poolBarcode: r.barcode, since: new Date(r.since), clearedAt: r.cleared_at && new Date(r.cleared_at) });
  }
  // Rounds the person has not been sampled in; a sample taken anywhere since the round began restores them.
  for (const r of await q.query<{ person_id: number; campaign_id: number; name: string; starts_at: Date; ends_at: Date; sampled_at: Date | null }>(
    `SELECT e.person_id, e.campaign_id, c.name, c.starts_at, c.ends_at,
            (SELECT min(s.sampled_at) FROM samples s WHERE s.person_id = e.person_id AND s.sampled_at >= c.starts_at) AS sampled_at
       FROM campaign_expected e JOIN campaigns c ON c.id = e.campaign_id
      WHERE e.person_id = ANY($1) AND e.sampled_at IS NULL`,
    [personIds],
  )) {
    of(r.person_id).rounds.push({ campaignId: r.campaign_id, name: r.name, startsAt: new Date(r.starts_at), endsAt: new Date(r.ends_at), sampledAt: r.sampled_at && new Date(r.sampled_at) });
  }
  for (const r of await lastTests(q, personIds)) {
    const f = of(r.personId);
    f.lastSampledAt = r.lastSampledAt;
    f.lastNegativeSampledAt = r.lastNegativeSampledAt;
  }
  // Contact records (tracing), with the release of the person's latest quarantine order.
  for (const r of await q.query<{ person_id: number; level: 'close' | 'secondary'; last_exposure_at: Date; released_at: Date | null }>(
    `SELECT c.person_id, c.level, c.last_exposure_at,
            (SELECT o.released_at FROM quarantine_orders o WHERE o.person_id = c.person_id AND o.superseded_by IS NULL ORDER BY o.issued_at DESC LIMIT 1) AS released_at
       FROM contacts c WHERE c.person_id = ANY($1)`,
    [personIds],
  )) {
    of(r.person_id).contacts.push({ id: Number(r.person_id), level: r.level, lastExposureAt: new Date(r.last_exposure_at), releasedAt: r.released_at && new Date(r.released_at) });
  }
  // Cases (cases capability): positive until discharged, then home monitoring.
  for (const r of await q.query<{ id: number; person_id: number; classification: 'confirmed' | 'asymptomatic'; reported_at: Date; discharged_at: Date | null }>(
    `SELECT id, person_id, classification, reported_at, discharged_at FROM cases WHERE person_id = ANY($1) AND state <> 'died'`,
    [personIds],
  )) {
    of(r.person_id).cases.push({ id: Number(r.id), kind: r.classification, since: new Date(r.reported_at), dischargedAt: r.discharged_at && new Date(r.discharged_at) });
  }
  // Arrivals into the city (tracing capability) and positive antigen self-tests (testing capability).
  for (const r of await q.query<{ id: number; person_id: number; kind: PersonFacts['arrivals'][number]['kind']; arrived_at: Date }>('SELECT id, person_id, kind, arrived_at FROM arrivals WHERE person_id = ANY($1)', [personIds])) {
    of(r.person_id).arrivals.push({ id: Number(r.id), kind: r.kind, arrivedAt: new Date(r.arrived_at) });
  }
  // The tests an arrival from a low-risk area is asked for: samplings since the first such arrival.
  for (const r of await q.query<{ person_id: number; sampled_at: Date }>(
    `SELECT s.person_id, s.sampled_at FROM samples s
       JOIN (SELECT person_id, min(arrived_at) AS since FROM arrivals WHERE person_id = ANY($1) AND kind = 'lowRisk' GROUP BY person_id) a
         ON a.person_id = s.person_id AND s.sampled_at >= a.since`,
    [personIds],
  )) {
    of(r.person_id).samplings.push(new Date(r.sampled_at));
  }
  for (const r of await q.query<{ id: number; person_id: number; tested_at: Date }>(`SELECT id, person_id, tested_at FROM antigen_reports WHERE person_id = ANY($1) AND result = 'positive'`, [personIds])) {
    of(r.person_id).antigenPositives.push({ id: Number(r.id), testedAt: new Date(r.tested_at) });
  }
  for (const r of await q.query<{ id: number; person_id: number; colour: Colour; reason: string; requested_by: string; approved_by: string; approved_at: Date; expires_at: Date }>(
    `SELECT id, person_id, colour, reason, requested_by, approved_by, approved_at, expires_at FROM status_overrides
      WHERE person_id = ANY($1) AND approved_at IS NOT NULL`,
    [personIds],
  )) {
    of(r.person_id).overrides.push({ id: Number(r.id), colour: r.colour, reason: r.reason, requestedBy: r.requested_by, approvedBy: r.approved_by, approvedAt: new Date(r.approved_at), expiresAt: new Date(r.expires_at) });
  }
  return facts;
}

/** Whether a status waits for a test result to change (an untested round or arrival, a contact's missing negative, a suspected case's PCR). */
const waitsForTest = (s: Status) =>
  s.reasons.some((r) => r.code === 'untested' || r.code === 'lowRiskArrivalUntested' || r.code === 'suspected' || ((r.code === 'closeContactMonitoring' || r.code === 'secondaryContact') && r.until === null));

/**
 * Recomputes the persons' statuses from their facts and stores those that changed. Each change of colour
 * is audited, naming the facts behind the new colour and what prompted the recomputation.
 */
export async function refreshStatus(q: Queryable, personIds: Ids, preset: Preset, now: Date, cause: string): Promise<{ changed: number; recoloured: number }> {
  const ids = [...new Set(personIds.map(Number))];
  if (!ids.length) return { changed: 0, recoloured: 0 };
  const facts = await gatherFacts(q, ids);
  const stored = new Map(
    (await q.query<{ person_id: number; colour: Colour; reasons: unknown; changes_at: Date | null }>('SELECT person_id, colour, reasons, changes_at FROM person_status WHERE person_id = ANY($1)', [ids])).map((r) => [
      Number(r.person_id),
      r,
    ]),
  );
  const rows: { person_id: number; colour: Colour; reasons: unknown; prompts: unknown; changes_at: string | null; waits_for_test: boolean }[] = [];
  const audits: Parameters<typeof appendAudit>[1] = [];
  for (const id of ids) {
    const s = statusOf(facts.get(id)!, preset, now);
    const before = stored.get(id);
    const was: Colour = before?.colour ?? 'green';
    const same = before && JSON.stringify(before.reasons) === JSON.stringify(s.reasons) && (before.changes_at ? new Date(before.changes_at).toISOString() : null) === s.changesAt;
    // A green person without reasons needs no row, unless an arrival's tests are asked of them: the upkeep must
    // find them by their time if the tests are not taken (a round's untested are found by the round's end
    // instead, without a row for each resident who looks at their status meanwhile). One that had a row keeps it.
    if (same || (!before && s.colour === 'green' && !s.reasons.length && !s.prompts.some((x) => x.code === 'arrivalTests'))) continue;
    rows.push({ person_id: id, colour: s.colour, reasons: s.reasons, prompts: s.prompts, changes_at: s.changesAt, waits_for_test: waitsForTest(s) });
    if (s.colour !== was) {
      audits.push({
        actor: 'system',
        action: 'status',
        entity: 'person',
        entityId: id,
        reason: cause,
        detail: { from: was, to: s.colour, preset: s.preset, facts: s.reasons.filter((r) => !r.overridden).map((r) => ({ code: r.code, ...r.fact, rule: r.rule })) },
      });
    }
  }
  if (rows.length) {
    // Versions in the order they commit, on a PostgreSQL server too: a reader by version (the entrance index of
    // every server) that has seen one has seen every lower one. The audit's lock, held until commit, orders
    // the writers; a colour's change takes it anyway. PGlite commits one transaction at a time.
    if (q.engine === 'pg') await takeAuditLock(q);
    await q.query(
      `INSERT INTO person_status (person_id, colour, reasons, prompts, changes_at, waits_for_test, computed_at, preset)
       SELECT x.person_id, x.colour, x.reasons, x.prompts, x.changes_at, x.waits_for_test, $2, $3
         FROM jsonb_to_recordset($1::jsonb) AS x(person_id int, colour text, reasons jsonb, prompts jsonb, changes_at timestamptz, waits_for_test boolean)
       ON CONFLICT (person_id) DO UPDATE SET colour = EXCLUDED.colour, reasons = EXCLUDED.reasons, prompts = EXCLUDED.prompts, changes_at = EXCLUDED.changes_at,
         waits_for_test = EXCLUDED.waits_for_test, computed_at = EXCLUDED.computed_at, preset = EXCLUDED.preset, version = nextval('person_status_version')`,
      [JSON.stringify(rows), now, `${preset.id}@${preset.version}`],
    );
  }
  await appendAudit(q, audits, now);
  return { changed: rows.length, recoloured: audits.length };
}

/**
 * A person's status now, computed from the facts (and stored if it moved): what the person and staff see.
 * It names the home compound's zone where the zone confines its residents, which the stored one does not
 * (`home`: the zone to name instead of reading it; null names none, as the stored status).
 */
export async function currentStatus(db: Db, personId: number, preset: Preset, now: Date, home?: HomeZone | null): Promise<Status> {
  return db.tx(async (q) => {
    // The mark first, as the upkeep takes it (its row, then the audit's lock, then the status): taken in the
    // other order, this and an upkeep holding the person's mark would wait for each other.
    await q.query('DELETE FROM status_stale WHERE person_id = $1', [personId]);
    await refreshStatus(q, [personId], preset, now, 'read');
    const facts = (await gatherFacts(q, [personId])).get(personId)!;
    facts.home = home !== undefined ? home : ((await homeZones(q, [personId], localDay(now, preset.reporting.timeZone), preset.reporting.timeZone)).get(personId) ?? null);
    return statusOf(facts, preset, now);
  });
}

const BATCH = 5_000;

/**
 * The status upkeep, run by the server every few seconds: persons whose facts changed, persons whose
 * status was due to change by itself, the untested of rounds that just ended, and persons waiting for a
 * test result that has arrived. Works in batches, each in its own transaction.
 */
export async function refreshDue(db: Db, preset: Preset, now: Date): Promise<{ refreshed: number }> {
  let refreshed = 0;
  const run = async (cause: string, pick: (q: Queryable) => Promise<Ids>, after?: (q: Queryable, ids: Ids) => Promise<void>) => {
    for (;;) {
      const done = await db.tx(async (q) => {
        const ids = await pick(q);
        if (ids.length) {
          await refreshStatus(q, ids, preset, now, cause);
          await after?.(q, ids);
        }
        return ids.length;
      });
      refreshed += done;
      if (done < BATCH) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  await run(
    'facts recorded',
    async (q) => (await q.query<{ person_id: number }>('SELECT person_id FROM status_stale WHERE since <= $1 ORDER BY person_id LIMIT $2 FOR UPDATE SKIP LOCKED', [now, BATCH])).map((r) => r.person_id),
    async (q, ids) => {
      await q.query('DELETE FROM status_stale WHERE person_id = ANY($1)', [ids]);
    },
  );
  await run('due by time', async (q) => (await q.query<{ person_id: number }>('SELECT person_id FROM person_status WHERE changes_at <= $1 ORDER BY changes_at LIMIT $2', [now, BATCH])).map((r) => r.person_id));
  // Rounds that ended: their untested residents turn yellow, once per round.
  for (const c of await db.query<{ id: number }>('SELECT id FROM campaigns WHERE ends_at <= $1 AND status_marked_at IS NULL ORDER BY ends_at', [now])) {
    let after = 0;
    await run('screening round ended', async (q) => {
      const ids = (await q.query<{ person_id: number }>('SELECT person_id FROM campaign_expected WHERE campaign_id = $1 AND sampled_at IS NULL AND person_id > $2 ORDER BY person_id LIMIT $3', [c.id, after, BATCH])).map((r) => r.person_id);
      after = ids.length ? ids[ids.length - 1] : after;
      return ids;
    });
    await db.query('UPDATE campaigns SET status_marked_at = $2 WHERE id = $1', [c.id, now]);
  }
  // Persons waiting for a result, sampled since their status was computed.
  await run('test sampled or resulted', async (q) =>
    (
      await q.query<{ person_id: number }>(
        `SELECT ps.person_id FROM person_status ps
          WHERE ps.waits_for_test AND EXISTS (
            SELECT 1 FROM samples s LEFT JOIN lab_results r ON r.tube_id = s.tube_id
             WHERE s.person_id = ps.person_id AND ((s.sampled_at > ps.computed_at AND s.sampled_at <= $2) OR (r.received_at > ps.computed_at AND r.received_at <= $2)))
          LIMIT $1`,
        [BATCH, now],
      )
    ).map((r) => r.person_id),
  );
  return { refreshed };
}
