// Every zone transition of both presets over day boundaries, the building rule, epidemic-free compounds and
// the areas they form on a 3x3 grid, society-level cases and district clearance (rules.md "Three zones", 11).
import { describe, expect, it } from 'vitest';
import { loadPreset, type Preset } from '../core/presets.ts';
import {
  classifyCase,
  dayNumber,
  dayText,
  districtClearance,
  epidemicFree,
  freeAreas,
  zoneHistory,
  zoneOn,
  zoneWhy,
  type CaseAtDetection,
  type CompoundFacts,
  type CompoundPlace,
  type Zone,
} from './rules.ts';

const shanghai = loadPreset('shanghai-2022-05');
const national = loadPreset('cn-2022-9th');
/** Day `n` of the story (day 0 = 1 May 2022), computed without the module under test. */
const D = (n: number) => new Date(Date.UTC(2022, 4, 1 + n)).toISOString().slice(0, 10);

interface Story {
  /** [case id, day, building id] */
  cases?: [number, number, number | null][];
  /** Days of all-negative screenings, and of screenings that were not all negative. */
  clear?: number[];
  notClear?: number[];
  /** Days the command placed the compound under control without a case. */
  controlled?: number[];
}

const facts = (s: Story): CompoundFacts => ({
  cases: (s.cases ?? []).map(([id, day, buildingId]) => ({ id, day: D(day), buildingId })),
  screenings: [...(s.clear ?? []).map((d) => ({ day: D(d), allNegative: true })), ...(s.notClear ?? []).map((d) => ({ day: D(d), allNegative: false }))],
  controlled: (s.controlled ?? []).map(D),
});

const [shSealed, shAfterSealed, shControlled] = shanghai.zoning.transitions.map((t) => t.rule);
const [cnSealed, cnAfterSealed, cnControlled] = national.zoning.transitions.map((t) => t.rule);
const POSITIVE = /^rules\.md 1-3, 11: a positive/;
const DESIGNATED = /^rules\.md 2, 4, 11: placed under control/;
const NO_CASE = /^rules\.md 3: no positive/;

// [what, preset, story, [day, zone, rule that put it there][]]
const table: [string, Preset, Story, [number, Zone, string | RegExp][]][] = [
  // shanghai-2022-05 (mid-May rules, rules.md 4): sealed 7 clean days -> controlled, +3 -> precaution.
  ['sh: sealed on the day of the positive, controlled on day 7, precaution on day 10', shanghai, { cases: [[1, 0, 11]] },
    [[-1, 'precaution', NO_CASE], [0, 'sealed', POSITIVE], [6, 'sealed', POSITIVE], [7, 'controlled', shSealed], [9, 'controlled', shSealed], [10, 'precaution', shAfterSealed], [60, 'precaution', shAfterSealed]]],
  ['sh: needs no screening, and a positive screening without a case changes nothing', shanghai, { cases: [[1, 0, 11]], notClear: [6, 7] },
    [[7, 'controlled', shSealed], [10, 'precaution', shAfterSealed]]],
  ['sh: a positive in the sealed week restarts the clock', shanghai, { cases: [[1, 0, 11], [2, 4, 11]] },
    [[10, 'sealed', POSITIVE], [11, 'controlled', shSealed], [13, 'controlled', shSealed], [14, 'precaution', shAfterSealed]]],
  ['sh: a positive on the day it would become controlled keeps it sealed', shanghai, { cases: [[1, 0, 11], [2, 7, 11]] },
    [[6, 'sealed', POSITIVE], [7, 'sealed', POSITIVE], [13, 'sealed', POSITIVE], [14, 'controlled', shSealed], [17, 'precaution', shAfterSealed]]],
  ['sh: a positive while controlled seals it again', shanghai, { cases: [[1, 0, 11], [2, 8, 12]] },
    [[7, 'controlled', shSealed], [8, 'sealed', POSITIVE], [14, 'sealed', POSITIVE], [15, 'controlled', shSealed], [17, 'controlled', shSealed], [18, 'precaution', shAfterSealed]]],
  ['sh: a positive in precaution seals it again', shanghai, { cases: [[1, 0, 11], [2, 12, 11]] },
    [[11, 'precaution', shAfterSealed], [12, 'sealed', POSITIVE], [18, 'sealed', POSITIVE], [19, 'controlled', shSealed], [22, 'precaution', shAfterSealed]]],
  ['sh: controlled without a case of its own: 7 clean days -> precaution', shanghai, { controlled: [0] },
    [[-1, 'precaution', NO_CASE], [0, 'controlled', DESIGNATED], [6, 'controlled', DESIGNATED], [7, 'precaution', shControlled]]],
  ['sh: placing a sealed compound under control changes nothing', shanghai, { cases: [[1, 0, 11]], controlled: [3] },
    [[6, 'sealed', POSITIVE], [7, 'controlled', shSealed], [10, 'precaution', shAfterSealed]]],
  ['sh: placed under control again after sealing: the 7-day rule from then', shanghai, { cases: [[1, 0, 11]], controlled: [8] },
    [[7, 'controlled', shSealed], [8, 'controlled', DESIGNATED], [10, 'controlled', DESIGNATED], [14, 'controlled', DESIGNATED], [15, 'precaution', shControlled]]],
  ['sh: a positive while controlled without a case of its own', shanghai, { controlled: [0], cases: [[1, 3, 11]] },
    [[2, 'controlled', DESIGNATED], [3, 'sealed', POSITIVE], [10, 'controlled', shSealed], [13, 'precaution', shAfterSealed]]],
  ['sh: no case ever', shanghai, {}, [[0, 'precaution', NO_CASE], [365, 'precaution', NO_CASE]]],

  // cn-2022-9th (rules.md 11): leaving sealed (high risk) and a designated controlled (medium) needs an
  // all-negative screening on day 7; controlled after sealed needs 3 clean days only.
  ['cn: all-negative day-7 screening: controlled on day 7, precaution on day 10', national, { cases: [[1, 0, 11]], clear: [7] },
    [[-1, 'precaution', NO_CASE], [0, 'sealed', POSITIVE], [6, 'sealed', POSITIVE], [7, 'controlled', cnSealed], [9, 'controlled', cnSealed], [10, 'precaution', cnAfterSealed]]],
  ['cn: without the day-7 screening it stays sealed', national, { cases: [[1, 0, 11]], clear: [6] },
    [[6, 'sealed', POSITIVE], [7, 'sealed', POSITIVE], [30, 'sealed', POSITIVE]]],
  ['cn: a day-7 screening not all negative postpones the move to the next all-negative one', national, { cases: [[1, 0, 11]], notClear: [7], clear: [9] },
    [[7, 'sealed', POSITIVE], [8, 'sealed', POSITIVE], [9, 'controlled', cnSealed], [11, 'controlled', cnSealed], [12, 'precaution', cnAfterSealed]]],
  ['cn: a positive restarts the clock, and the screening before day 7 of the new clock does not count', national, { cases: [[1, 0, 11], [2, 4, 11]], clear: [7, 11] },
    [[7, 'sealed', POSITIVE], [10, 'sealed', POSITIVE], [11, 'controlled', cnSealed], [13, 'controlled', cnSealed], [14, 'precaution', cnAfterSealed]]],
  ['cn: controlled without a case: 7 clean days and an all-negative day-7 screening', national, { controlled: [0], clear: [7] },
    [[0, 'controlled', DESIGNATED], [6, 'controlled', DESIGNATED], [7, 'precaution', cnControlled]]],
  ['cn: controlled without a case and without the screening stays controlled', national, { controlled: [0], clear: [5] },
    [[7, 'controlled', DESIGNATED], [20, 'controlled', DESIGNATED]]],
  ['cn: a positive while controlled seals it again', national, { cases: [[1, 0, 11], [2, 8, 12]], clear: [7, 15] },
    [[7, 'controlled', cnSealed], [8, 'sealed', POSITIVE], [14, 'sealed', POSITIVE], [15, 'controlled', cnSealed], [18, 'precaution', cnAfterSealed]]],
  ['cn: no case ever', national, {}, [[0, 'precaution', NO_CASE]]],
];

describe('compound zones', () => {
  for (const [what, preset, story, expected] of table) {
    it(what, () => {
      const f = facts(story);
      for (const [day, zone, rule] of expected) {
        const z = zoneOn(f, preset, D(day));
        expect([day, z.zone]).toEqual([day, zone]);
        if (typeof rule === 'string') expect(z.reason.rule).toBe(rule);
        else expect(z.reason.rule).toMatch(rule);
        expect(z.day).toBe(D(day));
        expect(z.preset).toBe(`${preset.id}@${preset.version}`);
      }
      // The history is the same decision, day by day.
      const days = expected.map(([d]) => d);
      const history = zoneHistory(f, preset, D(Math.min(...days)), D(Math.max(...days)));
      expect(history).toHaveLength(Math.max(...days) - Math.min(...days) + 1);
      for (const h of history) expect(h).toEqual(zoneOn(f, preset, h.day));
    });
  }

  it('the shipped presets hold the numbers the table counts with', () => {
    for (const p of [shanghai, national]) {
      expect(p.zoning.transitions.map((t) => [t.from, t.to, t.cleanDays, (t as { afterSealed?: boolean }).afterSealed ?? false])).toEqual([
        ['sealed', 'controlled', 7, false],
        ['controlled', 'precaution', 3, true],
        ['controlled', 'precaution', 7, false],
      ]);
      expect(p.zoning.positiveRestartsClock).toBe(true);
      expect([p.zoning.sealedIfPositiveWithinDays, p.zoning.sealedBuildingExtendsToDay]).toEqual([7, 14]);
    }
    expect(national.zoning.transitions.map((t) => (t as { allNegativeScreeningDay?: number }).allNegativeScreeningDay ?? null)).toEqual([7, null, 7]);
    expect(shanghai.zoning.transitions.map((t) => (t as { allNegativeScreeningDay?: number }).allNegativeScreeningDay ?? null)).toEqual([null, null, null]);
  });

  it('an afterSealed transition wins for a compound straight from sealed, wherever the preset lists it', () => {
    const p = structuredClone(shanghai);
    p.zoning.transitions.reverse();
    const sealedFirst = facts({ cases: [[1, 0, 11]] });
    expect([9, 10].map((d) => zoneOn(sealedFirst, p, D(d)).zone)).toEqual(['controlled', 'precaution']);
    expect(zoneOn(sealedFirst, p, D(10)).reason.rule).toBe(shAfterSealed);
    const designated = facts({ controlled: [0] });
    expect([6, 7].map((d) => zoneOn(designated, p, D(d)).zone)).toEqual(['controlled', 'precaution']);
  });

  it('takes its numbers from the preset, not from the code', () => {
    const p = structuredClone(shanghai);
    p.zoning.transitions[0].cleanDays = 5;
    p.zoning.transitions[1].cleanDays = 2;
    const f = facts({ cases: [[1, 0, 11]] });
    expect([4, 5, 6, 7].map((d) => zoneOn(f, p, D(d)).zone)).toEqual(['sealed', 'controlled', 'controlled', 'precaution']);
  });

  it('says when and where it moves if nothing happens, and waits for a screening when one is needed', () => {
    const sh = facts({ cases: [[1, 0, 11]] });
    expect(zoneOn(sh, shanghai, D(0)).moves).toEqual({ on: D(7), to: 'controlled', rule: shSealed, ifAllNegativeScreeningOn: null });
    expect(zoneOn(sh, shanghai, D(7)).moves).toEqual({ on: D(10), to: 'precaution', rule: shAfterSealed, ifAllNegativeScreeningOn: null });
    expect(zoneOn(sh, shanghai, D(10)).moves).toBeNull();
    expect(zoneOn(facts({}), shanghai, D(0)).moves).toBeNull();

    // The screening is not read before its day: on day 3 the move is planned for day 7, if day 7 is all negative.
    const cn = facts({ cases: [[1, 0, 11]], clear: [9] });
    expect(zoneOn(cn, national, D(3)).moves).toEqual({ on: D(7), to: 'controlled', rule: cnSealed, ifAllNegativeScreeningOn: D(7) });
    // Day 7 went by without one: the earliest is tomorrow's screening.
    expect(zoneOn(cn, national, D(8)).moves).toEqual({ on: D(9), to: 'controlled', rule: cnSealed, ifAllNegativeScreeningOn: D(9) });
    expect(zoneOn(cn, national, D(9)).moves).toEqual({ on: D(12), to: 'precaution', rule: cnAfterSealed, ifAllNegativeScreeningOn: null });
  });

  it('gives the last case, the day it entered the zone and the day its clock started', () => {
    const f = facts({ cases: [[1, 0, 11], [3, 4, 12], [2, 4, 13]] });
    const z = zoneOn(f, shanghai, D(5));
    expect(z.zone).toBe('sealed');
    expect(z.since).toBe(D(0));
    expect(z.clockFrom).toBe(D(4));
    expect(z.reason.lastCase).toEqual({ id: 3, day: D(4) });
    const later = zoneOn(f, shanghai, D(12));
    expect([later.zone, later.since, later.reason.lastCase]).toEqual(['controlled', D(11), { id: 3, day: D(4) }]);
    // Placed under control again while controlled: the same stay in the zone, a new clock.
    const again = zoneOn(facts({ cases: [[1, 0, 11]], controlled: [8] }), shanghai, D(9));
    expect([again.zone, again.since, again.clockFrom]).toEqual(['controlled', D(7), D(8)]);
    const before = zoneOn(facts({}), shanghai, D(0));
    expect([before.since, before.clockFrom, before.reason.lastCase]).toEqual([null, null, null]);
  });

  it('reads no fact after its day, and takes the facts in any order', () => {
    const f = facts({ cases: [[2, 5, 11], [1, 0, 11]] });
    expect(zoneOn(facts({ cases: [[2, 5, 11]] }), shanghai, D(4)).zone).toBe('precaution');
    expect(zoneOn(f, shanghai, D(4)).reason.lastCase).toEqual({ id: 1, day: D(0) });
    expect(zoneOn(f, shanghai, D(11)).zone).toBe('sealed');
    expect(zoneOn(f, shanghai, D(12)).zone).toBe('controlled');
  });

  describe('a positive inside the sealed week keeps its building sealed to day 14', () => {
    for (const preset of [shanghai, national]) {
      it(preset.id, () => {
        // Building 11 sealed the compound on day 0 (so did 13, the same day: no extension); buildings 12 and
        // 18 had a positive on days 3 and 6, inside the week; 17 and 15 on days 7 and 8, after it (the
        // compound still sealed, its clock restarted).
        const f = facts({ cases: [[1, 0, 11], [2, 0, 13], [3, 3, 12], [5, 6, 18], [6, 7, 17], [4, 8, 15]], clear: [15] });
        const b12 = { buildingId: 12, caseId: 3, releasedOn: D(14) };
        const b18 = { buildingId: 18, caseId: 5, releasedOn: D(14) };
        expect(zoneOn(f, preset, D(2)).sealedBuildings).toEqual([]);
        expect(zoneOn(f, preset, D(3)).sealedBuildings).toEqual([b12]);
        expect(zoneOn(f, preset, D(13)).sealedBuildings).toEqual([b12, b18]);
        expect(zoneOn(f, preset, D(14)).sealedBuildings).toEqual([]);
        expect(zoneOn(f, preset, D(14)).zone).toBe('sealed');
        // The week counts from the sealing: once it has moved on, the rule applies to the next sealing.
        const g = facts({ cases: [[1, 0, 11], [2, 3, 12], [3, 20, 14], [4, 22, 16]], clear: [10, 29] });
        const z = zoneOn(g, preset, D(13));
        expect(z.zone).toBe('precaution');
        expect(z.sealedBuildings).toEqual([{ ...b12, caseId: 2 }]);
        expect(zoneOn(g, preset, D(22)).sealedBuildings).toEqual([{ buildingId: 16, caseId: 4, releasedOn: D(34) }]);
      });
    }
  });

  it('without positiveRestartsClock the compound keeps its week and only the building stays sealed', () => {
    const p = structuredClone(shanghai);
    p.zoning.positiveRestartsClock = false;
    const f = facts({ cases: [[1, 0, 11], [2, 3, 12]] });
    const day7 = zoneOn(f, p, D(7));
    expect([day7.zone, day7.clockFrom, day7.reason.lastCase?.id]).toEqual(['controlled', D(7), 2]);
    expect(day7.sealedBuildings).toEqual([{ buildingId: 12, caseId: 2, releasedOn: D(14) }]);
    expect(zoneOn(f, p, D(10)).zone).toBe('precaution');
    // With the shipped preset the same positive restarts the compound's clock.
    expect(zoneOn(f, shanghai, D(7)).zone).toBe('sealed');
  });

  it('refuses a day that is not a calendar day, and a history that ends before it starts', () => {
    for (const bad of ['2022-02-29', '2022-13-01', '2022-00-10', '2022-05-00', '2022-5-1', '2022/05/01', 'abcd-05-01', '2022-05-01T00:00', '', '2022-04-31']) {
      expect(() => zoneOn(facts({}), shanghai, bad)).toThrow(RangeError);
    }
    expect(() => zoneOn({ cases: [{ id: 1, day: 'May 1', buildingId: null }], screenings: [] }, shanghai, D(0))).toThrow(RangeError);
    expect(() => zoneHistory(facts({}), shanghai, D(2), D(1))).toThrow(RangeError);
    expect(zoneHistory(facts({}), shanghai, D(1), D(1))).toHaveLength(1);
  });

  it('counts calendar days across months, years and leap days', () => {
    expect(dayNumber('1970-01-01')).toBe(0);
    expect(dayNumber('2022-05-01')).toBe(Date.UTC(2022, 4, 1) / 86_400_000);
    expect(dayNumber('2024-03-01') - dayNumber('2024-02-28')).toBe(2);
    expect(dayNumber('2023-03-01') - dayNumber('2023-02-28')).toBe(1);
    expect(dayNumber('2000-02-29') - dayNumber('1999-12-31')).toBe(60);
    expect(dayNumber('2024-02-29')).toBe(Date.UTC(2024, 1, 29) / 86_400_000);
    expect(() => dayNumber('2100-02-29')).toThrow(RangeError);
    for (let n = -1000; n < 25_000; n += 37) expect(dayNumber(dayText(n))).toBe(n);
    // Sealed on 31 Dec: controlled 7 days later in the new year.
    const g: CompoundFacts = { cases: [{ id: 1, day: '2022-12-31', buildingId: null }], screenings: [] };
    expect(zoneOn(g, shanghai, '2023-01-06').zone).toBe('sealed');
    expect(zoneOn(g, shanghai, '2023-01-07').zone).toBe('controlled');
  });

  it('zones one day of 70,000 compounds (how fast is measured by the bench, not here)', () => {
    const all: CompoundFacts[] = [];
    // Fresh strings per fact, as rows from a database would be.
    const day = Array.from({ length: 30 }, (_, k) => D(k));
    const text = (k: number) => (' ' + day[k]).slice(1);
    for (let i = 0; i < 70_000; i++) {
      // One compound in five had cases (8 each), every compound screened every other day for 30 days.
      const cases = i % 5 === 0 ? Array.from({ length: 8 }, (_, k) => ({ id: i * 10 + k, day: text((i * 7 + k * 3) % 30), buildingId: k })) : [];
      const screenings = Array.from({ length: 15 }, (_, k) => ({ day: text(k * 2), allNegative: (i + k) % 4 !== 0 }));
      all.push({ cases, screenings });
    }
    const count = { sealed: 0, controlled: 0, precaution: 0 };
    const on = day[29];
    for (const f of all.slice(0, 5000)) zoneOn(f, national, on); // warm up
    // How fast is for the bench (npm run bench -- zoning), not for a test on a shared machine.
    for (const f of all) count[zoneOn(f, national, on).zone]++;
    expect(count.sealed + count.controlled + count.precaution).toBe(70_000);
    expect(count.sealed).toBeGreaterThan(0);
  });
});

describe('zone reasons as data', () => {
  it('gives every rule a zone day can name as data, for a page to word in its language', () => {
    // A compound sealed on day 1, controlled after 7 clean days, precaution 3 days later (Shanghai).
    const days = zoneHistory(facts({ cases: [[1, 1, null]] }), shanghai, D(0), D(12));
    const whys = [...new Map(days.map((d) => [d.reason.rule, zoneWhy(d.reason.rule, shanghai)])).values()];
    expect(whys).toEqual([
      { code: 'noCase' },
      { code: 'positive' },
      { code: 'clean', from: 'sealed', to: 'controlled', cleanDays: 7, screeningDay: null },
      { code: 'clean', from: 'controlled', to: 'precaution', cleanDays: 3, screeningDay: null },
    ]);
    expect(zoneWhy(zoneOn(facts({ controlled: [2] }), national, D(3)).reason.rule, national)).toEqual({ code: 'designated' });
    for (const preset of [shanghai, national]) {
      for (const t of preset.zoning.transitions as { from: string; to: string; cleanDays: number; rule: string }[]) {
        expect(zoneWhy(t.rule, preset)).toMatchObject({ code: 'clean', from: t.from, to: t.to, cleanDays: t.cleanDays });
      }
    }
    // Words no rule of this preset has (an older preset's): no data, the page shows the words.
    expect(zoneWhy('rules.md 4: some older wording', shanghai)).toBeNull();
  });
});

describe('epidemic-free compounds', () => {
  for (const preset of [shanghai, national]) {
    describe(preset.id, () => {
      it('14 clean days and everyone negative on day 13: free from day 14', () => {
        expect([preset.zoning.epidemicFree.noPositiveDays, preset.zoning.epidemicFree.allNegativeScreeningDay]).toEqual([14, 13]);
        const f = facts({ cases: [[1, 0, 11]], clear: [13] });
        const d13 = epidemicFree(f, preset, D(13));
        expect([d13.free, d13.missing, d13.freeOn, d13.screeningDay]).toEqual([false, ['cleanDays'], D(14), D(13)]);
        const d14 = epidemicFree(f, preset, D(14));
        expect([d14.free, d14.since, d14.screeningDay, d14.missing, d14.lastCase]).toEqual([true, D(14), D(13), [], { id: 1, day: D(0) }]);
        expect(d14.rule).toMatch(/^rules\.md 5/);
        expect(epidemicFree(f, preset, D(40)).free).toBe(true);
      });

      it('a screening before day 13, or not all negative, does not count; a later one does, a day later', () => {
        expect(epidemicFree(facts({ cases: [[1, 0, 11]], clear: [12] }), preset, D(30)).free).toBe(false);
        expect(epidemicFree(facts({ cases: [[1, 0, 11]], notClear: [13] }), preset, D(14)).free).toBe(false);
        const late = facts({ cases: [[1, 0, 11]], clear: [12, 15], notClear: [13] });
        expect(epidemicFree(late, preset, D(15)).free).toBe(false);
        expect([epidemicFree(late, preset, D(16)).free, epidemicFree(late, preset, D(16)).since]).toEqual([true, D(16)]);
      });

      it('without the screening it says what it needs', () => {
        const e = epidemicFree(facts({ cases: [[1, 0, 11]] }), preset, D(14));
        expect([e.free, e.missing, e.screeningDay, e.freeOn]).toEqual([false, ['allNegativeScreening'], D(15), D(16)]);
        const early = epidemicFree(facts({ cases: [[1, 0, 11]] }), preset, D(5));
        expect([early.missing, early.screeningDay, early.freeOn]).toEqual([['cleanDays', 'allNegativeScreening'], D(13), D(14)]);
      });

      it('a positive revokes it and restarts the count', () => {
        const f = facts({ cases: [[1, 0, 11], [2, 20, 12]], clear: [13, 33] });
        expect(epidemicFree(f, preset, D(19)).free).toBe(true);
        const revoked = epidemicFree(f, preset, D(20));
        expect([revoked.free, revoked.lastCase, revoked.freeOn]).toEqual([false, { id: 2, day: D(20) }, D(34)]);
        expect(epidemicFree(f, preset, D(33)).free).toBe(false);
        expect(epidemicFree(f, preset, D(34)).free).toBe(true);
      });

      it('a compound that never had a case needs an all-negative screening', () => {
        expect(epidemicFree(facts({}), preset, D(10)).free).toBe(false);
        const f = facts({ clear: [3] });
        expect(epidemicFree(f, preset, D(3)).free).toBe(false);
        expect([epidemicFree(f, preset, D(4)).free, epidemicFree(f, preset, D(4)).since]).toEqual([true, D(4)]);
      });
    });
  }

  it('takes its numbers from the preset', () => {
    const p = structuredClone(national);
    p.zoning.epidemicFree = { noPositiveDays: 10, allNegativeScreeningDay: 10 };
    const f = facts({ cases: [[1, 0, 11]], clear: [10] });
    expect([9, 10].map((d) => epidemicFree(f, p, D(d)).free)).toEqual([false, true]);
  });
});

describe('epidemic-free areas on a 3x3 grid', () => {
  //  1 2 3   street 10 (district 100)
  //  4 5 6   street 20 (district 100)
  //  7 8 9   street 30 (district 200)
  const grid: CompoundPlace[] = [1, 2, 3, 4, 5, 6, 7, 8, 9].map((id) => {
    const row = Math.floor((id - 1) / 3);
    return { id, streetId: (row + 1) * 10, districtId: row < 2 ? 100 : 200 };
  });
  const edges: [number, number][] = [];
  for (const c of grid) {
    if (c.id % 3 !== 0) edges.push([c.id, c.id + 1]);
    if (c.id <= 6) edges.push([c.id, c.id + 3]);
  }

  it('joins free compounds that share an edge, and names wholly free streets', () => {
    const a = freeAreas(grid, edges, new Set([1, 2, 3, 4, 7, 9]), shanghai);
    expect(a.areas).toEqual([[1, 2, 3, 4, 7], [9]]);
    expect(a.streets).toEqual([10]);
    expect(a.districts).toEqual([]);
  });

  it('a ring around one unfree compound is one area; a district with every street free is free', () => {
    const a = freeAreas(grid, edges, new Set([1, 2, 3, 4, 6, 7, 8, 9]), national);
    expect(a.areas).toEqual([[1, 2, 3, 4, 6, 7, 8, 9]]);
    expect(a.streets).toEqual([10, 30]);
    expect(a.districts).toEqual([200]);
  });

  it('corners do not join; everything free is one area, every street and district', () => {
    expect(freeAreas(grid, edges, new Set([1, 5, 9]), shanghai).areas).toEqual([[1], [5], [9]]);
    expect(freeAreas(grid, edges, new Set([3, 5, 7, 8]), shanghai).areas).toEqual([[5, 7, 8], [3]]);
    const all = freeAreas(grid, edges, new Set(grid.map((c) => c.id)), shanghai);
    expect(all.areas).toEqual([[1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    expect([all.streets, all.districts]).toEqual([[10, 20, 30], [100, 200]]);
    expect(freeAreas(grid, edges, new Set(), shanghai)).toMatchObject({ areas: [], streets: [], districts: [] });
  });

  it('ignores edges and free ids outside the compounds given; reversed and repeated edges are the same edge', () => {
    const a = freeAreas(grid, [...edges, [3, 99], [99, 7], [2, 1], [1, 2]], new Set([1, 2, 3, 7, 99]), shanghai);
    expect(a.areas).toEqual([[1, 2, 3], [7]]);
  });

  it('names no wholly free street when the preset does not count streets by their compounds', () => {
    const p = structuredClone(shanghai);
    p.zoning.epidemicFreeStreet.allCompoundsFree = false;
    const a = freeAreas(grid, edges, new Set(grid.map((c) => c.id)), p);
    expect([a.areas.length, a.streets, a.districts]).toEqual([1, [], []]);
  });
});

describe('society-level cases', () => {
  const none: CaseAtDetection = { quarantineOrderId: null, sealedCompoundId: null, poolRetestTubeId: null };
  const table: [string, Partial<CaseAtDetection>, 'controlled' | 'society', { fact: string; id: number } | null][] = [
    ['found in quarantine', { quarantineOrderId: 5 }, 'controlled', { fact: 'quarantine', id: 5 }],
    ['found in a sealed compound', { sealedCompoundId: 7 }, 'controlled', { fact: 'sealedCompound', id: 7 }],
    ['found by the retest of a positive pool', { poolRetestTubeId: 9 }, 'controlled', { fact: 'poolRetest', id: 9 }],
    ['quarantine decides before the sealed compound', { quarantineOrderId: 5, sealedCompoundId: 7, poolRetestTubeId: 9 }, 'controlled', { fact: 'quarantine', id: 5 }],
    ['the sealed compound decides before the pool', { sealedCompoundId: 7, poolRetestTubeId: 9 }, 'controlled', { fact: 'sealedCompound', id: 7 }],
    ['none of them: society level', {}, 'society', null],
  ];
  for (const [what, input, level, decidedBy] of table) {
    it(what, () => {
      const c = classifyCase({ ...none, ...input });
      expect(c.level).toBe(level);
      expect(c.decidedBy).toEqual(decidedBy);
      expect(c.rule).toMatch(/^rules\.md 6/);
    });
  }
});

describe('district clearance', () => {
  const series = (counts: number[]) => counts.map((cases, i) => ({ day: D(i), cases }));

  it('basically zero after 3 days under 1 per 100,000; zero after 3 days with none', () => {
    // 200,000 people: 1 per 100,000 is 2 cases; 2 is not under it.
    const c = districtClearance(series([5, 1, 1, 1, 0, 0, 0, 2, 0]), 200_000, shanghai);
    expect(c.map((d) => d.per100k)).toEqual([2.5, 0.5, 0.5, 0.5, 0, 0, 0, 1, 0]);
    expect(c.map((d) => d.basicallyZero)).toEqual([false, false, false, true, true, true, true, false, false]);
    expect(c.map((d) => d.zero)).toEqual([false, false, false, false, false, false, true, false, false]);
    expect(c.map((d) => [d.belowRun, d.zeroRun])[6]).toEqual([6, 3]);
    expect(c[3]).toMatchObject({ day: D(3), cases: 1, preset: `${shanghai.id}@${shanghai.version}` });
    expect(c[3].rule).toMatch(/^rules\.md 6/);
  });

  it('continues a series from the runs of the day before, as the whole series has them', () => {
    const whole = districtClearance(series([5, 1, 1, 1, 0, 0, 0, 2, 0]), 200_000, shanghai);
    for (const k of [1, 4, 6, 8]) {
      const rest = districtClearance(series([5, 1, 1, 1, 0, 0, 0, 2, 0]).slice(k), 200_000, shanghai, { belowRun: whole[k - 1].belowRun, zeroRun: whole[k - 1].zeroRun });
      expect(rest).toEqual(whole.slice(k));
    }
  });

  it('a day not given had no society-level case; rows of one day add up', () => {
    const c = districtClearance([{ day: D(4), cases: 0 }, { day: D(0), cases: 3 }, { day: D(0), cases: 1 }], 1_000_000, national);
    expect(c.map((d) => [d.day, d.cases])).toEqual([[D(0), 4], [D(1), 0], [D(2), 0], [D(3), 0], [D(4), 0]]);
    expect(c.map((d) => d.zero)).toEqual([false, false, false, true, true]);
    expect(districtClearance([], 1000, national)).toEqual([]);
    expect(() => districtClearance(series([1]), 0, national)).toThrow(RangeError);
  });

  it('takes its numbers from the preset', () => {
    const p = structuredClone(shanghai);
    p.clearance = { basicallyZeroPer100k: 3, consecutiveDays: 2 };
    const c = districtClearance(series([5, 2, 2, 0, 0]), 100_000, p);
    expect(c.map((d) => d.basicallyZero)).toEqual([false, false, true, true, true]);
    expect(c.map((d) => d.zero)).toEqual([false, false, false, false, true]);
  });
});
