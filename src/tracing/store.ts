// Tracing storage: gathers a case's facts (interview, home, building, scans), runs the rules, and keeps one
// contact record per person with every exposure; quarantine orders and rooms at quarantine sites.
import type { Queryable } from '../core/db.ts';
import type { Preset } from '../core/presets.ts';
import { presetLabel } from '../core/presets.ts';
import { badRequest, conflict, notFound } from '../core/errors.ts';
import { markStatusStale } from '../core/stale.ts';
import { BinaryCopy } from '../core/binary-copy.ts';
import { ownDistrictThenNearest } from '../core/geo.ts';
import { createTasks, type NewTask } from '../core/work.ts';
import { closeContactAsSource, exposuresTo, floorsReached, infectiousWindow, mergeContacts, passedOn, quarantineOrder, secondaryContacts, type CaseFacts, type ContactLevel, type OrderLevel, type QuarantineOrder, type Home, type NamedPerson, type NamedPlace, type PersonExposure, type Resident, type Scan, type Surroundings } from './rules.ts';
import { DAY_MS } from '../core/days.ts';

const MINUTE = 60_000;

export interface InterviewInput {
  symptomatic: boolean;
  onsetAt?: string | null;
  sampledAt?: string | null;
  isolatedAt?: string | null;
  places?: { venueId?: number | null; place: string; from: string; to: string }[];
  persons?: { personId?: number | null; name: string; relation?: string; lastContactAt: string }[];
  notes?: string | null;
}

/** Records (or replaces) the investigator's interview of a case. */
export async function recordInterview(q: Queryable, casePersonId: number, i: InterviewInput, by: string, now: Date): Promise<void> {
  const finding = await latestFinding(q, casePersonId);
  const sampledAt = i.sampledAt ?? finding?.sampled_at?.toISOString();
  if (!sampledAt) throw badRequest('sampledAt is needed: this person has no positive result on record.', { code: 'sampledAtNeeded' });
  if (i.symptomatic && !i.onsetAt) throw badRequest('onsetAt is needed for a symptomatic case (the look-back counts from onset).', { code: 'onsetNeeded' });
  for (const pl of i.places ?? []) if (!(Date.parse(pl.from) <= Date.parse(pl.to))) throw badRequest(`Place "${pl.place}": from must be before to.`, { code: 'placeTimesReversed', place: pl.place });
  // A mistyped id would make a contact of nobody: every named person and venue must exist.
  const personIds = (i.persons ?? []).map((p) => p.personId).filter((x): x is number => !!x);
  const venueIds = (i.places ?? []).map((p) => p.venueId).filter((x): x is number => !!x);
  const knownPersons = new Set((await q.query<{ id: number }>('SELECT id FROM persons WHERE id = ANY($1)', [personIds])).map((r) => r.id));
  const knownVenues = new Set((await q.query<{ id: number }>('SELECT id FROM venues WHERE id = ANY($1)', [venueIds])).map((r) => r.id));
  const persons = personIds.filter((x) => !knownPersons.has(x));
  const venues = venueIds.filter((x) => !knownVenues.has(x));
  if (persons.length || venues.length) {
    const unknown = [...persons.map((x) => `person ${x}`), ...venues.map((x) => `venue ${x}`)];
    throw badRequest(`No such ${unknown.join(', ')}: nothing was recorded.`, persons.length ? { code: 'personsUnknown', persons: persons.join(', ') } : { code: 'venuesUnknown', venues: venues.join(', ') });
  }
  await q.query(
    `INSERT INTO interviews (case_person_id, symptomatic, onset_at, sampled_at, isolated_at, places, persons, notes, recorded_by, recorded_at, reported_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
     ON CONFLICT (case_person_id) DO UPDATE SET symptomatic = EXCLUDED.symptomatic, onset_at = EXCLUDED.onset_at, sampled_at = EXCLUDED.sampled_at,
       isolated_at = EXCLUDED.isolated_at, places = EXCLUDED.places, persons = EXCLUDED.persons, notes = EXCLUDED.notes, recorded_by = EXCLUDED.recorded_by, recorded_at = EXCLUDED.recorded_at`,
    [casePersonId, i.symptomatic, i.onsetAt ?? null, sampledAt, i.isolatedAt ?? finding?.resulted_at ?? null, JSON.stringify(i.places ?? []), JSON.stringify(i.persons ?? []), i.notes ?? null, by, now, finding?.resulted_at ?? now],
  );
}

async function latestFinding(q: Queryable, personId: number) {
  const [f] = await q.query<{ sampled_at: Date; resulted_at: Date }>(
    `SELECT f.sampled_at, f.resulted_at FROM positive_findings f JOIN lab_results r ON r.id = f.result_id AND r.state = 'applied' WHERE f.person_id = $1 ORDER BY f.resulted_at DESC LIMIT 1`,
    [personId],
  );
  return f ?? null;
}

/** A case's facts: the interview when there is one; otherwise the positive result (asymptomatic, isolated when resulted). */
export async function caseFacts(q: Queryable, casePersonId: number): Promise<CaseRecord> {
  return (await casesFacts(q, [casePersonId]))[0];
}

interface CaseRecord {
  facts: CaseFacts;
  places: InterviewInput['places'];
  persons: InterviewInput['persons'];
  reportedAt: Date;
}

/** The facts of many cases at once, in the order asked; a case with neither interview nor positive result is not found. */
async function casesFacts(q: Queryable, casePersonIds: number[]): Promise<CaseRecord[]> {
  const rows = await q.query<{ id: number; interviewed: boolean; symptomatic: boolean | null; onset_at: Date | null; sampled_at: Date | null; isolated_at: Date | null; places: InterviewInput['places'] | null; persons: InterviewInput['persons'] | null; reported_at: Date | null; household_id: number | null; building_id: number | null; floor: number | null; shared_facilities: boolean | null }>(
    `SELECT c.id, i.case_person_id IS NOT NULL AS interviewed, i.symptomatic, i.onset_at,
            coalesce(i.sampled_at, f.sampled_at) AS sampled_at, CASE WHEN i.case_person_id IS NULL THEN f.resulted_at ELSE i.isolated_at END AS isolated_at,
            i.places, i.persons, coalesce(i.reported_at, f.resulted_at) AS reported_at,
            h.id AS household_id, h.building_id, h.floor, h.shared_facilities
       FROM unnest($1::int[]) WITH ORDINALITY AS c(id, n)
       LEFT JOIN interviews i ON i.case_person_id = c.id
       LEFT JOIN LATERAL (SELECT f.sampled_at, f.resulted_at FROM positive_findings f JOIN lab_results r ON r.id = f.result_id AND r.state = 'applied'
                           WHERE f.person_id = c.id AND i.case_person_id IS NULL ORDER BY f.resulted_at DESC LIMIT 1) f ON true
       LEFT JOIN persons p ON p.id = c.id LEFT JOIN households h ON h.id = p.household_id
      ORDER BY c.n`,
    [casePersonIds],
  );
  return rows.map((r) => {
    if (!r.sampled_at) throw notFound(`Case ${r.id} (no positive result and no interview on record)`, { code: 'caseWithoutFinding', personId: r.id });
    return {
      facts: {
        personId: r.id,
        symptomatic: r.interviewed ? !!r.symptomatic : false,
        onsetAt: r.onset_at ? new Date(r.onset_at) : null,
        sampledAt: new Date(r.sampled_at),
        isolatedAt: r.isolated_at ? new Date(r.isolated_at) : null,
        home: r.household_id !== null ? { householdId: r.household_id, buildingId: r.building_id!, floor: r.floor!, sharedFacilities: r.shared_facilities! } : null,
      },
      places: r.places ?? [],
      persons: r.persons ?? [],
      reportedAt: new Date(r.reported_at!),
    };
  });
}

/** The residents of each home's building on the floors its case can reach (rules.ts floorsReached), per home. */
async function residentsNear(q: Queryable, homes: Home[]): Promise<Resident[][]> {
  // Homes on the same floors of the same building share one answer (a case and their household).
  const keys = new Map<string, number>();
  const ranges: { buildingId: number; from: number; to: number }[] = [];
  const which = homes.map((h) => {
    const { from, to } = floorsReached(h);
    const key = `${h.buildingId},${from},${to}`;
    if (!keys.has(key)) keys.set(key, ranges.push({ buildingId: h.buildingId, from, to }) - 1);
    return keys.get(key)!;
  });
  const found: Resident[][] = ranges.map(() => []);
  if (ranges.length) {
    // One text value (range,person,household,building,floor,shared;...): reading it is far cheaper than as many rows.
    const [{ r }] = await q.query<{ r: string | null }>(
      `SELECT string_agg(b.k || ',' || p.id || ',' || h.id || ',' || h.building_id || ',' || h.floor || ',' || h.shared_facilities::int, ';' ORDER BY b.k, p.id) AS r
         FROM unnest($1::int[], $2::int[], $3::int[]) WITH ORDINALITY AS b(building_id, f0, f1, k)
         JOIN households h ON h.building_id = b.building_id AND h.floor >= b.f0 AND h.floor <= b.f1
         JOIN persons p ON p.household_id = h.id`,
      [ranges.map((x) => x.buildingId), ranges.map((x) => x.from), ranges.map((x) => x.to)],
    );
    for (const row of r ? r.split(';') : []) {
      const [k, personId, householdId, buildingId, floor, shared] = row.split(',').map(Number);
      found[k - 1].push({ personId, householdId, buildingId, floor, sharedFacilities: shared === 1 });
    }
  }
  return which.map((k) => found[k]);
}

/** Whose surroundings to read: a person, their infectious window, and the places they named. */
interface Subject {
  personId: number;
  from: Date;
  to: Date;
  namedPlaces: NamedPlace[];
}

/**
 * For each subject, their own scans in their window, and everyone's scans at those venues (and at the places
 * they named) within `windowMs` of them: one call for all subjects of scans_around (migrations/018), one index
 * range per visit on (person_id, scanned_at) and on (venue_id, scanned_at, person_id), each answer as one text value.
 */
async function scansAround(q: Queryable, subjects: Subject[], windowMs: number): Promise<{ own: Scan[]; others: Scan[] }[]> {
  const out = subjects.map(() => ({ own: [] as Scan[], others: [] as Scan[] }));
  if (!subjects.length) return out;
  const named = subjects.flatMap((s, i) => s.namedPlaces.map((n) => ({ i, ...n })));
  const [{ own, others }] = await q.query<{ own: string | null; others: string | null }>(
    'SELECT own, others FROM scans_around($1, $2, $3, $4, $5, $6, $7, $8, $9)',
    [subjects.map((_, i) => i), subjects.map((s) => s.personId), subjects.map((s) => s.from), subjects.map((s) => s.to), named.map((n) => n.i), named.map((n) => n.venueId), named.map((n) => n.from), named.map((n) => n.to), windowMs],
  );
  for (const row of own ? own.split(';') : []) {
    const [i, venueId, ms] = row.split(',').map(Number);
    out[i].own.push({ personId: subjects[i].personId, venueId, at: new Date(ms) });
  }
  for (const row of others ? others.split(';') : []) {
    const [i, personId, venueId, ms] = row.split(',').map(Number);
    out[i].others.push({ personId, venueId, at: new Date(ms) });
  }
  return out;
}

/** Each subject's surroundings: residents of their building, their scans and the scans around them. */
async function surroundings(q: Queryable, subjects: (Subject & { home: CaseFacts['home']; namedPersons: NamedPerson[] })[], preset: Preset): Promise<Surroundings[]> {
  const homes = subjects.flatMap((s) => (s.home ? [s.home] : []));
  const near = await residentsNear(q, homes);
  const residents = new Map(homes.map((h, i) => [h, near[i]]));
  const scans = await scansAround(q, subjects, preset.contacts.colocationWindowMinutes * MINUTE);
  return subjects.map((s, i) => ({ residents: s.home ? residents.get(s.home)! : [], own: scans[i].own, others: scans[i].others, namedPlaces: s.namedPlaces, namedPersons: s.namedPersons }));
}

/**
 * Finds every exposure of each case (close, then the secondary contacts of each close contact), reading and
 * writing nothing else: a few statements for all the cases together, the rules (rules.ts) applied to each
 * case alone. The result is the cases' exposures in the order asked.
 */
export async function findExposures(q: Queryable, casePersonIds: number[], preset: Preset, now: Date): Promise<PersonExposure[][]> {
  if (!casePersonIds.length) return [];
  const cases = await casesFacts(q, casePersonIds);
  const around = await surroundings(
    q,
    cases.map((c) => {
      const { from, to } = infectiousWindow(c.facts, preset, now);
      const namedPlaces = (c.places ?? []).filter((p) => p.venueId).map((p) => ({ venueId: p.venueId!, from: new Date(p.from), to: new Date(p.to) }));
      const namedPersons = (c.persons ?? []).filter((p) => p.personId).map((p) => ({ personId: p.personId!, name: p.name, relation: p.relation, lastContactAt: new Date(p.lastContactAt) }));
      return { personId: c.facts.personId, from, to, home: c.facts.home, namedPlaces, namedPersons };
    }),
    preset,
  );
  const first = cases.map((c, i) => exposuresTo(c.facts, around[i], preset, now));
  // The close contacts of every case, then their own facts: isolated by their first quarantine order.
  const close = first.map((f) => mergeContacts(f).filter((x) => x.level === 'close'));
  const ccIds = [...new Set(close.flat().map((cc) => cc.personId))];
  const ccRows = ccIds.length
    ? await q.query<{ id: number; issued_at: Date | null; household_id: number | null; building_id: number | null; floor: number | null; shared_facilities: boolean | null }>(
        `SELECT c.id, (SELECT o.issued_at FROM quarantine_orders o WHERE o.person_id = c.id ORDER BY o.issued_at LIMIT 1) AS issued_at,
                h.id AS household_id, h.building_id, h.floor, h.shared_facilities
           FROM unnest($1::int[]) AS c(id) LEFT JOIN persons p ON p.id = c.id LEFT JOIN households h ON h.id = p.household_id`,
        [ccIds],
      )
    : [];
  const ccFacts = new Map(ccRows.map((r) => [r.id, { isolatedAt: r.issued_at ? new Date(r.issued_at) : null, home: r.household_id !== null ? { householdId: r.household_id, buildingId: r.building_id!, floor: r.floor!, sharedFacilities: r.shared_facilities! } : null }]));
  const sources = close.flatMap((ccs, i) =>
    ccs.map((cc) => {
      const f = ccFacts.get(cc.personId)!;
      return { caseIndex: i, cc, isolatedAt: f.isolatedAt, facts: closeContactAsSource(cc, f.isolatedAt, f.home, preset) };
    }),
  );
  const theirs = await surroundings(
    q,
    sources.map((s) => ({ personId: s.cc.personId, ...infectiousWindow(s.facts, preset, now), home: s.facts.home, namedPlaces: [], namedPersons: [] })),
    preset,
  );
  const all = first.map((f) => [...f]);
  sources.forEach((s, k) => {
    const caseId = cases[s.caseIndex].facts.personId;
    all[s.caseIndex].push(...secondaryContacts(s.cc, s.isolatedAt, passedOn(exposuresTo(s.facts, theirs[k], preset, now)), now).filter((x) => x.personId !== caseId));
  });
  return all;
}

/** Exposures a statement writes: the arrays bound as parameters stay small whatever the batch. */
const EXPOSURES_A_STATEMENT = 5_000;

/**
 * Records each case's exposures once (a repeated exposure, the same person, source, kind and time, keeps the
 * first record), in the order given, and brings the contact record of every person reached up to date; all of
 * them are told their status may have changed. Household exposures and persons the case named stand
 * confirmed; the rest are candidates for the investigator.
 */
export async function recordExposures(q: Queryable, traced: { casePersonId: number; exposures: PersonExposure[] }[], now: Date): Promise<void> {
  const rows = traced.flatMap(({ casePersonId, exposures }) => exposures.map((e) => ({ casePersonId, e })));
  // On a PostgreSQL server another transaction may record the same exposure meanwhile, hence ON CONFLICT (PGlite:
  // copyExposures). The exposures go in as column arrays, in the order given (WITH ORDINALITY), straight into the
  // INSERT: no scratch table to create, fill by COPY and empty again (its catalog writes cost a few ms a call on PGlite).
  // Reading the values is most of an insert's cost on PGlite, so they travel in the cheapest forms: the few
  // distinct words (kind, level, rule, state) once, by number; times as epoch milliseconds; the evidence as
  // one JSON array rather than an array of JSON texts (700 exposures: 7 ms instead of 10, .prof measurements).
  // The contact records follow from what was inserted: a record holds the highest level, the first and the
  // last of its person's exposures that are not dismissed (rebuildContacts keeps it so on every decision),
  // and new exposures are never dismissed, so each record merges with the new ones alone.
  for (let i = 0; i < rows.length; i += EXPOSURES_A_STATEMENT) {
    const part = rows.slice(i, i + EXPOSURES_A_STATEMENT);
    if (q.engine === 'pglite') {
      await copyExposures(q, part, now);
      continue;
    }
    const words: string[] = [];
    const numbers = new Map<string, number>();
    const word = (w: string) => numbers.get(w) ?? (numbers.set(w, words.push(w)), words.length);
    await q.query(
      `WITH added AS (
         INSERT INTO contact_exposures (person_id, source_person_id, case_person_id, kind, level, exposed_at, evidence, rule, state)
         SELECT person_id, source_person_id, case_person_id, ($10::text[])[kind], ($10::text[])[level], timestamptz 'epoch' + at * interval '1 millisecond',
                evidence, ($10::text[])[rule], ($10::text[])[state]
           FROM ROWS FROM (unnest($1::int[]), unnest($2::int[]), unnest($3::int[]), unnest($4::int[]), unnest($5::int[]), unnest($6::int8[]),
                           jsonb_array_elements($7::jsonb), unnest($8::int[]), unnest($9::int[]))
                WITH ORDINALITY AS x(person_id, source_person_id, case_person_id, kind, level, at, evidence, rule, state, seq)
          ORDER BY seq
         ON CONFLICT (person_id, source_person_id, kind, exposed_at) DO NOTHING
         RETURNING person_id, level, exposed_at)
       INSERT INTO contacts AS c (person_id, level, first_exposure_at, last_exposure_at, found_at, updated_at)
       SELECT person_id, CASE WHEN bool_or(level = 'close') THEN 'close' ELSE 'secondary' END, min(exposed_at), max(exposed_at), $11, $11 FROM added GROUP BY person_id
       ON CONFLICT (person_id) DO UPDATE SET level = CASE WHEN c.level = 'close' OR EXCLUDED.level = 'close' THEN 'close' ELSE 'secondary' END,
         first_exposure_at = least(c.first_exposure_at, EXCLUDED.first_exposure_at), last_exposure_at = greatest(c.last_exposure_at, EXCLUDED.last_exposure_at), updated_at = $11`,
      [
        part.map((r) => r.e.personId),
        part.map((r) => r.e.exposure.sourcePersonId),
        part.map((r) => r.casePersonId),
        part.map((r) => word(r.e.exposure.kind)),
        part.map((r) => word(r.e.exposure.level)),
        part.map((r) => r.e.exposure.at.getTime()),
        JSON.stringify(part.map((r) => r.e.exposure.evidence)),
        part.map((r) => word(r.e.exposure.rule)),
        part.map((r) => word(stateOf(r.e))),
        words,
        now,
      ],
    );
  }
  await markStatusStale(q, rows.map((r) => r.e.personId), now);
}

type ExposureRow = { casePersonId: number; e: PersonExposure };
const stateOf = (e: PersonExposure) => (e.exposure.kind === 'household' || e.exposure.kind === 'interview' ? 'confirmed' : 'candidate');

const EXPOSURE_COLUMNS = ['person_id', 'source_person_id', 'case_person_id', 'kind', 'level', 'exposed_at', 'evidence', 'rule', 'state'];
const CONTACT_COLUMNS = ['person_id', 'level', 'first_exposure_at', 'last_exposure_at', 'found_at', 'updated_at'];

/**
 * PGlite: no other transaction can record an exposure between a read and a write of this one, so the same
 * result as the INSERT ... ON CONFLICT comes cheaper: one read of the exposures and contact records that exist, then
 * the new exposures and the new records by binary COPY (no speculative insertion, no text to parse but the
 * evidence), and the existing records updated, in the same order.
 */
async function copyExposures(q: Queryable, part: ExposureRow[], now: Date): Promise<void> {
  // The exposures recorded so far of the persons reached, and which of them have a contact record: an index
  // range a person, each answer as one text value (far cheaper to read than as many rows).
  const persons = [...new Set(part.map((r) => r.e.personId))];
  const [{ old, known }] = await q.query<{ old: string | null; known: string | null }>(
    `SELECT (SELECT string_agg(person_id || ',' || source_person_id || ',' || kind || ',' || floor(extract(epoch FROM exposed_at) * 1000), ';')
               FROM contact_exposures WHERE person_id = ANY($1::int[])) AS old,
            (SELECT string_agg(person_id::text, ',') FROM contacts WHERE person_id = ANY($1::int[])) AS known`,
    [persons],
  );
  // Each person's exposures, recorded and new: a repeated one is left out, as ON CONFLICT keeps the first.
  const seen = new Map<number, { sourcePersonId: number; kind: string; ms: number }[]>();
  const isNew = (personId: number, x: { sourcePersonId: number; kind: string; ms: number }) => {
    const mine = seen.get(personId);
    if (!mine) return !!seen.set(personId, [x]);
    return !mine.some((y) => y.sourcePersonId === x.sourcePersonId && y.kind === x.kind && y.ms === x.ms) && !!mine.push(x);
  };
  for (const row of old ? old.split(';') : []) {
    const [personId, sourcePersonId, kind, ms] = row.split(',');
    isNew(Number(personId), { sourcePersonId: Number(sourcePersonId), kind, ms: Number(ms) });
  }
  const added = part.filter(({ e }) => isNew(e.personId, { sourcePersonId: e.exposure.sourcePersonId, kind: e.exposure.kind, ms: e.exposure.at.getTime() }));
  if (!added.length) return;
  const file = new BinaryCopy(added.length * 320);
  for (const r of added) {
    const x = r.e.exposure;
    file.tuple(EXPOSURE_COLUMNS.length).int4(r.e.personId).int4(x.sourcePersonId).int4(r.casePersonId).word(x.kind).word(x.level).time(x.at.getTime()).jsonb(JSON.stringify(x.evidence)).word(x.rule).word(stateOf(r.e));
  }
  await q.copyBinary('contact_exposures', EXPOSURE_COLUMNS, file.done());
  // Each person's new exposures merged (as the INSERT does): the records that exist updated, the others new.
  const merged = new Map<number, { close: boolean; first: number; last: number }>();
  for (const { e } of added) {
    const ms = e.exposure.at.getTime();
    const m = merged.get(e.personId);
    if (!m) merged.set(e.personId, { close: e.exposure.level === 'close', first: ms, last: ms });
    else {
      m.close ||= e.exposure.level === 'close';
      m.first = Math.min(m.first, ms);
      m.last = Math.max(m.last, ms);
    }
  }
  const existing = new Set(known ? known.split(',').map(Number) : []);
  const update = [...merged].filter(([personId]) => existing.has(personId));
  if (update.length)
    await q.query(
      `UPDATE contacts c SET level = CASE WHEN c.level = 'close' OR x.close THEN 'close' ELSE 'secondary' END,
              first_exposure_at = least(c.first_exposure_at, timestamptz 'epoch' + x.first * interval '1 millisecond'),
              last_exposure_at = greatest(c.last_exposure_at, timestamptz 'epoch' + x.last * interval '1 millisecond'), updated_at = $5
         FROM unnest($1::int[], $2::bool[], $3::int8[], $4::int8[]) AS x(person_id, close, first, last) WHERE c.person_id = x.person_id`,
      [update.map(([p]) => p), update.map(([, m]) => m.close), update.map(([, m]) => m.first), update.map(([, m]) => m.last), now],
    );
  if (update.length === merged.size) return;
  const records = new BinaryCopy(merged.size * 80);
  for (const [personId, m] of merged) if (!existing.has(personId)) records.tuple(CONTACT_COLUMNS.length).int4(personId).word(m.close ? 'close' : 'secondary').time(m.first).time(m.last).time(now.getTime()).time(now.getTime());
  await q.copyBinary('contacts', CONTACT_COLUMNS, records.done());
}

/**
 * Finds the contacts of a case (close, then the secondary contacts of each close contact), records every
 * exposure once, and rebuilds the contact record of each person reached. Household exposures and persons
 * the case named stand confirmed; the rest are candidates for the investigator to confirm or dismiss.
 */
export async function traceCase(q: Queryable, casePersonId: number, preset: Preset, now: Date): Promise<{ close: number; secondary: number; exposures: number }> {
  return (await traceCases(q, [casePersonId], preset, now))[0];
}

/**
 * Traces many cases in one go (a batch of positives), with the same result as tracing them one by one in
 * the order given: each case's exposures are found alone, and recorded in that order.
 */
export async function traceCases(q: Queryable, casePersonIds: number[], preset: Preset, now: Date): Promise<{ casePersonId: number; close: number; secondary: number; exposures: number }[]> {
  const found = await findExposures(q, casePersonIds, preset, now);
  await recordExposures(q, found.map((exposures, i) => ({ casePersonId: casePersonIds[i], exposures })), now);
  return found.map((all, i) => {
    const levels = mergeContacts(all);
    return { casePersonId: casePersonIds[i], close: levels.filter((x) => x.level === 'close').length, secondary: levels.filter((x) => x.level === 'secondary').length, exposures: all.length };
  });
}

/** One record per person from their exposures that are not dismissed; status is told their facts changed. */
export async function rebuildContacts(q: Queryable, personIds: number[], now: Date): Promise<void> {
  if (!personIds.length) return;
  // Each person's exposures through the (person_id) index whatever the table statistics say (PGlite has no
  // autovacuum); one who has only dismissed exposures left is no longer a contact.
  await q.query(
    `WITH agg AS MATERIALIZED (
       SELECT p.id AS person_id, a.close, a.first_at, a.last_at FROM unnest($1::int[]) AS p(id)
        CROSS JOIN LATERAL (SELECT bool_or(e.level = 'close') AS close, min(e.exposed_at) AS first_at, max(e.exposed_at) AS last_at
                              FROM contact_exposures e WHERE e.person_id = p.id AND e.state <> 'dismissed') a),
     up AS (
       INSERT INTO contacts (person_id, level, first_exposure_at, last_exposure_at, found_at, updated_at)
       SELECT person_id, CASE WHEN close THEN 'close' ELSE 'secondary' END, first_at, last_at, $2, $2 FROM agg WHERE first_at IS NOT NULL
       ON CONFLICT (person_id) DO UPDATE SET level = EXCLUDED.level, first_exposure_at = EXCLUDED.first_exposure_at, last_exposure_at = EXCLUDED.last_exposure_at, updated_at = $2)
     DELETE FROM contacts WHERE person_id = ANY(ARRAY(SELECT person_id FROM agg WHERE first_at IS NULL))`,
    [[...new Set(personIds)], now],
  );
  await markStatusStale(q, personIds, now);
}

/** The investigator's decision on an exposure found automatically. */
export async function decideExposure(q: Queryable, exposureId: number, decision: 'confirmed' | 'dismissed', by: string, now: Date): Promise<{ personId: number }> {
  const [e] = await q.query<{ person_id: number; state: string }>('UPDATE contact_exposures SET state = $2, decided_by = $3, decided_at = $4 WHERE id = $1 RETURNING person_id, state', [exposureId, decision, by, now]);
  if (!e) throw notFound(`Exposure ${exposureId}`, { code: 'exposureUnknown', exposureId });
  await rebuildContacts(q, [e.person_id], now);
  return { personId: e.person_id };
}

export interface OrderRow {
  id: number;
  personId: number;
  level: ContactLevel;
  lastExposureAt: string;
  centralUntil: string | null;
  homeUntil: string | null;
  endsAt: string;
  tests: { day: number; at: string; where: string }[];
}

/**
 * Orders for the confirmed contacts of a case that have none in force, from the preset; a secondary contact
 * whose record is now close gets a close order in place of the old one (upgrade, rules.md 9), and an
 * arrival's order that would end sooner gives way to the contact's.
 */
export async function issueOrders(q: Queryable, casePersonId: number, preset: Preset, by: string, now: Date): Promise<{ issued: number; upgraded: number }> {
  if (q.engine === 'pg') await holdOrdersOf(q, (await q.query<{ person_id: number }>("SELECT DISTINCT person_id FROM contact_exposures WHERE case_person_id = $1 AND state = 'confirmed'", [casePersonId])).map((r) => r.person_id));
  const rows = await q.query<{ person_id: number; level: ContactLevel; last_exposure_at: Date; open_id: number | null; open_level: OrderLevel | null; open_ends_at: Date | null }>(
    `SELECT c.person_id, c.level, c.last_exposure_at, o.id AS open_id, o.level AS open_level, o.ends_at AS open_ends_at
       FROM contacts c LEFT JOIN quarantine_orders o ON o.person_id = c.person_id AND o.released_at IS NULL AND o.superseded_by IS NULL
      WHERE c.person_id IN (SELECT person_id FROM contact_exposures WHERE case_person_id = $1 AND state = 'confirmed')`,
    [casePersonId],
  );
  let issued = 0;
  let upgraded = 0;
  const locate: Locate[] = [];
  for (const r of rows) {
    const o = quarantineOrder(r.level, new Date(r.last_exposure_at), preset);
    const upgrade = r.open_id !== null && r.open_level === 'secondary' && r.level === 'close' && preset.quarantine.secondary.upgradeToCloseIfContactPositive;
    const outlasts = r.open_id !== null && r.open_level !== 'close' && r.open_level !== 'secondary' && o.endsAt.getTime() > new Date(r.open_ends_at!).getTime();
    if (r.open_id !== null && !upgrade && !outlasts) continue;
    const id = await writeOrder(q, Number(r.person_id), o, new Date(r.last_exposure_at), r.open_id === null ? null : Number(r.open_id), preset, by, now);
    if (upgrade) upgraded++;
    else issued++;
    if (o.centralUntil) locate.push({ personId: Number(r.person_id), orderId: id, who: `${r.level} contact`, source: { casePersonId } });
  }
  await locateTasks(q, locate, preset, by, now);
  await markStatusStale(q, rows.map((r) => r.person_id), now);
  return { issued, upgraded };
}

/**
 * Holds the persons' orders until the caller commits: one order in force a person, and two writers that both
 * found none in force would both write one (a PostgreSQL server; PGlite runs one transaction at a time).
 * Rows in order of id, so that two holders of several never wait for each other.
 */
export async function holdOrdersOf(q: Queryable, personIds: number[]): Promise<void> {
  if (q.engine === 'pg' && personIds.length) await q.query('SELECT id FROM persons WHERE id = ANY($1::int[]) ORDER BY id FOR NO KEY UPDATE', [personIds]);
}

/**
 * Writes an order for a person, in place of the order in force `supersedes` (its id) when given: one order
 * in force a person, so the old one steps aside first, then names its successor. A central order takes a
 * place in the transfer queue until a room is found (a person already waiting keeps their place).
 */
export async function writeOrder(q: Queryable, personId: number, o: QuarantineOrder, from: Date, supersedes: number | null, preset: Preset, by: string, now: Date): Promise<number> {
  if (supersedes !== null) await q.query('UPDATE quarantine_orders SET superseded_by = 0 WHERE id = $1', [supersedes]);
  const [n] = await q.query<{ id: number }>(
    `INSERT INTO quarantine_orders (person_id, level, last_exposure_at, central_until, home_until, ends_at, tests, rule, preset, issued_by, issued_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) RETURNING id`,
    [personId, o.level, from, o.centralUntil, o.homeUntil, o.endsAt, JSON.stringify(o.tests), o.rule, presetLabel(preset), by, now],
  );
  if (supersedes !== null) await q.query('UPDATE quarantine_orders SET superseded_by = $2 WHERE id = $1', [supersedes, n.id]);
  if (o.centralUntil) {
    await q.query(
      `INSERT INTO quarantine_placements (person_id, order_id, waiting_since, household_id)
       SELECT $1, $2, $3, household_id FROM persons WHERE id = $1 ON CONFLICT DO NOTHING`,
      [personId, n.id, now],
    );
  }
  return Number(n.id);
}

/** A person with a central order, for their street to find: who they are (for the task's title), and what the task names. */
export interface Locate {
  personId: number;
  orderId: number;
  who: string;
  source: Record<string, unknown>;
}

/** A task for each person's street to locate them and take them to central quarantine. */
export async function locateTasks(q: Queryable, locate: Locate[], preset: Preset, by: string, now: Date): Promise<void> {
  if (!locate.length) return;
  const homes = new Map((await q.query<{ id: number; district_id: number | null; street_id: number | null }>('SELECT id, district_id, street_id FROM persons WHERE id = ANY($1)', [locate.map((l) => l.personId)])).map((p) => [Number(p.id), p]));
  const tasks: NewTask[] = locate.map((l) => ({
    kind: 'locate',
    title: `Locate ${l.who} (person ${l.personId}) and take them to central quarantine`,
    districtId: homes.get(l.personId)?.district_id ?? null,
    streetId: homes.get(l.personId)?.street_id ?? null,
    personIds: [l.personId],
    dueAt: new Date(now.getTime() + preset.command.taskDeadlineHours.locate * 3_600_000),
    source: { orderId: l.orderId, personId: l.personId, ...l.source, rule: 'command.taskDeadlineHours.locate' },
    dedupeKey: `locate:${l.orderId}`,
  }));
  await createTasks(q, tasks, now, by);
}

/** Tests of an order due by now without a sample in the day after their date. */
export async function overdueTests(q: Queryable, orderId: number, now: Date): Promise<{ day: number; at: string }[]> {
  const [o] = await q.query<{ person_id: number; tests: { day: number; at: string }[] }>('SELECT person_id, tests FROM quarantine_orders WHERE id = $1', [orderId]);
  if (!o) throw notFound(`Order ${orderId}`, { code: 'orderUnknown', orderId });
  const samples = (await q.query<{ sampled_at: Date }>('SELECT sampled_at FROM samples WHERE person_id = $1', [o.person_id])).map((s) => new Date(s.sampled_at).getTime());
  return o.tests.filter((t) => {
    const due = Date.parse(t.at);
    return due + DAY_MS <= now.getTime() && !samples.some((s) => s >= due && s < due + DAY_MS);
  });
}

/** Release at the end of the order, only with a negative result for every test day (rules.md 8-9). */
export async function releaseOrder(q: Queryable, orderId: number, by: string, now: Date): Promise<void> {
  const [o] = await q.query<{ person_id: number; ends_at: Date; tests: { day: number; at: string }[]; released_at: Date | null }>('SELECT person_id, ends_at, tests, released_at FROM quarantine_orders WHERE id = $1 FOR UPDATE', [orderId]);
  if (!o) throw notFound(`Order ${orderId}`, { code: 'orderUnknown', orderId });
  if (o.released_at) throw conflict(`Order ${orderId} was already released.`, { code: 'orderReleased', orderId });
  if (new Date(o.ends_at).getTime() > now.getTime()) throw conflict(`Order ${orderId} runs until ${new Date(o.ends_at).toISOString()}.`, { code: 'orderRunning', orderId, endsAt: new Date(o.ends_at).toISOString() });
  const negatives = (
    await q.query<{ sampled_at: Date }>(`SELECT s.sampled_at FROM samples s JOIN lab_results r ON r.tube_id = s.tube_id AND r.state = 'applied' AND r.verdict = 'negative' WHERE s.person_id = $1`, [o.person_id])
  ).map((s) => new Date(s.sampled_at).getTime());
  const missing = o.tests.filter((t) => !negatives.some((s) => s >= Date.parse(t.at) && s < Date.parse(t.at) + DAY_MS));
  if (missing.length) throw conflict(`Not released: no negative result for test day(s) ${missing.map((t) => t.day).join(', ')}.`, { missing });
  await q.query('UPDATE quarantine_orders SET released_at = $2, released_by = $3 WHERE id = $1', [orderId, now, by]);
  await q.query('UPDATE quarantine_placements SET left_at = $2 WHERE person_id = $1 AND left_at IS NULL', [o.person_id, now]);
  await markStatusStale(q, [o.person_id], now);
}

/**
 * Rooms for the transfer queue, oldest first, a household at a time and never split: a quarantine site of
 * the household's own district with rooms for all of them, else the nearest site with rooms (全市一盘棋).
 * One room a person. Returns how many were placed and how many still wait.
 */
export async function allocateRooms(q: Queryable, now: Date): Promise<{ placed: number; waiting: number }> {
  const waiting = await q.query<{ id: number; person_id: number; order_id: number; household_id: number | null; waiting_since: Date; district_id: number | null; lon: number | null; lat: number | null }>(
    `SELECT w.id, w.person_id, w.order_id, w.household_id, w.waiting_since, p.district_id, c.centroid_lon AS lon, c.centroid_lat AS lat
       FROM quarantine_placements w JOIN persons p ON p.id = w.person_id LEFT JOIN compounds c ON c.id = p.compound_id
      WHERE w.placed_at IS NULL AND w.left_at IS NULL ORDER BY w.waiting_since, w.household_id, w.person_id FOR UPDATE OF w`,
  );
  const sites = await q.query<{ id: number; district_id: number; lon: number; lat: number; rooms: number; used: number }>(
    `SELECT f.id, f.district_id, f.lon, f.lat, f.rooms,
            (SELECT count(*)::int FROM quarantine_placements x WHERE x.facility_id = f.id AND x.placed_at IS NOT NULL AND x.left_at IS NULL) AS used
       FROM facilities f WHERE f.kind = 'quarantineSite' FOR UPDATE OF f`,
  );
  const groups = new Map<string, typeof waiting>();
  for (const w of waiting) {
    const key = w.household_id ? `h${w.household_id}` : `p${w.person_id}`;
    groups.set(key, [...(groups.get(key) ?? []), w]);
  }
  let placed = 0;
  let left = 0;
  for (const members of groups.values()) {
    const m = members[0];
    const free = sites.filter((s) => s.rooms - s.used >= members.length).map((s) => ({ ...s, districtId: s.district_id }));
    const site = ownDistrictThenNearest(free, { districtId: m.district_id, lon: m.lon, lat: m.lat })[0];
    if (!site) {
      left += members.length;
      continue;
    }
    sites.find((s) => s.id === site.id)!.used += members.length;
    await q.query('UPDATE quarantine_placements SET facility_id = $2, placed_at = $3 WHERE id = ANY($1)', [members.map((x) => x.id), site.id, now]);
    await q.query(`UPDATE tasks SET status = 'done', done_at = $2, updated_at = $2 WHERE dedupe_key = ANY($1) AND status IN ('open', 'accepted')`, [members.map((x) => `locate:${x.order_id}`), now]);
    placed += members.length;
  }
  return { placed, waiting: left };
}

/**
 * 四早: per district and local day of the case report, the close contacts and how many were in quarantine
 * within 24 hours (ordered, and placed in a room when the order is central).
 */
export async function quarantineTimeliness(q: Queryable, from: Date, to: Date, timeZone: string, districtId: number | null = null): Promise<{ day: string; districtId: number | null; closeContacts: number; within24h: number }[]> {
  const params: unknown[] = [from, to, timeZone];
  const scope = districtId ? (params.push(districtId), `AND cp.district_id = $${params.length}`) : '';
  return q.query(
    `WITH pairs AS (
       SELECT DISTINCT i.case_person_id, i.reported_at, cp.district_id, e.person_id
         FROM interviews i JOIN persons cp ON cp.id = i.case_person_id
         JOIN contact_exposures e ON e.case_person_id = i.case_person_id AND e.level = 'close' AND e.state <> 'dismissed' AND e.source_person_id = i.case_person_id
        WHERE i.reported_at >= $1 AND i.reported_at < $2 ${scope})
     SELECT to_char(pr.reported_at AT TIME ZONE $3, 'YYYY-MM-DD') AS day, pr.district_id AS "districtId",
            count(*)::int AS "closeContacts",
            count(*) FILTER (WHERE EXISTS (
              SELECT 1 FROM quarantine_orders o
               WHERE o.person_id = pr.person_id AND o.issued_at <= pr.reported_at + interval '24 hours'
                 AND (o.central_until IS NULL OR EXISTS (SELECT 1 FROM quarantine_placements pl WHERE pl.order_id = o.id AND pl.placed_at <= pr.reported_at + interval '24 hours'))))::int AS "within24h"
       FROM pairs pr GROUP BY 1, 2 ORDER BY 1, 2`,
    params,
  );
}
