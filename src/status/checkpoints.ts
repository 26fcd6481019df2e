// Entrances (场所码 and 数字哨兵): a scan is answered from the person's stored status in one look-up, and
// recorded through a group commit: each request waits until its scan is in a committed COPY, so no
// acknowledged scan is lost, and a busy entrance costs one write per batch, not one per person.
import type { Db } from '../core/db.ts';
import type { PiiKeys } from '../core/pii.ts';
import { idNumberProblem } from '../core/pii.ts';
import type { Preset } from '../core/presets.ts';
import { badRequest, notFound } from '../core/errors.ts';
import { distanceMetres } from '../core/geo.ts';
import { entryDecision, type Colour, type EntryDecision, type EntryRule, type Reason } from './rules.ts';
import { currentStatus } from './store.ts';
import type { DoorIndex } from './door-index.ts';

export interface Venue {
  id: number;
  name: string;
  kind: string;
  districtId: number;
  streetId: number | null;
  lat: number;
  lon: number;
  rule: EntryRule;
}

/** Venues change rarely and every scan needs one: kept for a minute. */
export class VenueCache {
  private venues = new Map<number, { venue: Venue | null; at: number }>();
  constructor(
    private db: Db,
    private preset: Preset,
    private ttlMs = 60_000,
  ) {}

  /** The venue if it is in the cache and fresh (no promise: the hot path of every scan). */
  cached(id: number): Venue | undefined {
    const hit = this.venues.get(id);
    return hit?.venue && Date.now() - hit.at < this.ttlMs ? hit.venue : undefined;
  }

  async get(id: number): Promise<Venue> {
    const hit = this.venues.get(id);
    if (hit && Date.now() - hit.at < this.ttlMs) {
      if (!hit.venue) throw notFound(`Venue ${id}`);
      return hit.venue;
    }
    const [r] = await this.db.query<{ id: number; name: string; kind: string; district_id: number; street_id: number | null; lat: number; lon: number; entry_rule: Partial<EntryRule> | null }>(
      'SELECT id, name, kind, district_id, street_id, lat, lon, entry_rule FROM venues WHERE id = $1',
      [id],
    );
    const venue = r ? { id: r.id, name: r.name, kind: r.kind, districtId: r.district_id, streetId: r.street_id, lat: r.lat, lon: r.lon, rule: { ...this.preset.entry.default, ...(r.entry_rule ?? {}) } } : null;
    if (this.venues.size > 100_000) this.venues.clear();
    this.venues.set(id, { venue, at: Date.now() });
    if (!venue) throw notFound(`Venue ${id}`);
    return venue;
  }

  forget(id: number): void {
    this.venues.delete(id);
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

/** Group commit of scans: requests that arrive while a write is running go into the next one together. */
export class ScanWriter {
  private pending: { scan: ScanRow; done: (e?: Error) => void }[] = [];
  private running = false;
  constructor(private db: Db) {}

  write(scan: ScanRow): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ scan, done: (e) => (e ? reject(e) : resolve()) });
      // Start after the requests already read from the sockets have queued theirs: embedded PGlite runs
      // a statement on this thread, so a write started at once would carry one scan.
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0, 5_000);
        try {
          await this.insert(batch.map((b) => b.scan));
          for (const b of batch) b.done();
        } catch (e) {
          for (const b of batch) b.done(e as Error);
        }
      }
    } finally {
      this.running = false;
    }
  }

  // PGlite: COPY, about half the cost of a multi-row INSERT at a few dozen scans. A PostgreSQL server: one
  // INSERT of column arrays, which spares the COPY protocol's extra round trips.
  private async insert(rows: ScanRow[]): Promise<void> {
    const columns = ['venue_id', 'person_id', 'scanned_at', 'source', 'device_id', 'lat', 'lon', 'distance_m', 'far', 'admitted', 'colour'];
    if (this.db.engine === 'pglite') {
      let text = '';
      for (const s of rows) text += `${s.venueId},${s.personId},${s.scannedAt.toISOString()},${s.source},${s.deviceId ?? ''},${s.lat ?? ''},${s.lon ?? ''},${s.distanceM ?? ''},${s.far},${s.admitted},${s.colour}\n`;
      await this.db.copyCsv('checkins', columns, [text]);
      return;
    }
    const col = <T>(f: (r: ScanRow) => T) => rows.map(f);
    await this.db.query(
      `INSERT INTO checkins (${columns.join(', ')})
       SELECT * FROM unnest($1::int[], $2::int[], $3::timestamptz[], $4::text[], $5::int[], $6::float8[], $7::float8[], $8::real[], $9::bool[], $10::bool[], $11::text[])`,
      [col((r) => r.venueId), col((r) => r.personId), col((r) => r.scannedAt), col((r) => r.source), col((r) => r.deviceId), col((r) => r.lat), col((r) => r.lon), col((r) => r.distanceM), col((r) => r.far), col((r) => r.admitted), col((r) => r.colour)],
    );
  }
}

export interface PersonAtDoor {
  personId: number;
  colour: Colour;
  reasons: Reason[];
  lastSampledAt: Date | null;
  lastNegativeSampledAt: Date | null;
}

/**
 * The person at an entrance, by personal code or ID number, with the stored status and test times in one
 * query. A status whose facts changed since it was stored (or that was due to change) is computed afresh.
 */
export async function personAtDoor(db: Db, pii: PiiKeys, ref: string, preset: Preset, now: Date): Promise<PersonAtDoor> {
  const byId = idNumberProblem(ref) === null;
  const [r] = await db.query<{ id: number; colour: Colour | null; reasons: Reason[] | null; changes_at: Date | null; stale: boolean; last_sampled: Date | null; last_negative: Date | null }>(
    `SELECT p.id, ps.colour, ps.reasons, ps.changes_at,
            EXISTS (SELECT 1 FROM status_stale st WHERE st.person_id = p.id) AS stale,
            (SELECT max(s.sampled_at) FROM samples s WHERE s.person_id = p.id) AS last_sampled,
            (SELECT max(s.sampled_at) FROM samples s JOIN lab_results r ON r.tube_id = s.tube_id AND r.state = 'applied' AND r.verdict = 'negative' WHERE s.person_id = p.id) AS last_negative
       FROM persons p LEFT JOIN person_status ps ON ps.person_id = p.id
      WHERE ${byId ? 'p.id_hash = $1' : 'p.personal_code = $1'}`,
    [byId ? pii.hashId(ref) : ref],
  );
  if (!r) throw notFound(`Person with code or ID number ${ref}`);
  let colour: Colour = r.colour ?? 'green';
  let reasons: Reason[] = r.reasons ?? [];
  if (r.stale || (r.changes_at && new Date(r.changes_at).getTime() <= now.getTime())) {
    const s = await currentStatus(db, r.id, preset, now);
    colour = s.colour;
    reasons = s.reasons;
  }
  return { personId: r.id, colour, reasons, lastSampledAt: r.last_sampled && new Date(r.last_sampled), lastNegativeSampledAt: r.last_negative && new Date(r.last_negative) };
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
  scan: { venueId: number; person: string; source: 'venueCode' | 'sentinel'; deviceId: number | null; gate: 'venue' | 'medicalEmergency'; lat?: number | null; lon?: number | null },
  now: Date,
): Promise<CheckResult & { personId: number; decision: EntryDecision }> {
  const venue = o.venues.cached(scan.venueId) ?? (await o.venues.get(scan.venueId));
  // From memory when the index knows the person and trusts their status; from the database otherwise.
  const person = o.door?.get(scan.person, now) ?? (await personAtDoor(o.db, o.pii, scan.person, o.preset, now));
  const decision = entryDecision({ colour: person.colour }, person, venue.rule, scan.gate, o.preset, now);
  const hasPosition = typeof scan.lat === 'number' && typeof scan.lon === 'number';
  if (hasPosition && (Math.abs(scan.lat!) > 90 || Math.abs(scan.lon!) > 180)) throw badRequest('lat must be within ±90 and lon within ±180.');
  const distanceM = hasPosition ? Math.round(distanceMetres({ lat: scan.lat!, lon: scan.lon! }, venue)) : null;
  // A code scanned far from its venue is still recorded, and flagged: forwarded codes were how people far
  // away were once made to appear at a place (rules.md, failures to design against).
  const far = distanceM !== null && distanceM > o.preset.entry.farScanMetres;
  await o.writer.write({ venueId: venue.id, personId: person.personId, scannedAt: now, source: scan.source, deviceId: scan.deviceId, lat: hasPosition ? scan.lat! : null, lon: hasPosition ? scan.lon! : null, distanceM, far, admitted: decision.admit, colour: person.colour });
  return {
    personId: person.personId,
    decision,
    admit: decision.admit,
    because: far ? [...decision.because, `Scanned ${distanceM} m from the venue: recorded and flagged`] : decision.because,
    colour: person.colour,
    // An override's reason is staff's free text: the door shows only that one is in force.
    reasons: person.reasons.filter((r) => !r.overridden).map((r) => ({ code: r.code, text: r.code === 'override' ? 'Status set by a manual override (approved by a second person)' : r.text, until: r.until })),
    lastNegativeSampledAt: person.lastNegativeSampledAt?.toISOString() ?? null,
    lastSampledAt: person.lastSampledAt?.toISOString() ?? null,
    venue: { id: venue.id, name: venue.name },
    far,
  };
}

/** A person's vaccination as an entrance device shows it (rules.md 26). */
export async function vaccinationOf(db: Db, personId: number): Promise<{ doses: number; lastDoseOn: string | null; fullyVaccinated: boolean; boosted: boolean }> {
  const [r] = await db.query<{ doses: number; last: string | null }>("SELECT count(*)::int AS doses, to_char(max(given_on), 'YYYY-MM-DD') AS last FROM vaccinations WHERE person_id = $1", [personId]);
  return { doses: r.doses, lastDoseOn: r.last, fullyVaccinated: r.doses >= 2, boosted: r.doses >= 3 };
}
