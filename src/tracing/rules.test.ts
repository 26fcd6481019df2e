// Contact finding and quarantine orders under both presets: a positive in a household, in a building with
// its own or shared facilities, at a venue at busy hours, and contacts of contacts.
import { describe, expect, it } from 'vitest';
import { loadPreset } from '../core/presets.ts';
import { floorsReached, homeContacts, infectiousWindow, mergeContacts, quarantineOrder, secondaryContacts, venueContacts, type CaseFacts, type OrderLevel, type Resident, type Scan } from './rules.ts';

const shanghai = loadPreset('shanghai-2022-05');
const national = loadPreset('cn-2022-9th');
const presets = [shanghai, national];
const T0 = Date.parse('2022-04-10T00:00:00Z');
const day = (d: number) => new Date(T0 + d * 86_400_000);
const at = (d: number, hh: number, mm = 0) => new Date(T0 + d * 86_400_000 + (hh * 60 + mm) * 60_000);

// Building 1: floors 3, 4, 5; the case lives in household 10 on floor 4.
const residents: Resident[] = [
  { personId: 1, householdId: 10, buildingId: 1, floor: 4, sharedFacilities: false }, // the case
  { personId: 2, householdId: 10, buildingId: 1, floor: 4, sharedFacilities: false }, // same household
  { personId: 3, householdId: 11, buildingId: 1, floor: 4, sharedFacilities: false }, // same floor
  { personId: 4, householdId: 12, buildingId: 1, floor: 5, sharedFacilities: false }, // floor above
  { personId: 5, householdId: 13, buildingId: 1, floor: 3, sharedFacilities: false }, // floor below
  { personId: 6, householdId: 14, buildingId: 1, floor: 7, sharedFacilities: false }, // further up
  { personId: 7, householdId: 15, buildingId: 2, floor: 4, sharedFacilities: false }, // another building
];
const caseOf = (over: Partial<CaseFacts> = {}): CaseFacts => ({
  personId: 1,
  symptomatic: true,
  onsetAt: day(5),
  sampledAt: day(6),
  isolatedAt: day(6),
  home: { householdId: 10, buildingId: 1, floor: 4, sharedFacilities: false },
  ...over,
});
const levels = (contacts: { personId: number; level: string }[]) => Object.fromEntries(contacts.map((c) => [c.personId, c.level]));

describe('infectious window', () => {
  it('looks back the preset days from onset, or from sampling when asymptomatic, and ends at isolation', () => {
    for (const p of presets) {
      expect(infectiousWindow(caseOf(), p, day(9))).toEqual({ from: day(5 - p.contacts.lookBackDays), to: day(6) });
      expect(infectiousWindow(caseOf({ symptomatic: false, onsetAt: null }), p, day(9)).from).toEqual(day(6 - p.contacts.lookBackDays));
      expect(infectiousWindow(caseOf({ isolatedAt: null }), p, day(7)).to).toEqual(day(7));
    }
  });
});

describe('household and building', () => {
  it('own kitchen and bathroom: household close; same floor and the floors next to it secondary; the rest nobody', () => {
    for (const p of presets) {
      const contacts = mergeContacts(homeContacts(caseOf(), residents, p, day(9)));
      expect(levels(contacts)).toEqual({ 2: 'close', 3: 'secondary', 4: 'secondary', 5: 'secondary' });
      expect(contacts.every((c) => c.lastExposureAt.getTime() === day(6).getTime())).toBe(true);
    }
  });

  it('shared facilities: household and same floor close, the rest of the building secondary', () => {
    const shared = residents.map((r) => ({ ...r, sharedFacilities: true }));
    const c = caseOf({ home: { householdId: 10, buildingId: 1, floor: 4, sharedFacilities: true } });
    for (const p of presets) {
      const exposures = homeContacts(c, shared, p, day(9));
      expect(levels(mergeContacts(exposures))).toEqual({ 2: 'close', 3: 'close', 4: 'secondary', 5: 'secondary', 6: 'secondary' });
      expect(exposures.find((e) => e.exposure.kind === 'sameFloor')!.exposure.rule).toMatch(/rules\.md 10/);
    }
  });
});

describe('venue at busy hours', () => {
  // The case shopped at venue 100 on day 4 at 18:00 and venue 200 on day 1 (before the window).
  const caseScans: Scan[] = [
    { personId: 1, venueId: 100, at: at(4, 18) },
    { personId: 1, venueId: 200, at: at(0, 12) },
  ];
  const others: Scan[] = [
    { personId: 20, venueId: 100, at: at(4, 17, 35) }, // 25 min before
    { personId: 21, venueId: 100, at: at(4, 18, 30) }, // 30 min after: inside
    { personId: 22, venueId: 100, at: at(4, 18, 31) }, // 31 min after: outside
    { personId: 23, venueId: 101, at: at(4, 18) }, // another venue
    { personId: 24, venueId: 200, at: at(0, 12) }, // same time, before the look-back
    { personId: 20, venueId: 100, at: at(4, 18, 10) }, // the same person twice: one record
  ];
  it('finds who scanned within the window at the same venue, once each, with the scans as evidence', () => {
    for (const p of presets) {
      const contacts = mergeContacts(venueContacts(caseOf(), caseScans, others, p, day(9)));
      expect(levels(contacts)).toEqual({ 20: p.contacts.colocationLevel, 21: p.contacts.colocationLevel });
      expect(contacts.find((c) => c.personId === 20)!.exposures).toHaveLength(2);
      expect(contacts.find((c) => c.personId === 21)!.exposures[0].evidence).toMatchObject({ venueId: 100, minutesApart: 30 });
      expect(contacts.find((c) => c.personId === 21)!.lastExposureAt).toEqual(at(4, 18, 30));
    }
  });
});

describe('contacts of contacts and one record per person', () => {
  it('a close contact’s household becomes secondary, from the close contact’s first exposure to their isolation', () => {
    const close = mergeContacts([{ personId: 2, exposure: { kind: 'household', level: 'close', sourcePersonId: 1, at: day(6), evidence: {}, rule: 'x' } }])[0];
    close.firstExposureAt = day(1);
    const theirs = [
      { personId: 30, exposure: { kind: 'household' as const, level: 'close' as const, sourcePersonId: 2, at: day(7), evidence: { householdId: 99 }, rule: 'x' } },
      { personId: 31, exposure: { kind: 'venue' as const, level: 'secondary' as const, sourcePersonId: 2, at: day(0), evidence: { venueId: 5 }, rule: 'x' } }, // before their own exposure
    ];
    const second = secondaryContacts(close, day(8), theirs, day(9));
    expect(second).toHaveLength(1);
    expect(second[0]).toMatchObject({ personId: 30, exposure: { kind: 'contactOfContact', level: 'secondary', sourcePersonId: 2, evidence: { via: 'household' } } });
  });

  it('a person reached by two cases gets one record with both exposures and the higher level', () => {
    const merged = mergeContacts([
      { personId: 9, exposure: { kind: 'venue', level: 'secondary', sourcePersonId: 1, at: day(3), evidence: {}, rule: 'x' } },
      { personId: 9, exposure: { kind: 'household', level: 'close', sourcePersonId: 8, at: day(5), evidence: {}, rule: 'x' } },
    ]);
    expect(merged).toHaveLength(1);
    expect(merged[0]).toMatchObject({ level: 'close', firstExposureAt: day(3), lastExposureAt: day(5) });
    expect(merged[0].exposures.map((e) => e.sourcePersonId)).toEqual([1, 8]);
  });
});

describe('quarantine orders', () => {
  // [level (a contact's, or an arrival's preset key), preset, central days, home days, test days]
  const table: [string, typeof shanghai, number, number, number[]][] = [
    ['close', shanghai, 14, 7, [1, 4, 7, 14, 16, 21]],
    ['close', national, 7, 3, [1, 2, 3, 5, 7, 10]],
    ['secondary', shanghai, 7, 0, [1, 4, 7]],
    ['secondary', national, 0, 7, [1, 4, 7]],
    // Arrivals, counted from the arrival.
    ['inbound', shanghai, 14, 7, [1, 4, 7, 14, 16, 21]],
    ['inbound', national, 7, 3, [1, 2, 3, 5, 7, 10]],
    ['highRiskArrival', shanghai, 7, 0, [1, 4, 7]],
    ['highRiskArrival', national, 7, 0, [1, 4, 7]],
    ['mediumRiskArrival', shanghai, 0, 7, [1, 4, 7]],
    ['mediumRiskArrival', national, 0, 7, [1, 4, 7]],
  ];
  for (const [level, p, central, home, tests] of table) {
    it(`${level} under ${p.id}: ${central} days central, ${home} at home, tests on days ${tests.join(', ')}`, () => {
      const o = quarantineOrder(level as OrderLevel, day(2), p);
      expect(o.centralUntil).toEqual(central ? day(2 + central) : null);
      expect(o.homeUntil).toEqual(home ? day(2 + central + home) : null);
      expect(o.endsAt).toEqual(day(2 + central + home));
      expect(o.tests.map((t) => t.day)).toEqual(tests);
      expect(o.tests.map((t) => t.at)).toEqual(tests.map((d) => day(2 + d)));
      expect(o.rule).toMatch(/rules\.md/);
    });
  }
});

describe('floors reached', () => {
  it('covers every resident the home rules reach, in buildings with own and with shared facilities', () => {
    for (const p of presets) {
      for (const sharedFacilities of [false, true]) {
        const c = caseOf({ home: { householdId: 10, buildingId: 1, floor: 4, sharedFacilities } });
        const tower = [...Array(30).keys()].map((i): Resident => ({ personId: 100 + i, householdId: 100 + i, buildingId: 1, floor: i + 1, sharedFacilities }));
        const { from, to } = floorsReached(c.home!);
        const reached = homeContacts(c, tower, p, day(9)).map((e) => tower.find((r) => r.personId === e.personId)!.floor);
        expect(reached.length).toBeGreaterThan(0);
        for (const floor of reached) expect(floor >= from && floor <= to).toBe(true);
        // Only what the rules need is read: with own facilities, three floors.
        if (!sharedFacilities) expect([from, to]).toEqual([3, 5]);
      }
    }
  });
});
