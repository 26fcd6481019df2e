// Testing storage: plain SQL over the facts of migrations/004_testing.sql. Decisions come from rules.ts.
import type { Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { presetLabel } from '../core/presets.ts';
import type { PiiKeys } from '../core/pii.ts';
import { idNumberProblem } from '../core/pii.ts';
import { badRequest, conflict, notFound } from '../core/errors.ts';
import { createTasks, raiseAlert, type NewTask } from '../core/work.ts';
import { markStatusStale } from '../core/stale.ts';
import { rejection, type Rejection } from './rejections.ts';
import { canAddToTube, consequencesOf, poolSizeFor, queueWaitMinutes, verdictOf, type SamplingGroup, type Verdict } from './rules.ts';

export interface CampaignInput {
  name: string;
  areaLevel: 'city' | 'district' | 'street' | 'compound';
  areaIds: number[];
  startsAt: Date;
  endsAt: Date;
  defaultGroup?: SamplingGroup;
  /** Sampling group per compound id (sealed compounds single-tube, controlled 10-in-1 ...). */
  compoundGroups?: Record<string, SamplingGroup>;
  /** Only residents aged 60 and over. */
  cohort?: 'age60plus' | null;
}

/** Creates a campaign and fixes the list of who must test: the residents of its area at this moment. */
export async function createCampaign(q: Queryable, c: CampaignInput, preset: Preset, by: string, now: Date): Promise<{ id: number; expected: number }> {
  if (c.areaLevel !== 'city' && !c.areaIds.length) throw badRequest(`A ${c.areaLevel} campaign needs areaIds.`);
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO campaigns (name, area_level, area_ids, cohort, default_group, compound_groups, starts_at, ends_at, preset, created_by, created_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`,
    [c.name, c.areaLevel, c.areaIds, c.cohort ?? null, c.defaultGroup ?? 'other', JSON.stringify(c.compoundGroups ?? {}), c.startsAt, c.endsAt, presetLabel(preset), by, now],
  );
  const params: unknown[] = [row.id, c.defaultGroup ?? 'other', JSON.stringify(c.compoundGroups ?? {})];
  const where: string[] = [];
  if (c.areaLevel !== 'city') {
    params.push(c.areaIds);
    where.push(`p.${c.areaLevel}_id = ANY($${params.length})`);
  }
  if (c.cohort === 'age60plus') {
    params.push(new Date(now.getTime() - 60 * 365.25 * 86400_000).toISOString().slice(0, 10));
    where.push(`p.birth_date <= $${params.length}`);
  }
  const inserted = await q.query(
    `INSERT INTO campaign_expected (campaign_id, person_id, sampling_group, district_id, street_id, compound_id)
     SELECT $1, p.id, coalesce($3::jsonb ->> p.compound_id::text, $2), p.district_id, p.street_id, p.compound_id
       FROM persons p ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
     RETURNING person_id`,
    params,
  );
  return { id: row.id, expected: inserted.length };
}

export interface CampaignProgress {
  expected: number;
  sampled: number;
  resulted: number;
  positive: number;
}

export async function campaignProgress(q: Queryable, campaignId: number, area?: AreaFilter): Promise<CampaignProgress> {
  const params: unknown[] = [campaignId];
  const cond = areaSql(area, 'e', params);
  const [r] = await q.query<CampaignProgress>(
    `WITH e AS (SELECT person_id, sampled_at FROM campaign_expected e WHERE e.campaign_id = $1 ${cond}),
          s AS (SELECT DISTINCT ON (s.person_id) s.person_id, s.tube_id FROM samples s JOIN e USING (person_id) WHERE s.campaign_id = $1 ORDER BY s.person_id, s.sampled_at DESC)
     SELECT (SELECT count(*) FROM e)::int AS expected,
            (SELECT count(sampled_at) FROM e)::int AS sampled,
            (SELECT count(*) FROM s WHERE EXISTS (SELECT 1 FROM lab_results r WHERE r.tube_id = s.tube_id AND r.state = 'applied'))::int AS resulted,
            (SELECT count(*) FROM s WHERE EXISTS (SELECT 1 FROM lab_results r WHERE r.tube_id = s.tube_id AND r.state = 'applied' AND r.verdict = 'positive'))::int AS positive`,
    params,
  );
  return r;
}

export interface AreaFilter {
  districtId?: number | null;
  streetId?: number | null;
  compoundId?: number | null;
}

function areaSql(a: AreaFilter | undefined, alias: string, params: unknown[]): string {
  let sql = '';
  for (const [key, col] of [['districtId', 'district_id'], ['streetId', 'street_id'], ['compoundId', 'compound_id']] as const) {
    const v = a?.[key];
    if (v) {
      params.push(v);
      sql += ` AND ${alias}.${col} = $${params.length}`;
    }
  }
  return sql;
}

// ---------------------------------------------------------------------------------------------------
// Persons as a sampler names them: a personal code (the QR) or an ID number.

export interface PersonRef {
  personId: number;
  streetId: number | null;
  districtId: number | null;
  name: string;
}

/** Resolves personal codes and ID numbers in one query; the map is keyed by the reference as given. */
export async function resolvePersons(q: Queryable, pii: PiiKeys, refs: string[]): Promise<Map<string, PersonRef>> {
  const codes: string[] = [];
  const hashes: Buffer[] = [];
  const byHash = new Map<string, string>();
  for (const ref of refs) {
    if (idNumberProblem(ref) === null) {
      const h = pii.hashId(ref);
      hashes.push(h);
      byHash.set(h.toString('hex'), ref);
    } else codes.push(ref);
  }
  type Found = { id: number; street_id: number | null; district_id: number | null; name: string; personal_code: string; id_hash: Buffer | Uint8Array | null };
  // Two index look-ups, not one OR: an OR of two large arrays makes the planner scan every person.
  const columns = 'id, street_id, district_id, name, personal_code, id_hash';
  const rows = [
    ...(codes.length ? await q.query<Found>(`SELECT ${columns} FROM persons WHERE personal_code = ANY($1)`, [codes]) : []),
    ...(hashes.length ? await q.query<Found>(`SELECT ${columns} FROM persons WHERE id_hash = ANY($1)`, [hashes]) : []),
  ];
  const out = new Map<string, PersonRef>();
  for (const r of rows) {
    const ref: PersonRef = { personId: r.id, streetId: r.street_id, districtId: r.district_id, name: r.name };
    if (codes.includes(r.personal_code)) out.set(r.personal_code, ref);
    const byId = r.id_hash ? byHash.get(Buffer.from(r.id_hash).toString('hex')) : undefined;
    if (byId) out.set(byId, ref);
  }
  return out;
}

/** What a sampler is shown to confirm identity: the name with its middle hidden. */
export const maskName = (name: string) => (name.length <= 1 ? name : name.length === 2 ? name[0] + '*' : name[0] + '*'.repeat(name.length - 2) + name[name.length - 1]);

// ---------------------------------------------------------------------------------------------------
// Tubes and samples.

export interface OpenTube {
  barcode: string;
  samplingPointId: number;
  campaignId?: number | null;
  group?: SamplingGroup;
  /** For a single-tube retest of a positive pool: the pool's barcode. */
  retestOf?: string | null;
}

export async function openTube(q: Queryable, t: OpenTube, preset: Preset, by: string, now: Date): Promise<{ id: number; barcode: string; capacity: number }> {
  const capacity = t.retestOf ? 1 : poolSizeFor(t.group ?? 'other', preset);
  const [point] = await q.query('SELECT id FROM sampling_points WHERE id = $1', [t.samplingPointId]);
  if (!point) throw badRequest(`No sampling point ${t.samplingPointId}.`);
  if (t.campaignId) {
    const [c] = await q.query('SELECT id FROM campaigns WHERE id = $1', [t.campaignId]);
    if (!c) throw badRequest(`No campaign ${t.campaignId}.`);
  }
  let retestOf: number | null = null;
  if (t.retestOf) {
    const [pool] = await q.query<{ id: number }>('SELECT id FROM tubes WHERE barcode = $1', [t.retestOf]);
    if (!pool) throw badRequest(`No tube ${t.retestOf} to retest.`);
    retestOf = pool.id;
  }
  const rows = await q.query<{ id: number }>(
    `INSERT INTO tubes (barcode, campaign_id, sampling_point_id, capacity, retest_of, opened_by, opened_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT (barcode) DO NOTHING RETURNING id`,
    [t.barcode, t.campaignId ?? null, t.samplingPointId, capacity, retestOf, by, now],
  );
  if (!rows.length) throw conflict(`Tube ${t.barcode} is already in use; take a new tube.`, { code: 'tubeInUse', barcode: t.barcode });
  return { id: rows[0].id, barcode: t.barcode, capacity };
}

interface TubeRow {
  id: number;
  barcode: string;
  capacity: number;
  closed_at: Date | null;
  campaign_id: number | null;
  sampling_point_id: number | null;
  samples: number;
}

async function lockTube(q: Queryable, barcode: string): Promise<TubeRow> {
  const [tube] = await q.query<TubeRow>('SELECT id, barcode, capacity, closed_at, campaign_id, sampling_point_id, samples FROM tubes WHERE barcode = $1 FOR UPDATE', [barcode]);
  if (!tube) throw notFound(`Tube ${barcode}`, { code: 'tubeUnknown', barcode });
  return tube;
}

export interface AddedSample {
  personId: number;
  name: string;
  count: number;
  capacity: number;
  repeatInRound: boolean;
}

/** Adds one person to an open tube; refuses a full or closed tube, an unknown person and re-pooling. */
export async function addSample(q: Queryable, pii: PiiKeys, barcode: string, personRef: string, preset: Preset, now: Date): Promise<AddedSample> {
  const tube = await lockTube(q, barcode);
  const count = tube.samples;
  const refusal = canAddToTube({ closed: tube.closed_at !== null, capacity: tube.capacity, count });
  if (refusal) throw conflict(`Tube ${barcode}: ${refusal.text}.`, { code: refusal.code, barcode, capacity: tube.capacity });
  const [asTube] = await q.query('SELECT 1 FROM tubes WHERE barcode = $1', [personRef]);
  if (asTube) throw badRequest(`${personRef} is a tube: a tube cannot be put into another tube (re-pooling is not allowed).`, { code: 'isTube', ref: personRef });
  const person = (await resolvePersons(q, pii, [personRef])).get(personRef);
  if (!person) throw notFound(`Person with code or ID number ${personRef}`, { code: 'personUnknown', ref: personRef });
  if (tube.campaign_id !== null) {
    // A sealed compound's resident goes in a single tube, a controlled one's in at most 10 (rules.md 13).
    const [e] = await q.query<{ sampling_group: SamplingGroup }>('SELECT sampling_group FROM campaign_expected WHERE campaign_id = $1 AND person_id = $2', [tube.campaign_id, person.personId]);
    if (e && poolSizeFor(e.sampling_group, preset) < tube.capacity) {
      throw conflict(`This person is in sampling group ${e.sampling_group}: use a tube of at most ${poolSizeFor(e.sampling_group, preset)}, not this ${tube.capacity}-person tube.`, { code: 'groupTube', group: e.sampling_group, most: poolSizeFor(e.sampling_group, preset), capacity: tube.capacity });
    }
  }
  const [dup] = await q.query('SELECT 1 FROM samples WHERE tube_id = $1 AND person_id = $2', [tube.id, person.personId]);
  if (dup) throw conflict(`This person is already in tube ${barcode}.`, { code: 'alreadyInTube', barcode });
  const repeat = tube.campaign_id !== null && (await q.query('SELECT 1 FROM samples WHERE campaign_id = $1 AND person_id = $2 LIMIT 1', [tube.campaign_id, person.personId])).length > 0;
  await q.query(`INSERT INTO samples (tube_id, person_id, sampled_at, campaign_id, sampling_point_id, repeat_in_round) VALUES ($1,$2,$3,$4,$5,$6)`, [tube.id, person.personId, now, tube.campaign_id, tube.sampling_point_id, repeat]);
  await q.query('UPDATE tubes SET samples = samples + 1 WHERE id = $1', [tube.id]);
  if (tube.campaign_id !== null) await markSampled(q, tube.campaign_id, [person.personId], [now]);
  return { personId: person.personId, name: maskName(person.name), count: count + 1, capacity: tube.capacity, repeatInRound: repeat };
}

export async function closeTube(q: Queryable, barcode: string, now: Date): Promise<{ barcode: string; count: number }> {
  const tube = await lockTube(q, barcode);
  const count = tube.samples;
  if (count === 0) throw conflict(`Tube ${barcode} is empty; add a person before closing it.`, { code: 'tubeEmpty', barcode });
  if (!tube.closed_at) await q.query('UPDATE tubes SET closed_at = $2 WHERE id = $1', [tube.id, now]);
  return { barcode, count };
}

export interface BatchTube {
  barcode: string;
  samplingPointId: number;
  campaignId?: number | null;
  group?: SamplingGroup;
  sampledAt: Date;
  persons: string[];
}

/** Marks persons of a campaign as sampled (the first sample counts; later ones change nothing). */
async function markSampled(q: Queryable, campaignId: number, personIds: number[], times: Date[]): Promise<void> {
  await q.query(
    `UPDATE campaign_expected e SET sampled_at = s.at
       FROM (SELECT person_id, min(at) AS at FROM unnest($2::int[], $3::timestamptz[]) AS x(person_id, at) GROUP BY person_id) s
      WHERE e.campaign_id = $1 AND e.person_id = s.person_id AND e.sampled_at IS NULL`,
    [campaignId, personIds, times.map((t) => t.toISOString())],
  );
}

/**
 * A device's batch of closed tubes (sampling points work offline and sync): validated whole, then written
 * in one transaction with COPY. Any bad tube rejects the batch, naming each problem by its position.
 */
export async function recordTubeBatch(q: Queryable, pii: PiiKeys, batch: BatchTube[], preset: Preset, by: string): Promise<{ tubes: number; samples: number; repeats: number }> {
  const problems: string[] = [];
  const barcodes = batch.map((t) => t.barcode);
  const seen = new Set<string>();
  batch.forEach((t, i) => {
    if (seen.has(t.barcode)) problems.push(`tubes[${i}]: barcode ${t.barcode} appears twice in the batch`);
    seen.add(t.barcode);
    const capacity = poolSizeFor(t.group ?? 'other', preset);
    if (t.persons.length === 0) problems.push(`tubes[${i}] (${t.barcode}): no persons`);
    if (t.persons.length > capacity) problems.push(`tubes[${i}] (${t.barcode}): ${t.persons.length} persons, more than the ${capacity} allowed for group ${t.group ?? 'other'}`);
    if (new Set(t.persons).size !== t.persons.length) problems.push(`tubes[${i}] (${t.barcode}): the same person twice`);
  });
  const existing = await q.query<{ barcode: string }>('SELECT barcode FROM tubes WHERE barcode = ANY($1)', [barcodes]);
  for (const e of existing) problems.push(`tube ${e.barcode} is already recorded`);
  const allRefs = [...new Set(batch.flatMap((t) => t.persons))];
  const refTubes = new Set((await q.query<{ barcode: string }>('SELECT barcode FROM tubes WHERE barcode = ANY($1)', [allRefs])).map((r) => r.barcode));
  const persons = await resolvePersons(q, pii, allRefs.filter((r) => !refTubes.has(r) && !seen.has(r)));
  batch.forEach((t, i) => {
    for (const ref of t.persons) {
      if (refTubes.has(ref) || seen.has(ref)) problems.push(`tubes[${i}] (${t.barcode}): ${ref} is a tube; re-pooling is not allowed`);
      else if (!persons.has(ref)) problems.push(`tubes[${i}] (${t.barcode}): no person with code or ID number ${ref}`);
    }
  });
  // Each person's group in the campaign caps the tube they may share (rules.md 13).
  const groups = new Map<string, SamplingGroup>();
  if (campaignIdsOf(batch).length) {
    const rows = await q.query<{ k: string; sampling_group: SamplingGroup }>(
      `SELECT campaign_id || ':' || person_id AS k, sampling_group FROM campaign_expected WHERE campaign_id = ANY($1) AND person_id = ANY($2)`,
      [campaignIdsOf(batch), [...persons.values()].map((p) => p.personId)],
    );
    for (const r of rows) groups.set(r.k, r.sampling_group);
  }
  batch.forEach((t, i) => {
    if (!t.campaignId) return;
    for (const ref of t.persons) {
      const p = persons.get(ref);
      const g = p && groups.get(`${t.campaignId}:${p.personId}`);
      if (g && poolSizeFor(g, preset) < t.persons.length) problems.push(`tubes[${i}] (${t.barcode}): ${ref} is in sampling group ${g} and may share a tube with at most ${poolSizeFor(g, preset) - 1} other(s)`);
    }
  });
  const points = new Set((await q.query<{ id: number }>('SELECT id FROM sampling_points WHERE id = ANY($1)', [[...new Set(batch.map((t) => t.samplingPointId))]])).map((r) => r.id));
  batch.forEach((t, i) => {
    if (!points.has(t.samplingPointId)) problems.push(`tubes[${i}] (${t.barcode}): no sampling point ${t.samplingPointId}`);
  });
  if (problems.length) throw badRequest(`${problems.length} problem(s) in the batch; nothing was recorded.`, { problems: problems.slice(0, 1000) });

  const [{ next }] = await q.query<{ next: number }>("SELECT nextval(pg_get_serial_sequence('tubes', 'id'))::bigint AS next");
  // Reserve a block of ids so that samples can name their tubes without a round trip per tube.
  await q.query(`SELECT setval(pg_get_serial_sequence('tubes', 'id'), $1)`, [next + batch.length]);
  const tubeLines: string[] = [];
  const sampleLines: string[] = [];
  // Who in this batch was sampled before in the same campaign (repeat in round).
  const campaignIds = campaignIdsOf(batch);
  const before = new Set(
    campaignIds.length
      ? (await q.query<{ k: string }>(`SELECT campaign_id || ':' || person_id AS k FROM samples WHERE campaign_id = ANY($1) AND person_id = ANY($2)`, [campaignIds, [...persons.values()].map((p) => p.personId)])).map((r) => r.k)
      : [],
  );
  let repeats = 0;
  batch.forEach((t, i) => {
    const id = next + i;
    const at = t.sampledAt.toISOString();
    tubeLines.push(`${id},${csv(t.barcode)},${t.campaignId ?? ''},${t.samplingPointId},${poolSizeFor(t.group ?? 'other', preset)},${csv(by)},${at},${at},${t.persons.length}\n`);
    for (const ref of t.persons) {
      const pid = persons.get(ref)!.personId;
      const key = `${t.campaignId}:${pid}`;
      const repeat = t.campaignId ? before.has(key) : false;
      if (t.campaignId) before.add(key);
      if (repeat) repeats++;
      sampleLines.push(`${id},${pid},${at},${t.campaignId ?? ''},${t.samplingPointId},${repeat}\n`);
    }
  });
  await q.copyCsv('tubes', ['id', 'barcode', 'campaign_id', 'sampling_point_id', 'capacity', 'opened_by', 'opened_at', 'closed_at', 'samples'], chunked(tubeLines));
  await q.copyCsv('samples', ['tube_id', 'person_id', 'sampled_at', 'campaign_id', 'sampling_point_id', 'repeat_in_round'], chunked(sampleLines));
  for (const campaignId of campaignIds) {
    const tubes = batch.filter((t) => t.campaignId === campaignId);
    const ids = tubes.flatMap((t) => t.persons.map((ref) => persons.get(ref)!.personId));
    const times = tubes.flatMap((t) => t.persons.map(() => t.sampledAt));
    await markSampled(q, campaignId, ids, times);
  }
  return { tubes: batch.length, samples: sampleLines.length, repeats };
}

const campaignIdsOf = (batch: BatchTube[]) => [...new Set(batch.map((t) => t.campaignId).filter((c): c is number => !!c))];
const csv = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
function* chunked(lines: string[], size = 20000): Iterable<string> {
  for (let i = 0; i < lines.length; i += size) yield lines.slice(i, i + size).join('');
}

/** A lab receives tubes (a batch scanned at the door): counts against its load from now on. */
export async function receiveTubes(q: Queryable, labId: number, barcodes: string[], now: Date): Promise<{ received: number; unknown: string[] }> {
  const rows = await q.query<{ barcode: string }>(`UPDATE tubes SET lab_id = $1, received_at = $3 WHERE barcode = ANY($2) AND received_at IS NULL RETURNING barcode`, [labId, barcodes, now]);
  const known = new Set((await q.query<{ barcode: string }>('SELECT barcode FROM tubes WHERE barcode = ANY($1)', [barcodes])).map((r) => r.barcode));
  return { received: rows.length, unknown: barcodes.filter((b) => !known.has(b)) };
}

// ---------------------------------------------------------------------------------------------------
// Results.

export interface ResultRow {
  /** Line in the uploaded file (header = 1), or position in an API batch. */
  line: number;
  barcode: string;
  result: Verdict;
  ctOrf1ab: number | null;
  ctN: number | null;
  resultedAt: Date;
}

/**
 * Checks that every result names a tube that was sampled; returns the tube ids, the tubes that already
 * have a result (only those need comparing), or the bad lines.
 */
export interface ResultTubes {
  /** Tube id by barcode, for every tube that was sampled. */
  ids: Map<string, number>;
  /** Tubes that already have a result (only those need comparing); grows as chunks are written. */
  resulted: Set<number>;
  /** Single tubes: only their negatives can release a person from a pool's control. */
  singles: Set<number>;
}

export async function tubesForResults(q: Queryable, rows: ResultRow[]): Promise<ResultTubes & { rejected: Rejection[] }> {
  const barcodes = [...new Set(rows.map((r) => r.barcode))];
  // One text value back instead of a row per tube: reading 100,000 rows out of embedded PGlite costs
  // several times more than finding them (ANY walks the barcode index once, in order). Barcodes go in as
  // one text too, split by the server: cheaper than an array parameter of 100,000 elements.
  const [{ found }] = await q.query<{ found: string | null }>(
    `SELECT string_agg(concat_ws(' ', t.id, t.capacity, t.samples, (EXISTS (SELECT 1 FROM lab_results r WHERE r.tube_id = t.id))::int, t.barcode), E'\\n') AS found
       FROM tubes t WHERE t.barcode = ANY(string_to_array($1, E'\\n'))`,
    [barcodes.join('\n')],
  );
  const ids = new Map<string, number>();
  const resulted = new Set<number>();
  const singles = new Set<number>();
  const empty = new Set<string>();
  // Lines of "id capacity samples resulted barcode", read by position: 100,000 of them, so no splitting.
  const text = found ?? '';
  for (let pos = 0; pos < text.length; ) {
    const end = text.indexOf('\n', pos) === -1 ? text.length : text.indexOf('\n', pos);
    const a = text.indexOf(' ', pos);
    const b = text.indexOf(' ', a + 1);
    const c = text.indexOf(' ', b + 1);
    const id = Number(text.slice(pos, a));
    const barcode = text.slice(c + 3, end);
    if (text.slice(a + 1, b) === '1') singles.add(id);
    if (text.slice(b + 1, c) !== '0') ids.set(barcode, id);
    else empty.add(barcode);
    if (text[c + 1] === '1') resulted.add(id);
    pos = end + 1;
  }
  const rejected = rows
    .filter((r) => !ids.has(r.barcode))
    .map((r) => rejection(r.line, { code: empty.has(r.barcode) ? 'tubeEmpty' : 'tubeUnknown', barcode: r.barcode }));
  return { ids, resulted, singles, rejected };
}

export interface ApplySummary {
  applied: number;
  duplicates: number;
  conflicts: number;
  positives: number;
  poolControls: number;
  cleared: number;
}

/**
 * Applies one chunk of results in the caller's transaction. The same result twice changes nothing; a
 * different second result for a tube is kept as a conflict. Positive tubes lead to findings, pool controls
 * and retest tasks; negative single tubes clear the pool controls of their person.
 */
export async function applyResults(q: Queryable, labId: number, rows: ResultRow[], tubes: ResultTubes, preset: Preset, uploadId: number | null, by: string, now: Date): Promise<ApplySummary> {
  const { ids: tubeIds, resulted } = tubes;
  const sum: ApplySummary = { applied: 0, duplicates: 0, conflicts: 0, positives: 0, poolControls: 0, cleared: 0 };
  if (!rows.length) return sum;
  // Only tubes that had a result when the upload began can hold one from an earlier upload.
  const ids = [...new Set(rows.map((r) => tubeIds.get(r.barcode)!).filter((id) => resulted.has(id)))];
  const existing = !ids.length ? [] : await q.query<{ tube_id: number; result: string; ctOrf1ab: number | null; ctN: number | null; resultedAt: Date; state: string }>(
    'SELECT tube_id, result, ct_orf1ab AS "ctOrf1ab", ct_n AS "ctN", resulted_at AS "resultedAt", state FROM lab_results WHERE tube_id = ANY($1)',
    [ids],
  );
  const key = (tube: number, r: { result: string; ctOrf1ab: number | null; ctN: number | null; resultedAt: Date }) =>
    `${tube}|${r.result}|${r.ctOrf1ab === null ? '' : Math.fround(r.ctOrf1ab)}|${r.ctN === null ? '' : Math.fround(r.ctN)}|${new Date(r.resultedAt).getTime()}`;
  const known = new Set(existing.map((e) => key(e.tube_id, e)));
  const hasApplied = new Set(existing.filter((e) => e.state === 'applied').map((e) => e.tube_id));
  // Nearly every tube has one result: its key is only made when a second row for it turns up.
  const firstHere = new Map<number, ResultRow>();
  const tail = `${uploadId ?? ''},${now.toISOString()}\n`;
  let lastAt: Date | null = null;
  let lastIso = '';
  const newlyApplied: { tubeId: number; verdict: Verdict; resultedAt: Date }[] = [];
  // The lines are made as COPY takes them, a few thousand at a time: the database server stores the first
  // ones while this process makes the rest (on PostgreSQL they run on two cores).
  function* lines(): Iterable<string> {
    let part = '';
    let n = 0;
    for (const r of rows) {
      const tubeId = tubeIds.get(r.barcode)!;
      if (resulted.has(tubeId)) {
        const first = firstHere.get(tubeId);
        if (first) {
          known.add(key(tubeId, first));
          firstHere.delete(tubeId);
        }
        const k = key(tubeId, r);
        if (known.has(k)) {
          sum.duplicates++;
          continue;
        }
        known.add(k);
      } else {
        firstHere.set(tubeId, r);
        // Later rows and chunks of the same upload must compare against what this one writes.
        resulted.add(tubeId);
      }
      const { verdict } = verdictOf(r, preset);
      const state = hasApplied.has(tubeId) ? 'conflict' : 'applied';
      if (state === 'applied') {
        hasApplied.add(tubeId);
        newlyApplied.push({ tubeId, verdict, resultedAt: r.resultedAt });
        sum.applied++;
      } else sum.conflicts++;
      if (r.resultedAt !== lastAt) {
        lastAt = r.resultedAt;
        lastIso = lastAt.toISOString();
      }
      part += `${tubeId},${labId},${r.result},${r.ctOrf1ab ?? ''},${r.ctN ?? ''},${lastIso},${verdict},${state},${tail}`;
      if (++n % 2000 === 0) {
        yield part;
        part = '';
      }
    }
    if (part) yield part;
  }
  await q.copyCsv('lab_results', ['tube_id', 'lab_id', 'result', 'ct_orf1ab', 'ct_n', 'resulted_at', 'verdict', 'state', 'upload_id', 'received_at'], lines());
  if (sum.conflicts) {
    await raiseAlert(q, { kind: 'resultConflict', severity: 'warning', title: `Conflicting results from lab ${labId}`, facts: { labId, uploadId, conflicts: sum.conflicts }, assignee: `lab:${labId}`, dedupeKey: `resultConflict:${labId}:${uploadId ?? now.toISOString()}` }, now);
  }
  const positiveIds = newlyApplied.filter((a) => a.verdict === 'positive').map((a) => a.tubeId);
  if (positiveIds.length) Object.assign(sum, await applyPositives(q, positiveIds, preset, by, now, sum));
  // Negative single tubes (retests) clear their person's open pool controls from before that sample.
  // Driven from the open controls, which are few: most negatives concern nobody under control.
  const negativeIds = newlyApplied.filter((a) => a.verdict === 'negative' && tubes.singles.has(a.tubeId)).map((a) => a.tubeId);
  if (negativeIds.length && (await q.query('SELECT 1 FROM pool_controls WHERE cleared_at IS NULL LIMIT 1')).length) {
    const cleared = await q.query<{ pool_tube_id: number; person_id: number }>(
      `UPDATE pool_controls c SET cleared_at = $2, cleared_by_tube_id = s.tube_id
         FROM samples s, tubes t, tubes pool
        WHERE c.cleared_at IS NULL AND s.person_id = c.person_id AND s.tube_id = ANY($1)
          AND t.id = s.tube_id AND t.capacity = 1 AND pool.id = c.pool_tube_id AND s.sampled_at > pool.opened_at
       RETURNING c.pool_tube_id, c.person_id`,
      [negativeIds, now],
    );
    sum.cleared = cleared.length;
    await markStatusStale(q, cleared.map((c) => c.person_id), now);
    await closeRetestTasks(q, cleared.map((c) => c.pool_tube_id), now);
  }
  return sum;
}

/** A retest task is done when none of its persons is still under that pool's control. */
async function closeRetestTasks(q: Queryable, poolTubeIds: number[], now: Date): Promise<void> {
  if (!poolTubeIds.length) return;
  await q.query(
    `UPDATE tasks t SET status = 'done', done_at = $2, updated_at = $2
      WHERE t.kind = 'retest' AND t.status IN ('open', 'accepted') AND (t.source ->> 'tubeId')::bigint = ANY($1)
        AND NOT EXISTS (SELECT 1 FROM pool_controls c WHERE c.pool_tube_id = (t.source ->> 'tubeId')::bigint AND c.cleared_at IS NULL AND c.person_id = ANY(t.person_ids))`,
    [[...new Set(poolTubeIds)], now],
  );
}

async function applyPositives(q: Queryable, tubeIds: number[], preset: Preset, by: string, now: Date, sum: ApplySummary): Promise<Partial<ApplySummary>> {
  const members = await q.query<{ tube_id: number; barcode: string; person_id: number; street_id: number | null; district_id: number | null; sampled_at: Date }>(
    // Look-ups by key (OFFSET 0 keeps each lateral subquery from being flattened into a join): a few
    // hundred tubes must never become a scan of every sample, whatever the statistics say; embedded
    // PGlite has no autovacuum to keep them fresh.
    `SELECT t.id AS tube_id, t.barcode, s.person_id, p.street_id, p.district_id, s.sampled_at
       FROM tubes t
       CROSS JOIN LATERAL (SELECT person_id, sampled_at FROM samples WHERE tube_id = t.id OFFSET 0) s
       CROSS JOIN LATERAL (SELECT street_id, district_id FROM persons WHERE id = s.person_id OFFSET 0) p
      WHERE t.id = ANY($1) ORDER BY t.id, s.person_id`,
    [tubeIds],
  );
  const results = new Map(
    (await q.query<{ tube_id: number; id: number; resulted_at: Date }>(`SELECT tube_id, id, resulted_at FROM lab_results WHERE tube_id = ANY($1) AND state = 'applied'`, [tubeIds])).map((r) => [Number(r.tube_id), r]),
  );
  const byTube = new Map<number, typeof members>();
  for (const m of members) {
    if (!byTube.has(m.tube_id)) byTube.set(m.tube_id, []);
    byTube.get(m.tube_id)!.push(m);
  }
  const label = presetLabel(preset);
  // Gather every consequence of the chunk's positive tubes, then write each kind in one statement.
  const findings: { personId: number; tubeId: number; resultId: number; sampledAt: Date; resultedAt: Date; reason: string }[] = [];
  const controls: { personId: number; tubeId: number; since: Date; due: Date; reason: string }[] = [];
  const tasks: NewTask[] = [];
  for (const [tubeId, ms] of byTube) {
    const first = ms[0];
    const result = results.get(Number(tubeId))!;
    const resultedAt = new Date(result.resulted_at);
    const consequences = consequencesOf(
      { tubeId, barcode: first.barcode, sampledAt: new Date(first.sampled_at), members: ms.map((m) => ({ personId: m.person_id, streetId: m.street_id, districtId: m.district_id })) },
      'positive',
      resultedAt,
      preset,
    );
    for (const c of consequences) {
      if (c.kind === 'confirmedPositive') findings.push({ personId: c.personId, tubeId, resultId: result.id, sampledAt: first.sampled_at, resultedAt, reason: c.reason });
      else if (c.kind === 'poolControl') controls.push({ personId: c.personId, tubeId, since: resultedAt, due: c.retestDue, reason: c.reason });
      else if (c.kind === 'retestTask') {
        tasks.push({ kind: 'retest', title: `Single-tube retest of ${c.personIds.length} person(s) from pool ${first.barcode}`, districtId: c.districtId, streetId: c.streetId, personIds: c.personIds, dueAt: c.due, source: { tubeId, barcode: first.barcode, rule: 'rules.md 15', preset: label }, dedupeKey: `retest:${tubeId}:${c.streetId}` });
      }
    }
  }
  if (findings.length) {
    await q.query(
      `INSERT INTO positive_findings (person_id, tube_id, result_id, sampled_at, resulted_at, reason, preset)
       SELECT f.person_id, f.tube_id, f.result_id, f.sampled_at, f.resulted_at, f.reason, $2
         FROM jsonb_to_recordset($1::jsonb) AS f(person_id int, tube_id bigint, result_id bigint, sampled_at timestamptz, resulted_at timestamptz, reason text)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(findings.map((f) => ({ person_id: f.personId, tube_id: f.tubeId, result_id: f.resultId, sampled_at: f.sampledAt, resulted_at: f.resultedAt, reason: f.reason }))), label],
    );
    // A positive single tube (or retest) ends the person's pool control: they are now a case.
    const ended = await q.query<{ pool_tube_id: number }>(
      `UPDATE pool_controls c SET cleared_at = $2, cleared_by_tube_id = f.tube_id
         FROM jsonb_to_recordset($1::jsonb) AS f(person_id int, tube_id bigint)
        WHERE c.person_id = f.person_id AND c.cleared_at IS NULL RETURNING c.pool_tube_id`,
      [JSON.stringify(findings.map((f) => ({ person_id: f.personId, tube_id: f.tubeId }))), now],
    );
    await closeRetestTasks(q, ended.map((e) => e.pool_tube_id), now);
  }
  if (controls.length) {
    await q.query(
      `INSERT INTO pool_controls (person_id, pool_tube_id, since, retest_due, reason, preset)
       SELECT c.person_id, c.pool_tube_id, c.since, c.retest_due, c.reason, $2
         FROM jsonb_to_recordset($1::jsonb) AS c(person_id int, pool_tube_id bigint, since timestamptz, retest_due timestamptz, reason text)
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(controls.map((c) => ({ person_id: c.personId, pool_tube_id: c.tubeId, since: c.since, retest_due: c.due, reason: c.reason }))), label],
    );
  }
  await createTasks(q, tasks, now, by);
  await markStatusStale(q, [...findings.map((f) => f.personId), ...controls.map((c) => c.personId)], now);
  return { positives: sum.positives + findings.length, poolControls: sum.poolControls + controls.length };
}

// ---------------------------------------------------------------------------------------------------
// Coverage, history, antigen, labs.

export interface CoverageRow {
  personId: number;
  name: string;
  phone: string | null;
  compoundId: number | null;
  compoundCode: string | null;
  compoundName: string | null;
  buildingCode: string | null;
  floor: number | null;
  unit: string | null;
  samplingGroup: string;
}

/** Who in a campaign has not been sampled, sorted for door-to-door work: compound, building, floor, unit. */
export async function coverageGaps(q: Queryable, campaignId: number, area: AreaFilter, scopeSql: (alias: string, params: unknown[]) => string, limit?: number): Promise<CoverageRow[]> {
  const { params, from, order } = coverageSql(campaignId, area, scopeSql);
  return q.query<CoverageRow>(
    `SELECT e.person_id AS "personId", p.name, p.phone, e.compound_id AS "compoundId", c.code AS "compoundCode", c.name AS "compoundName",
            b.code AS "buildingCode", h.floor, h.unit, e.sampling_group AS "samplingGroup"
       ${from} ORDER BY ${order} ${limit ? `LIMIT ${Number(limit)}` : ''}`,
    params,
  );
}

export const COVERAGE_CSV_HEADER = 'person_id,name,phone,compound_code,compound_name,building_code,floor,unit,sampling_group';

/** The same list as CSV lines (no header), written by the database as one text: a street office's download. */
export async function coverageCsv(q: Queryable, campaignId: number, area: AreaFilter, scopeSql: (alias: string, params: unknown[]) => string): Promise<{ rows: number; lines: string }> {
  const { params, from, order } = coverageSql(campaignId, area, scopeSql);
  const [r] = await q.query<{ rows: number; lines: string | null }>(
    `SELECT count(*)::int AS rows,
            string_agg(e.person_id || ',' || csv_field(p.name) || ',' || csv_field(p.phone) || ',' || csv_field(c.code) || ',' || csv_field(c.name) || ','
                       || csv_field(b.code) || ',' || coalesce(h.floor::text, '') || ',' || csv_field(h.unit) || ',' || csv_field(e.sampling_group), E'\\n' ORDER BY ${order}) AS lines
       ${from}`,
    params,
  );
  return { rows: r.rows, lines: r.lines ?? '' };
}

function coverageSql(campaignId: number, area: AreaFilter, scopeSql: (alias: string, params: unknown[]) => string) {
  const params: unknown[] = [campaignId];
  const cond = areaSql(area, 'e', params);
  const scope = scopeSql('e', params);
  return {
    params,
    from: `FROM campaign_expected e
       JOIN persons p ON p.id = e.person_id
       LEFT JOIN compounds c ON c.id = e.compound_id
       LEFT JOIN households h ON h.id = p.household_id
       LEFT JOIN buildings b ON b.id = h.building_id
      WHERE e.campaign_id = $1 AND e.sampled_at IS NULL ${cond} AND ${scope}`,
    order: 'c.code NULLS LAST, b.code NULLS LAST, h.floor NULLS LAST, h.unit NULLS LAST, e.person_id',
  };
}

export interface TestHistoryEntry {
  barcode: string;
  sampledAt: Date;
  pooled: boolean;
  verdict: Verdict | null;
  ctOrf1ab: number | null;
  ctN: number | null;
  resultedAt: Date | null;
}

/** A person's tests, newest first, with the time of their last negative result (status reads it). */
export async function testHistory(q: Queryable, personId: number): Promise<{ tests: TestHistoryEntry[]; lastNegativeAt: Date | null; lastSampledAt: Date | null; underPoolControl: boolean }> {
  const tests = await q.query<TestHistoryEntry>(
    `SELECT t.barcode, s.sampled_at AS "sampledAt", t.capacity > 1 AS pooled, r.verdict, r.ct_orf1ab AS "ctOrf1ab", r.ct_n AS "ctN", r.resulted_at AS "resultedAt"
       FROM samples s JOIN tubes t ON t.id = s.tube_id
       LEFT JOIN lab_results r ON r.tube_id = s.tube_id AND r.state = 'applied'
      WHERE s.person_id = $1 ORDER BY s.sampled_at DESC`,
    [personId],
  );
  const [control] = await q.query('SELECT 1 FROM pool_controls WHERE person_id = $1 AND cleared_at IS NULL', [personId]);
  const lastNegative = tests.find((t) => t.verdict === 'negative');
  return { tests, lastNegativeAt: lastNegative?.sampledAt ?? null, lastSampledAt: tests[0]?.sampledAt ?? null, underPoolControl: Boolean(control) };
}

export async function reportAntigen(q: Queryable, r: { personId: number; result: Verdict; testedAt: Date; symptoms: boolean }, by: string, now: Date): Promise<{ id: number; pcrTask: boolean }> {
  const [person] = await q.query<{ street_id: number | null; district_id: number | null }>('SELECT street_id, district_id FROM persons WHERE id = $1', [r.personId]);
  if (!person) throw notFound(`Person ${r.personId}`);
  const [row] = await q.query<{ id: number }>(
    `INSERT INTO antigen_reports (person_id, result, tested_at, symptoms, reported_by, reported_at) VALUES ($1,$2,$3,$4,$5,$6) RETURNING id`,
    [r.personId, r.result, r.testedAt, r.symptoms, by, now],
  );
  let pcrTask = false;
  if (r.result === 'positive') {
    // A suspected case until a PCR test sampled after it (status rules, where the preset says so).
    await markStatusStale(q, [r.personId], now);
    // rules.md 17: a positive antigen goes to the community, then to PCR.
    pcrTask = (await createTasks(q, [{ kind: 'pcrAfterAntigen', title: 'PCR test after a positive antigen self-test', districtId: person.district_id, streetId: person.street_id, personIds: [r.personId], dueAt: new Date(now.getTime() + 24 * 3600_000), source: { antigenReportId: row.id, rule: 'rules.md 17' }, dedupeKey: `pcrAfterAntigen:${row.id}` }], now, by)) > 0;
  }
  return { id: row.id, pcrTask };
}

/** Raises an alert per lab for received tubes still without a result after the preset's deadline. */
export async function alertOverdueTubes(q: Queryable, preset: Preset, now: Date): Promise<number> {
  const cutoff = new Date(now.getTime() - preset.testing.resultDeadlineHours * 3600_000);
  const late = await q.query<{ lab_id: number; district_id: number | null; n: number; oldest: Date }>(
    `SELECT t.lab_id, l.district_id, count(*)::int AS n, min(t.received_at) AS oldest
       FROM tubes t JOIN labs l ON l.id = t.lab_id
      WHERE t.received_at < $1 AND NOT EXISTS (SELECT 1 FROM lab_results r WHERE r.tube_id = t.id)
      GROUP BY t.lab_id, l.district_id`,
    [cutoff],
  );
  let raised = 0;
  for (const l of late) {
    const day = now.toISOString().slice(0, 10);
    if (await raiseAlert(q, { kind: 'labOverdue', severity: 'warning', title: `${l.n} tube(s) at lab ${l.lab_id} without a result after ${preset.testing.resultDeadlineHours} h`, districtId: l.district_id, facts: { labId: l.lab_id, tubes: l.n, oldestReceivedAt: l.oldest, deadlineHours: preset.testing.resultDeadlineHours }, assignee: `lab:${l.lab_id}`, dedupeKey: `labOverdue:${l.lab_id}:${day}` }, now)) raised++;
  }
  return raised;
}

/** A lab's load today against its daily capacity, and its turnaround (sampling to result) p50/p90 in hours. */
export async function labLoad(q: Queryable, labId: number, now: Date): Promise<{ labId: number; dailyCapacity: number; receivedToday: number; resultedToday: number; pending: number; turnaroundHours: { p50: number | null; p90: number | null } }> {
  const [lab] = await q.query<{ daily_capacity: number }>('SELECT daily_capacity FROM labs WHERE id = $1', [labId]);
  if (!lab) throw notFound(`Lab ${labId}`);
  const dayStart = new Date(now.getTime() - 24 * 3600_000);
  const [r] = await q.query<{ received: number; resulted: number; pending: number; p50: number | null; p90: number | null }>(
    `SELECT (SELECT count(*) FROM tubes WHERE lab_id = $1 AND received_at >= $2)::int AS received,
            (SELECT count(*) FROM lab_results WHERE lab_id = $1 AND state = 'applied' AND resulted_at >= $2)::int AS resulted,
            (SELECT count(*) FROM tubes t WHERE t.lab_id = $1 AND NOT EXISTS (SELECT 1 FROM lab_results r WHERE r.tube_id = t.id))::int AS pending,
            percentile_disc(0.5) WITHIN GROUP (ORDER BY ta.h) AS p50,
            percentile_disc(0.9) WITHIN GROUP (ORDER BY ta.h) AS p90
       FROM (SELECT extract(epoch FROM r.resulted_at - t.closed_at) / 3600 AS h
               FROM lab_results r JOIN tubes t ON t.id = r.tube_id
              WHERE r.lab_id = $1 AND r.state = 'applied' AND r.resulted_at >= $2) ta`,
    [labId, dayStart],
  );
  return { labId, dailyCapacity: lab.daily_capacity, receivedToday: r.received, resultedToday: r.resulted, pending: r.pending, turnaroundHours: { p50: r.p50 === null ? null : Math.round(r.p50 * 10) / 10, p90: r.p90 === null ? null : Math.round(r.p90 * 10) / 10 } };
}

/** Throughput of a sampling point over the last hour and the expected wait for the queue it last reported. */
export async function pointThroughput(q: Queryable, pointId: number, now: Date, maxQueueMinutes: number) {
  const [point] = await q.query<{ id: number; name: string; stations: number }>('SELECT id, name, stations FROM sampling_points WHERE id = $1', [pointId]);
  if (!point) throw notFound(`Sampling point ${pointId}`);
  const hourAgo = new Date(now.getTime() - 3600_000);
  const [{ n }] = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM samples WHERE sampling_point_id = $1 AND sampled_at > $2 AND sampled_at <= $3', [pointId, hourAgo, now]);
  const [queue] = await q.query<{ waiting: number; at: Date }>('SELECT waiting, at FROM queue_reports WHERE sampling_point_id = $1 AND at <= $2 ORDER BY at DESC LIMIT 1', [pointId, now]);
  const perStation = n / point.stations;
  const wait = queue ? queueWaitMinutes({ arrivalsPerHour: n, servedPerHourPerStation: perStation, stations: point.stations, waiting: queue.waiting }) : null;
  return {
    samplingPointId: point.id,
    name: point.name,
    stations: point.stations,
    samplesLastHour: n,
    perStationPerHour: Math.round(perStation * 10) / 10,
    queue: queue ? { waiting: queue.waiting, reportedAt: queue.at } : null,
    expectedWaitMinutes: wait === null ? null : Number.isFinite(wait) ? Math.round(wait) : null,
    crowded: wait !== null && wait > maxQueueMinutes,
  };
}

/**
 * A person resolves a conflict: keep the result in force, or put the conflicting one in force instead
 * (then its consequences follow, e.g. a positive pool's controls). Consequences of the result set aside
 * are not undone here: a person under control is released by their own retest.
 */
export async function resolveConflict(q: Queryable, conflictId: number, keep: 'current' | 'conflicting', reason: string, preset: Preset, by: string, now: Date): Promise<{ inForce: number; summary: Partial<ApplySummary> }> {
  const [c] = await q.query<{ id: number; tube_id: number; verdict: Verdict }>(`SELECT id, tube_id, verdict FROM lab_results WHERE id = $1 AND state = 'conflict' FOR UPDATE`, [conflictId]);
  if (!c) throw notFound(`Conflicting result ${conflictId}`);
  const [done] = await q.query('SELECT 1 FROM result_resolutions WHERE conflict_id = $1', [conflictId]);
  if (done) throw conflict(`Conflict ${conflictId} is already resolved.`);
  const [current] = await q.query<{ id: number }>(`SELECT id FROM lab_results WHERE tube_id = $1 AND state = 'applied' FOR UPDATE`, [c.tube_id]);
  let inForce = current.id;
  let summary: Partial<ApplySummary> = {};
  if (keep === 'conflicting') {
    // Which result is in force is the derived part; the results as the lab sent them stay as they were.
    await q.query(`UPDATE lab_results SET state = 'set-aside' WHERE id = $1`, [current.id]);
    await q.query(`UPDATE lab_results SET state = 'applied' WHERE id = $1`, [c.id]);
    inForce = c.id;
    if (c.verdict === 'positive') summary = await applyPositives(q, [c.tube_id], preset, by, now, { applied: 0, duplicates: 0, conflicts: 0, positives: 0, poolControls: 0, cleared: 0 });
  }
  await q.query('INSERT INTO result_resolutions (conflict_id, kept_result_id, resolved_by, reason, resolved_at) VALUES ($1,$2,$3,$4,$5)', [conflictId, inForce, by, reason, now]);
  // The result in force decides the tube's facts as status reads them.
  await markStatusStale(q, (await q.query<{ person_id: number }>('SELECT person_id FROM samples WHERE tube_id = $1', [c.tube_id])).map((r) => r.person_id), now);
  return { inForce, summary };
}

/**
 * Door-to-door sampling (应检未检): one task per street for the residents of a round not sampled yet, with
 * who they are. `scopeSql` keeps to the caller's jurisdiction. Asked twice on one day, it makes nothing new.
 */
export async function doorToDoorTasks(q: Queryable, campaignId: number, scopeSql: (alias: string, params: unknown[]) => string, preset: Preset, by: string, now: Date): Promise<{ tasks: number; persons: number; streets: number }> {
  const params: unknown[] = [campaignId];
  const rows = await q.query<{ street_id: number | null; district_id: number | null; ids: number[] }>(
    `SELECT p.street_id, p.district_id, array_agg(e.person_id ORDER BY e.person_id) AS ids
       FROM campaign_expected e JOIN persons p ON p.id = e.person_id
      WHERE e.campaign_id = $1 AND e.sampled_at IS NULL AND ${scopeSql('p', params)}
      GROUP BY p.street_id, p.district_id ORDER BY p.street_id`,
    params,
  );
  const [c] = await q.query<{ name: string }>('SELECT name FROM campaigns WHERE id = $1', [campaignId]);
  const day = now.toISOString().slice(0, 10);
  const tasks: NewTask[] = rows.map((r) => ({
    kind: 'doorToDoor',
    title: `Door-to-door sampling: ${r.ids.length} residents not sampled in "${c?.name ?? campaignId}"`,
    districtId: r.district_id,
    streetId: r.street_id,
    personIds: r.ids.map(Number),
    dueAt: new Date(now.getTime() + preset.command.taskDeadlineHours.doorToDoor * 3_600_000),
    source: { campaignId, persons: r.ids.length, rule: 'command.taskDeadlineHours.doorToDoor' },
    dedupeKey: `doorToDoor:${campaignId}:${r.street_id ?? 0}:${day}`,
  }));
  const made = await createTasks(q, tasks, now, by);
  return { tasks: made, persons: rows.reduce((s, r) => s + r.ids.length, 0), streets: rows.length };
}
