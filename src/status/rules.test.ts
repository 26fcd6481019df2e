// Every colour rule of both presets, including turning back with time (rules.md 29-30), and entry decisions.
import { describe, expect, it } from 'vitest';
import { loadPreset } from '../core/presets.ts';
import { entryDecision, entryText, noFacts, statusOf, type Colour, type PersonFacts } from './rules.ts';

const shanghai = loadPreset('shanghai-2022-05');
const national = loadPreset('cn-2022-9th');
const T0 = Date.parse('2022-04-10T00:00:00Z');
/** A time `days` after the start of the story. */
const day = (days: number) => new Date(T0 + days * 86_400_000);
const facts = (f: Partial<PersonFacts>): PersonFacts => ({ ...noFacts(), lastSampledAt: day(0), lastNegativeSampledAt: day(0), ...f });
const override = { id: 5, reason: 'Wrong result entered by lab L1, corrected', requestedBy: 'user:ann', approvedBy: 'user:bob' };

// [what, facts, time (days), colour under shanghai-2022-05, colour under cn-2022-9th, reason codes (shanghai)]
const table: [string, Partial<PersonFacts>, number, Colour, Colour, string[]][] = [
  ['no facts', {}, 1, 'green', 'green', []],
  ['open pool control', { poolControls: [{ id: 1, poolBarcode: 'P1', since: day(1), clearedAt: null }] }, 1.5, 'red', 'red', ['poolPositive']],
  ['pool control before it began', { poolControls: [{ id: 1, poolBarcode: 'P1', since: day(1), clearedAt: null }] }, 0.5, 'green', 'green', []],
  ['pool control cleared by a negative retest', { poolControls: [{ id: 1, poolBarcode: 'P1', since: day(1), clearedAt: day(2) }] }, 2.5, 'green', 'green', []],
  ['positive single tube', { findings: [{ id: 2, resultedAt: day(1) }] }, 3, 'red', 'red', ['confirmed']],
  ['case in care', { findings: [{ id: 2, resultedAt: day(1) }], cases: [{ id: 3, kind: 'confirmed', since: day(1), dischargedAt: null }] }, 5, 'red', 'red', ['confirmed', 'confirmed']],
  ['asymptomatic case', { cases: [{ id: 3, kind: 'asymptomatic', since: day(1), dischargedAt: null }] }, 5, 'red', 'red', ['asymptomatic']],
  // Shanghai (spring 2022) had no yellow for discharged patients; the 9th-edition preset has 7 days of it.
  ['discharged 2 days ago', { findings: [{ id: 2, resultedAt: day(1) }], cases: [{ id: 3, kind: 'confirmed', since: day(1), dischargedAt: day(10) }] }, 12, 'green', 'yellow', []],
  ['discharged 8 days ago', { findings: [{ id: 2, resultedAt: day(1) }], cases: [{ id: 3, kind: 'confirmed', since: day(1), dischargedAt: day(10) }] }, 18, 'green', 'green', []],
  ['close contact in quarantine', { contacts: [{ id: 4, level: 'close', lastExposureAt: day(0), releasedAt: null }] }, 3, 'red', 'red', ['closeContact']],
  ['close contact released on day 7, before the green day', { contacts: [{ id: 4, level: 'close', lastExposureAt: day(0), releasedAt: day(7) }] }, 8, 'yellow', 'yellow', ['closeContactMonitoring']],
  ['close contact on day 10 with a negative test after the exposure', { contacts: [{ id: 4, level: 'close', lastExposureAt: day(0), releasedAt: day(7) }], lastNegativeSampledAt: day(9) }, 10.5, 'green', 'green', []],
  ['close contact on day 10 without a negative test since', { contacts: [{ id: 4, level: 'close', lastExposureAt: day(1), releasedAt: day(8) }], lastNegativeSampledAt: day(0) }, 11.5, 'yellow', 'yellow', ['closeContactMonitoring']],
  // Secondary contacts: yellow in Shanghai, red in the 9th edition (rules.md 29, 18 Sep revision).
  ['secondary contact', { contacts: [{ id: 6, level: 'secondary', lastExposureAt: day(1), releasedAt: null }] }, 3, 'yellow', 'red', ['secondaryContact']],
  ['secondary contact after 7 days with a negative test', { contacts: [{ id: 6, level: 'secondary', lastExposureAt: day(1), releasedAt: null }], lastNegativeSampledAt: day(5) }, 8.5, 'green', 'green', []],
  ['missed screening round, before it ends', { rounds: [{ campaignId: 7, name: 'Round 3', startsAt: day(1), endsAt: day(2), sampledAt: null }] }, 1.5, 'green', 'green', []],
  ['missed screening round, after it ends', { rounds: [{ campaignId: 7, name: 'Round 3', startsAt: day(1), endsAt: day(2), sampledAt: null }] }, 2.5, 'yellow', 'yellow', ['untested']],
  ['missed round, then sampled', { rounds: [{ campaignId: 7, name: 'Round 3', startsAt: day(1), endsAt: day(2), sampledAt: day(2.6) }] }, 3, 'green', 'green', []],
  ['a pool control outranks a missed round', { rounds: [{ campaignId: 7, name: 'Round 3', startsAt: day(1), endsAt: day(2), sampledAt: null }], poolControls: [{ id: 1, poolBarcode: 'P1', since: day(2), clearedAt: null }] }, 3, 'red', 'red', ['poolPositive', 'untested']],
  // Arrivals (rules.md 11, 29-30). Inbound: red while its quarantine is central, then yellow while at home
  // (Shanghai 14 + 7 days, as its order; the 9th edition 7 + 3). A high-risk area red, a medium-risk one yellow, for 7.
  ['inbound traveller in the red days', { arrivals: [{ id: 8, kind: 'inbound', arrivedAt: day(1) }] }, 3, 'red', 'red', ['inbound']],
  ['inbound traveller after the 9th edition’s red days', { arrivals: [{ id: 8, kind: 'inbound', arrivedAt: day(1) }] }, 9, 'red', 'yellow', ['inbound']],
  ['inbound traveller after the 9th edition’s yellow days', { arrivals: [{ id: 8, kind: 'inbound', arrivedAt: day(1) }] }, 11.5, 'red', 'green', ['inbound']],
  ['inbound traveller after Shanghai’s red days', { arrivals: [{ id: 8, kind: 'inbound', arrivedAt: day(1) }] }, 16, 'yellow', 'green', ['inboundMonitoring']],
  ['inbound traveller after Shanghai’s yellow days', { arrivals: [{ id: 8, kind: 'inbound', arrivedAt: day(1) }] }, 22.5, 'green', 'green', []],
  ['arrival from a high-risk area', { arrivals: [{ id: 8, kind: 'highRisk', arrivedAt: day(1) }] }, 3, 'red', 'red', ['highRiskArrival']],
  ['arrival from a high-risk area after its days', { arrivals: [{ id: 8, kind: 'highRisk', arrivedAt: day(1) }] }, 8.5, 'green', 'green', []],
  ['arrival from a medium-risk area', { arrivals: [{ id: 8, kind: 'mediumRisk', arrivedAt: day(1) }] }, 3, 'yellow', 'yellow', ['mediumRiskArrival']],
  ['arrival from a medium-risk area after its days', { arrivals: [{ id: 8, kind: 'mediumRisk', arrivedAt: day(1) }] }, 8.5, 'green', 'green', []],
  // From a low-risk area: no colour, but tests on 2 local days within 3 (rules.md 11); missed, yellow until made up.
  ['arrival from a low-risk area, within its days', { arrivals: [{ id: 8, kind: 'lowRisk', arrivedAt: day(1) }] }, 2, 'green', 'green', []],
  ['arrival from a low-risk area, tested on one day when its days end', { arrivals: [{ id: 8, kind: 'lowRisk', arrivedAt: day(1) }], samplings: [day(1.5)] }, 4.5, 'yellow', 'yellow', ['lowRiskArrivalUntested']],
  ['arrival from a low-risk area, tested twice on one day', { arrivals: [{ id: 8, kind: 'lowRisk', arrivedAt: day(1) }], samplings: [day(1.1), day(1.2)] }, 4.5, 'yellow', 'yellow', ['lowRiskArrivalUntested']],
  ['arrival from a low-risk area, tested on two days', { arrivals: [{ id: 8, kind: 'lowRisk', arrivedAt: day(1) }], samplings: [day(1.2), day(2.3)] }, 4.5, 'green', 'green', []],
  ['arrival from a low-risk area, a test before it does not count', { arrivals: [{ id: 8, kind: 'lowRisk', arrivedAt: day(1) }], samplings: [day(0.5), day(2.3)] }, 4.5, 'yellow', 'yellow', ['lowRiskArrivalUntested']],
  ['arrival from a low-risk area, the missing test made up', { arrivals: [{ id: 8, kind: 'lowRisk', arrivedAt: day(1) }], samplings: [day(1.5), day(5)] }, 5.5, 'green', 'green', []],
  ['an arrival outranks a missed round', { arrivals: [{ id: 8, kind: 'highRisk', arrivedAt: day(1) }], rounds: [{ campaignId: 7, name: 'Round 3', startsAt: day(1), endsAt: day(2), sampledAt: null }] }, 3, 'red', 'red', ['highRiskArrival', 'untested']],
  // A positive antigen self-test is a suspected case until a PCR test sampled after it (rules.md 17, 29).
  ['positive antigen self-test', { antigenPositives: [{ id: 9, testedAt: day(1) }] }, 1.5, 'red', 'red', ['suspected']],
  ['positive antigen, then a negative PCR sampled after it', { antigenPositives: [{ id: 9, testedAt: day(1) }], lastNegativeSampledAt: day(1.2) }, 2, 'green', 'green', []],
  ['positive antigen, a negative PCR sampled before it', { antigenPositives: [{ id: 9, testedAt: day(1) }], lastNegativeSampledAt: day(0.5) }, 2, 'red', 'red', ['suspected']],
  ['positive antigen, then a positive PCR', { antigenPositives: [{ id: 9, testedAt: day(1) }], findings: [{ id: 2, resultedAt: day(1.5) }] }, 2, 'red', 'red', ['confirmed']],
  ['positive antigen, then a case', { antigenPositives: [{ id: 9, testedAt: day(1) }], cases: [{ id: 3, kind: 'asymptomatic', since: day(1.5), dischargedAt: null }] }, 2, 'red', 'red', ['asymptomatic']],
  ['override to green in force', { findings: [{ id: 2, resultedAt: day(1) }], overrides: [{ ...override, colour: 'green', approvedAt: day(2), expiresAt: day(4) }] }, 3, 'green', 'green', ['override', 'confirmed']],
  ['override expired', { findings: [{ id: 2, resultedAt: day(1) }], overrides: [{ ...override, colour: 'green', approvedAt: day(2), expiresAt: day(4) }] }, 5, 'red', 'red', ['confirmed']],
  // The home compound's zone confines (rules.md 1-2, 11) but does not colour: it is listed, green, last.
  ['home compound sealed', { home: { compoundId: 11, zone: 'sealed', since: day(0), movesAt: day(7), building: null } }, 3, 'green', 'green', ['sealedCompound']],
  ['home compound controlled', { home: { compoundId: 11, zone: 'controlled', since: day(0), movesAt: null, building: null } }, 3, 'green', 'green', ['controlledCompound']],
  ['home building still sealed, the compound in precaution', { home: { compoundId: 11, zone: 'sealed', since: day(0), movesAt: day(4), building: { id: 31, caseId: 12 } } }, 3, 'green', 'green', ['sealedBuilding']],
  ['home compound in precaution', { home: { compoundId: 11, zone: 'precaution', since: day(0), movesAt: null, building: null } }, 3, 'green', 'green', []],
  ['close contact in a sealed compound', { home: { compoundId: 11, zone: 'sealed', since: day(0), movesAt: null, building: null }, contacts: [{ id: 4, level: 'close', lastExposureAt: day(0), releasedAt: null }] }, 3, 'red', 'red', ['closeContact', 'sealedCompound']],
  ['an override does not free a sealed resident', { home: { compoundId: 11, zone: 'sealed', since: day(0), movesAt: null, building: null }, findings: [{ id: 2, resultedAt: day(1) }], overrides: [{ ...override, colour: 'green', approvedAt: day(2), expiresAt: day(4) }] }, 3, 'green', 'green', ['override', 'confirmed', 'sealedCompound']],
];

describe('status colour', () => {
  for (const [what, f, at, sh, cn, codes] of table) {
    it(`${what}: ${sh} (shanghai-2022-05), ${cn} (cn-2022-9th)`, () => {
      const s = statusOf(facts(f), shanghai, day(at));
      expect(s.colour).toBe(sh);
      expect(s.reasons.map((r) => r.code)).toEqual(codes);
      expect(statusOf(facts(f), national, day(at)).colour).toBe(cn);
      // Every reason names its fact and the rule with the preset that holds its numbers.
      for (const r of s.reasons) {
        expect(r.fact.id).toBeGreaterThan(0);
        expect(r.rule).toMatch(/rules\.md|override/);
      }
    });
  }

  it('says when the colour will turn back by itself, and it does', () => {
    const f = facts({ contacts: [{ id: 4, level: 'close', lastExposureAt: day(0), releasedAt: day(7) }], lastNegativeSampledAt: day(6) });
    const inQuarantine = statusOf(f, shanghai, day(3));
    expect(inQuarantine.colour).toBe('red');
    expect(inQuarantine.changesAt).toBe(day(7).toISOString());
    const released = statusOf(f, shanghai, day(7));
    expect(released.colour).toBe('yellow');
    expect(released.changesAt).toBe(day(10).toISOString());
    expect(statusOf(f, shanghai, day(10)).colour).toBe('green');
    expect(statusOf(f, shanghai, day(10)).changesAt).toBeNull();
  });

  it('has a row for every reason either preset colours', () => {
    for (const preset of [shanghai, national]) {
      const shown = new Set(table.flatMap(([, f, at]) => statusOf(facts(f), preset, day(at)).reasons.map((r) => r.code)));
      for (const code of [...preset.status.red, ...preset.status.yellow]) expect(shown, `${preset.id}: ${code}`).toContain(code);
    }
  });

  it('turns an inbound traveller yellow and then green by itself, saying when', () => {
    const f = facts({ arrivals: [{ id: 8, kind: 'inbound', arrivedAt: day(1) }] });
    const red = statusOf(f, national, day(2));
    expect([red.colour, red.changesAt]).toEqual(['red', day(8).toISOString()]);
    expect(red.reasons).toMatchObject([{ code: 'inbound', fact: { kind: 'arrival', id: 8 }, until: day(8).toISOString() }]);
    const yellow = statusOf(f, national, day(8));
    expect([yellow.colour, yellow.changesAt]).toEqual(['yellow', day(11).toISOString()]);
    expect(statusOf(f, national, day(11))).toMatchObject({ colour: 'green', changesAt: null, reasons: [] });
  });

  it('asks an arrival from a low-risk area for its tests while its days last, and says when it turns yellow', () => {
    const arrivals = [{ id: 8, kind: 'lowRisk' as const, arrivedAt: day(1) }];
    for (const preset of [shanghai, national]) {
      const due = day(1 + preset.status.lowRiskArrival.withinDays).toISOString();
      const asked = statusOf(facts({ arrivals, samplings: [day(1.5)] }), preset, day(2));
      expect(asked).toMatchObject({ colour: 'green', reasons: [], changesAt: due });
      expect(asked.prompts).toEqual([{ code: 'arrivalTests', since: day(1).toISOString(), due, needed: preset.status.lowRiskArrival.tests, taken: 1, text: expect.stringContaining('low-risk') }]);
      // Tested on two days: nothing more asked, and nothing will change.
      expect(statusOf(facts({ arrivals, samplings: [day(1.5), day(2.5)], lastSampledAt: day(2.5) }), preset, day(3))).toMatchObject({ colour: 'green', changesAt: null, prompts: [] });
      // Missed: yellow from the end of its days, naming the arrival and the rule, with no end but a test.
      const missed = statusOf(facts({ arrivals, samplings: [day(1.5)] }), preset, new Date(due));
      expect(missed.reasons).toMatchObject([{ code: 'lowRiskArrivalUntested', colour: 'yellow', fact: { kind: 'arrival', id: 8 }, until: null, rule: expect.stringContaining('rules.md 11') }]);
      expect(missed.prompts.map((p) => p.code)).not.toContain('arrivalTests');
    }
  });

  it('counts an arrival’s tests by the preset: more days asked for, more needed', () => {
    const f = facts({ arrivals: [{ id: 8, kind: 'lowRisk', arrivedAt: day(1) }], samplings: [day(1.2), day(2.3)] });
    const three = { ...national, status: { ...national.status, lowRiskArrival: { tests: 3, withinDays: 3 } } };
    expect(statusOf(f, national, day(4.5)).colour).toBe('green');
    expect(statusOf(f, three, day(4.5)).colour).toBe('yellow');
  });

  it('takes the antigen rule from the preset', () => {
    const f = facts({ antigenPositives: [{ id: 9, testedAt: day(1) }] });
    const without = { ...national, status: { ...national.status, suspectedOnPositiveAntigen: false } };
    expect(statusOf(f, national, day(2)).colour).toBe('red');
    expect(statusOf(f, without, day(2))).toMatchObject({ colour: 'green', reasons: [] });
  });

  it('marks the reasons an override sets aside, and returns to them when it expires', () => {
    const f = facts({ poolControls: [{ id: 1, poolBarcode: 'P1', since: day(1), clearedAt: null }], overrides: [{ ...override, colour: 'green', approvedAt: day(2), expiresAt: day(3) }] });
    const s = statusOf(f, national, day(2.5));
    expect(s.reasons[0]).toMatchObject({ code: 'override', colour: 'green', text: override.reason, until: day(3).toISOString() });
    expect(s.reasons[1]).toMatchObject({ code: 'poolPositive', overridden: true });
    expect(s.changesAt).toBe(day(3).toISOString());
  });

  it('prompts for a test after the preset hours without one, without changing the colour', () => {
    const recent = statusOf(facts({ lastSampledAt: day(0) }), shanghai, day(2));
    expect(recent.prompts).toEqual([]);
    const overdue = statusOf(facts({ lastSampledAt: day(0) }), shanghai, day(4));
    expect(overdue.colour).toBe('green');
    expect(overdue.prompts).toMatchObject([{ code: 'testOverdue', since: day(3).toISOString() }]);
  });
});

describe('entry decision', () => {
  const green = { colour: 'green' as const };
  const red = { colour: 'red' as const };
  const tests = (negativeHoursAgo: number | null, sampledHoursAgo: number | null, now: Date) => ({
    lastNegativeSampledAt: negativeHoursAgo === null ? null : new Date(now.getTime() - negativeHoursAgo * 3_600_000),
    lastSampledAt: sampledHoursAgo === null ? null : new Date(now.getTime() - sampledHoursAgo * 3_600_000),
  });
  const now = day(5);
  // [what, status, negative h ago, sampled h ago, gate, admit under shanghai, admit under cn-9th]
  const cases: [string, { colour: Colour }, number | null, number | null, 'venue' | 'medicalEmergency', boolean, boolean][] = [
    ['green with a negative 48 h ago', green, 48, 48, 'venue', true, true],
    ['green with a negative 80 h ago', green, 80, 80, 'venue', false, false],
    // 6 June 2022 onwards (the 9th-edition preset): sampled within 24 h also admits (rules.md 27).
    ['green, sampled 10 h ago, result pending, last negative 80 h ago', green, 80, 10, 'venue', false, true],
    ['red with a fresh negative', red, 10, 10, 'venue', false, false],
    ['red at a hospital emergency entrance', red, null, null, 'medicalEmergency', true, true],
  ];
  for (const [what, status, neg, sampled, gate, sh, cn] of cases) {
    it(`${what}: ${sh ? 'admit' : 'refuse'} / ${cn ? 'admit' : 'refuse'}`, () => {
      const a = entryDecision(status, tests(neg, sampled, now), shanghai.entry.default, gate, shanghai, now);
      const b = entryDecision(status, tests(neg, sampled, now), national.entry.default, gate, national, now);
      expect([a.admit, b.admit]).toEqual([sh, cn]);
      expect(a.because.length).toBeGreaterThan(0);
      // The words are made from the data a screen words in its own language.
      for (const d of [a, b]) expect(d.because).toEqual(d.why.map(entryText));
    });
  }

  it('refuses a resident of a confined compound outside it, whatever their colour and tests, but not at an emergency entrance', () => {
    const fresh = tests(10, 10, now);
    const home = (zone: 'sealed' | 'controlled' | 'precaution') => ({ compoundId: 11, zone, since: day(0), movesAt: null, building: null });
    for (const preset of [shanghai, national]) {
      const at = (zone: 'sealed' | 'controlled' | 'precaution', venueCompoundId: number | null, gate: 'venue' | 'medicalEmergency' = 'venue') =>
        entryDecision(green, fresh, preset.entry.default, gate, preset, now, { home: home(zone), venueCompoundId });
      expect(at('sealed', null)).toMatchObject({ admit: false, why: [{ code: 'confined', zone: 'sealed' }, { code: 'negativeWithin', hours: 72 }] });
      expect(at('controlled', 12).admit).toBe(false);
      // A venue inside the person's own compound, and any venue for a resident of a precaution compound.
      expect(at('controlled', 11).admit).toBe(true);
      expect(at('precaution', null).admit).toBe(true);
      expect(at('sealed', null, 'medicalEmergency')).toMatchObject({ admit: true, why: [{ code: 'emergency' }] });
      expect(at('sealed', null).because[0]).toBe('Lives in a sealed compound and may not leave it (rules.md 1-2, 11)');
      // A building still sealed keeps its residents home: not even the compound's own venues.
      const building = { ...home('sealed'), building: { id: 31, caseId: 12 } };
      expect(entryDecision(green, fresh, preset.entry.default, 'venue', preset, now, { home: building, venueCompoundId: 11 })).toMatchObject({ admit: false, why: [{ code: 'confinedBuilding' }, { code: 'negativeWithin' }] });
      expect(entryDecision(green, fresh, preset.entry.default, 'medicalEmergency', preset, now, { home: building, venueCompoundId: null }).admit).toBe(true);
    }
    // The preset decides which zones confine.
    const open = { ...shanghai, entry: { ...shanghai.entry, confinedZones: { sealed: 'rules.md 1', controlled: null } } } as unknown as typeof shanghai;
    expect(entryDecision(green, fresh, open.entry.default, 'venue', open, now, { home: home('controlled'), venueCompoundId: null }).admit).toBe(true);
    expect(statusOf(facts({ home: home('controlled') }), open, now).reasons).toEqual([]);
  });

  it('gives its reasons as data, with the numbers of the rule that applied', () => {
    const pending = tests(80, 10, now);
    expect(entryDecision(green, pending, shanghai.entry.default, 'venue', shanghai, now).why).toEqual([{ code: 'noNegative', hours: 72, sampledHours: null }]);
    expect(entryDecision(green, pending, national.entry.default, 'venue', national, now).why).toEqual([{ code: 'sampledWithin', hours: 24 }]);
    expect(entryDecision(red, tests(10, 10, now), shanghai.entry.default, 'venue', shanghai, now).why).toEqual([{ code: 'notGreen', colour: 'red' }, { code: 'negativeWithin', hours: 72 }]);
    expect(entryDecision(red, tests(null, null, now), shanghai.entry.default, 'medicalEmergency', shanghai, now)).toEqual({ admit: true, because: ['Medical emergency entrance: never refused (rules.md 24); status red'], why: [{ code: 'emergency', colour: 'red' }] });
    expect(entryDecision(red, tests(null, null, now), { negativePcrWithinHours: null, orSampledWithinHours: null, requireGreen: false }, 'venue', shanghai, now).why).toEqual([{ code: 'noCondition' }]);
  });
});
