// Tracing rules (rules.md "Contacts, quarantine, risk areas"): who is a contact of a case and at which level,
// from households, buildings and venue scans, and what quarantine order follows. Pure functions of facts,
// the preset and `now`; every contact carries the evidence that made it one.
import type { Preset } from '../core/presets.ts';
import { DAY_MS } from '../core/days.ts';

export type ContactLevel = 'close' | 'secondary';

const MINUTE = 60_000;
const rank: Record<ContactLevel, number> = { secondary: 1, close: 2 };

/** A case as tracing needs it. */
export interface CaseFacts {
  personId: number;
  symptomatic: boolean;
  onsetAt: Date | null;
  sampledAt: Date;
  /** When the case was isolated (no exposure after it); null while still at large. */
  isolatedAt: Date | null;
  home: Home | null;
}

export interface Home {
  householdId: number;
  buildingId: number;
  floor: number;
  sharedFacilities: boolean;
}

export interface Resident extends Home {
  personId: number;
}

export interface Scan {
  personId: number;
  venueId: number;
  at: Date;
}

/** One way a person was exposed: what, when, and the records that show it. */
export interface Exposure {
  kind: 'household' | 'sameFloor' | 'adjacentFloor' | 'building' | 'venue' | 'interview' | 'contactOfContact';
  level: ContactLevel;
  /** The case (or close contact, for a secondary contact) the exposure was to. */
  sourcePersonId: number;
  at: Date;
  evidence: Record<string, unknown>;
  rule: string;
}

/** An exposure of one person. */
export interface PersonExposure {
  personId: number;
  exposure: Exposure;
}

export interface Contact {
  personId: number;
  level: ContactLevel;
  lastExposureAt: Date;
  firstExposureAt: Date;
  exposures: Exposure[];
}

/** The time during which the case could infect (rules.md 7): look-back from onset, or from sampling when asymptomatic. */
export function infectiousWindow(c: CaseFacts, preset: Preset, now: Date): { from: Date; to: Date } {
  const anchor = c.symptomatic && c.onsetAt ? c.onsetAt : c.sampledAt;
  const from = new Date(anchor.getTime() - preset.contacts.lookBackDays * DAY_MS);
  const to = c.isolatedAt && c.isolatedAt.getTime() < now.getTime() ? c.isolatedAt : now;
  return { from, to };
}

/**
 * Household and building contacts (rules.md 10): the household is close; with the case's own kitchen and
 * bathroom, the same floor and the floors directly above and below are as the preset says (secondary in
 * both shipped presets); with shared facilities, the same floor is close and the rest of the building
 * secondary. The exposure lasts until the case's isolation.
 */
export function homeContacts(c: CaseFacts, neighbours: Resident[], preset: Preset, now: Date): PersonExposure[] {
  if (!c.home) return [];
  const home = c.home;
  const { to } = infectiousWindow(c, preset, now);
  const out: PersonExposure[] = [];
  const b = preset.contacts.building;
  for (const n of neighbours) {
    if (n.personId === c.personId || n.buildingId !== home.buildingId) continue;
    const evidence = { householdId: n.householdId, buildingId: n.buildingId, floor: n.floor, caseFloor: home.floor, sharedFacilities: home.sharedFacilities };
    const add = (kind: Exposure['kind'], level: string | undefined, rule: string) => {
      if (level === 'close' || level === 'secondary') out.push({ personId: n.personId, exposure: { kind, level, sourcePersonId: c.personId, at: to, evidence, rule } });
    };
    if (n.householdId === home.householdId) add('household', home.sharedFacilities ? b.sharedFacilities.household : b.ownFacilities.household, 'rules.md 10: same household');
    else if (home.sharedFacilities) {
      if (n.floor === home.floor) add('sameFloor', b.sharedFacilities.sameFloor, 'rules.md 10: shared facilities, same floor');
      else add('building', b.sharedFacilities.restOfBuilding, 'rules.md 10: shared facilities, rest of the building');
    } else if (n.floor === home.floor) add('sameFloor', b.ownFacilities.sameFloor, 'rules.md 10: own facilities, same floor');
    else if (Math.abs(n.floor - home.floor) === 1) add('adjacentFloor', b.ownFacilities.adjacentFloors, 'rules.md 10: own facilities, floor directly above or below');
  }
  return out;
}

/**
 * The floors of the case's building whose residents homeContacts can reach: with shared facilities the whole
 * building, else the case's own floor and the floors directly above and below.
 */
export function floorsReached(home: Home): { from: number; to: number } {
  return home.sharedFacilities ? { from: -1_000_000, to: 1_000_000 } : { from: home.floor - 1, to: home.floor + 1 };
}

/**
 * Co-location (rules.md 28): anyone who scanned in at a venue within the preset's window of a scan of the
 * case, during the infectious window. `others` are the scans at the case's venues around those times.
 */
export function venueContacts(c: CaseFacts, caseScans: Scan[], others: Scan[], preset: Preset, now: Date): PersonExposure[] {
  const { from, to } = infectiousWindow(c, preset, now);
  const window = preset.contacts.colocationWindowMinutes * MINUTE;
  const level = preset.contacts.colocationLevel as ContactLevel;
  const mine = caseScans.filter((s) => s.personId === c.personId && s.at.getTime() >= from.getTime() && s.at.getTime() <= to.getTime());
  const byVenue = new Map<number, Scan[]>();
  for (const s of mine) byVenue.set(s.venueId, [...(byVenue.get(s.venueId) ?? []), s]);
  const out: PersonExposure[] = [];
  for (const o of others) {
    if (o.personId === c.personId) continue;
    for (const s of byVenue.get(o.venueId) ?? []) {
      const gap = Math.abs(o.at.getTime() - s.at.getTime());
      if (gap <= window) {
        // The exposure ends with the later of the two scans.
        const last = new Date(Math.max(o.at.getTime(), s.at.getTime()));
        out.push({ personId: o.personId, exposure: { kind: 'venue', level, sourcePersonId: c.personId, at: last, evidence: { venueId: o.venueId, caseScanAt: s.at.toISOString(), scanAt: o.at.toISOString(), minutesApart: Math.round(gap / MINUTE) }, rule: `rules.md 28: same venue within ${preset.contacts.colocationWindowMinutes} min` } });
      }
    }
  }
  return out;
}

/** One record per person, with every exposure: the highest level, the first and the last exposure. */
export function mergeContacts(exposures: PersonExposure[]): Contact[] {
  const byPerson = new Map<number, Contact>();
  for (const { personId, exposure: e } of exposures) {
    const c = byPerson.get(personId);
    if (!c) byPerson.set(personId, { personId, level: e.level, lastExposureAt: e.at, firstExposureAt: e.at, exposures: [e] });
    else {
      c.exposures.push(e);
      if (rank[e.level] > rank[c.level]) c.level = e.level;
      if (e.at > c.lastExposureAt) c.lastExposureAt = e.at;
      if (e.at < c.firstExposureAt) c.firstExposureAt = e.at;
    }
  }
  return [...byPerson.values()].sort((a, b) => rank[b.level] - rank[a.level] || a.personId - b.personId);
}

/**
 * Secondary contacts (rules.md 7): persons exposed to a close contact between the close contact's first
 * exposure and their isolation. `theirExposures` are the close contact's own household, building and venue
 * exposures (found with the close contact in the case's place); they become secondary, never close.
 */
export function secondaryContacts(close: Contact, isolatedAt: Date | null, theirExposures: PersonExposure[], now: Date): PersonExposure[] {
  const until = isolatedAt && isolatedAt.getTime() < now.getTime() ? isolatedAt : now;
  return theirExposures
    .filter((x) => x.personId !== close.personId && x.exposure.at.getTime() >= close.firstExposureAt.getTime())
    .map((x) => ({
      personId: x.personId,
      exposure: { ...x.exposure, kind: 'contactOfContact' as const, level: 'secondary' as const, sourcePersonId: close.personId, at: x.exposure.at.getTime() > until.getTime() ? until : x.exposure.at, rule: 'rules.md 7: contact of a close contact between their exposure and their isolation', evidence: { ...x.exposure.evidence, via: x.exposure.kind } },
    }));
}

/** What an order is for: a contact's level, or an arrival's kind (its preset key under quarantine). */
export type OrderLevel = ContactLevel | 'inbound' | 'highRiskArrival' | 'mediumRiskArrival';

export interface QuarantineOrder {
  level: OrderLevel;
  /** Central quarantine then home: each part's end, counted from the last exposure (an arrival: from the arrival). */
  centralUntil: Date | null;
  homeUntil: Date | null;
  endsAt: Date;
  /** PCR test days, each a date: day N is N days after the last exposure. */
  tests: { day: number; at: Date; where: 'central' | 'home' }[];
  rule: string;
}

/** The order a contact or an arrival gets (rules.md 8-9, 11): modes and lengths from the last exposure (or the arrival), the test days. */
export function quarantineOrder(level: OrderLevel, lastExposureAt: Date, preset: Preset): QuarantineOrder {
  const q = preset.quarantine[level];
  const start = lastExposureAt.getTime();
  const centralUntil = q.centralDays > 0 ? new Date(start + q.centralDays * DAY_MS) : null;
  const homeStart = centralUntil ? centralUntil.getTime() : start;
  const homeUntil = q.homeDays > 0 ? new Date(homeStart + q.homeDays * DAY_MS) : null;
  const endsAt = homeUntil ?? centralUntil ?? new Date(start);
  const where = q.centralDays > 0 ? 'central' : 'home';
  const tests = q.pcrDays.map((day) => ({ day, at: new Date(start + day * DAY_MS), where: where as 'central' | 'home' }));
  const homePcr = 'homePcrDays' in q ? (q as { homePcrDays: number[] }).homePcrDays : [];
  if (centralUntil) for (const day of homePcr) tests.push({ day: q.centralDays + day, at: new Date(homeStart + day * DAY_MS), where: 'home' });
  return { level, centralUntil, homeUntil, endsAt, tests, rule: q.rule };
}

/** A place the case named in the interview, with the venue when known and the time of the stay. */
export interface NamedPlace {
  venueId: number;
  from: Date;
  to: Date;
}

/** A person the case named in the interview. */
export interface NamedPerson {
  personId: number;
  name: string;
  relation?: string | null;
  lastContactAt: Date;
}

/** What storage found around one person during their infectious window. */
export interface Surroundings {
  /** The residents of the person's building (empty without a home). */
  residents: Resident[];
  /** The person's own scans in the window. */
  own: Scan[];
  /** Everyone's scans at the venues of `own` and `namedPlaces`, within the co-location window of them. */
  others: Scan[];
  namedPlaces: NamedPlace[];
  namedPersons: NamedPerson[];
}

/**
 * Every exposure to one person (a case, or a close contact for their secondary contacts): home and building,
 * venues they scanned at, the places named in the interview (a stay covers its whole span, not only its two
 * ends) and the persons named.
 */
export function exposuresTo(facts: CaseFacts, s: Surroundings, preset: Preset, now: Date): PersonExposure[] {
  const { from, to } = infectiousWindow(facts, preset, now);
  const out: PersonExposure[] = [];
  if (facts.home) out.push(...homeContacts(facts, s.residents, preset, now));
  // Scans at named places during the stated time count like scans of the case itself.
  const caseScans = [...s.own, ...s.namedPlaces.flatMap((n) => [{ personId: facts.personId, venueId: n.venueId, at: n.from }, { personId: facts.personId, venueId: n.venueId, at: n.to }])];
  out.push(...venueContacts(facts, caseScans, s.others, preset, now));
  for (const n of s.namedPlaces) {
    for (const o of s.others) {
      if (o.venueId === n.venueId && o.personId !== facts.personId && o.at >= n.from && o.at <= n.to && o.at >= from && o.at <= to) {
        out.push({ personId: o.personId, exposure: { kind: 'venue', level: preset.contacts.colocationLevel as ContactLevel, sourcePersonId: facts.personId, at: o.at, evidence: { venueId: n.venueId, scanAt: o.at.toISOString(), namedStay: true }, rule: 'rules.md 28: at a place the case named, during the stay' } });
      }
    }
  }
  for (const p of s.namedPersons) {
    out.push({ personId: p.personId, exposure: { kind: 'interview', level: 'close', sourcePersonId: facts.personId, at: p.lastContactAt, evidence: { name: p.name, relation: p.relation ?? null }, rule: 'rules.md 7: named by the case' } });
  }
  return out.filter((e) => e.personId !== facts.personId);
}

/**
 * A close contact seen as a source for their own contacts: infectious from their first exposure (the case's
 * look-back is not theirs to apply) until their isolation (their first quarantine order) or now.
 */
export function closeContactAsSource(close: Contact, isolatedAt: Date | null, home: Home | null, preset: Preset): CaseFacts {
  return { personId: close.personId, symptomatic: false, onsetAt: null, sampledAt: new Date(close.firstExposureAt.getTime() + preset.contacts.lookBackDays * DAY_MS), isolatedAt, home };
}

/** The exposures a close contact passes on (rules.md 7): their household and the venues they scanned at. */
export function passedOn(theirs: PersonExposure[]): PersonExposure[] {
  return theirs.filter((e) => e.exposure.kind === 'household' || e.exposure.kind === 'venue');
}
