// Zoning in storage: the facts the rules read (each compound's cases and screening days, digested into one
// short text per compound), the daily history of every compound's zone and epidemic-free state computed by
// the pure rules (rules.ts), the free areas of each day, the counts per district, each case's level and
// district clearance. The server's job (zoningUpkeep) keeps it all up to date every minute:
//
// - New cases arrive through zoning_inbox (a trigger on cases), new lab results by id; the compounds they
//   touch get their facts rebuilt and their zones recomputed from the first day touched.
// - Each new local day is computed for every compound. A change of preset or of the registry (compounds,
//   their people, their adjacency) recomputes the whole history.
// - Embedded PGlite pays dearly for every row it hands to JavaScript: bulk reads come back as one text
//   (string_agg) and bulk writes go in by COPY. The compounds, their adjacency and their parsed facts stay
//   in the server's memory between runs (a day of 70,000 compounds would otherwise spend most of its time
//   reading them again), checked against the versions zoning_state and zoning_registry keep.
import { csvField, type Db, type Queryable } from '../core/db.ts';
import { presetLabel, type Preset } from '../core/presets.ts';
import { respan, type Span } from './spans.ts';
import { areaGraph, classifyCase, dayNumber, dayText, districtClearance, epidemicFree, freeAreaIds, whollyFree, prepareFacts, zoneHistory, zoneWhy, ZONES, type AreaGraph, type Zone, type Prepared, type CompoundFacts, type CompoundPlace, type EpidemicFree, type ZoneDay, type ZoneWhy } from './rules.ts';
import { addDays, localDay } from '../core/days.ts';

/** Held by the zoning job for its run (one keeper at a time), and shared by those recording designations. */
const KEEPER_LOCK = 7242011;

/** One text out of a query whose single row has a column `t` (empty when nothing was aggregated). */
async function text(q: Queryable, sql: string, params: unknown[] = []): Promise<string> {
  const [row] = await q.query<{ t: string | null }>(sql, params);
  return row?.t ?? '';
}

const split = (s: string, sep: string): string[] => (s === '' ? [] : s.split(sep));

export interface Place extends CompoundPlace {
  population: number;
}

// ---- what stays in memory ----

interface Memory {
  /** zoning_registry.version the places were read at. */
  registry: number;
  all: Place[];
  graph: AreaGraph;
  /** zoning_state.facts_version the facts were read at (-1: not read). */
  factsVersion: number;
  facts: Map<number, Prepared>;
  /** The stored stretches as this server last wrote or read them (null: not read). */
  spans: SpanMemory | null;
}

/** Every compound's stored stretches, valid while zoning_state.zones_version is `version`. */
interface SpanMemory {
  version: number;
  zones: Map<number, Span[]>;
  areas: Map<number, Span[]>;
}

const memories = new WeakMap<Db, Memory>();

async function registryVersion(q: Queryable): Promise<number> {
  return Number((await q.query<{ version: number }>('SELECT version FROM zoning_registry'))[0].version);
}

/** The compounds and their adjacency as of `version`: from memory, or read again. */
async function placesOf(db: Db, q: Queryable, version: number): Promise<Memory> {
  const m = memories.get(db);
  if (m && m.registry === version) return m;
  const compounds = await text(q, `SELECT string_agg(id || ',' || street_id || ',' || district_id || ',' || population, ';' ORDER BY id) AS t FROM compounds`);
  const edges = await text(q, `SELECT string_agg(compound_id || ',' || neighbor_id, ';') AS t FROM compound_adjacency`);
  const all = split(compounds, ';').map((e) => {
    const [id, streetId, districtId, population] = e.split(',').map(Number);
    return { id, streetId, districtId, population };
  });
  const adjacency = split(edges, ';').map((e): [number, number] => {
    const i = e.indexOf(',');
    return [Number(e.slice(0, i)), Number(e.slice(i + 1))];
  });
  const fresh: Memory = { registry: version, all, graph: areaGraph(all, adjacency), factsVersion: -1, facts: new Map(), spans: null };
  memories.set(db, fresh);
  return fresh;
}

/** Every compound's facts as of `version`: from memory, or read again. */
async function factsOf(q: Queryable, m: Memory, version: number): Promise<Map<number, Prepared>> {
  if (m.factsVersion !== version) {
    m.facts = new Map([...(await readFacts(q, null))].map(([id, f]) => [id, prepareFacts(f)]));
    m.factsVersion = version;
  }
  return m.facts;
}

// ---- facts ----

const EMPTY: CompoundFacts = { cases: [], screenings: [] };

/**
 * A compound's facts from its digest in zone_facts (see migrations/011_zoning.sql). Only the all-negative
 * screening days are kept: they are the only ones the rules count (rules.ts, clearOf).
 */
export function parseFacts(cases: string, screenings: string, controlled = ''): CompoundFacts {
  const f: CompoundFacts = { cases: [], screenings: [] };
  if (controlled) f.controlled = split(controlled, ';').map((d) => dayText(Number(d)));
  for (const e of split(cases, ';')) {
    const [d, id, b] = e.split(',');
    f.cases.push({ id: Number(id), day: dayText(Number(d)), buildingId: b ? Number(b) : null });
  }
  for (const e of split(screenings, ';')) if (e.endsWith(',1')) f.screenings.push({ day: dayText(Number(e.slice(0, e.length - 2))), allNegative: true });
  return f;
}

async function readFacts(q: Queryable, ids: number[] | null): Promise<Map<number, CompoundFacts>> {
  const t = await text(q, `SELECT string_agg(compound_id || '|' || cases || '|' || screenings || '|' || controlled, E'\\n') AS t FROM zone_facts ${ids ? 'WHERE compound_id = ANY($1::int[])' : ''}`, ids ? [ids] : []);
  const out = new Map<number, CompoundFacts>();
  for (const line of split(t, '\n')) {
    const [id, cases, screenings, controlled] = line.split('|');
    const f = parseFacts(cases, screenings, controlled);
    if (f.cases.length || f.screenings.length || f.controlled) out.set(Number(id), f);
  }
  return out;
}

/** The facts of one compound as the rules read them (its cases, all-negative screening days and designations). */
export async function compoundFacts(q: Queryable, compoundId: number): Promise<CompoundFacts> {
  return (await readFacts(q, [compoundId])).get(compoundId) ?? EMPTY;
}

/**
 * Rebuilds the digests of the compounds given (all when null) from the cases and the screening days. Of
 * each compound's day only the cases the rules look at are kept: the last (it is the reason shown) and the
 * first of each building (the building rule keeps that case).
 */
async function rebuildFacts(q: Queryable, ids: number[] | null, tz: string): Promise<void> {
  const sql = `
    WITH c AS (
      SELECT compound_id, (reported_at AT TIME ZONE $1)::date - date '1970-01-01' AS day, id, building_id FROM cases
       WHERE ${ids ? 'compound_id = ANY($2::int[])' : 'compound_id IS NOT NULL'}
    ), k AS (
      (SELECT DISTINCT ON (compound_id, day, building_id) compound_id, day, id, building_id FROM c ORDER BY compound_id, day, building_id, id)
      UNION
      (SELECT DISTINCT ON (compound_id, day) compound_id, day, id, building_id FROM c ORDER BY compound_id, day, id DESC)
    ), kc AS (
      SELECT compound_id, string_agg(day || ',' || id || ',' || coalesce(building_id::text, ''), ';' ORDER BY day, id) AS cases FROM k GROUP BY compound_id
    ), ks AS (
      SELECT compound_id, string_agg((day - date '1970-01-01') || ',' || CASE WHEN all_negative THEN '1' ELSE '0' END, ';' ORDER BY day) AS screenings
        FROM compound_screenings ${ids ? 'WHERE compound_id = ANY($2::int[])' : ''} GROUP BY compound_id
    ), kd AS (
      SELECT compound_id, string_agg(day::text, ';' ORDER BY day) AS controlled
        FROM (SELECT DISTINCT compound_id, day - date '1970-01-01' AS day FROM zone_designations z
               WHERE NOT EXISTS (SELECT 1 FROM zone_designation_withdrawals w WHERE w.designation_id = z.id) ${ids ? 'AND compound_id = ANY($2::int[])' : ''}) d GROUP BY compound_id
    )
    INSERT INTO zone_facts (compound_id, cases, screenings, controlled)
    SELECT i.compound_id, coalesce(kc.cases, ''), coalesce(ks.screenings, ''), coalesce(kd.controlled, '')
      FROM (SELECT compound_id FROM kc UNION SELECT compound_id FROM ks UNION SELECT compound_id FROM kd) i
      LEFT JOIN kc ON kc.compound_id = i.compound_id LEFT JOIN ks ON ks.compound_id = i.compound_id LEFT JOIN kd ON kd.compound_id = i.compound_id`;
  if (ids) await q.query('DELETE FROM zone_facts WHERE compound_id = ANY($1::int[])', [ids]);
  else await q.query('DELETE FROM zone_facts');
  await q.query(sql, ids ? [tz, ids] : [tz]);
}

/**
 * Takes the lab results after `afterId` into the compounds' screening days, and returns the compounds
 * whose screening days changed with the first day changed. A day is screened when a resulted tube holds a
 * resident sampled that day, all negative while every such tube is negative: both only move one way, so
 * reading a result twice changes nothing.
 */
async function takeResults(q: Queryable, afterId: number, tz: string): Promise<Map<number, number>> {
  const changed = await text(
    q,
    `WITH x AS (
       INSERT INTO compound_screenings (compound_id, day, all_negative)
       SELECT p.compound_id, (s.sampled_at AT TIME ZONE $2)::date, bool_and(r.verdict = 'negative')
         FROM lab_results r JOIN samples s ON s.tube_id = r.tube_id JOIN persons p ON p.id = s.person_id
        WHERE r.id > $1::bigint AND r.state = 'applied' AND p.compound_id IS NOT NULL
        GROUP BY 1, 2
       ON CONFLICT (compound_id, day) DO UPDATE SET all_negative = false WHERE compound_screenings.all_negative AND NOT EXCLUDED.all_negative
       RETURNING compound_id, day
     )
     SELECT string_agg(compound_id || ',' || (day - date '1970-01-01'), ';') AS t FROM (SELECT compound_id, min(day) AS day FROM x GROUP BY 1) m`,
    [afterId, tz],
  );
  return firstDays(changed);
}

/** Conflicts resolved since `since` put another result of a tube in force: its compounds' days are taken again from all their tubes. */
async function takeResolutions(q: Queryable, since: Date | null, tz: string): Promise<{ changed: Map<number, number>; last: Date | null }> {
  const [last] = await q.query<{ at: Date | null }>(`SELECT max(resolved_at) AS at FROM result_resolutions`);
  if (!last?.at || (since && new Date(last.at) <= since)) return { changed: new Map(), last: since };
  const params = [since ?? new Date(0), tz];
  const pairs = `SELECT DISTINCT p.compound_id, (s.sampled_at AT TIME ZONE $2)::date AS day
                   FROM result_resolutions x JOIN lab_results r ON r.id = x.conflict_id JOIN samples s ON s.tube_id = r.tube_id JOIN persons p ON p.id = s.person_id
                  WHERE x.resolved_at > $1 AND p.compound_id IS NOT NULL`;
  const changed = await text(q, `SELECT string_agg(compound_id || ',' || (day - date '1970-01-01'), ';') AS t FROM (SELECT compound_id, min(day) AS day FROM (${pairs}) x GROUP BY 1) m`, params);
  await q.query(`DELETE FROM compound_screenings c USING (${pairs}) x WHERE c.compound_id = x.compound_id AND c.day = x.day`, params);
  await q.query(
    `INSERT INTO compound_screenings (compound_id, day, all_negative)
     SELECT x.compound_id, x.day, bool_and(r.verdict = 'negative')
       FROM (${pairs}) x JOIN persons p ON p.compound_id = x.compound_id
       JOIN samples s ON s.person_id = p.id AND s.sampled_at >= (x.day::timestamp AT TIME ZONE $2) AND s.sampled_at < ((x.day + 1)::timestamp AT TIME ZONE $2)
       JOIN lab_results r ON r.tube_id = s.tube_id AND r.state = 'applied'
      GROUP BY 1, 2`,
    params,
  );
  return { changed: firstDays(changed), last: new Date(last.at) };
}

/** The compounds designated since designation `afterId`, each with its first day designated; the last id. */
async function takeDesignations(q: Queryable, afterId: number): Promise<{ changed: Map<number, number>; last: number }> {
  const [r] = await q.query<{ t: string | null; last: number | null }>(
    `SELECT string_agg(compound_id || ',' || day, ';') AS t, max(last) AS last
       FROM (SELECT compound_id, min(day - date '1970-01-01') AS day, max(id) AS last FROM zone_designations WHERE id > $1 GROUP BY 1) d`,
    [afterId],
  );
  return { changed: firstDays(r.t ?? ''), last: r.last === null ? afterId : Number(r.last) };
}

/** The compounds whose designations were withdrawn since withdrawal `afterId`, each with the first day withdrawn; the last id. */
async function takeWithdrawals(q: Queryable, afterId: number): Promise<{ changed: Map<number, number>; last: number }> {
  const [r] = await q.query<{ t: string | null; last: number | null }>(
    `SELECT string_agg(compound_id || ',' || day, ';') AS t, max(last) AS last
       FROM (SELECT d.compound_id, min(d.day - date '1970-01-01') AS day, max(w.id) AS last
               FROM zone_designation_withdrawals w JOIN zone_designations d ON d.id = w.designation_id WHERE w.id > $1 GROUP BY 1) x`,
    [afterId],
  );
  return { changed: firstDays(r.t ?? ''), last: r.last === null ? afterId : Number(r.last) };
}

/** "compound,day;..." (day numbers) as compound -> first day. */
function firstDays(t: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of split(t, ';')) {
    const [c, d] = e.split(',').map(Number);
    out.set(c, Math.min(d, out.get(c) ?? Infinity));
  }
  return out;
}

function mergeFirstDays(into: Map<number, number>, from: Map<number, number>): void {
  for (const [c, d] of from) into.set(c, Math.min(d, into.get(c) ?? Infinity));
}

// ---- zones ----

/** The rules' texts by number (zone_rules), numbering new ones as they appear. */
class RuleIds {
  private readonly added: { id: number; rule: string }[] = [];
  private constructor(private readonly ids: Map<string, number>) {}

  static async load(q: Queryable): Promise<RuleIds> {
    const rows = await q.query<{ id: number; rule: string }>('SELECT id, rule FROM zone_rules');
    return new RuleIds(new Map(rows.map((r) => [r.rule, r.id])));
  }

  id(rule: string): number {
    let id = this.ids.get(rule);
    if (id === undefined) {
      id = this.ids.size + 1;
      this.ids.set(rule, id);
      this.added.push({ id, rule });
    }
    return id;
  }

  async save(q: Queryable): Promise<void> {
    if (!this.added.length) return;
    await q.query(`INSERT INTO zone_rules (id, rule) SELECT id, rule FROM jsonb_to_recordset($1::jsonb) AS x(id smallint, rule text)`, [JSON.stringify(this.added)]);
    this.added.length = 0;
  }
}

const ZONE_COLUMNS = ['compound_id', 'day', 'until', 'zone', 'since', 'clock_from', 'rule', 'last_case_id', 'last_case_day', 'next_on', 'next_zone', 'next_rule', 'next_screening_on', 'sealed_buildings', 'free', 'free_since', 'free_on', 'key'];
// A stretch's key: its values joined by '|' (the sealed buildings' JSON holds none), in ZONE_COLUMNS order from zone.
const KEY_ZONE = 0;
const KEY_FREE = 11;

export interface ZoneProgress {
  (step: string, done: number, total?: number): void;
}

interface Computation {
  preset: Preset;
  mem: Memory;
  all: Place[];
  graph: AreaGraph;
  facts: Map<number, Prepared>;
  /** The compounds to compute: all of them, or those whose facts changed. */
  subset: Place[];
  from: number;
  to: number;
  /** The last day of the stored history before this (null: nothing stored, everything is written anew). */
  storedLast: number | null;
  progress?: ZoneProgress;
}

/** Every stored stretch, by compound, in day order. */
async function readSpans(q: Queryable, table: 'compound_zones' | 'compound_free_areas', value: string): Promise<Map<number, Span[]>> {
  const t = await text(
    q,
    `SELECT string_agg(compound_id || E'\\t' || (day - date '1970-01-01') || E'\\t' || coalesce((until - date '1970-01-01')::text, '') || E'\\t' || ${value}, E'\\n' ORDER BY compound_id, day) AS t FROM ${table}`,
  );
  const out = new Map<number, Span[]>();
  for (const line of split(t, '\n')) {
    const [id, day, until, key] = line.split('\t');
    const span = { day: Number(day), until: until === '' ? null : Number(until), key };
    const list = out.get(Number(id));
    if (list) list.push(span);
    else out.set(Number(id), [span]);
  }
  return out;
}

/** The key of the stretch covering `day` (stretches in day order; open ones run through `last`). */
function keyOn(spans: Span[] | undefined, day: number, last: number): string {
  for (const s of spans ?? []) if (s.day <= day && (s.until ?? last) >= day) return s.key;
  return '';
}

/** Deletes the stretches `remove` lists (compound, day) and writes `lines` (CSV) in their place. */
async function replaceSpans(q: Queryable, table: 'compound_zones' | 'compound_free_areas', columns: string[], remove: { ids: number[]; days: number[] }, lines: string[]): Promise<number> {
  if (remove.ids.length) {
    await q.query(`DELETE FROM ${table} t USING unnest($1::int[], $2::int[]) AS x(id, d) WHERE t.compound_id = x.id AND t.day = date '1970-01-01' + x.d`, [remove.ids, remove.days]);
  }
  return lines.length ? q.copyCsv(table, columns, chunked(lines)) : 0;
}

/**
 * Computes the zones of `subset` for the days `from`..`to` (day numbers) and stores them as stretches of
 * unchanged days (only what changed is written), with the free areas of those days (the other compounds'
 * epidemic-free state read from storage), the streets and districts wholly free and the counts per
 * district. Returns the stretches written.
 */
async function writeZones(q: Queryable, rules: RuleIds, c: Computation): Promise<number> {
  const { preset, all, subset, from, to, storedLast, progress } = c;
  const days = to - from + 1;
  const n = subset.length;
  const whole = n === all.length;
  const stored = storedLast ?? from - 1;
  const newLast = Math.max(to, stored);
  const dayTexts = Array.from({ length: days }, (_, d) => dayText(from + d));
  const [first, last] = [dayTexts[0], dayTexts[days - 1]];

  // Epidemic-free, compound by compound and day by day (day numbers, -1: none); one computation per day
  // serves every compound without facts.
  const free = new Uint8Array(n * days);
  const freeSince = new Int32Array(n * days).fill(-1);
  const freeOn = new Int32Array(n * days).fill(-1);
  const emptyFree: EpidemicFree[] = dayTexts.map((d) => epidemicFree(EMPTY, preset, d));
  progress?.('epidemic-free compounds', 0, n);
  for (let i = 0; i < n; i++) {
    const f = c.facts.get(subset[i].id);
    for (let d = 0; d < days; d++) {
      const e = f ? epidemicFree(f, preset, dayTexts[d]) : emptyFree[d];
      const k = i * days + d;
      if (e.free) free[k] = 1;
      if (e.since) freeSince[k] = dayNumber(e.since);
      if (e.freeOn) freeOn[k] = dayNumber(e.freeOn);
    }
    if (i % 10_000 === 0) progress?.('epidemic-free compounds', i, n);
  }

  // The free areas of each day over every compound (by position in the graph): those computed now, and the
  // others as stored.
  const g = c.graph;
  const position = Int32Array.from(subset, (p) => g.position.get(p.id)!);
  const flags: Uint8Array[] = dayTexts.map(() => new Uint8Array(g.ids.length));
  if (!whole && storedLast !== null) {
    const inSubset = new Set(subset.map((p) => p.id));
    const t = await text(
      q,
      `SELECT string_agg(compound_id || ',' || (greatest(day, $1) - date '1970-01-01') || ',' || (least(coalesce(until, $2), $2) - date '1970-01-01'), ';') AS t
         FROM compound_zones WHERE free AND day <= $2::date AND coalesce(until, 'infinity'::date) >= $1::date`,
      [first, last],
    );
    for (const e of split(t, ';')) {
      const [id, a, b] = e.split(',').map(Number);
      const at = g.position.get(id);
      if (at !== undefined && !inSubset.has(id)) for (let d = a; d <= b; d++) flags[d - from][at] = 1;
    }
  }
  progress?.('free areas', 0, days);
  const people = new Float64Array(g.ids.length);
  for (const p of all) people[g.position.get(p.id)!] = p.population;
  const areaOf: Int32Array[] = [];
  const areaRows: string[] = [];
  const placeRows: string[] = [];
  for (let d = 0; d < days; d++) {
    const f = flags[d];
    for (let i = 0; i < n; i++) f[position[i]] = free[i * days + d];
    const area = freeAreaIds(g, f);
    // An area is named by its smallest compound: its size and people.
    const size = new Map<number, { compounds: number; people: number }>();
    for (let i = 0; i < area.length; i++) {
      if (!area[i]) continue;
      const t = size.get(area[i]);
      if (t) {
        t.compounds++;
        t.people += people[i];
      } else size.set(area[i], { compounds: 1, people: people[i] });
    }
    for (const [id, t] of size) areaRows.push(`${dayTexts[d]},${id},${t.compounds},${t.people}\n`);
    const places = whollyFree(g, f, preset);
    for (const s of places.streets) placeRows.push(`${dayTexts[d]},street,${s}\n`);
    for (const s of places.districts) placeRows.push(`${dayTexts[d]},district,${s}\n`);
    areaOf.push(area);
    progress?.('free areas', d + 1, days);
  }

  // The zones, compound by compound: the stretches that changed, and the counts per district (all of them
  // when every compound is computed, else what changed against the stored stretches).
  progress?.('stored stretches read', 0);
  const [{ v }] = await q.query<{ v: number }>('SELECT coalesce((SELECT zones_version FROM zoning_state), 0)::bigint AS v');
  let sm = c.mem.spans;
  c.mem.spans = null; // until written
  if (storedLast === null) sm = { version: Number(v), zones: new Map(), areas: new Map() };
  else if (!sm || sm.version !== Number(v)) sm = { version: Number(v), zones: await readSpans(q, 'compound_zones', 'key'), areas: await readSpans(q, 'compound_free_areas', 'area_id') };
  // A compound's stored stretches that touch the days computed and the day on either side.
  const near = (spans: Span[] | undefined): Span[] => (spans ?? []).filter((x) => x.day <= to + 1 && (x.until ?? stored) >= from - 1);
  const apply = (m: Map<number, Span[]>, id: number, change: { remove: number[]; add: Span[] }) => {
    const list = (m.get(id) ?? []).filter((x) => !change.remove.includes(x.day)).concat(change.add).sort((a, b) => a.day - b.day);
    if (list.length) m.set(id, list);
    else m.delete(id);
  };
  // Keyed by day, district and zone as one number (no text per compound and day).
  const counts = new Map<number, { d: number; districtId: number; zone: string; compounds: number; people: number; free: number }>();
  function count(d: number, districtId: number, zone: string, people: number, isFree: number, sign: number): void {
    const key = (d * 4_000_000_000 + districtId) * 3 + ZONES.indexOf(zone as Zone);
    const t = counts.get(key);
    if (t) {
      t.compounds += sign;
      t.people += sign * people;
      t.free += sign * isFree;
    } else counts.set(key, { d, districtId, zone, compounds: sign, people: sign * people, free: sign * isFree });
  }
  const emptyHistory = zoneHistory(EMPTY, preset, first, last);
  const date = (x: number) => (x < 0 ? '' : dayText(x));
  const keyOf = (z: ZoneDay, k: number): string => {
    const mv = z.moves;
    const lc = z.reason.lastCase;
    const buildings = z.sealedBuildings.length ? JSON.stringify(z.sealedBuildings) : '';
    return `${z.zone}|${z.since ?? ''}|${z.clockFrom ?? ''}|${rules.id(z.reason.rule)}|${lc ? lc.id : ''}|${lc ? lc.day : ''}|${mv ? mv.on : ''}|${mv ? mv.to : ''}|${mv ? rules.id(mv.rule) : ''}|${mv?.ifAllNegativeScreeningOn ?? ''}|${buildings}|${free[k] ? 't' : 'f'}|${date(freeSince[k])}|${date(freeOn[k])}`;
  };
  progress?.('compound zones', 0, n);
  const zoneLines: string[] = [];
  const removeZones = { ids: [] as number[], days: [] as number[] };
  const keys: string[] = new Array(days);
  for (let i = 0; i < n; i++) {
    const p = subset[i];
    const f = c.facts.get(p.id);
    const history = f ? zoneHistory(f, preset, first, last) : emptyHistory;
    for (let d = 0; d < days; d++) {
      keys[d] = keyOf(history[d], i * days + d);
      if (whole) count(d, p.districtId, history[d].zone, p.population, free[i * days + d], 1);
    }
    const old = near(sm.zones.get(p.id));
    const change = respan(old, keys, from, to, stored, newLast);
    if (change) {
      apply(sm.zones, p.id, change);
      for (const day of change.remove) {
        removeZones.ids.push(p.id);
        removeZones.days.push(day);
      }
      for (const s of change.add) {
        const v = s.key.split('|');
        if (v[10]) v[10] = csvField(v[10]);
        zoneLines.push(`${p.id},${dayText(s.day)},${s.until === null ? '' : dayText(s.until)},${v.join(',')},${csvField(s.key)}\n`);
      }
      if (!whole) {
        for (let d = 0; d < days; d++) {
          const was = keyOn(old, from + d, stored).split('|');
          if (was.length > 1) count(d, p.districtId, was[KEY_ZONE], p.population, was[KEY_FREE] === 't' ? 1 : 0, -1);
          count(d, p.districtId, history[d].zone, p.population, free[i * days + d], 1);
        }
      }
    }
    if (i % 10_000 === 0) progress?.('compound zones', i, n);
  }
  progress?.('compound zones', n, n);

  progress?.('free areas of compounds', 0);
  // Each free compound's area, in stretches of its own over every compound (areas join and split as others change).
  const areaLines: string[] = [];
  const removeAreas = { ids: [] as number[], days: [] as number[] };
  const touched = new Set<number>(sm.areas.keys());
  for (const area of areaOf) for (let i = 0; i < area.length; i++) if (area[i]) touched.add(g.ids[i]);
  const areaKeys: string[] = new Array(days);
  for (const id of touched) {
    const at = g.position.get(id);
    for (let d = 0; d < days; d++) areaKeys[d] = at === undefined || !areaOf[d][at] ? '' : String(areaOf[d][at]);
    const change = respan(near(sm.areas.get(id)), areaKeys, from, to, stored, newLast);
    if (!change) continue;
    apply(sm.areas, id, change);
    for (const day of change.remove) {
      removeAreas.ids.push(id);
      removeAreas.days.push(day);
    }
    for (const s of change.add) areaLines.push(`${id},${dayText(s.day)},${s.until === null ? '' : dayText(s.until)},${s.key}\n`);
  }

  progress?.('zone rows written', 0);
  await rules.save(q);
  const written = await replaceSpans(q, 'compound_zones', ZONE_COLUMNS, removeZones, zoneLines);
  await replaceSpans(q, 'compound_free_areas', ['compound_id', 'day', 'until', 'area_id'], removeAreas, areaLines);
  if (written || areaLines.length || removeZones.ids.length || removeAreas.ids.length) {
    // No state row yet on the first run: it is written after this with version 0, as memory has it.
    const [bumped] = await q.query<{ v: number }>('UPDATE zoning_state SET zones_version = zones_version + 1 RETURNING zones_version AS v');
    sm.version = bumped ? Number(bumped.v) : sm.version;
  }
  c.mem.spans = sm;

  progress?.('areas and counts', 0);
  for (const table of ['free_areas', 'free_places']) await q.query(`DELETE FROM ${table} WHERE day BETWEEN $1 AND $2`, [first, last]);
  if (areaRows.length) await q.copyCsv('free_areas', ['day', 'area_id', 'compounds', 'people'], chunked(areaRows));
  if (placeRows.length) await q.copyCsv('free_places', ['day', 'kind', 'place_id'], chunked(placeRows));
  const countRows = [...counts.values()].filter((t) => t.compounds !== 0 || t.people !== 0 || t.free !== 0).map((t) => `${dayTexts[t.d]},${t.districtId},${t.zone},${t.compounds},${t.people},${t.free}\n`);
  if (whole) {
    await q.query('DELETE FROM zone_counts WHERE day BETWEEN $1 AND $2', [first, last]);
    if (countRows.length) await q.copyCsv('zone_counts', ['day', 'district_id', 'zone', 'compounds', 'people', 'free_compounds'], chunked(countRows));
  } else if (countRows.length) {
    // What changed, added to the stored counts (a zone a district no longer has any compound in is removed).
    const [days_, districts, zones, compounds, people_, frees] = [[], [], [], [], [], []] as [string[], number[], string[], number[], number[], number[]];
    for (const t of counts.values()) {
      days_.push(dayTexts[t.d]);
      districts.push(t.districtId);
      zones.push(t.zone);
      compounds.push(t.compounds);
      people_.push(t.people);
      frees.push(t.free);
    }
    await q.query(
      `INSERT INTO zone_counts AS z (day, district_id, zone, compounds, people, free_compounds)
       SELECT * FROM unnest($1::date[], $2::int[], $3::text[], $4::int[], $5::bigint[], $6::int[])
       ON CONFLICT (day, district_id, zone) DO UPDATE SET compounds = z.compounds + EXCLUDED.compounds, people = z.people + EXCLUDED.people, free_compounds = z.free_compounds + EXCLUDED.free_compounds`,
      [days_, districts, zones, compounds, people_, frees],
    );
    await q.query('DELETE FROM zone_counts WHERE day BETWEEN $1 AND $2 AND compounds = 0', [first, last]);
  }
  return written;
}

function* chunked(lines: string[], size = 50_000): Generator<string> {
  for (let i = 0; i < lines.length; i += size) yield lines.slice(i, i + size).join('');
}

// ---- case levels and clearance ----

interface LevelRow {
  id: number;
  compoundId: number | null;
  districtId: number | null;
  buildingId: number | null;
  day: string;
  orderId: number | null;
  siteId: number | null;
  poolTubeId: number | null;
  zone: string | null;
  since: string | null;
  lastCaseId: number | null;
  earlierCaseId: number | null;
  sealedBuildings: { buildingId: number; caseId: number; releasedOn: string }[] | null;
}

/**
 * What decides the level of each case that has none yet (those given, or all when null): the control it was
 * found under (cases.found_under), its compound's zone at the end of the day before, the buildings then kept
 * sealed, and the first case of the compound reported earlier the same day.
 */
async function levelRows(q: Queryable, caseIds: number[] | null, tz: string): Promise<LevelRow[]> {
  if (caseIds && !caseIds.length) return [];
  const fields = [
    'c.id',
    'c.compound_id',
    'c.district_id',
    'c.building_id',
    `to_char(d.day, 'YYYY-MM-DD')`,
    `c.found_under->>'quarantineOrderId'`,
    `c.found_under->>'quarantineSiteId'`,
    `c.found_under->>'poolControlTubeId'`,
    'z.zone',
    `to_char(z.since, 'YYYY-MM-DD')`,
    'z.last_case_id',
    `(SELECT e.id FROM cases e WHERE e.compound_id = c.compound_id AND e.reported_at < c.reported_at AND e.reported_at >= (d.day::timestamp AT TIME ZONE $2) ORDER BY e.reported_at, e.id LIMIT 1)`,
    // Last: the JSON holds no '|'.
    'z.sealed_buildings',
  ];
  const t = await text(
    q,
    `SELECT string_agg(${fields.map((x) => `coalesce((${x})::text, '')`).join(` || '|' || `)}, E'\\n') AS t
       FROM cases c CROSS JOIN LATERAL (SELECT (c.reported_at AT TIME ZONE $2)::date AS day) d
       LEFT JOIN compound_zones z ON z.compound_id = c.compound_id AND z.day <= d.day - 1 AND coalesce(z.until, 'infinity'::date) >= d.day - 1
      WHERE ${caseIds ? 'c.id = ANY($1::bigint[])' : '$1::bigint[] IS NULL'} AND NOT EXISTS (SELECT 1 FROM case_levels l WHERE l.case_id = c.id)`,
    [caseIds, tz],
  );
  const num = (s: string) => (s === '' ? null : Number(s));
  return split(t, '\n').map((line) => {
    const x = line.split('|');
    return {
      id: Number(x[0]),
      compoundId: num(x[1]),
      districtId: num(x[2]),
      buildingId: num(x[3]),
      day: x[4],
      orderId: num(x[5]),
      siteId: num(x[6]),
      poolTubeId: num(x[7]),
      zone: x[8] || null,
      since: x[9] || null,
      lastCaseId: num(x[10]),
      earlierCaseId: num(x[11]),
      sealedBuildings: x[12] ? JSON.parse(x[12]) : null,
    };
  });
}

const LEVEL_COLUMNS = ['case_id', 'level', 'fact', 'day', 'district_id', 'compound_id', 'preset', 'decided_at'];

/**
 * Each case's level by classifyCase: found in quarantine (the order, or room, it was under when reported),
 * in a sealed compound, or under a positive pool's retest; else society level. A compound counts as sealed
 * at the case's detection when it was sealed at the end of the day before (a positive on the day it would
 * have moved on keeps it sealed), when the case's building was still kept sealed, or when a case of the
 * compound reported earlier the same day had sealed it; never by the case itself, nor by the cases
 * reported at the same moment (one finding).
 */
async function decideLevels(q: Queryable, rows: LevelRow[], preset: Preset, now: Date): Promise<{ controlled: number; society: number }> {
  const label = presetLabel(preset);
  const lines: string[] = [];
  let controlled = 0;
  for (const r of rows) {
    const building = r.buildingId !== null ? r.sealedBuildings?.find((b) => b.buildingId === r.buildingId && b.releasedOn > r.day) : undefined;
    let sealedBy: Record<string, unknown> | null = null;
    if (r.compoundId !== null) {
      if (r.zone === 'sealed') sealedBy = { by: 'zone', sealedSince: r.since, dayBefore: addDays(r.day, -1), lastCaseId: r.lastCaseId };
      else if (building) sealedBy = { by: 'building', buildingId: building.buildingId, caseId: building.caseId, releasedOn: building.releasedOn };
      else if (r.earlierCaseId !== null) sealedBy = { by: 'earlierCase', caseId: r.earlierCaseId, day: r.day };
    }
    const level = classifyCase({ quarantineOrderId: r.orderId, sealedCompoundId: sealedBy ? r.compoundId : null, poolRetestTubeId: r.poolTubeId });
    const decided = level.decidedBy;
    const fact: Record<string, unknown> = decided
      ? { ...decided, ...(decided.fact === 'quarantine' && r.siteId !== null ? { quarantineSiteId: r.siteId } : {}), ...(decided.fact === 'sealedCompound' ? sealedBy : {}) }
      : { fact: null, compoundId: r.compoundId, zoneDayBefore: r.compoundId === null ? null : (r.zone ?? 'precaution') };
    fact.rule = level.rule;
    if (level.level === 'controlled') controlled++;
    lines.push(`${r.id},${level.level},${csvField(JSON.stringify(fact))},${r.day},${r.districtId ?? ''},${r.compoundId ?? ''},${label},${now.toISOString()}\n`);
  }
  if (lines.length) await q.copyCsv('case_levels', LEVEL_COLUMNS, chunked(lines));
  return { controlled, society: rows.length - controlled };
}

/** District clearance for every day of the history: society-level cases against each district's population. Returns the rule. */
async function writeClearance(q: Queryable, preset: Preset, first: string, last: string, fromDay: string): Promise<string> {
  // A district without a population of its own counts its compounds' people.
  const districts = await q.query<{ id: number; population: number }>(
    `SELECT d.id, (CASE WHEN d.population > 0 THEN d.population ELSE coalesce((SELECT sum(c.population) FROM compounds c WHERE c.district_id = d.id), 0) END)::bigint AS population FROM districts d ORDER BY d.id`,
  );
  // From a later day, the runs stored for the day before carry on (every district needs one, else from the first day).
  let from = fromDay > first ? fromDay : first;
  const seeds = new Map<number, { belowRun: number; zeroRun: number }>();
  if (from > first) {
    for (const r of await q.query<{ district_id: number; below_run: number; zero_run: number }>('SELECT district_id, below_run, zero_run FROM district_clearance WHERE day = $1', [addDays(from, -1)])) {
      seeds.set(Number(r.district_id), { belowRun: Number(r.below_run), zeroRun: Number(r.zero_run) });
    }
    if (districts.some((d) => Number(d.population) > 0 && !seeds.has(Number(d.id)))) from = first;
  }
  const t = await text(
    q,
    `SELECT string_agg(district_id || ',' || to_char(day, 'YYYY-MM-DD') || ',' || n, ';') AS t
       FROM (SELECT district_id, day, count(*) AS n FROM case_levels WHERE level = 'society' AND district_id IS NOT NULL AND day BETWEEN $1 AND $2 GROUP BY 1, 2) x`,
    [from, last],
  );
  const daily = new Map<number, { day: string; cases: number }[]>();
  for (const e of split(t, ';')) {
    const [d, day, n] = e.split(',');
    const list = daily.get(Number(d)) ?? [];
    list.push({ day, cases: Number(n) });
    daily.set(Number(d), list);
  }
  const rows: string[] = [];
  for (const d of districts) {
    const population = Number(d.population);
    if (!(population > 0)) continue;
    // The first and the last day bound the series: a day without a row had no society-level case.
    const series = districtClearance([{ day: from, cases: 0 }, { day: last, cases: 0 }, ...(daily.get(d.id) ?? [])], population, preset, from > first ? seeds.get(Number(d.id)) : undefined);
    for (const c of series) rows.push(`${c.day},${d.id},${c.cases},${population},${c.per100k},${c.belowRun},${c.zeroRun},${c.basicallyZero ? 't' : 'f'},${c.zero ? 't' : 'f'}\n`);
  }
  await q.query('DELETE FROM district_clearance WHERE day >= $1 OR day < $2', [from, first]);
  if (rows.length) await q.copyCsv('district_clearance', ['day', 'district_id', 'cases', 'population', 'per100k', 'below_run', 'zero_run', 'basically_zero', 'zero'], chunked(rows));
  return districtClearance([{ day: first, cases: 0 }], 1, preset)[0].rule;
}

// ---- the job ----

export interface ZoningState {
  preset: string;
  registry: number;
  factsVersion: number;
  firstDay: string;
  lastDay: string;
  resultsSeen: number;
  resultsBefore: number;
  resolutionsSeen: Date | null;
  designationsSeen: number;
  withdrawalsSeen: number;
  freeRule: string;
  clearanceRule: string;
  refreshedAt: Date;
}

export async function zoningState(q: Queryable): Promise<ZoningState | null> {
  const [s] = await q.query<ZoningState>(
    `SELECT preset, registry, facts_version AS "factsVersion", first_day AS "firstDay", last_day AS "lastDay", results_seen AS "resultsSeen", results_before AS "resultsBefore",
            resolutions_seen AS "resolutionsSeen", designations_seen AS "designationsSeen", withdrawals_seen AS "withdrawalsSeen", free_rule AS "freeRule", clearance_rule AS "clearanceRule", refreshed_at AS "refreshedAt"
       FROM zoning_state`,
  );
  return s ? { ...s, registry: Number(s.registry), factsVersion: Number(s.factsVersion), resultsSeen: Number(s.resultsSeen), resultsBefore: Number(s.resultsBefore), designationsSeen: Number(s.designationsSeen), withdrawalsSeen: Number(s.withdrawalsSeen) } : null;
}

export interface UpkeepResult {
  /** Everything recomputed (first run, another preset, a changed registry, a fact before the first day, or asked). */
  full: boolean;
  /** The stored history now runs over these days. */
  firstDay: string;
  lastDay: string;
  /** Cases taken in, and the levels decided. */
  cases: number;
  controlled: number;
  society: number;
  /** Compounds whose facts changed (all when full), and the first day recomputed (null: none). */
  compounds: number;
  fromDay: string | null;
  /** Zone stretches written (a day like the one before writes none). */
  rows: number;
}

/**
 * The server's job, every minute: takes in new cases and lab results, rebuilds the facts of the compounds
 * they touch and their zones from the first day touched, computes each new day for every compound, decides
 * the new cases' levels and district clearance. The first run (or another preset, a changed registry, a
 * fact before the history's first day, or `full`) computes everything from the first fact to today.
 */
export async function zoningUpkeep(db: Db, preset: Preset, now: Date, opts: { full?: boolean; progress?: ZoneProgress } = {}): Promise<UpkeepResult> {
  const tz = preset.reporting.timeZone;
  const today = localDay(now, tz);
  const label = presetLabel(preset);
  try {
    return await db.tx(async (q) => {
      // One keeper at a time, even with several server processes on one PostgreSQL.
      await q.query('SELECT pg_advisory_xact_lock($1)', [KEEPER_LOCK]);
      const state = await zoningState(q);
      const registry = await registryVersion(q);
      const mem = await placesOf(db, q, registry);
      const [{ max }] = await q.query<{ max: number }>('SELECT coalesce(max(id), 0)::bigint AS max FROM lab_results');
      const maxResult = Number(max);
      const inbox = ((await q.query<{ ids: number[] | null }>('WITH d AS (DELETE FROM zoning_inbox RETURNING case_id) SELECT array_agg(case_id) AS ids FROM d'))[0].ids ?? []).map(Number);
      let full = opts.full === true || !state || state.preset !== label || state.registry !== registry;
      let first = state?.firstDay ?? today;
      let last = state && state.lastDay > today ? state.lastDay : today;
      let factsVersion = state?.factsVersion ?? 0;
      let resolutionsSeen = state?.resolutionsSeen ?? null;
      let designationsSeen = state?.designationsSeen ?? 0;
      let withdrawalsSeen = state?.withdrawalsSeen ?? 0;
      const affected = new Map<number, number>();
      let rows = 0;

      if (!full && state) {
        opts.progress?.('new cases and results', 0);
        // The compounds touched by the cases and results since the last run, and the first day touched.
        if (inbox.length) {
          const t = await text(
            q,
            `SELECT string_agg(compound_id || ',' || day, ';') AS t
               FROM (SELECT compound_id, min((reported_at AT TIME ZONE $2)::date) - date '1970-01-01' AS day FROM cases WHERE id = ANY($1::bigint[]) AND compound_id IS NOT NULL GROUP BY 1) x`,
            [inbox, tz],
          );
          mergeFirstDays(affected, firstDays(t));
        }
        if (maxResult > state.resultsBefore) mergeFirstDays(affected, await takeResults(q, state.resultsBefore, tz));
        const resolved = await takeResolutions(q, state.resolutionsSeen, tz);
        mergeFirstDays(affected, resolved.changed);
        resolutionsSeen = resolved.last;
        const designated = await takeDesignations(q, designationsSeen);
        mergeFirstDays(affected, designated.changed);
        designationsSeen = designated.last;
        const withdrawn = await takeWithdrawals(q, withdrawalsSeen);
        mergeFirstDays(affected, withdrawn.changed);
        withdrawalsSeen = withdrawn.last;
        const from = affected.size ? Math.min(...affected.values()) : Infinity;
        if (from < dayNumber(first)) full = true;
        else {
          const facts = await factsOf(q, mem, factsVersion);
          if (affected.size) {
            const ids = [...affected.keys()];
            await rebuildFacts(q, ids, tz);
            const fresh = await readFacts(q, ids);
            for (const id of ids) {
              const f = fresh.get(id);
              if (f) facts.set(id, prepareFacts(f));
              else facts.delete(id);
            }
            mem.factsVersion = ++factsVersion;
          }
          const oldLast = dayNumber(state.lastDay);
          const subset = mem.all.filter((p) => affected.has(p.id));
          if (from <= oldLast && subset.length) {
            rows += await writeZones(q, await RuleIds.load(q), { preset, mem, all: mem.all, subset, graph: mem.graph, facts, from, to: oldLast, storedLast: oldLast, progress: opts.progress });
          }
          if (oldLast < dayNumber(last)) {
            rows += await writeZones(q, await RuleIds.load(q), { preset, mem, all: mem.all, subset: mem.all, graph: mem.graph, facts, from: oldLast + 1, to: dayNumber(last), storedLast: oldLast, progress: opts.progress });
          }
        }
      }
      if (full) {
        // Everything from the facts: screening days, the compounds' facts, and every zone from the first fact to today.
        opts.progress?.('screening days', 0);
        await q.query('DELETE FROM compound_screenings');
        await takeResults(q, 0, tz);
        resolutionsSeen = (await q.query<{ at: Date | null }>('SELECT max(resolved_at) AS at FROM result_resolutions'))[0].at;
        designationsSeen = Number((await q.query<{ id: number }>('SELECT coalesce(max(id), 0)::bigint AS id FROM zone_designations'))[0].id);
        withdrawalsSeen = Number((await q.query<{ id: number }>('SELECT coalesce(max(id), 0)::bigint AS id FROM zone_designation_withdrawals'))[0].id);
        opts.progress?.('compound facts', 0);
        await rebuildFacts(q, null, tz);
        mem.factsVersion = -1;
        const facts = await factsOf(q, mem, ++factsVersion);
        const [f] = await q.query<{ day: string | null }>(
          `SELECT to_char(least((SELECT min(reported_at) FROM cases WHERE compound_id IS NOT NULL) AT TIME ZONE $1, (SELECT min(day) FROM compound_screenings),
                                (SELECT min(day) FROM zone_designations z WHERE NOT EXISTS (SELECT 1 FROM zone_designation_withdrawals w WHERE w.designation_id = z.id)))::date, 'YYYY-MM-DD') AS day`,
          [tz],
        );
        first = f.day && f.day < today ? f.day : today;
        last = today;
        for (const table of ['compound_zones', 'compound_free_areas', 'zone_rules']) await q.query(`DELETE FROM ${table}`);
        rows = await writeZones(q, await RuleIds.load(q), { preset, mem, all: mem.all, subset: mem.all, graph: mem.graph, facts, from: dayNumber(first), to: dayNumber(last), storedLast: null, progress: opts.progress });
      }

      opts.progress?.('case levels', 0);
      const undecided = await levelRows(q, full ? null : inbox, tz);
      const levels = await decideLevels(q, undecided, preset, now);
      // Clearance again from the first day that changed: a new case's day, or the first new day.
      opts.progress?.('clearance', 0);
      let clearFrom: string | null = full || !state || state.firstDay !== first ? first : null;
      for (const r of undecided) if (clearFrom === null || r.day < clearFrom) clearFrom = r.day;
      if (state && state.lastDay !== last) {
        const next = addDays(state.lastDay, 1);
        if (clearFrom === null || next < clearFrom) clearFrom = next;
      }
      const clearanceRule = clearFrom !== null || !state ? await writeClearance(q, preset, first, last, clearFrom ?? first) : state.clearanceRule;
      await q.query(
        `INSERT INTO zoning_state (one, preset, registry, facts_version, first_day, last_day, results_seen, results_before, resolutions_seen, free_rule, clearance_rule, refreshed_at, designations_seen, withdrawals_seen)
         VALUES (true, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (one) DO UPDATE SET preset = $1, registry = $2, facts_version = $3, first_day = $4, last_day = $5, results_seen = $6, results_before = $7,
                                         resolutions_seen = $8, free_rule = $9, clearance_rule = $10, refreshed_at = $11, designations_seen = $12, withdrawals_seen = $13`,
        [label, registry, factsVersion, first, last, maxResult, state?.resultsSeen ?? maxResult, resolutionsSeen, epidemicFree(EMPTY, preset, today).rule, clearanceRule, now, designationsSeen, withdrawalsSeen],
      );
      const fromDay = full ? first : affected.size ? dayText(Math.min(...affected.values())) : null;
      return { full, firstDay: first, lastDay: last, cases: inbox.length, ...levels, compounds: full ? mem.all.length : affected.size, fromDay, rows };
    });
  } catch (e) {
    // The transaction rolled back: what memory holds may be ahead of the database.
    memories.delete(db);
    throw e;
  }
}

/** Recomputes one day's zones, free areas and counts for every compound from the stored facts (a day of the history). */
export async function recomputeDay(db: Db, preset: Preset, day: string, progress?: ZoneProgress): Promise<number> {
  return db.tx(async (q) => {
    try {
      return await recomputeDayIn(db, q, preset, day, progress);
    } catch (e) {
      // Rolled back: what memory holds may be ahead of the database.
      memories.delete(db);
      throw e;
    }
  });
}

async function recomputeDayIn(db: Db, q: Queryable, preset: Preset, day: string, progress?: ZoneProgress): Promise<number> {
  await q.query('SELECT pg_advisory_xact_lock($1)', [KEEPER_LOCK]);
  const state = await zoningState(q);
  if (!state || state.preset !== presetLabel(preset)) throw new Error('No zone history for this preset yet: run zoningUpkeep first.');
  if (day < state.firstDay || day > state.lastDay) throw new RangeError(`${day} is outside the zone history (${state.firstDay} to ${state.lastDay}).`);
  const mem = await placesOf(db, q, await registryVersion(q));
  const facts = await factsOf(q, mem, state.factsVersion);
  const n = dayNumber(day);
  return writeZones(q, await RuleIds.load(q), { preset, mem, all: mem.all, subset: mem.all, graph: mem.graph, facts, from: n, to: n, storedLast: dayNumber(state.lastDay), progress });
}

/** Recomputes everything from the facts: screening days, every compound's facts, zones from the first fact to today, levels of undecided cases, clearance. */
export function recomputeHistory(db: Db, preset: Preset, now: Date, progress?: ZoneProgress): Promise<UpkeepResult> {
  return zoningUpkeep(db, preset, now, { full: true, progress });
}

// ---- reading ----

/** Whose compounds a reader sees: a district's, a street's, or (both null) the city's. */
export interface Reach {
  districtId: number | null;
  streetId: number | null;
}

function reachSql(r: Reach, alias: string, params: unknown[]): string {
  if (r.streetId) return `${alias}.street_id = $${params.push(r.streetId)}`;
  if (r.districtId) return `${alias}.district_id = $${params.push(r.districtId)}`;
  return 'TRUE';
}

export interface CompoundZone {
  compoundId: number;
  code: string;
  name: string;
  districtId: number;
  streetId: number;
  day: string;
  zone: string;
  since: string | null;
  clockFrom: string | null;
  /** The rule in the server's words, and as data where this preset knows it (a page words it in its language). */
  reason: { rule: string; why: ZoneWhy | null; lastCase: { id: number; day: string } | null };
  moves: { on: string; to: string; rule: string; ifAllNegativeScreeningOn: string | null } | null;
  sealedBuildings: { buildingId: number; caseId: number; releasedOn: string }[];
  epidemicFree: { free: boolean; since: string | null; freeOn: string | null; areaId: number | null };
}

const ZONE_ROW = `z.day, z.compound_id, c.code, c.name, c.district_id, c.street_id, z.zone, z.since, z.clock_from, r.rule, z.last_case_id, z.last_case_day,
  z.next_on, z.next_zone, nr.rule AS next_rule, z.next_screening_on, z.sealed_buildings, z.free, z.free_since, z.free_on, z.free_area
  FROM zones_on($1::date) z JOIN compounds c ON c.id = z.compound_id LEFT JOIN zone_rules r ON r.id = z.rule LEFT JOIN zone_rules nr ON nr.id = z.next_rule`;

interface ZoneRow {
  day: string;
  compound_id: number;
  code: string;
  name: string;
  district_id: number;
  street_id: number;
  zone: string;
  since: string | null;
  clock_from: string | null;
  rule: string;
  last_case_id: number | null;
  last_case_day: string | null;
  next_on: string | null;
  next_zone: string | null;
  next_rule: string | null;
  next_screening_on: string | null;
  sealed_buildings: CompoundZone['sealedBuildings'] | null;
  free: boolean;
  free_since: string | null;
  free_on: string | null;
  free_area: number | null;
}

const zoneJson = (r: ZoneRow, preset: Preset): CompoundZone => ({
  compoundId: r.compound_id,
  code: r.code,
  name: r.name,
  districtId: r.district_id,
  streetId: r.street_id,
  day: r.day,
  zone: r.zone,
  since: r.since,
  clockFrom: r.clock_from,
  reason: { rule: r.rule, why: zoneWhy(r.rule, preset), lastCase: r.last_case_id === null ? null : { id: Number(r.last_case_id), day: r.last_case_day! } },
  moves: r.next_on === null ? null : { on: r.next_on, to: r.next_zone!, rule: r.next_rule!, ifAllNegativeScreeningOn: r.next_screening_on },
  sealedBuildings: r.sealed_buildings ?? [],
  epidemicFree: { free: r.free, since: r.free_since, freeOn: r.free_on, areaId: r.free_area },
});

/** The compounds' zones on a day, in compound order, a page at a time. */
export async function zonesOn(q: Queryable, preset: Preset, day: string, reach: Reach, f: { districtId?: number; streetId?: number; zone?: string; after?: number; limit: number }): Promise<{ items: CompoundZone[]; next: number | null }> {
  const params: unknown[] = [day, f.limit];
  const where = [reachSql(reach, 'c', params)];
  if (f.districtId) where.push(`c.district_id = $${params.push(f.districtId)}`);
  if (f.streetId) where.push(`c.street_id = $${params.push(f.streetId)}`);
  if (f.zone) where.push(`z.zone = $${params.push(f.zone)}`);
  if (f.after) where.push(`z.compound_id > $${params.push(f.after)}`);
  const rows = await q.query<ZoneRow>(`SELECT ${ZONE_ROW} WHERE ${where.join(' AND ')} ORDER BY z.compound_id LIMIT $2`, params);
  return { items: rows.map((r) => zoneJson(r, preset)), next: rows.length === f.limit ? rows[rows.length - 1].compound_id : null };
}

/** Every compound in reach on a day, compactly (for a map): ids in order, one letter a zone (s, c, p), the free area (0: not free). */
export async function zonesCompact(q: Queryable, day: string, reach: Reach, districtId?: number): Promise<{ ids: number[]; zones: string; freeAreas: number[] }> {
  const params: unknown[] = [day];
  const where = [reachSql(reach, 'c', params)];
  if (districtId) where.push(`c.district_id = $${params.push(districtId)}`);
  const [r] = await q.query<{ ids: string | null; zones: string | null; areas: string | null }>(
    `SELECT string_agg(z.compound_id::text, ',' ORDER BY z.compound_id) AS ids, string_agg(left(z.zone, 1), '' ORDER BY z.compound_id) AS zones,
            string_agg(CASE WHEN z.free THEN coalesce(z.free_area, 0) ELSE 0 END::text, ',' ORDER BY z.compound_id) AS areas
       FROM zones_on($1::date) z JOIN compounds c ON c.id = z.compound_id WHERE ${where.join(' AND ')}`,
    params,
  );
  return { ids: split(r?.ids ?? '', ',').map(Number), zones: r?.zones ?? '', freeAreas: split(r?.areas ?? '', ',').map(Number) };
}

/**
 * The zone of the home a person lives in, on a day (what entrances and the person's status read): their
 * compound's, or sealed where their building is still sealed after the compound moved on (a positive in the
 * sealed week keeps its building sealed longer: rules.md 1, zoning.sealedBuildingExtendsToDay).
 */
export interface HomeZone {
  compoundId: number;
  zone: Zone;
  /** The start of the local day the zone began; for a building, when its case was reported. */
  since: Date | null;
  /** The start of the local day the zone next moves by the preset's rules (a building: is released), if it does. */
  movesAt: Date | null;
  /** The building still sealed, and the case that keeps it so; null when the zone is the compound's. */
  building: { id: number; caseId: number } | null;
}

/** A HomeZone's columns from compound_zones z, `tz` naming the time zone's parameter. */
export const homeZoneColumns = (tz: string) =>
  `z.compound_id, z.zone, (z.since::timestamp AT TIME ZONE ${tz}) AS since, (z.next_on::timestamp AT TIME ZONE ${tz}) AS moves_at, NULL::int AS building_id, NULL::bigint AS case_id`;
/** The stretches of compound_zones z that hold the local day `day` (a parameter). */
export const zoneStretchOn = (day: string) => `z.day <= ${day}::date AND coalesce(z.until, 'infinity'::date) >= ${day}::date`;
/** The buildings of the compound_zones row z still sealed on `day` while the compound itself is not, as HomeZone columns. */
export const sealedBuildingsOf = (day: string, tz: string) =>
  `SELECT z.compound_id, 'sealed'::text AS zone, c.reported_at AS since, (b.released_on::timestamp AT TIME ZONE ${tz}) AS moves_at, b.building_id, b.case_id
     FROM (SELECT (e->>'buildingId')::int AS building_id, (e->>'caseId')::bigint AS case_id, (e->>'releasedOn')::date AS released_on
             FROM jsonb_array_elements(CASE WHEN z.zone <> 'sealed' THEN z.sealed_buildings END) e) b
     LEFT JOIN cases c ON c.id = b.case_id
    WHERE b.released_on > ${day}::date`;
export type HomeZoneRow = { compound_id: number; zone: Zone; since: Date | null; moves_at: Date | null; building_id: number | null; case_id: number | null };
export const homeZoneFrom = (r: HomeZoneRow): HomeZone => ({
  compoundId: r.compound_id,
  zone: r.zone,
  since: r.since && new Date(r.since),
  movesAt: r.moves_at && new Date(r.moves_at),
  building: r.building_id === null ? null : { id: r.building_id, caseId: Number(r.case_id) },
});

/** The zone of a person's home on a day, as a LATERAL subquery over the persons row `person`: the building's, else the compound's. */
export const homeZoneOf = (person: string, day: string, tz: string) =>
  `SELECT h.* FROM compound_zones z CROSS JOIN LATERAL (
      (${sealedBuildingsOf(day, tz)} AND b.building_id = (SELECT building_id FROM households WHERE id = ${person}.household_id))
      UNION ALL SELECT ${homeZoneColumns(tz)} ORDER BY building_id NULLS LAST LIMIT 1) h
    WHERE z.compound_id = ${person}.compound_id AND ${zoneStretchOn(day)}`;

/** The persons' home compounds with their zone on a local day. */
export async function homeZones(q: Queryable, personIds: number[], day: string, tz: string): Promise<Map<number, HomeZone>> {
  const rows = await q.query<HomeZoneRow & { person_id: number }>(`SELECT p.id AS person_id, h.* FROM persons p CROSS JOIN LATERAL (${homeZoneOf('p', '$2', '$3')}) h WHERE p.id = ANY($1)`, [personIds, day, tz]);
  return new Map(rows.map((r) => [Number(r.person_id), homeZoneFrom(r)]));
}

/** One compound's zone on each stored day from `from` to `to`, with the reasons. */
export async function compoundHistory(q: Queryable, preset: Preset, compoundId: number, from: string, to: string): Promise<CompoundZone[]> {
  // Each day of the range from the compound's own stretches (not a walk over every compound of each day).
  const rows = await q.query<ZoneRow>(
    `SELECT ${ZONE_ROW.replace('FROM zones_on($1::date) z', 'FROM generate_series($2::date, $3::date, interval \'1 day\') g(d) CROSS JOIN LATERAL (SELECT * FROM zones_on(g.d::date) o WHERE o.compound_id = $1) z')} ORDER BY z.day`,
    [compoundId, from, to],
  );
  return rows.map((r) => zoneJson(r, preset));
}

/**
 * Records designations in the caller's transaction. The job takes them in by increasing id, so one still
 * uncommitted while it reads would be passed over for good: this waits for a run in progress, and holds the
 * next one off until the caller commits.
 */
export async function recordDesignations(q: Queryable, compoundIds: number[], day: string, reason: string, by: string, now: Date): Promise<{ id: number; compoundId: number }[]> {
  await q.query('SELECT pg_advisory_xact_lock_shared($1)', [KEEPER_LOCK]);
  const rows = await q.query<{ id: number; compound_id: number }>(
    'INSERT INTO zone_designations (compound_id, day, reason, designated_by, designated_at) SELECT c, $2, $3, $4, $5 FROM unnest($1::int[]) c RETURNING id, compound_id',
    [compoundIds, day, reason, by, now],
  );
  return rows.map((r) => ({ id: Number(r.id), compoundId: r.compound_id }));
}

/**
 * Withdraws a designation in the caller's transaction (the job takes withdrawals in by increasing id, as it does
 * designations: the same wait). Returns the withdrawal's id, or null when the designation was withdrawn already.
 */
export async function recordWithdrawal(q: Queryable, designationId: number, reason: string, by: string, now: Date): Promise<number | null> {
  await q.query('SELECT pg_advisory_xact_lock_shared($1)', [KEEPER_LOCK]);
  const [w] = await q.query<{ id: number }>(
    'INSERT INTO zone_designation_withdrawals (designation_id, reason, withdrawn_by, withdrawn_at) VALUES ($1, $2, $3, $4) ON CONFLICT (designation_id) DO NOTHING RETURNING id',
    [designationId, reason, by, now],
  );
  return w ? Number(w.id) : null;
}

export interface Designation {
  id: number;
  compoundId: number;
  compoundName: string;
  day: string;
  reason: string;
  designatedBy: string;
  designatedAt: string;
  /** Set once withdrawn: the zones are then as if it had never been given. */
  withdrawal: { reason: string; withdrawnBy: string; withdrawnAt: string } | null;
}

/** Designations within reach (all, or one compound's), newest first; `after` an id from the page before. */
export async function designationsOf(q: Queryable, reach: Reach, f: { compoundId?: number; after?: number; limit: number }): Promise<{ items: Designation[]; next: number | null }> {
  const params: unknown[] = [f.limit + 1];
  const where = [reachSql(reach, 'c', params)];
  if (f.compoundId !== undefined) where.push(`d.compound_id = $${params.push(f.compoundId)}`);
  if (f.after !== undefined) where.push(`d.id < $${params.push(f.after)}`);
  const rows = await q.query<{ id: number; compound_id: number; name: string; day: string; reason: string; designated_by: string; designated_at: Date; w_reason: string | null; withdrawn_by: string | null; withdrawn_at: Date | null }>(
    `SELECT d.id, d.compound_id, c.name, to_char(d.day, 'YYYY-MM-DD') AS day, d.reason, d.designated_by, d.designated_at, w.reason AS w_reason, w.withdrawn_by, w.withdrawn_at
       FROM zone_designations d JOIN compounds c ON c.id = d.compound_id LEFT JOIN zone_designation_withdrawals w ON w.designation_id = d.id
      WHERE ${where.join(' AND ')} ORDER BY d.id DESC LIMIT $1`,
    params,
  );
  const items = rows.slice(0, f.limit).map((r) => ({
    id: Number(r.id), compoundId: r.compound_id, compoundName: r.name, day: r.day, reason: r.reason, designatedBy: r.designated_by, designatedAt: new Date(r.designated_at).toISOString(),
    withdrawal: r.withdrawn_at ? { reason: r.w_reason!, withdrawnBy: r.withdrawn_by!, withdrawnAt: new Date(r.withdrawn_at).toISOString() } : null,
  }));
  return { items, next: rows.length > f.limit ? items[items.length - 1].id : null };
}

/** The day's map: a GeoJSON FeatureCollection of the compounds in reach with zone, reason, next change and free area; no personal data. */
export async function zonesGeoJson(q: Queryable, day: string, reach: Reach, districtId?: number): Promise<string> {
  const params: unknown[] = [day];
  const where = [reachSql(reach, 'c', params)];
  if (districtId) where.push(`c.district_id = $${params.push(districtId)}`);
  return text(
    q,
    `SELECT '{"type":"FeatureCollection","day":' || to_json($1::date) || ',"features":[' || coalesce(string_agg(json_build_object(
        'type', 'Feature', 'id', c.id, 'geometry', c.geom,
        'properties', json_build_object(
          'id', c.id, 'code', c.code, 'name', c.name, 'districtId', c.district_id, 'streetId', c.street_id, 'population', c.population,
          'zone', z.zone, 'since', z.since, 'reason', json_build_object('rule', r.rule, 'lastCaseDay', z.last_case_day),
          'nextChange', CASE WHEN z.next_on IS NULL THEN NULL ELSE json_build_object('on', z.next_on, 'to', z.next_zone, 'rule', nr.rule, 'ifAllNegativeScreeningOn', z.next_screening_on) END,
          'sealedBuildings', coalesce(jsonb_array_length(z.sealed_buildings), 0),
          'free', z.free, 'freeSince', z.free_since, 'freeOn', z.free_on, 'freeAreaId', z.free_area))::text, ',' ORDER BY c.id), '') || ']}' AS t
       FROM zones_on($1::date) z JOIN compounds c ON c.id = z.compound_id LEFT JOIN zone_rules r ON r.id = z.rule LEFT JOIN zone_rules nr ON nr.id = z.next_rule
      WHERE ${where.join(' AND ')}`,
    params,
  );
}

export interface FreeArea {
  id: number;
  /** The whole area's size, and its compounds in reach. */
  compounds: number;
  people: number;
  members: number[];
}

/** The day's epidemic-free areas that reach into the reader's area (largest first), and the streets and districts wholly free there. */
export async function freeAreasOn(q: Queryable, day: string, reach: Reach): Promise<{ areas: FreeArea[]; streets: number[]; districts: number[] }> {
  const params: unknown[] = [day];
  const within = reachSql(reach, 'c', params);
  const t = await text(
    q,
    `SELECT string_agg(a.area_id || ':' || a.compounds || ':' || a.people || ':' || m.members, ';' ORDER BY a.compounds DESC, a.area_id) AS t
       FROM free_areas a JOIN (SELECT z.free_area, string_agg(z.compound_id::text, ',' ORDER BY z.compound_id) AS members
                                 FROM zones_on($1::date) z JOIN compounds c ON c.id = z.compound_id WHERE z.free AND ${within} GROUP BY 1) m ON m.free_area = a.area_id
      WHERE a.day = $1`,
    params,
  );
  const areas = split(t, ';').map((e) => {
    const [id, compounds, people, members] = e.split(':');
    return { id: Number(id), compounds: Number(compounds), people: Number(people), members: members.split(',').map(Number) };
  });
  // Wholly free streets in reach, and districts: the reader's own, or every one for the city.
  const place = reach.streetId ?? reach.districtId;
  const streets = reach.streetId ? 's.id = $2' : reach.districtId ? 's.district_id = $2' : 'TRUE';
  const districts = reach.streetId ? 'FALSE' : reach.districtId ? 'p.place_id = $2' : 'TRUE';
  const places = await q.query<{ kind: string; place_id: number }>(
    `SELECT p.kind, p.place_id FROM free_places p LEFT JOIN streets s ON p.kind = 'street' AND s.id = p.place_id
      WHERE p.day = $1 AND ((p.kind = 'street' AND ${streets}) OR (p.kind = 'district' AND ${districts})) ORDER BY p.kind, p.place_id`,
    place ? [day, place] : [day],
  );
  return { areas, streets: places.filter((p) => p.kind === 'street').map((p) => p.place_id), districts: places.filter((p) => p.kind === 'district').map((p) => p.place_id) };
}

export interface ZoneCount {
  day: string;
  districtId: number;
  zone: string;
  compounds: number;
  people: number;
  freeCompounds: number;
}

/** Compounds and people in each zone per district and day, from `from` to `to`. */
export async function zoneCounts(q: Queryable, from: string, to: string, reach: Reach, districtId?: number): Promise<ZoneCount[]> {
  const params: unknown[] = [from, to];
  const cols = `district_id AS "districtId", zone, compounds, people, free_compounds AS "freeCompounds"`;
  if (reach.streetId) {
    // A street's own figures, counted from its compounds (the stored counts are per district).
    params.push(reach.streetId);
    return q.query<ZoneCount>(
      `SELECT z.day, c.district_id AS "districtId", z.zone, count(*)::int AS compounds, coalesce(sum(c.population), 0)::bigint AS people, count(*) FILTER (WHERE z.free)::int AS "freeCompounds"
         FROM generate_series($1::date, $2::date, interval '1 day') g(d) CROSS JOIN LATERAL zones_on(g.d::date) z JOIN compounds c ON c.id = z.compound_id
        WHERE c.street_id = $3 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
      params,
    );
  }
  const district = reach.districtId ?? districtId;
  if (district) params.push(district);
  return q.query<ZoneCount>(`SELECT day, ${cols} FROM zone_counts WHERE day BETWEEN $1 AND $2 ${district ? 'AND district_id = $3' : ''} ORDER BY day, district_id, zone`, params);
}

/** For the command dashboard: compounds and people in each zone per district on a day. */
export async function zoneCountsOn(q: Queryable, day: string): Promise<{ districtId: number; zone: string; compounds: number; people: number }[]> {
  return q.query(`SELECT district_id AS "districtId", zone, compounds, people FROM zone_counts WHERE day = $1 ORDER BY district_id, zone`, [day]);
}

/**
 * For the command dashboard: society-level cases per local day (in `tz`) of their report and district (0:
 * none) from `fromDay`, as case_levels decided them.
 */
export async function societyCasesByDay(q: Queryable, fromDay: string, tz: string): Promise<{ day: string; districtId: number; n: number }[]> {
  return q.query(
    `SELECT (c.reported_at AT TIME ZONE $2)::date AS day, coalesce(c.district_id, 0) AS "districtId", count(*)::int AS n
       FROM case_levels l JOIN cases c ON c.id = l.case_id
      WHERE l.level = 'society' AND l.day >= $1::date - 1 AND c.reported_at >= ($1::date::timestamp AT TIME ZONE $2)
      GROUP BY 1, 2 ORDER BY 1, 2`,
    [fromDay, tz],
  );
}

export interface ClearanceRow {
  day: string;
  districtId: number;
  cases: number;
  population: number;
  per100k: number;
  belowRun: number;
  zeroRun: number;
  basicallyZero: boolean;
  zero: boolean;
}

/** District clearance per day from `from` to `to`, for the districts in reach. */
export async function clearance(q: Queryable, from: string, to: string, districtId: number | null): Promise<ClearanceRow[]> {
  return q.query<ClearanceRow>(
    `SELECT day, district_id AS "districtId", cases, population, per100k, below_run AS "belowRun", zero_run AS "zeroRun", basically_zero AS "basicallyZero", zero
       FROM district_clearance WHERE day BETWEEN $1 AND $2 ${districtId ? 'AND district_id = $3' : ''} ORDER BY district_id, day`,
    districtId ? [from, to, districtId] : [from, to],
  );
}
