// Triage, severity and discharge readiness under both presets, table-driven (rules.md 19-23).
import { describe, expect, it } from 'vitest';
import { loadPreset } from '../core/presets.ts';
import { careText, dischargeReadiness, severityOf, triage, type CareTest, type Patient, type Severity } from './rules.ts';

const cn = loadPreset('cn-2022-9th');
const sh = loadPreset('shanghai-2022-05');
const now = new Date('2022-05-10T04:00:00Z');
const born = (age: number) => new Date(Date.UTC(2022 - age, 0, 1));
const patient = (over: Partial<Patient> = {}): Patient => ({ birthDate: born(35), comorbidities: [], pregnancy: 'none', careNeeds: [], vaccineDoses: 3, ...over });

describe('triage', () => {
  // [what, patient, severity, cn-2022-9th destination, shanghai-2022-05 destination]
  const table: [string, Partial<Patient>, Severity, string, string][] = [
    ['mild adult', {}, 'mild', 'shelterHospital', 'shelterHospital'],
    ['moderate adult (pneumonia)', {}, 'moderate', 'designatedHospital', 'shelterHospital'],
    ['severe adult', {}, 'severe', 'icu', 'designatedHospital'],
    ['critical adult', {}, 'critical', 'icu', 'icu'],
    ['mild, age 61 (over 60)', { birthDate: born(61) }, 'mild', 'designatedHospital', 'shelterHospital'],
    ['mild, age 60 exactly (not over 60)', { birthDate: born(60) }, 'mild', 'shelterHospital', 'shelterHospital'],
    ['mild, age 85', { birthDate: born(85) }, 'mild', 'designatedHospital', 'shelterHospital'],
    ['mild child of 6', { birthDate: born(6) }, 'mild', 'designatedHospital', 'designatedHospital'],
    ['mild, 18 (not a child)', { birthDate: born(18) }, 'mild', 'shelterHospital', 'shelterHospital'],
    ['mild with hypertension', { comorbidities: ['hypertension'] }, 'mild', 'designatedHospital', 'shelterHospital'],
    ['mild with diabetes', { comorbidities: ['diabetes'] }, 'mild', 'designatedHospital', 'shelterHospital'],
    ['mild with cancer', { comorbidities: ['cancer'] }, 'mild', 'designatedHospital', 'designatedHospital'],
    ['mild, late pregnancy', { pregnancy: 'late' }, 'mild', 'designatedHospital', 'designatedHospital'],
    ['mild, perinatal', { pregnancy: 'perinatal' }, 'mild', 'designatedHospital', 'designatedHospital'],
    ['mild, early pregnancy', { pregnancy: 'early' }, 'mild', 'shelterHospital', 'designatedHospital'],
    ['mild on dialysis', { careNeeds: ['dialysis'] }, 'mild', 'designatedHospital', 'designatedHospital'],
    ['mild in chemotherapy', { careNeeds: ['chemotherapy'] }, 'mild', 'designatedHospital', 'designatedHospital'],
    ['mild wheelchair user (not high risk)', { careNeeds: ['wheelchair'] }, 'mild', 'shelterHospital', 'shelterHospital'],
    ['critical child stays in ICU', { birthDate: born(6) }, 'critical', 'icu', 'icu'],
  ];
  for (const [what, p, severity, cnWants, shWants] of table) {
    it(`${what}: cn-2022-9th -> ${cnWants}, shanghai-2022-05 -> ${shWants}`, () => {
      expect(triage(patient(p), severity, cn, now).destination).toBe(cnWants);
      expect(triage(patient(p), severity, sh, now).destination).toBe(shWants);
    });
  }

  it('names the high-risk factors that decided, and the preset', () => {
    const t = triage(patient({ birthDate: born(70), comorbidities: ['cancer', 'hypertension'] }), 'mild', sh, now);
    expect(t.preset).toBe(`shanghai-2022-05@${sh.version}`);
    expect(t.reasons.join(' ')).toMatch(/cancer/);
    expect(t.reasons.join(' ')).toMatch(/never a shelter/);
    // Age and hypertension are high-risk factors (rules.md 20) but not what sends a Shanghai case to hospital.
    expect(t.riskFactors.filter((f) => !f.toHospital).map((f) => f.group).sort()).toEqual(['ageOver', 'comorbidity']);
  });

  it('gives its reasons and risk factors as data too, which the words are made from (a page words them in its own language)', () => {
    const t = triage(patient({ birthDate: born(70), comorbidities: ['cancer'], pregnancy: 'none', careNeeds: ['dialysis'] }), 'mild', sh, now);
    const label = `shanghai-2022-05@${sh.version}`;
    expect(t.why).toEqual([
      { code: 'place', severity: 'mild', destination: 'shelterHospital', preset: label },
      { code: 'highRisk', factors: 'cancer, dialysis', preset: label },
    ]);
    expect(t.reasons).toEqual(t.why.map(careText));
    expect(t.reasons[0]).toBe(`mild -> shelterHospital (${label} triage.mild)`);
    expect(t.riskFactors).toEqual([
      { group: 'ageOver', value: 'age 70 > 60', toHospital: false, age: 70, limit: 60 },
      { group: 'comorbidity', value: 'cancer', toHospital: true, item: 'cancer' },
      { group: 'careNeed', value: 'dialysis', toHospital: true, item: 'dialysis' },
    ]);
    const noted = triage(patient({ birthDate: born(6) }), 'critical', cn, now);
    expect(noted.why.map((w) => w.code)).toEqual(['place', 'riskNoted']);
    expect(noted.riskFactors).toEqual([{ group: 'child', value: 'age 6 < 18', toHospital: true, age: 6, limit: 18 }]);
    const sev = severityOf({ severity: 'mild', spo2: 90, mechanicalVentilation: true }, null, sh);
    expect(sev.why).toEqual([{ code: 'clinician', severity: 'mild' }, { code: 'spo2', value: 90, limit: 93 }, { code: 'ventilation' }]);
    expect(sev.reasons).toEqual(['clinician: mild', 'SpO2 90% <= 93%', 'mechanical ventilation']);
    expect(severityOf({}, 'moderate', sh).why).toEqual([{ code: 'unchanged', severity: 'moderate' }]);
  });

  it('sends no high-risk case to a shelter when the preset says so, and may when it does not', () => {
    const off = { ...cn, triage: { ...cn.triage, highRiskToHospital: false } };
    expect(triage(patient({ birthDate: born(75) }), 'mild', off, now).destination).toBe('shelterHospital');
  });
});

describe('severity', () => {
  const table: [string, Parameters<typeof severityOf>[0], Severity | null, Severity][] = [
    ['nothing observed', {}, null, 'mild'],
    ['pneumonia', { pneumonia: true }, null, 'moderate'],
    ['RR 30', { respiratoryRate: 30 }, null, 'severe'],
    ['RR 29', { respiratoryRate: 29 }, null, 'mild'],
    ['SpO2 93', { spo2: 93 }, null, 'severe'],
    ['SpO2 94', { spo2: 94 }, null, 'mild'],
    ['PaO2/FiO2 300', { pao2Fio2: 300 }, null, 'severe'],
    ['lesions +50% in 48 h', { lesionGrowthPercent48h: 50 }, null, 'severe'],
    ['ventilated', { mechanicalVentilation: true }, null, 'critical'],
    ['clinician says mild but SpO2 90', { severity: 'mild', spo2: 90 }, null, 'severe'],
    ['no new signs keeps the previous', { temperature: 37 }, 'moderate', 'moderate'],
    ['the clinician may lower it', { severity: 'mild' }, 'severe', 'mild'],
  ];
  for (const [what, o, prev, want] of table) {
    it(what, () => {
      for (const preset of [cn, sh]) expect(severityOf(o, prev, preset).severity).toBe(want);
    });
  }
});

describe('discharge readiness', () => {
  const at = (h: number) => new Date(now.getTime() - h * 3_600_000);
  const test = (hoursAgo: number, orf: number | null, n: number | null, verdict: CareTest['verdict'] = orf !== null && orf < 40 ? 'positive' : 'negative'): CareTest => ({ sampledAt: at(hoursAgo), verdict, ctOrf1ab: orf, ctN: n });
  type Stay = Parameters<typeof dischargeReadiness>[0];
  const shelter: Stay = { inHospital: false, reportedAt: at(24 * 10), lastFeverAt: null, improving: null };
  const hospital: Stay = { inHospital: true, reportedAt: at(24 * 10), lastFeverAt: at(24 * 4), improving: true };
  // [what, case, tests, ready]
  const table: [string, Stay, CareTest[], boolean][] = [
    ['two Ct >= 35, 24 h apart', shelter, [test(30, 36, 37), test(6, 35, 35)], true],
    ['two negatives without Ct, 24 h apart', shelter, [test(30, null, null), test(6, null, null)], true],
    ['two Ct >= 35 only 23 h apart', shelter, [test(29, 36, 37), test(6, 36, 36)], false],
    ['one Ct under 35', shelter, [test(30, 34.9, 37), test(6, 36, 36)], false],
    ['N under 35', shelter, [test(30, 36, 34), test(6, 36, 36)], false],
    ['a later low Ct restarts the count', shelter, [test(60, 36, 36), test(30, 36, 36), test(6, 30, 31)], false],
    ['one result only', shelter, [test(6, 38, 38)], false],
    ['three results, the last two apart enough', shelter, [test(40, 30, 30), test(30, 36, 36), test(5, 36, 36)], true],
    ['hospital: afebrile 4 days and improving', hospital, [test(30, 36, 37), test(6, 35, 35)], true],
    ['hospital: fever 2 days ago', { ...hospital, lastFeverAt: at(48) }, [test(30, 36, 37), test(6, 35, 35)], false],
    ['hospital: not recorded as improving', { ...hospital, improving: null }, [test(30, 36, 37), test(6, 35, 35)], false],
    ['an invalid result does not count', shelter, [test(30, 36, 37), test(6, null, null, 'invalid')], false],
  ];
  for (const [what, c, tests, ready] of table) {
    it(`${what}: ${ready ? 'ready' : 'not ready'}`, () => {
      for (const preset of [cn, sh]) {
        const r = dischargeReadiness(c, tests, preset, now);
        expect(r.ready, r.missing.join('; ')).toBe(ready);
        expect(r.missing.length === 0).toBe(ready);
      }
    });
  }

  it('says what is missing as data too, in the same order as the words', () => {
    const r = dischargeReadiness({ ...hospital, lastFeverAt: at(30), improving: false }, [test(6, 36, 36)], sh, now);
    const label = `shanghai-2022-05@${sh.version}`;
    expect(r.missingWhy).toEqual([
      { code: 'moreResults', count: 1, ct: 35, hours: 24, preset: label },
      { code: 'afebrile', days: 1, of: 3, preset: label },
      { code: 'notImproving' },
    ]);
    expect(r.missing).toEqual(r.missingWhy.map(careText));
    expect(r.missing[0]).toBe(`1 more result(s) with ORF1ab and N Ct >= 35, >= 24 h apart (${label} discharge)`);
  });

  it('takes its numbers from the preset', () => {
    const strict = { ...cn, discharge: { ...cn.discharge, ctAtLeast: 38 } };
    expect(dischargeReadiness(shelter, [test(30, 36, 37), test(6, 35, 35)], strict, now).ready).toBe(false);
  });
});
