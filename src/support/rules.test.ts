// Livelihood and vaccination rules under both presets: priority and deadline from the kind, the refill
// limit, a dispatch that no colour stops, the steps a request may take, escalation, a person's primary
// series and booster, dose order, and booking slots.
import { describe, expect, it } from 'vitest';
import { loadPreset, type Preset } from '../core/presets.ts';
import {
  assertMedicalNeverGated, bookingProblems, bucketBounds, dispatchDecision, percentile, doseProblems, escalation, isOverdue, localTime, REQUEST_KINDS, requestProblem, terms, transition, vaccinationState, type Colour,
} from './rules.ts';

const presets = [loadPreset('shanghai-2022-05'), loadPreset('cn-2022-9th')];
const T0 = new Date('2022-04-12T02:00:00Z');
const hours = (h: number) => new Date(T0.getTime() + h * 3_600_000);

describe('requests', () => {
  it('takes priority and deadline from the preset, emergencies first', () => {
    for (const p of presets) {
      const e = terms('medicalEmergency', T0, p);
      expect(e.priority).toBe(p.support.priority.medicalEmergency);
      expect(e.deadlineAt).toEqual(hours(p.support.deadlineHours.medicalEmergency));
      expect(e.medical).toBe(true);
      expect(e.rule).toContain(`${p.id}@${p.version}`);
      for (const k of REQUEST_KINDS) expect(terms(k, T0, p).priority).toBeGreaterThanOrEqual(e.priority);
      expect(terms('food', T0, p)).toMatchObject({ medical: false, deadlineAt: hours(p.support.deadlineHours.food) });
    }
  });

  it('limits a medicine refill to the long-prescription days of the preset', () => {
    for (const p of presets) {
      const max = p.support.maxPrescriptionDays;
      expect(requestProblem({ kind: 'medicineRefill', prescriptionDays: max }, p)).toBeNull();
      expect(requestProblem({ kind: 'medicineRefill', prescriptionDays: max + 1 }, p)).toMatchObject({ code: 'refillTooLong', max, asked: max + 1, text: expect.stringMatching(new RegExp(`at most ${max} days`)) });
      expect(requestProblem({ kind: 'medicineRefill' }, p)).toMatchObject({ code: 'refillDaysNeeded', max });
      expect(requestProblem({ kind: 'food', prescriptionDays: 30 }, p)).toMatchObject({ code: 'refillDaysOnly' });
    }
  });

  it('dispatches every request whatever the colour; a colour adds precautions, never a refusal', () => {
    for (const p of presets) {
      for (const kind of REQUEST_KINDS) {
        for (const colour of ['green', 'yellow', 'red'] as Colour[]) {
          const d = dispatchDecision(kind, colour, p);
          expect(d.dispatch).toBe(true);
          expect(d.colour).toBe(colour);
          if (colour === 'green') expect(d.precautions).toEqual([]);
        }
      }
      const red = dispatchDecision('medicalEmergency', 'red', p);
      expect(red.precautions).toEqual(['closedLoopTransport']);
      expect(red.reasons[0]).toMatch(/never gated.*rules\.md 24/);
      expect(dispatchDecision('food', 'red', p).precautions).toEqual(['contactlessDelivery']);
    }
  });

  it('refuses a preset that would gate medical access', () => {
    for (const p of presets) expect(() => assertMedicalNeverGated(p)).not.toThrow();
    const gated = structuredClone(presets[0]) as Preset;
    (gated.support as { medicalNeverGated: boolean }).medicalNeverGated = false;
    expect(() => assertMedicalNeverGated(gated)).toThrow(/may not be false/);
    const dropped = structuredClone(presets[0]) as Preset;
    dropped.support.medicalKinds = ['food'];
    expect(() => assertMedicalNeverGated(dropped)).toThrow(/medicalKinds/);
  });

  it('moves a request forward only, and lets only command refuse a medical one, for review', () => {
    const street = { command: false };
    const command = { command: true };
    expect(transition('open', 'accepted', { medical: false }, street)).toEqual({ ok: true, review: false });
    expect(transition('accepted', 'onTheWay', { medical: true }, street)).toEqual({ ok: true, review: false });
    expect(transition('onTheWay', 'refused', { medical: false }, command).ok).toBe(false);
    expect(transition('done', 'accepted', { medical: false }, command).ok).toBe(false);
    expect(transition('open', 'refused', { medical: false }, street)).toEqual({ ok: true, review: false });
    expect(transition('open', 'refused', { medical: true }, street)).toMatchObject({ ok: false, why: expect.stringMatching(/never refused by a street/) });
    expect(transition('open', 'refused', { medical: true }, command)).toEqual({ ok: true, review: true });
  });

  it('is overdue past its deadline while still to be served, and escalates with the severity of its kind', () => {
    const p = presets[0];
    expect(isOverdue({ status: 'accepted', deadlineAt: hours(1) }, hours(2))).toBe(true);
    expect(isOverdue({ status: 'done', deadlineAt: hours(1) }, hours(2))).toBe(false);
    expect(isOverdue({ status: 'open', deadlineAt: hours(3) }, hours(2))).toBe(false);
    const e = escalation({ id: 1, kind: 'medicalEmergency', medical: true, deadlineAt: hours(1) }, p, hours(1.5));
    expect(e).toMatchObject({ severity: 'critical', overdueMinutes: 30, dueAt: hours(1.5 + p.support.deadlineHours.medicalEmergency) });
    expect(escalation({ id: 2, kind: 'food', medical: false, deadlineAt: hours(1) }, p, hours(2)).severity).toBe('warning');
  });
});

describe('vaccination', () => {
  const p = presets[0];
  const coronavac = (dose: number, givenOn: string) => ({ dose, product: 'CoronaVac', givenOn });

  it('knows the primary series by product and when the booster is due', () => {
    expect(vaccinationState([], p, '2022-04-12')).toMatchObject({ doses: 0, primaryComplete: false, next: { dose: 1, series: 'primary' } });
    const one = vaccinationState([coronavac(1, '2022-03-01')], p, '2022-04-12');
    expect(one).toMatchObject({ primaryDoses: 2, primaryComplete: false, next: { dose: 2, earliest: '2022-03-22' } });
    const two = vaccinationState([coronavac(1, '2021-08-31'), coronavac(2, '2021-09-30')], p, '2022-04-12');
    expect(two).toMatchObject({ primaryComplete: true, primaryCompletedOn: '2021-09-30', boosted: false, boosterDueFrom: '2022-03-30', boosterDue: true, next: { dose: 3, series: 'booster', earliest: '2022-03-30' } });
    // Month ends clamp: 31 August + 6 months is the end of February.
    expect(vaccinationState([coronavac(1, '2021-07-01'), coronavac(2, '2021-08-31')], p, '2022-01-01').boosterDueFrom).toBe('2022-02-28');
    const early = vaccinationState([coronavac(1, '2021-12-01'), coronavac(2, '2022-01-01')], p, '2022-04-12');
    expect(early).toMatchObject({ boosterDue: false, boosterDueFrom: '2022-07-01' });
    const boosted = vaccinationState([coronavac(1, '2021-01-01'), coronavac(2, '2021-02-01'), coronavac(3, '2021-09-01')], p, '2022-04-12');
    expect(boosted).toMatchObject({ boosted: true, boosterDue: false, next: null });
    // A single-dose product: its one dose completes the series, the second is the booster.
    expect(vaccinationState([{ dose: 1, product: 'Ad5-nCoV', givenOn: '2021-06-01' }], p, '2022-04-12')).toMatchObject({ primaryDoses: 1, primaryComplete: true, boosterDue: true });
    expect(vaccinationState([{ dose: 1, product: 'ZF2001', givenOn: '2021-06-01' }, { dose: 2, product: 'ZF2001', givenOn: '2021-07-01' }, { dose: 3, product: 'ZF2001', givenOn: '2021-08-01' }], p, '2022-04-12')).toMatchObject({ primaryDoses: 3, boosted: false });
  });

  it('records doses in order, never twice, never in the future or before birth', () => {
    const have = [coronavac(1, '2021-05-01')];
    expect(doseProblems(have, { dose: 2, givenOn: '2021-06-01' }, '1950-01-01', '2022-04-12')).toEqual([]);
    // Each refusal as data (its code and values) and in the server's words.
    expect(doseProblems(have, { dose: 1, givenOn: '2021-06-01' }, '1950-01-01', '2022-04-12')).toEqual([{ code: 'doseRecorded', dose: 1, text: expect.stringMatching(/already recorded/) }]);
    expect(doseProblems(have, { dose: 3, givenOn: '2021-06-01' }, '1950-01-01', '2022-04-12')).toEqual([{ code: 'dosePreviousMissing', dose: 3, previous: 2, text: expect.stringMatching(/Dose 2 must be recorded/) }]);
    expect(doseProblems(have, { dose: 2, givenOn: '2021-04-01' }, '1950-01-01', '2022-04-12')).toEqual([{ code: 'doseBeforePrevious', dose: 2, givenOn: '2021-04-01', previous: 1, previousOn: '2021-05-01', text: expect.stringMatching(/cannot come before/) }]);
    expect(doseProblems([], { dose: 1, givenOn: '2022-05-01' }, '1950-01-01', '2022-04-12')).toEqual([{ code: 'doseInFuture', givenOn: '2022-05-01', text: expect.stringMatching(/future/) }]);
    expect(doseProblems([], { dose: 1, givenOn: '1949-05-01' }, '1950-01-01', '2022-04-12')).toEqual([{ code: 'doseBeforeBirth', givenOn: '1949-05-01', birthDate: '1950-01-01', text: expect.stringMatching(/before the person's birth/) }]);
  });

  it('books an hour inside the point’s local hours, when the dose is due and the hour has room', () => {
    const point = { vaccinates: true, opens: '08:00', closes: '20:00', stations: 2 };
    const due = vaccinationState([coronavac(1, '2021-08-31'), coronavac(2, '2021-09-30')], p, '2022-04-12');
    // 10:00 in Shanghai is 02:00 UTC.
    const ten = new Date('2022-04-13T02:00:00Z');
    expect(localTime(ten, p.reporting.timeZone)).toEqual({ day: '2022-04-13', minutes: 600 });
    const cap = 2 * p.vaccination.bookingsPerStationPerHour;
    expect(bookingProblems(point, ten, due, 0, p, T0)).toEqual({ problems: [], capacity: cap });
    expect(bookingProblems(point, ten, due, cap, p, T0).problems).toEqual([{ code: 'slotFull', capacity: cap, stations: 2, perStation: p.vaccination.bookingsPerStationPerHour, preset: `${p.id}@${p.version}`, text: expect.stringMatching(/full/) }]);
    expect(bookingProblems({ ...point, vaccinates: false }, ten, due, 0, p, T0).problems).toEqual([{ code: 'pointNotVaccinating', text: expect.stringMatching(/does not vaccinate/) }]);
    expect(bookingProblems(point, new Date('2022-04-13T12:00:00Z'), due, 0, p, T0).problems).toEqual([{ code: 'slotOutsideHours', slot: '20:00', opens: '08:00', closes: '20:00', text: expect.stringMatching(/outside the point's hours 08:00-20:00/) }]);
    expect(bookingProblems(point, new Date('2022-04-11T02:00:00Z'), due, 0, p, T0).problems).toContainEqual({ code: 'slotPassed', text: 'The slot has passed.' });
    const early = vaccinationState([coronavac(1, '2022-04-01')], p, '2022-04-12');
    expect(bookingProblems(point, ten, early, 0, p, T0).problems).toEqual([{ code: 'doseNotDue', dose: 2, series: 'primary', earliest: '2022-04-22', preset: `${p.id}@${p.version}`, text: expect.stringMatching(/due from 2022-04-22/) }]);
    const boosted = vaccinationState([coronavac(1, '2021-01-01'), coronavac(2, '2021-02-01'), coronavac(3, '2021-09-01')], p, '2022-04-12');
    expect(bookingProblems(point, ten, boosted, 0, p, T0).problems).toEqual([{ code: 'noDoseToBook', text: expect.stringMatching(/Already boosted/) }]);
    expect(bookingProblems({ ...point, opens: '00:00', closes: '23:59' }, new Date('2022-04-13T15:00:00Z'), due, 0, p, T0).problems).toEqual([]);
  });
});

describe('times to answer', () => {
  // The SQL bucket (migrations/012_support.sql support_bucket), restated to check the bounds read it back.
  const sqlBucket = (m: number) => (m < 10 ? Math.max(Math.floor(m), 0) : 10 + Math.floor(Math.log(m / 10) / Math.log(1.05)));

  it('reads buckets back: whole minutes under 10, then within 2.5 % of the exact value', () => {
    for (const m of [0, 1, 9.99, 10, 11, 40, 59.5, 120, 1439, 4320, 20160]) {
      const b = bucketBounds(sqlBucket(m));
      expect(m).toBeGreaterThanOrEqual(b.from - 1e-9);
      expect(m).toBeLessThan(b.to + 1e-9);
      const value = percentile([{ bucket: sqlBucket(m), n: 1 }], 0.5)!;
      if (m < 10) expect(value).toBe(Math.floor(m));
      else expect(Math.abs(value - m) / m).toBeLessThan(0.026);
    }
  });

  it('takes the nearest rank', () => {
    const h = [1, 2, 3, 4, 5, 6, 7, 8, 9, 9].map((m) => ({ bucket: m, n: 1 }));
    expect(percentile(h, 0.5)).toBe(5);
    expect(percentile(h, 0.9)).toBe(9);
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([{ bucket: 3, n: 99 }, { bucket: 200, n: 1 }], 0.9)).toBe(3);
  });
});
