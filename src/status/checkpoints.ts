// Entrances (场所码 and 数字哨兵): a scan is answered from the person's stored status in one look-up, and
// recorded through a group commit: each request waits until its scan is in a committed COPY, so no
// acknowledged scan is lost, and a busy entrance costs one write per batch, not one per person.
import type { Db } from '../core/db.ts';
import { BinaryCopy } from '../core/binary-copy.ts';
import type { PiiKeys } from '../core/pii.ts';
import { idNumberProblem } from '../core/pii.ts';
import type { Preset } from '../core/presets.ts';
import { badRequest, forbidden, notFound, Problem } from '../core/errors.ts';
import { distanceMetres } from '../core/geo.ts';
import { confinementRule, entryDecision, type Colour, type EntryDecision, type EntryRule, type HomeZone, type Reason } from './rules.ts';
import { homeZoneFrom, homeZoneOf, type HomeZoneRow } from '../zoning/index.ts';
import { currentStatus } from './store.ts';
import type { DoorIndex } from './door-index.ts';
import { dosesOf, today } from '../support/vaccination.ts';
import { vaccinationState } from '../support/rules.ts';
import { DAY_MS, localDay } from '../core/days.ts';
import { dayOf, makeCheckinDays } from './checkin-days.ts';

export interface Venue {
  id: number;
  name: string;
  kind: string;
  districtId: number;
  streetId: number | null;
  lat: number;
  lon: number;
  /** The compound the venue is in, if it is in one: its residents may use it while their compound is confined. */
  compoundId: number | null;
  rule: EntryRule;
}

/**
 * Venues change rarely and every scan needs one: kept for a minute. A city has far more venues (Shanghai:
 * 1.9 million codes) than are worth keeping, so the cache keeps two generations: when the newer one is full
 * it becomes the older and a new one starts; a venue found in the older moves to the newer. The venues in
 * use stay, and no moment empties the whole cache (a busy city's entrances would all ask the database at once).
 *
 * Reads are gathered: the venues asked for in one turn of the event loop are read in one query. A venue kept
 * longer than a minute is still answered from the cache while it is read again in the background. Venues
 * read together expire together, and a query for each, with every scan at such a venue waiting for its own,
 * stalled the server's thread 26-35 ms at a time for about half a second, at the start and each minute
 * after, in a 240 s check-in run of the bench (2,000 venues).
 */
type VenueEntry = { venue: Venue | null; at: number };

export class VenueCache {
  private newer = new Map<number, VenueEntry>();
  private older = new Map<number, VenueEntry>();
  /** The venues to read in the next query, and the promise their askers wait on. */
  private reading: { ids: Set<number>; done: Promise<void> } | null = null;
  /** Venues being read again in the background (each at most once at a time). */
  private readonly refreshing = new Set<number>();
  constructor(
    private db: Db,
    private preset: Preset,
    private ttlMs = 60_000,
    private generation = 100_000,
  ) {}

  /** The venue if the cache has it (no promise: the hot path of every scan); one kept too long is read again meanwhile. */
  cached(id: number): Venue | undefined {
    const hit = this.entry(id);
    if (!hit?.venue) return undefined;
    if (Date.now() - hit.at >= this.ttlMs && !this.refreshing.has(id)) {
      this.refreshing.add(id);
      // A failed read keeps the venue as it was; the next scan there tries again.
      this.read(id).then(
        () => this.refreshing.delete(id),
        () => this.refreshing.delete(id),
      );
    }
    return hit.venue;
  }

  async get(id: number): Promise<Venue> {
    const hit = this.entry(id);
    if (!hit || Date.now() - hit.at >= this.ttlMs) await this.read(id);
    const venue = this.entry(id)?.venue;
    if (!venue) throw notFound(`Venue ${id}`, { code: 'venueUnknown', venueId: id });
    return venue;
  }

  /** Reads the venue with the others asked for in this turn of the event loop; resolves once they are kept. */
  private read(id: number): Promise<void> {
    if (!this.reading) {
      const ids = new Set<number>();
      const done = new Promise<void>((resolve, reject) => setImmediate(() => {
        this.reading = null;
        this.readAll([...ids]).then(resolve, reject);
      }));
      this.reading = { ids, done };
    }
    this.reading.ids.add(id);
    return this.reading.done;
  }

  private async readAll(ids: number[]): Promise<void> {
    const rows = await this.db.query<{ id: number; name: string; kind: string; district_id: number; street_id: number | null; compound_id: number | null; lat: number; lon: number; entry_rule: Partial<EntryRule> | null }>(
      'SELECT id, name, kind, district_id, street_id, compound_id, lat, lon, entry_rule FROM venues WHERE id = ANY($1::int[])',
      [ids],
    );
    const at = Date.now();
    const found = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      const r = found.get(id);
      // A venue that no longer exists is kept as such too (for its minute): its scans do not each ask again.
      this.keep(id, { venue: r ? { id: r.id, name: r.name, kind: r.kind, districtId: r.district_id, streetId: r.street_id, compoundId: r.compound_id, lat: r.lat, lon: r.lon, rule: { ...this.preset.entry.default, ...(r.entry_rule ?? {}) } } : null, at });
    }
  }

  private entry(id: number): VenueEntry | undefined {
    const hit = this.newer.get(id);
    if (hit !== undefined) return hit;
    const old = this.older.get(id);
    if (old !== undefined) this.keep(id, old);
    return old;
  }

  private keep(id: number, e: VenueEntry): void {
    if (this.newer.size >= this.generation) {
      this.older = this.newer;
      this.newer = new Map();
    }
    this.newer.set(id, e);
  }
}

export interface ScanRow {
  venueId: number;
  personId: number;
  scannedAt: Date;
  source: 'venueCode' | 'sentinel';
  deviceId: number | null;
  lat: number | null;
  lon: number | null;
  distanceM: number | null;
  far: boolean;
  admitted: boolean;
  colour: Colour;
}

/** The scans of one group commit, and the one promise all their requests wait on. */
class ScanGroup {
  rows: ScanRow[] = [];
  resolve!: () => void;
  reject!: (e: Error) => void;
  readonly done = new Promise<void>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
}

const BATCH_ROWS = 5_000;

/**
 * The groups every scan writer of this process has committed, their scans, and the time from each group's
 * start to its commit (on PGlite the server's own thread; on a PostgreSQL server mostly a wait): what the
 * bench prints as a check-in's write.
 */
export const scanWrites = { groups: 0, scans: 0, ms: 0 };
/** A group stops gathering at this many scans, or after this long. */
const GATHER_ROWS = 1_000;
const GATHER_MS = 2;

/**
 * Group commit of scans: requests that arrive while a write is running go into the next one together, one
 * write at a time. Embedded PGlite runs one statement at a time anyway. On a PostgreSQL server two writes at
 * once would spare a request part of a wait, but halve the groups: groups of 23 cost the machine 30-39 us a
 * scan (node and server), groups of 46 one at a time 18-21 (.prof/s12/pgins.ts), and the check-in bench
 * on 2 cores took 125-129 us of the machine a check-in instead of 139-142.
 */
export class ScanWriter {
  private group: ScanGroup | null = null;
  private gathering = false;
  private writing = false;
  private gathered = 0;
  private gatherSince = 0;
  /** The UTC days (epoch day numbers) whose partitions this process has made or found (migrations/017). */
  private readonly days = new Set<number>();
  /**
   * One COPY file's buffer for every group (a group is encoded and sent before the next one starts). A new
   * buffer of a few kB for each group cost 50-55 us of the group's ~1.1 ms write in a busy server, against
   * 3 us in an idle process (.prof/s14; a perf profile of the server shows glibc's malloc_consolidate).
   */
  private readonly file = new BinaryCopy();
  constructor(private db: Db) {}

  /** Resolves once the scan is committed (with the other scans of its group); rejects if that write failed. */
  write(scan: ScanRow): Promise<void> {
    const group = (this.group ??= new ScanGroup());
    group.rows.push(scan);
    // Start after the requests already read from the sockets have queued theirs: embedded PGlite runs
    // a statement on this thread, so a write started at once would carry one scan.
    if (!this.gathering && !this.writing) {
      this.gathering = true;
      this.gathered = 0;
      this.gatherSince = performance.now();
      setImmediate(this.gather);
    }
    return group.done;
  }

  /**
   * Once per turn of the event loop: while the last turn brought more scans (requests read while this
   * thread served others), wait one more turn; then write. A write costs a fixed ~0.08 ms on PGlite plus
   * ~10 us a scan (its two indexes most of that), so the fuller group is cheaper per scan, and a quiet
   * moment writes at once.
   */
  private readonly gather = () => {
    const n = this.group?.rows.length ?? 0;
    if (n > this.gathered && n < GATHER_ROWS && performance.now() - this.gatherSince < GATHER_MS) {
      this.gathered = n;
      setImmediate(this.gather);
      return;
    }
    this.gathering = false;
    this.takeGroup();
  };

  /** Writes the waiting group, if a write may start. */
  private takeGroup(): void {
    const group = this.group;
    if (!group || this.writing || this.gathering) return;
    this.group = null;
    this.writing = true;
    void this.flush(group).finally(() => {
      this.writing = false;
      // The group that gathered meanwhile is written at once.
      this.takeGroup();
    });
  }

  private async flush(group: ScanGroup): Promise<void> {
    const started = performance.now();
    try {
      for (let i = 0; i < group.rows.length; i += BATCH_ROWS) await this.insert(i === 0 && group.rows.length <= BATCH_ROWS ? group.rows : group.rows.slice(i, i + BATCH_ROWS));
      scanWrites.groups++;
      scanWrites.scans += group.rows.length;
      scanWrites.ms += performance.now() - started;
      group.resolve();
    } catch (e) {
      // Not acknowledged: the requests answer an error (a part already written stays recorded).
      group.reject(e as Error);
    }
  }

  // PGlite: COPY in the binary format, which spares the engine parsing text (a timestamp above all): about
  // half the cost of a multi-row INSERT at a few dozen scans. A PostgreSQL server: one INSERT of column
  // arrays, which spares the COPY protocol's extra round trips.
  private async insert(rows: ScanRow[]): Promise<void> {
    await this.haveDays(rows);
    if (this.db.engine === 'pglite') {
      await this.db.copyBinary('checkins', SCAN_COLUMNS, scansAsCopyBinary(rows, this.file.reset()));
      return;
    }
    const n = rows.length;
    // Times as epoch milliseconds: a number is cheaper to send and to read than a timestamp's text.
    const venue = new Array<number>(n), person = new Array<number>(n), at = new Array<number>(n), admitted = new Array<boolean>(n), colour = new Array<string>(n);
    // Venue-code scans without a position (most of them) leave the device and position columns to their
    // defaults: five arrays to send and read instead of eleven.
    let plain = true;
    for (let i = 0; i < n; i++) {
      const r = rows[i];
      venue[i] = r.venueId;
      person[i] = r.personId;
      at[i] = r.scannedAt.getTime();
      admitted[i] = r.admitted;
      colour[i] = r.colour;
      if (r.source !== 'venueCode' || r.deviceId !== null || r.lat !== null || r.lon !== null || r.distanceM !== null || r.far) plain = false;
    }
    if (plain) {
      await this.db.query(PLAIN_SCAN_INSERT, [venue, person, at, admitted, colour], 'plain-scan-insert');
      return;
    }
    const column = <T>(f: (r: ScanRow) => T) => rows.map(f);
    await this.db.query(SCAN_INSERT, [venue, person, at, column((r) => r.source), column((r) => r.deviceId), column((r) => r.lat), column((r) => r.lon), column((r) => r.distanceM), column((r) => r.far), admitted, colour], 'scan-insert');
  }

  /**
   * Makes the partitions of the rows' days (and of the day after, so that it is ready before midnight) the
   * first time this process writes them, in a statement of its own, outside any transaction that reads
   * checkins. A day that cannot be made at once keeps its scans in checkins_other (migrations/017).
   */
  private async haveDays(rows: ScanRow[]): Promise<void> {
    for (const r of rows) {
      const d = dayOf(r.scannedAt);
      if (this.days.has(d)) continue;
      await makeCheckinDays(this.db, new Date(d * DAY_MS), new Date((d + 1) * DAY_MS));
      this.days.add(d);
    }
  }
}

/** The scans as a COPY file in the binary format, in the column order of SCAN_COLUMNS (written into `file`, when given). */
export function scansAsCopyBinary(rows: ScanRow[], file = new BinaryCopy(rows.length * 100)): Uint8Array<ArrayBuffer> {
  for (const s of rows) {
    file.tuple(SCAN_COLUMNS.length).int4(s.venueId).int4(s.personId).time(s.scannedAt.getTime()).word(s.source).int4(s.deviceId).float8(s.lat).float8(s.lon).float4(s.distanceM).bool(s.far).bool(s.admitted).word(s.colour);
  }
  return file.done();
}

const SCAN_COLUMNS = ['venue_id', 'person_id', 'scanned_at', 'source', 'device_id', 'lat', 'lon', 'distance_m', 'far', 'admitted', 'colour'];
const SCAN_INSERT = `INSERT INTO checkins (${SCAN_COLUMNS.join(', ')})
  SELECT v, p, to_timestamp(ms / 1000), s, d, la, lo, di, f, a, c
    FROM unnest($1::int[], $2::int[], $3::float8[], $4::text[], $5::int[], $6::float8[], $7::float8[], $8::real[], $9::bool[], $10::bool[], $11::text[]) AS u(v, p, ms, s, d, la, lo, di, f, a, c)`;
const PLAIN_SCAN_INSERT = `INSERT INTO checkins (venue_id, person_id, scanned_at, source, far, admitted, colour)
  SELECT v, p, to_timestamp(ms / 1000), 'venueCode', false, a, c FROM unnest($1::int[], $2::int[], $3::float8[], $4::bool[], $5::text[]) AS u(v, p, ms, a, c)`;

export interface PersonAtDoor {
  personId: number;
  colour: Colour;
  reasons: Reason[];
  lastSampledAt: Date | null;
  lastNegativeSampledAt: Date | null;
  /** The zone of the person's home today (their compound's, or their building's while it stays sealed), when the preset confines its residents (null otherwise). */
  home: HomeZone | null;
}

/**
 * The person at an entrance, by personal code or ID number, with the stored status, test times and home
 * zone in one query. A status whose facts changed since it was stored (or that was due to
 * change) is computed afresh.
 */
export async function personAtDoor(db: Db, pii: PiiKeys, ref: string, preset: Preset, now: Date): Promise<PersonAtDoor> {
  const byId = idNumberProblem(ref) === null;
  const tz = preset.reporting.timeZone;
  const [r] = await db.query<{ id: number; colour: Colour | null; reasons: Reason[] | null; changes_at: Date | null; stale: boolean; last_sampled: Date | null; last_negative: Date | null } & Partial<HomeZoneRow>>(
    `SELECT p.id, ps.colour, ps.reasons, ps.changes_at,
            EXISTS (SELECT 1 FROM status_stale st WHERE st.person_id = p.id) AS stale,
            (SELECT max(s.sampled_at) FROM samples s WHERE s.person_id = p.id) AS last_sampled,
            (SELECT max(s.sampled_at) FROM samples s JOIN lab_results r ON r.tube_id = s.tube_id AND r.state = 'applied' AND r.verdict = 'negative' WHERE s.person_id = p.id) AS last_negative,
            h.compound_id, h.zone, h.since, h.moves_at, h.building_id, h.case_id
       FROM persons p LEFT JOIN person_status ps ON ps.person_id = p.id
       LEFT JOIN LATERAL (${homeZoneOf('p', '$2', '$3')}) h ON true
      WHERE ${byId ? 'p.id_hash = $1' : 'p.personal_code = $1'}`,
    [byId ? pii.hashId(ref) : ref, localDay(now, tz), tz],
  );
  if (!r) throw notFound(`Person with code or ID number ${ref}`, { code: 'personUnknown', ref });
  let colour: Colour = r.colour ?? 'green';
  let reasons: Reason[] = r.reasons ?? [];
  const home = r.zone && confinementRule(r.zone, preset) ? homeZoneFrom(r as HomeZoneRow) : null;
  if (r.stale || (r.changes_at && new Date(r.changes_at).getTime() <= now.getTime())) {
    // Without the home's zone: a door's reasons are the stored status's, as from memory (the zone is in the
    // decision's words), and the zone was read above.
    const s = await currentStatus(db, r.id, preset, now, null);
    colour = s.colour;
    reasons = s.reasons;
  }
  return { personId: r.id, colour, reasons, lastSampledAt: r.last_sampled && new Date(r.last_sampled), lastNegativeSampledAt: r.last_negative && new Date(r.last_negative), home };
}

export interface CheckResult {
  admit: boolean;
  because: string[];
  colour: Colour;
  /** What the person may be shown: the reasons in words, without other people's details. */
  reasons: { code: string; text: string; until: string | null }[];
  lastNegativeSampledAt: string | null;
  lastSampledAt: string | null;
  venue: { id: number; name: string };
  far: boolean;
}

/** One scan at an entrance: decide, record (group commit), answer. */
export async function checkAtEntrance(
  o: { db: Db; pii: PiiKeys; preset: Preset; venues: VenueCache; writer: ScanWriter; door?: DoorIndex },
  scan: { venueId: number; person: string; source: 'venueCode' | 'sentinel'; deviceId: number | null; gate: 'venue' | 'medicalEmergency'; lat?: number | null; lon?: number | null; onlyFor?: number },
  now: Date,
): Promise<{ personId: number; decision: EntryDecision; answer: CheckResult }> {
  const venue = o.venues.cached(scan.venueId) ?? (await o.venues.get(scan.venueId));
  // From memory when the index knows the person and trusts their status; from the database otherwise.
  const person = o.door?.get(scan.person, now) ?? (await personAtDoor(o.db, o.pii, scan.person, o.preset, now).catch(notOwn(scan.onlyFor)));
  // Refused before anything is recorded: a scan of someone else would put them at this venue for tracing.
  if (scan.onlyFor !== undefined && person.personId !== scan.onlyFor) throw selfOnly();
  const decision = entryDecision({ colour: person.colour }, person, venue.rule, scan.gate, o.preset, now, { home: person.home, venueCompoundId: venue.compoundId });
  const hasPosition = typeof scan.lat === 'number' && typeof scan.lon === 'number';
  if (hasPosition && (Math.abs(scan.lat!) > 90 || Math.abs(scan.lon!) > 180)) throw badRequest('lat must be within ±90 and lon within ±180.', { code: 'positionOutOfRange' });
  const distanceM = hasPosition ? Math.round(distanceMetres({ lat: scan.lat!, lon: scan.lon! }, venue)) : null;
  // A code scanned far from its venue is still recorded, and flagged: forwarded codes were how people far
  // away were once made to appear at a place (rules.md, failures to design against).
  const far = distanceM !== null && distanceM > o.preset.entry.farScanMetres;
  await o.writer.write({ venueId: venue.id, personId: person.personId, scannedAt: now, source: scan.source, deviceId: scan.deviceId, lat: hasPosition ? scan.lat! : null, lon: hasPosition ? scan.lon! : null, distanceM, far, admitted: decision.admit, colour: person.colour });
  const answer: CheckResult = {
    admit: decision.admit,
    because: far ? [...decision.because, `Scanned ${distanceM} m from the venue: recorded and flagged`] : decision.because,
    colour: person.colour,
    reasons: shownReasons(person.reasons),
    lastNegativeSampledAt: person.lastNegativeSampledAt?.toISOString() ?? null,
    lastSampledAt: person.lastSampledAt?.toISOString() ?? null,
    venue: { id: venue.id, name: venue.name },
    far,
  };
  return { personId: person.personId, decision, answer };
}

const selfOnly = () => forbidden('A resident checks in for themselves only.', { code: 'checkInSelfOnly' });

/**
 * For a resident, a code that is not theirs is refused alike whether or not it exists: answering "unknown"
 * for some codes would let anyone with the app find out which codes are real.
 */
const notOwn = (onlyFor: number | undefined) => (e: unknown): never => {
  throw onlyFor !== undefined && e instanceof Problem && e.status === 404 ? selfOnly() : e;
};

/** The reasons a person may be shown at a door. An override's reason is staff's free text: the door shows only that one is in force. */
function shownReasons(reasons: Reason[]): CheckResult['reasons'] {
  const shown: CheckResult['reasons'] = [];
  for (const r of reasons) if (!r.overridden) shown.push({ code: r.code, text: r.code === 'override' ? 'Status set by a manual override (approved by a second person)' : r.text, until: r.until });
  return shown;
}

/**
 * A person's vaccination as an entrance device shows it (rules.md 26), by the preset's series: a one-dose
 * product (Ad5-nCoV) completes the primary series with one dose, a three-dose one (ZF2001) needs three before
 * a fourth is a booster.
 */
export async function vaccinationOf(db: Db, personId: number, preset: Preset, now: Date): Promise<{ doses: number; lastDoseOn: string | null; fullyVaccinated: boolean; boosted: boolean }> {
  const doses = await dosesOf(db, personId);
  const state = vaccinationState(doses, preset, today(preset, now));
  return { doses: state.doses, lastDoseOn: doses.at(-1)?.givenOn ?? null, fullyVaccinated: state.primaryComplete, boosted: state.boosted };
}
