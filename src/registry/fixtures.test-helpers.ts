// A tiny city for the registry tests: two districts, each with one street, compound, building and household.
import { Readable } from 'node:stream';
import { withCheckDigit } from '../core/pii.ts';
import type { AppContext } from '../core/context.ts';
import { importCsv } from './import.ts';
import type { EntityName } from './entities.ts';

const square = (x: number) => JSON.stringify({ type: 'Polygon', coordinates: [[[x, 31], [x + 0.01, 31], [x + 0.01, 31.01], [x, 31.01], [x, 31]]] });
const q = (s: string) => `"${s.replace(/"/g, '""')}"`;

export const GEOGRAPHY: [EntityName, string][] = [
  ['districts', `code,name,name_en,population,geometry\nD1,黄浦区,Huangpu,1000,${q(square(121.4))}\nD2,徐汇区,Xuhui,2000,\n`],
  ['streets', 'code,district_code,name,name_en,geometry\nS1,D1,南京东路街道,Nanjing Rd E,\nS2,D2,天平路街道,Tianping Rd,\n'],
  ['compounds', `code,street_code,name,geometry,centroid_lon,centroid_lat,population\nC1,S1,一号小区,${q(square(121.4))},121.405,31.005,120\nC2,S2,二号小区,${q(square(121.5))},121.505,31.005,80\nC3,S1,三号小区,,,,0\n`],
  ['buildings', 'code,compound_code,name,floors\nB1,C1,1号楼,6\nB2,C2,2号楼,6\n'],
  ['households', 'code,building_code,floor,unit,shared_facilities\nH1,B1,1,101,false\nH2,B2,2,201,true\n'],
];

export const csvStream = (text: string) => Readable.from([text]);

export async function loadGeography(ctx: AppContext): Promise<void> {
  for (const [entity, text] of GEOGRAPHY) {
    const r = await importCsv(ctx, entity, csvStream(text));
    if (!r.committed) throw new Error(`${entity}: ${JSON.stringify(r.rejected)}`);
  }
}

/** A valid 18-character ID number, different for each n. */
export const idNo = (n: number, birth = '19800101') => withCheckDigit(`310101${birth}${String(n).padStart(3, '0')}`);

export const PERSON_HEADER = 'id_number,name,sex,birth_date,phone,household_code,compound_code,comorbidities,pregnancy,care_needs';

/** A persons CSV line: `n` makes the ID number and the name. */
export const personLine = (n: number, o: Partial<Record<'name' | 'sex' | 'birth' | 'phone' | 'household' | 'compound' | 'comorbidities' | 'pregnancy' | 'care' | 'id', string>> = {}) =>
  [o.id ?? idNo(n), o.name ?? `张${n}`, o.sex ?? (n % 2 ? 'M' : 'F'), o.birth ?? '1980-01-01', o.phone ?? `1380000${String(n).padStart(4, '0')}`, o.household ?? 'H1', o.compound ?? '', o.comorbidities ?? '', o.pregnancy ?? '', o.care ?? ''].join(',');

export const personsCsv = (lines: string[]) => [PERSON_HEADER, ...lines].join('\n') + '\n';
