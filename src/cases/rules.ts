// Care rules as pure functions of facts, the preset and `now`: severity from what the clinician observed,
// triage to a shelter hospital, a designated hospital or its ICU, and readiness for discharge.
// Numbers and lists come from the preset's `triage` and `discharge` (rules.md 19-23).
import { presetLabel, type Preset } from '../core/presets.ts';
import { DAY_MS } from '../core/days.ts';

export const SEVERITIES = ['mild', 'moderate', 'severe', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const DESTINATIONS = ['shelterHospital', 'designatedHospital', 'icu'] as const;
export type Destination = (typeof DESTINATIONS)[number];
export type BedType = 'general' | 'icu';

/** The kind of facility and the type of bed a destination needs. */
export function bedFor(d: Destination): { facilityKind: 'shelterHospital' | 'designatedHospital'; bedType: BedType } {
  return d === 'icu' ? { facilityKind: 'designatedHospital', bedType: 'icu' } : { facilityKind: d, bedType: 'general' };
}

/** What the registry knows of a patient (rules.md 20). */
export interface Patient {
  birthDate: Date;
  comorbidities: string[];
  pregnancy: string;
  careNeeds: string[];
  vaccineDoses: number;
}

/** A clinician's observation: the severity they judge, and the signs that may imply a worse one. */
export interface Observation {
  severity?: Severity | null;
  pneumonia?: boolean | null;
  respiratoryRate?: number | null;
  spo2?: number | null;
  pao2Fio2?: number | null;
  lesionGrowthPercent48h?: number | null;
  mechanicalVentilation?: boolean | null;
  shock?: boolean | null;
  organFailure?: boolean | null;
  temperature?: number | null;
  improving?: boolean | null;
}

const order = (s: Severity) => SEVERITIES.indexOf(s);

/** Age in whole years on `now`. */
export function ageOn(birthDate: Date, now: Date): number {
  let age = now.getUTCFullYear() - birthDate.getUTCFullYear();
  if (now.getUTCMonth() < birthDate.getUTCMonth() || (now.getUTCMonth() === birthDate.getUTCMonth() && now.getUTCDate() < birthDate.getUTCDate())) age--;
  return age;
}

/**
 * Severity from an observation (rules.md 21): the clinician's judgement, raised by any sign of a worse
 * one (severe: RR, SpO2, PaO2/FiO2 or lesion growth past the preset's limits; critical: ventilation,
 * shock, organ failure; moderate: pneumonia). Never lower than `previous` unless the clinician says so.
 */
export function severityOf(o: Observation, previous: Severity | null, preset: Preset): { severity: Severity; reasons: string[] } {
  const c = preset.triage.severeCriteria;
  const reasons: string[] = [];
  let s: Severity = o.severity ?? previous ?? 'mild';
  if (o.severity) reasons.push(`clinician: ${o.severity}`);
  const raise = (to: Severity, why: string) => {
    if (order(to) > order(s)) {
      s = to;
      reasons.push(why);
    }
  };
  if (o.pneumonia) raise('moderate', 'pneumonia on imaging (moderate)');
  if (o.respiratoryRate != null && o.respiratoryRate >= c.respiratoryRateAtLeast) raise('severe', `respiratory rate ${o.respiratoryRate} >= ${c.respiratoryRateAtLeast}`);
  if (o.spo2 != null && o.spo2 <= c.spo2AtMost) raise('severe', `SpO2 ${o.spo2}% <= ${c.spo2AtMost}%`);
  if (o.pao2Fio2 != null && o.pao2Fio2 <= c.pao2Fio2AtMost) raise('severe', `PaO2/FiO2 ${o.pao2Fio2} <= ${c.pao2Fio2AtMost}`);
  if (o.lesionGrowthPercent48h != null && o.lesionGrowthPercent48h >= c.lesionGrowthPercentIn48h) raise('severe', `lesions +${o.lesionGrowthPercent48h}% in 24-48 h`);
  if (o.mechanicalVentilation) raise('critical', 'mechanical ventilation');
  if (o.shock) raise('critical', 'shock');
  if (o.organFailure) raise('critical', 'other organ failure');
  if (!reasons.length) reasons.push(previous ? `unchanged (${previous})` : 'no signs beyond mild');
  return { severity: s, reasons };
}

export interface RiskFactor {
  /** The group of rules.md 20 / 22 it belongs to. */
  group: 'ageOver' | 'child' | 'comorbidity' | 'pregnancy' | 'careNeed';
  value: string;
  /** Whether the preset sends this group to a designated hospital rather than a shelter. */
  toHospital: boolean;
}

/** The patient's high-risk factors under the preset (rules.md 20, 22), and which of them decide the place. */
export function riskFactors(p: Patient, preset: Preset, now: Date): RiskFactor[] {
  const t = preset.triage;
  const h = t.toHospital;
  const age = ageOn(p.birthDate, now);
  const out: RiskFactor[] = [];
  if (age > t.highRiskAgeOver) out.push({ group: 'ageOver', value: `age ${age} > ${t.highRiskAgeOver}`, toHospital: h.ageOver });
  if (age < t.childAgeUnder) out.push({ group: 'child', value: `age ${age} < ${t.childAgeUnder}`, toHospital: h.children });
  for (const c of p.comorbidities) {
    const listed = t.highRiskComorbidities.includes(c);
    const hospital = h.comorbidities.includes(c);
    if (listed || hospital) out.push({ group: 'comorbidity', value: c, toHospital: hospital });
  }
  if (t.highRiskPregnancy.includes(p.pregnancy) || h.pregnancy.includes(p.pregnancy)) out.push({ group: 'pregnancy', value: `pregnancy (${p.pregnancy})`, toHospital: h.pregnancy.includes(p.pregnancy) });
  for (const n of p.careNeeds) {
    if (t.highRiskCareNeeds.includes(n) || h.careNeeds.includes(n)) out.push({ group: 'careNeed', value: n, toHospital: h.careNeeds.includes(n) });
  }
  return out;
}

export interface Triage {
  destination: Destination;
  severity: Severity;
  /** What the registry said of the patient when triaged. */
  patient: { age: number; vaccineDoses: number };
  reasons: string[];
  riskFactors: RiskFactor[];
  preset: string;
}

const rank = (d: Destination) => DESTINATIONS.indexOf(d);

/**
 * Where a case is cared for (rules.md 19, 22): the preset's place for its severity, and a designated
 * hospital at least for anyone in a group the preset sends there (never a shelter, when it says so).
 */
export function triage(p: Patient, severity: Severity, preset: Preset, now: Date): Triage {
  const t = preset.triage;
  const label = presetLabel(preset);
  let destination = t[severity] as Destination;
  const reasons = [`${severity} -> ${destination} (${label} triage.${severity})`];
  const factors = riskFactors(p, preset, now);
  const decisive = factors.filter((f) => f.toHospital);
  if (t.highRiskToHospital && decisive.length && rank(destination) < rank('designatedHospital')) {
    destination = 'designatedHospital';
    reasons.push(`high risk: ${decisive.map((f) => f.value).join(', ')} -> designatedHospital, never a shelter (${label} triage.toHospital)`);
  } else if (factors.length) {
    reasons.push(`risk factors noted: ${factors.map((f) => f.value).join(', ')}`);
  }
  return { destination, severity, patient: { age: ageOn(p.birthDate, now), vaccineDoses: p.vaccineDoses }, reasons, riskFactors: factors, preset: label };
}

/** A PCR result of the patient's own (single) tube. A negative without Ct values counts as not detected. */
export interface CareTest {
  sampledAt: Date;
  verdict: 'positive' | 'negative' | 'invalid';
  ctOrf1ab: number | null;
  ctN: number | null;
}

export interface DischargeReadiness {
  ready: boolean;
  /** The tests that satisfy the rule (oldest first), when they do. */
  tests: CareTest[];
  /** What is still missing, in words; empty when ready. */
  missing: string[];
  preset: string;
}

/**
 * Ready for discharge (rules.md 23): the latest results, back to the last one under the Ct limit, include
 * the preset's number of samples with both Ct values at or above it, each at least `hoursApart` after
 * the previous; a hospital case must also be afebrile for `hospitalAfebrileDays` and improving.
 */
export function dischargeReadiness(
  c: { inHospital: boolean; reportedAt: Date; lastFeverAt: Date | null; improving: boolean | null },
  tests: CareTest[],
  preset: Preset,
  now: Date,
): DischargeReadiness {
  const d = preset.discharge;
  const label = presetLabel(preset);
  const clear = (x: CareTest) => x.verdict === 'negative' && (x.ctOrf1ab === null || x.ctOrf1ab >= d.ctAtLeast) && (x.ctN === null || x.ctN >= d.ctAtLeast);
  const clearOrLow = (x: CareTest) => clear(x) || (x.verdict === 'positive' && x.ctOrf1ab !== null && x.ctN !== null && x.ctOrf1ab >= d.ctAtLeast && x.ctN >= d.ctAtLeast);
  const sorted = tests.filter((x) => x.verdict !== 'invalid' && x.sampledAt.getTime() <= now.getTime()).sort((a, b) => a.sampledAt.getTime() - b.sampledAt.getTime());
  // Only the run of results since the last one under the limit counts.
  let start = sorted.length;
  while (start > 0 && clearOrLow(sorted[start - 1])) start--;
  const run = sorted.slice(start);
  const used: CareTest[] = [];
  for (const x of run) if (!used.length || x.sampledAt.getTime() - used[used.length - 1].sampledAt.getTime() >= d.hoursApart * 3_600_000) used.push(x);
  const missing: string[] = [];
  if (used.length < d.negativeSamples) {
    missing.push(`${d.negativeSamples - used.length} more result(s) with ORF1ab and N Ct >= ${d.ctAtLeast}, >= ${d.hoursApart} h apart (${label} discharge)`);
  }
  if (c.inHospital) {
    const afebrileSince = c.lastFeverAt ?? c.reportedAt;
    const days = (now.getTime() - afebrileSince.getTime()) / DAY_MS;
    if (days < d.hospitalAfebrileDays) missing.push(`afebrile ${Math.max(0, Math.floor(days))} of ${d.hospitalAfebrileDays} days (${label} discharge.hospitalAfebrileDays)`);
    if (c.improving !== true) missing.push('clinician has not recorded improvement');
  }
  return { ready: missing.length === 0, tests: missing.length ? [] : used.slice(0, d.negativeSamples), missing, preset: label };
}
