import { describe, expect, it } from 'vitest';
import { loadPreset } from '../core/presets.ts';
import { canAddToTube, consequencesOf, meetsReleaseCt, percentile, poolSizeFor, queueWaitMinutes, verdictOf, type TubeFacts } from './rules.ts';

const presets = ['shanghai-2022-05', 'cn-2022-9th'].map(loadPreset);

describe.each(presets)('testing rules under $id', (preset) => {
  it.each([
    ['quarantine', 1],
    ['keyGroup', 1],
    ['sealed', 1],
    ['controlled', 10],
    ['precaution', 20],
    ['other', 20],
  ] as const)('pools %s in tubes of %i', (group, size) => {
    expect(poolSizeFor(group, preset)).toBe(size);
  });

  it('never pools above 20 even when a copied preset asks for more', () => {
    const loose = { ...preset, testing: { ...preset.testing, maxPoolSize: 50, poolSizeByGroup: { ...preset.testing.poolSizeByGroup, other: 30 } } };
    expect(poolSizeFor('other', loose)).toBe(20);
  });

  it.each([
    [{ result: 'positive', ctOrf1ab: 28, ctN: 30 }, 'positive'],
    [{ result: 'positive', ctOrf1ab: 39.9, ctN: 41 }, 'positive'],
    [{ result: 'negative', ctOrf1ab: 40, ctN: 40 }, 'negative'],
    [{ result: 'negative', ctOrf1ab: null, ctN: null }, 'negative'],
    [{ result: 'negative', ctOrf1ab: 38, ctN: 45 }, 'invalid'],
    [{ result: 'positive', ctOrf1ab: 41, ctN: 42 }, 'invalid'],
    [{ result: 'invalid' }, 'invalid'],
  ] as const)('reads %j as %s (cutoff Ct 40)', (r, verdict) => {
    expect(verdictOf(r, preset).verdict).toBe(verdict);
  });

  it('needs both targets at Ct >= 35 for release', () => {
    expect(meetsReleaseCt({ result: 'positive', ctOrf1ab: 36, ctN: 35 }, preset)).toBe(true);
    expect(meetsReleaseCt({ result: 'positive', ctOrf1ab: 36, ctN: 34.9 }, preset)).toBe(false);
    expect(meetsReleaseCt({ result: 'negative' }, preset)).toBe(true);
  });
});

describe('consequences of a tube', () => {
  const preset = presets[0];
  const at = new Date('2022-04-10T10:00:00Z');
  const pool: TubeFacts = {
    tubeId: 1,
    barcode: 'T001',
    sampledAt: at,
    members: [
      { personId: 1, streetId: 11, districtId: 1 },
      { personId: 2, streetId: 11, districtId: 1 },
      { personId: 3, streetId: 12, districtId: 1 },
    ],
  };

  it('a positive pool controls every member and asks each street for retests by the deadline', () => {
    const c = consequencesOf(pool, 'positive', at, preset);
    expect(c.filter((x) => x.kind === 'poolControl').map((x) => x.personId)).toEqual([1, 2, 3]);
    const tasks = c.filter((x) => x.kind === 'retestTask');
    expect(tasks).toHaveLength(2);
    expect(tasks.map((t) => (t.kind === 'retestTask' ? t.personIds : []))).toEqual([[1, 2], [3]]);
    expect(tasks[0].kind === 'retestTask' && tasks[0].due.toISOString()).toBe('2022-04-11T10:00:00.000Z');
  });

  it('a positive single tube is a positive finding for its person, with no pool control', () => {
    const single = { ...pool, members: [pool.members[0]] };
    expect(consequencesOf(single, 'positive', at, preset)).toEqual([{ kind: 'confirmedPositive', personId: 1, reason: 'single tube T001 positive' }]);
  });

  it('a negative tube records negatives and an invalid one nothing', () => {
    expect(consequencesOf(pool, 'negative', at, preset).map((x) => x.kind)).toEqual(['negative', 'negative', 'negative']);
    expect(consequencesOf(pool, 'invalid', at, preset)).toEqual([]);
  });
});

describe('tubes, queues and percentiles', () => {
  it('refuses a person beyond the tube size or in a closed tube', () => {
    expect(canAddToTube({ closed: false, capacity: 20, count: 19 })).toBeNull();
    expect(canAddToTube({ closed: false, capacity: 20, count: 20 })).toEqual({ code: 'tubeFull', text: 'the tube is full: it holds at most 20' });
    expect(canAddToTube({ closed: true, capacity: 20, count: 3 })).toEqual({ code: 'tubeClosed', text: 'the tube is closed' });
  });

  it('estimates the wait from the queue and the service rate', () => {
    expect(queueWaitMinutes({ arrivalsPerHour: 300, servedPerHourPerStation: 60, stations: 2, waiting: 40 })).toBe(20);
    expect(queueWaitMinutes({ arrivalsPerHour: 0, servedPerHourPerStation: 0, stations: 2, waiting: 0 })).toBe(0);
  });

  it('takes nearest-rank percentiles', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 50)).toBe(5);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(percentile([], 50)).toBeNull();
  });
});
