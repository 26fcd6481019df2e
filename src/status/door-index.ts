// What an entrance needs to answer, kept in memory: personal code -> person, the person's last sampling and
// last negative sampling, the stored status of everyone who is not plainly green, each person's home
// compound and building, and today's compounds whose zone confines their residents and buildings still sealed. A database look-up
// costs 100-200 us on either engine, and a busy city's entrances need answers in tens of microseconds
// (bench/checkpoints.ts measured 500 check-ins/s on PGlite with one query per scan).
//
// It is a copy, so it follows the database: loaded in chunks at start (the server answers from the
// database until it is ready), then every second it looks at what changed since (the last ids and versions,
// in one statement) and reads only that: new persons; new tubes and results by their increasing ids (and
// the ids such a read passed over, src/status/id-holes.ts), and the samples of open tubes whose count
// moved; status rows by version; the zones when the zoning job wrote them or the day changed; the home of
// persons who moved, by the moves' ids and when their mark is gone (migrations/022, 023). Persons whose
// facts changed are marked at once by this process (onStatusStale). A person it does not know, or whose
// status is stale or due to change, is answered from the database as before.
import type { Db } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { localDay } from '../core/days.ts';
import { onStatusStale } from '../core/stale.ts';
import { CodeTable, toHold } from './code-table.ts';
import { lastTests } from './store.ts';
import { IdHoles } from './id-holes.ts';
import { confinementRule, type Colour, type HomeZone, type Reason } from './rules.ts';
import { homeZoneColumns, homeZoneFrom, sealedBuildingsOf, zoneStretchOn, ZONES, type HomeZoneRow } from '../zoning/index.ts';

export interface DoorEntry {
  personId: number;
  colour: Colour;
  reasons: Reason[];
  lastSampledAt: Date | null;
  lastNegativeSampledAt: Date | null;
  home: HomeZone | null;
}

const CHUNK = 100_000;
/** Open tubes are looked for among the last this many (a tube left open for ever is not read for ever). */
const OPEN_TUBES = 10_000;

/** How long ids passed over (IdHoles) are looked for: longer than a lab's upload or a tube batch takes to commit. */
const HOLES_MS = 10 * 60_000;

/** The samples of the tubes `tubes` selects (their ids as `id`), as lines of "tube_id person_id epoch_ms", and the tubes' ids in order (an empty tube's too). */
const tubeSamples = (tubes: string) =>
  // The lateral (OFFSET 0) reads by key: without fresh statistics the planner would hash-join every sample of the city.
  `WITH t AS MATERIALIZED (${tubes})
   SELECT (SELECT string_agg(s.tube_id || ' ' || s.person_id || ' ' || (extract(epoch FROM s.sampled_at) * 1000)::bigint, E'\\n')
             FROM t CROSS JOIN LATERAL (SELECT tube_id, person_id, sampled_at FROM samples WHERE tube_id = t.id OFFSET 0) s) AS lines,
          (SELECT array_agg(id ORDER BY id) FROM t) AS ids`;

/** Results (a relation r) as lines of "result_id tube_id negative", negative 1 for a negative result in force. */
const RESULT_LINES = `string_agg(r.id || ' ' || r.tube_id || ' ' || (r.verdict = 'negative' AND r.state = 'applied')::int, E'\\n') AS lines`;

/** A stored status as the index keeps it. */
interface StatusRow {
  person_id: number;
  colour: Colour;
  reasons: Reason[];
  changes_at: Date | null;
}

/** What the index's look reads first (door_marks, migrations/024): the last ids and versions, and whether anything waits. */
interface Marks {
  persons: number;
  tubes: number;
  open: boolean;
  results: number;
  zones: number;
  moves: number;
  statuses: number;
  stale: boolean;
}

export class DoorIndex {
  private byCode = new CodeTable();
  private lastSampled = new Float64Array(1024);
  private lastNegative = new Float64Array(1024);
  /** Each person's home compound and building (0: none). */
  private compoundOf = new Int32Array(1024);
  private buildingOf = new Int32Array(1024);
  /**
   * The compounds whose zone confines their residents, and the buildings still sealed in compounds that are
   * not, on the local day `zonesDay`. Across midnight they are answered until the next look (a second at
   * most): the database would answer the same, as the zoning job computes the new day only at its next run.
   */
  private confined = new Map<number, HomeZone>();
  private sealedBuildings = new Map<number, HomeZone>();
  private zonesDay = '';
  private maxMoveId = -1;
  /** zoning_state.zones_version when the zones were read (-1: no zones yet; its first run leaves it at 0). */
  private zonesVersion = -2;
  private status = new Map<number, { colour: Colour; reasons: Reason[]; changesAt: number | null }>();
  /** Persons whose facts changed, with when this process heard of it. */
  private stale = new Map<number, number>();
  /** Members and sampling time of each tube still waiting for its result: a result then costs no join. */
  private tubes = new Map<number, { at: number; members: number[] }>();
  /** Tube and result ids passed over by a read (a PostgreSQL server commits in any order), looked for again. */
  private tubeHoles = new IdHoles(HOLES_MS);
  private resultHoles = new IdHoles(HOLES_MS);
  /** Tubes open at the last look, with their count of samples then. */
  private openTubes = new Map<number, number>();
  private maxPersonId = 0;
  private maxTubeId = 0;
  private maxResultId = 0;
  private statusVersion = 0;
  ready = false;
  private unsubscribe: () => void;

  constructor(
    private db: Db,
    private preset: Preset,
    private clock: () => Date,
  ) {
    this.unsubscribe = onStatusStale((ids) => {
      const at = Date.now();
      for (const id of ids) this.stale.set(id, at);
    });
  }

  close(): void {
    this.unsubscribe();
  }

  /** The entry for a personal code, or null when the database must answer (unknown, stale, due). */
  get(code: string, now: Date): DoorEntry | null {
    if (!this.ready) return null;
    const id = this.byCode.get(code);
    if (id === undefined || this.stale.has(id)) return null;
    const t = now.getTime();
    const s = this.status.get(id);
    if (s && s.changesAt !== null && s.changesAt <= t) return null;
    const sampled = this.lastSampled[id] ?? 0;
    const negative = this.lastNegative[id] ?? 0;
    const building = this.buildingOf[id] ?? 0;
    const compound = this.compoundOf[id] ?? 0;
    const home = (building ? this.sealedBuildings.get(building) : undefined) ?? (compound ? this.confined.get(compound) : undefined) ?? null;
    return { personId: id, colour: s?.colour ?? 'green', reasons: s?.reasons ?? [], lastSampledAt: sampled ? new Date(sampled) : null, lastNegativeSampledAt: negative ? new Date(negative) : null, home };
  }

  private syncing: Promise<void> | null = null;

  /**
   * Loads everything at first, then what changed: call it every second or so (calls do not overlap). Once
   * loaded, `pause()` true between two reads leaves new persons, samplings and results for the next call
   * (on embedded PGlite each read waits in line with the requests); the stored statuses and whom to
   * distrust are read whenever they changed.
   */
  sync(pause?: () => boolean): Promise<void> {
    this.syncing ??= this.syncOnce(pause).finally(() => (this.syncing = null));
    return this.syncing;
  }

  private async syncOnce(pause?: () => boolean): Promise<void> {
    const started = Date.now();
    const paused = () => this.ready && pause !== undefined && pause();
    // Each read waits for a turn of the event loop first: on embedded PGlite a statement runs on this
    // thread, and requests read meanwhile are answered between two reads rather than after all of them.
    const read = async <T>(sql: string, params?: unknown[]) => {
      await new Promise((resolve) => setImmediate(resolve));
      return this.db.query<T>(sql, params);
    };
    // One look at what changed, and only then the reads that something changed for: when nothing did, this
    // one statement is the look (migrations/024: a function, whose plan is kept).
    const [m] = await read<Marks>('SELECT * FROM door_marks($1)', [this.maxTubeId - OPEN_TUBES]);
    // Moves recorded before the persons are first read are in what is read.
    if (this.maxMoveId < 0) this.maxMoveId = Number(m.moves);
    reading: {
      // Persons, by increasing id (new persons only: a personal code does not change; a move is read below).
      while (Number(m.persons) > this.maxPersonId) {
        if (paused()) break reading;
        const [r] = await read<{ lines: string | null; last: number | null }>(
          `SELECT string_agg(p.id || ' ' || coalesce(p.compound_id, 0) || ' ' || coalesce(h.building_id, 0) || ' ' || p.personal_code, E'\\n') AS lines, max(p.id) AS last
             FROM (SELECT id, compound_id, household_id, personal_code FROM persons WHERE id > $1 ORDER BY id LIMIT $2) p LEFT JOIN households h ON h.id = p.household_id`,
          [this.maxPersonId, CHUNK],
        );
        if (!r.lines) break;
        this.maxPersonId = Number(r.last);
        this.grow(this.maxPersonId);
        for (const line of r.lines.split('\n')) {
          const a = line.indexOf(' ');
          const b = line.indexOf(' ', a + 1);
          const c = line.indexOf(' ', b + 1);
          const id = Number(line.slice(0, a));
          this.compoundOf[id] = Number(line.slice(a + 1, b));
          this.buildingOf[id] = Number(line.slice(b + 1, c));
          this.byCode.set(line.slice(c + 1), id);
        }
      }
      // Samplings of new tubes (an empty one is passed too: its samples are read while it is open, below),
      // then of tubes an earlier read passed over.
      while (Number(m.tubes) > this.maxTubeId) {
        if (paused()) break reading;
        const [r] = await read<{ lines: string | null; ids: number[] | null }>(tubeSamples('SELECT id FROM tubes WHERE id > $1 ORDER BY id LIMIT $2'), [this.maxTubeId, CHUNK / 10]);
        if (!r.ids) break;
        const ids = r.ids.map(Number);
        if (r.lines) this.sampled(r.lines);
        if (this.db.engine === 'pg') this.tubeHoles.passedOver(this.maxTubeId, ids, started);
        this.maxTubeId = ids[ids.length - 1];
      }
      const tubeHoles = this.tubeHoles.toRead(started);
      if (tubeHoles) {
        const [h] = await read<{ lines: string | null; ids: number[] | null }>(tubeSamples(`SELECT t.id FROM unnest($1::bigint[], $2::bigint[]) g(lo, hi) CROSS JOIN LATERAL (SELECT id FROM tubes WHERE id BETWEEN g.lo AND g.hi) t`), tubeHoles);
        if (h.lines) this.sampled(h.lines);
        for (const id of h.ids ?? []) this.tubeHoles.found(Number(id));
      }
      if (m.open || this.openTubes.size) await this.readOpenTubes(read);
      // Results, by result id, then those an earlier read passed over: a negative one moves its persons' last
      // negative sampling. The members come from the tubes read above.
      while (Number(m.results) > this.maxResultId) {
        if (paused()) break reading;
        const [r] = await read<{ lines: string | null; n: number }>(
          `SELECT ${RESULT_LINES}, count(*) AS n FROM (SELECT id, tube_id, verdict, state FROM lab_results WHERE id > $1 ORDER BY id LIMIT $2) r`,
          [this.maxResultId, CHUNK],
        );
        if (!r.lines) break;
        const applied = this.applyResults(r.lines);
        if (this.db.engine === 'pg') this.resultHoles.passedOver(this.maxResultId, applied, started);
        if (applied.length) this.maxResultId = applied[applied.length - 1];
        // A result for a tube not read yet waits for the next look, and the results after it with it.
        if (applied.length < Number(r.n)) break;
      }
      const resultHoles = this.resultHoles.toRead(started);
      if (resultHoles) {
        const [h] = await read<{ lines: string | null }>(
          `SELECT ${RESULT_LINES} FROM unnest($1::bigint[], $2::bigint[]) g(lo, hi) CROSS JOIN LATERAL (SELECT id, tube_id, verdict, state FROM lab_results WHERE id BETWEEN g.lo AND g.hi ORDER BY id) r`,
          resultHoles,
        );
        if (h.lines) for (const id of this.applyResults(h.lines)) this.resultHoles.found(id);
      }
    }
    await this.readZones(Number(m.zones));
    if (Number(m.moves) > this.maxMoveId) await this.readMoves();
    // Stored statuses written since the last look (here or by another server): their versions commit in
    // order (refreshStatus), so none below the last one read can come later.
    if (Number(m.statuses) > this.statusVersion) {
      for (const r of await read<StatusRow & { version: number }>(
        'SELECT person_id, colour, reasons, changes_at, version FROM person_status WHERE version > $1 ORDER BY version',
        [this.statusVersion],
      )) {
        this.keepStatus(r);
        this.statusVersion = Math.max(this.statusVersion, Number(r.version));
      }
    }
    // Whoever still waits in status_stale is not trusted; a mark made here before this look began, and no
    // longer waiting, has been recomputed (and read just above, if it changed).
    const waiting = new Set(m.stale ? (await read<{ person_id: number }>('SELECT person_id FROM status_stale')).map((r) => Number(r.person_id)) : []);
    const cleared: number[] = [];
    for (const [id, at] of this.stale) if (at < started && !waiting.has(id)) cleared.push(id);
    // Their home, tests or status may have changed in ways the reads above do not see: read again before they are trusted.
    if (cleared.length) await this.readPersons(cleared);
    // A mark made meanwhile (after this look began) stands.
    for (const id of cleared) if ((this.stale.get(id) ?? started) < started) this.stale.delete(id);
    for (const id of waiting) if (!this.stale.has(id)) this.stale.set(id, started);
    this.ready = true;
  }

  /**
   * Applies results, lines of "result_id tube_id negative" in increasing ids: a negative one in force moves
   * its tube's members' last negative sampling, and the tube is done. Returns the ids applied, up to the first
   * result whose tube has not been read yet (it and those after it wait).
   */
  private applyResults(lines: string): number[] {
    const applied: number[] = [];
    for (let pos = 0; pos < lines.length; ) {
      let end = lines.indexOf('\n', pos);
      if (end === -1) end = lines.length;
      const a = lines.indexOf(' ', pos);
      const b = lines.indexOf(' ', a + 1);
      const id = Number(lines.slice(pos, a));
      const tubeId = Number(lines.slice(a + 1, b));
      const tube = this.tubes.get(tubeId);
      if (!tube && (tubeId > this.maxTubeId || this.tubeHoles.has(tubeId))) break;
      if (tube) {
        if (lines.charCodeAt(b + 1) === 49 /* '1' */) {
          for (const member of tube.members) if (tube.at > this.lastNegative[member]) this.lastNegative[member] = tube.at;
        }
        this.tubes.delete(tubeId);
      }
      applied.push(id);
      pos = end + 1;
    }
    return applied;
  }

  /**
   * Tubes still open take more samples after they were first read. The open ones (among the last
   * OPEN_TUBES), and those open at the last look, are read with their count of samples; the samples of
   * those whose count moved are read again. A tube closed since the last look is so read once more: its
   * last person, put in just before it was closed, is in its result.
   */
  private async readOpenTubes(read: <T>(sql: string, params?: unknown[]) => Promise<T[]>): Promise<void> {
    const rows = await read<{ id: number; samples: number; open: boolean }>(
      `SELECT id, samples, true AS open FROM tubes WHERE id > $1 AND closed_at IS NULL
       UNION ALL SELECT id, samples, false FROM tubes WHERE id = ANY($2::bigint[]) AND closed_at IS NOT NULL`,
      [this.maxTubeId - OPEN_TUBES, [...this.openTubes.keys()]],
    );
    const moved: number[] = [];
    const open = new Map<number, number>();
    for (const r of rows) {
      const id = Number(r.id);
      if ((this.openTubes.get(id) ?? this.tubes.get(id)?.members.length ?? 0) !== r.samples) moved.push(id);
      if (r.open) open.set(id, r.samples);
    }
    this.openTubes = open;
    if (!moved.length) return;
    const [s] = await read<{ lines: string | null }>(
      `SELECT string_agg(tube_id || ' ' || person_id || ' ' || (extract(epoch FROM sampled_at) * 1000)::bigint, E'\\n') AS lines FROM samples WHERE tube_id = ANY($1::bigint[])`,
      [moved],
    );
    if (s.lines) this.sampled(s.lines);
  }

  /**
   * The homes of persons who moved since the last look, by the moves' ids. A move committed after one with a
   * higher id was read is passed over here, but its mark (status_stale) is seen: the person is answered
   * from the database, and their home read again once the mark is gone.
   */
  private async readMoves(): Promise<void> {
    for (;;) {
      const [r] = await this.db.query<{ ids: number[] | null; last: number | null }>(
        'SELECT array_agg(person_id) AS ids, max(id) AS last FROM (SELECT id, person_id FROM person_moves WHERE id > $1 ORDER BY id LIMIT $2) m',
        [this.maxMoveId, CHUNK],
      );
      if (r.last === null) return;
      await this.readPersons(r.ids!.map(Number));
      this.maxMoveId = Number(r.last);
    }
  }

  /**
   * The compound, building, test times and stored status of these persons, as they are now: a person marked
   * and recomputed may have moved, or had another result put in force for a tube (a conflict resolved),
   * which the reads by increasing ids do not see; and their recomputation may have committed after this look
   * read the statuses.
   */
  private async readPersons(ids: number[]): Promise<void> {
    const [r] = await this.db.query<{ lines: string | null }>(
      `SELECT string_agg(p.id || ' ' || coalesce(p.compound_id, 0) || ' ' || coalesce(h.building_id, 0), E'\\n') AS lines
         FROM persons p LEFT JOIN households h ON h.id = p.household_id WHERE p.id = ANY($1::int[])`,
      [ids],
    );
    for (const line of r.lines ? r.lines.split('\n') : []) {
      const [id, compound, building] = line.split(' ').map(Number);
      if (id > this.maxPersonId) continue;
      this.compoundOf[id] = compound;
      this.buildingOf[id] = building;
    }
    const known = ids.filter((id) => id <= this.maxPersonId);
    for (const r of await this.db.query<StatusRow>(
      'SELECT person_id, colour, reasons, changes_at FROM person_status WHERE person_id = ANY($1::int[])',
      [known],
    )) {
      this.keepStatus(r);
    }
    const tests = new Map((await lastTests(this.db, known)).map((t) => [t.personId, t]));
    for (const id of known) {
      const t = tests.get(id);
      this.lastSampled[id] = t?.lastSampledAt?.getTime() ?? 0;
      this.lastNegative[id] = t?.lastNegativeSampledAt?.getTime() ?? 0;
    }
  }

  /** Today's confining zones, read again when the zoning job wrote zones (its version `v`) or the local day changed. */
  private async readZones(v: number): Promise<void> {
    const tz = this.preset.reporting.timeZone;
    const day = localDay(this.clock(), tz);
    if (v === this.zonesVersion && day === this.zonesDay) return;
    const zones = ZONES.filter((z) => confinementRule(z, this.preset));
    const rows = await this.db.query<HomeZoneRow>(`SELECT ${homeZoneColumns('$2')} FROM compound_zones z WHERE ${zoneStretchOn('$1')} AND z.zone = ANY($3)`, [day, tz, zones]);
    this.confined = new Map(rows.map((r) => [r.compound_id, homeZoneFrom(r)]));
    const buildings = confinementRule('sealed', this.preset)
      ? await this.db.query<HomeZoneRow>(`SELECT h.* FROM compound_zones z CROSS JOIN LATERAL (${sealedBuildingsOf('$1', '$2')}) h WHERE ${zoneStretchOn('$1')} AND z.sealed_buildings IS NOT NULL`, [day, tz])
      : [];
    this.sealedBuildings = new Map(buildings.map((r) => [r.building_id!, homeZoneFrom(r)]));
    this.zonesVersion = v;
    this.zonesDay = day;
  }

  private keepStatus(r: StatusRow): void {
    this.status.set(Number(r.person_id), { colour: r.colour, reasons: r.reasons, changesAt: r.changes_at ? new Date(r.changes_at).getTime() : null });
  }

  /** Lines of "tube_id person_id epoch_ms": the persons' last sampling, and the tube's members. */
  private sampled(lines: string): void {
    for (let pos = 0; pos < lines.length; ) {
      let end = lines.indexOf('\n', pos);
      if (end === -1) end = lines.length;
      const a = lines.indexOf(' ', pos);
      const b = lines.indexOf(' ', a + 1);
      const tube = Number(lines.slice(pos, a));
      const id = Number(lines.slice(a + 1, b));
      const at = Number(lines.slice(b + 1, end));
      this.grow(id);
      if (at > this.lastSampled[id]) this.lastSampled[id] = at;
      const t = this.tubes.get(tube);
      if (!t) this.tubes.set(tube, { at, members: [id] });
      else {
        if (!t.members.includes(id)) t.members.push(id);
        if (at > t.at) t.at = at;
      }
      pos = end + 1;
    }
  }

  private grow(id: number): void {
    this.lastSampled = toHold(this.lastSampled, id);
    this.lastNegative = toHold(this.lastNegative, id);
    this.compoundOf = toHold(this.compoundOf, id);
    this.buildingOf = toHold(this.buildingOf, id);
  }
}

const indexes = new WeakMap<object, DoorIndex>();

/** The one index of a running platform (its context): the routes answer from it, a job keeps it current. */
export function doorIndexFor(ctx: { db: Db; preset: Preset; clock: { now(): Date } }): DoorIndex {
  let index = indexes.get(ctx);
  if (!index) {
    index = new DoorIndex(ctx.db, ctx.preset, () => ctx.clock.now());
    indexes.set(ctx, index);
  }
  return index;
}
