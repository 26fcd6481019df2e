// A person's vaccination record as FHIR R4 Immunization resources in a collection Bundle. Products map to
// CDC CVX codes (the code system FHIR names http://hl7.org/fhir/sid/cvx); an unknown product is CVX 500,
// "product unknown", with the recorded name as text. The dose amount is not recorded, so doseQuantity is
// left out; the dose number and series are in protocolApplied.
import type { Preset } from '../core/presets.ts';
import { primaryDosesOf } from './rules.ts';
import type { DoseRow } from './vaccination.ts';

export const CVX = 'http://hl7.org/fhir/sid/cvx';
const PRODUCTS: Record<string, { code: string; display: string }> = {
  CoronaVac: { code: '511', display: 'COVID-19 IV Non-US Vaccine (CoronaVac, Sinovac)' },
  'BBIBP-CorV': { code: '510', display: 'COVID-19 IV Non-US Vaccine (BIBP, Sinopharm)' },
  'Ad5-nCoV': { code: '506', display: 'COVID-19 VVnr Non-US Vaccine (CanSino Biological Inc./Beijing Institute of Biotechnology)' },
  ZF2001: { code: '507', display: 'COVID-19 PS Non-US Vaccine (Anhui Zhifei Longcom Biopharm + Inst of Micro, Chinese Acad of Sciences)' },
};
const UNKNOWN = { code: '500', display: 'COVID-19 Non-US Vaccine, Product Unknown' };
// SNOMED CT: disease caused by SARS-CoV-2.
const COVID = { coding: [{ system: 'http://snomed.info/sct', code: '840539006', display: 'Disease caused by severe acute respiratory syndrome coronavirus 2 (disorder)' }] };

export function immunization(personId: number, d: DoseRow, series: 'primary' | 'booster', seriesDoses: number | null) {
  const cvx = PRODUCTS[d.product] ?? UNKNOWN;
  return {
    resourceType: 'Immunization' as const,
    id: `vaccination-${d.id}`,
    status: 'completed' as const,
    vaccineCode: { coding: [{ system: CVX, code: cvx.code, display: cvx.display }], text: d.product },
    patient: { reference: `Patient/${personId}` },
    occurrenceDateTime: d.givenOn,
    recorded: d.recordedAt,
    protocolApplied: [
      {
        series,
        targetDisease: [COVID],
        doseNumberPositiveInt: d.dose,
        ...(seriesDoses !== null ? { seriesDosesPositiveInt: seriesDoses } : {}),
      },
    ],
  };
}

/** Every dose of a person as a FHIR R4 Bundle (type collection) of Immunization resources. */
export function immunizationBundle(personId: number, doses: DoseRow[], preset: Preset, now: Date) {
  const first = doses.find((d) => d.dose === 1);
  const primary = primaryDosesOf(first?.product ?? null, preset);
  return {
    resourceType: 'Bundle' as const,
    type: 'collection' as const,
    timestamp: now.toISOString(),
    entry: doses.map((d) => ({ resource: immunization(personId, d, d.dose > primary ? 'booster' : 'primary', d.dose > primary ? null : primary) })),
  };
}
