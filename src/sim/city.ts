// The synthetic city: a grid of compounds around Shanghai's centre whose shared vertices are jittered,
// so compound polygons tile the plane (no overlap, no gap, neighbours share an edge), grouped into
// streets and districts that are rectangles of cells (contiguous by construction). Everything below a
// compound (buildings, households, persons) is regenerated from that compound's own random stream, so
// records are produced lazily, in a fixed order, and byte-identical for the same seed and size.
import { CARE_NEEDS, COMORBIDITIES, VENUE_KINDS, type CsvRecord, type EntityName } from '../registry/index.ts';
import { withCheckDigit } from '../core/pii.ts';
import { apportion, hash32, pickCumulative, Rng, unit } from './rng.ts';
import { DAY_MS } from '../core/days.ts';
import {
  COMPOUND_SUFFIXES, DISTRICTS, GIVEN_F, GIVEN_M, OTHER_REGIONS, OTHERS, PHARMACIES, RESTAURANTS, SCHOOLS, SUPERMARKETS,
  SURNAME_CUM, SURNAMES, SYLLABLES,
} from './names.ts';

/** Ages and birth dates are counted back from this day, not today, so output does not change over time. */
export const REFERENCE_DATE = '2022-04-01';

const CENTER_LON = 121.47;
const CENTER_LAT = 31.23;
// A cell (one compound) is about 285 m x 300 m at this latitude.
const CELL_LON = 0.003;
const CELL_LAT = 0.0027;
// Vertices move at most 0.2 cell in each axis: below 0.25 every cell stays a convex quadrilateral.
const JITTER = 0.2;
/** Residents per compound on average (Shanghai: 25M people in about 70k compounds). */
export const PERSONS_PER_COMPOUND = 350;
/** Residents per sampling point (testing guide: one point per 2,000-3,000 people). */
export const PERSONS_PER_SAMPLING_POINT = 2500;
/** Residents per venue code (Shanghai: 1.9M venue codes for 25M people). */
export const PERSONS_PER_VENUE = 13;

// Random streams: each part of the city draws from its own, so changing one part does not shift another.
const S_CELL = 1;
const S_STRUCT = 2;
const S_PERSON = 3;
const S_VENUE = 4;
const S_POINT = 5;
const S_NAME = 6;
const S_CNAME = 7;
const S_VERTEX = 8;
const S_SPLIT = 9;
const S_FACILITY = 10;
const S_PHONE = 11;

interface Rect {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
const area = (r: Rect) => (r.x1 - r.x0) * (r.y1 - r.y0);

export interface DistrictInfo {
  code: string;
  name: string;
  nameEn: string;
  region: string;
  rect: Rect;
  streets: number[];
  /** Compounds [from, to) in compound order. */
  from: number;
  to: number;
  population: number;
}
export interface StreetInfo {
  code: string;
  district: number;
  name: string;
  nameEn: string;
  rect: Rect;
  from: number;
  to: number;
  population: number;
}

const pad = (n: number, w: number) => String(n).padStart(w, '0');

/** Splits a rectangle of cells into k rectangles of about equal area (guillotine cuts across the longer side). */
function split(r: Rect, k: number, rng: Rng, out: Rect[]): void {
  if (k === 1) {
    out.push(r);
    return;
  }
  const k1 = Math.floor(k / 2);
  const w = r.x1 - r.x0;
  const h = r.y1 - r.y0;
  const vertical = w >= h;
  const len = vertical ? w : h;
  const other = vertical ? h : w;
  // Cut near the proportional place, moved a little so that the map does not look ruled.
  let cut = Math.round(len * (k1 / k) * (0.9 + 0.2 * rng.next()));
  // Each side needs at least one cell per part.
  cut = Math.max(cut, Math.ceil(k1 / other), 1);
  cut = Math.min(cut, len - Math.ceil((k - k1) / other), len - 1);
  if (cut < 1 || cut * other < k1 || (len - cut) * other < k - k1) throw new Error(`cannot split ${w}x${h} cells into ${k} parts`);
  const [a, b] = vertical ? [{ ...r, x1: r.x0 + cut }, { ...r, x0: r.x0 + cut }] : [{ ...r, y1: r.y0 + cut }, { ...r, y0: r.y0 + cut }];
  split(a, k1, rng, out);
  split(b, k - k1, rng, out);
}

/** The geography: cells, districts, streets, compounds and their populations. Small: one entry per compound. */
export class Layout {
  readonly W: number;
  readonly H: number;
  readonly districts: DistrictInfo[] = [];
  readonly streets: StreetInfo[] = [];
  /** Per compound: cell x, cell y, street index, population. */
  readonly cx: Int32Array;
  readonly cy: Int32Array;
  readonly street: Int32Array;
  readonly pop: Int32Array;
  /** Compound index of each cell (y * W + x). */
  readonly cellCompound: Int32Array;
  private readonly vlon: Float64Array;
  private readonly vlat: Float64Array;
  private vtext: string[] | null = null;

  constructor(readonly persons: number, readonly seed: number) {
    const nd = Math.min(16, Math.max(3, Math.round(Math.sqrt(persons / 10_000))));
    // Shanghai has about 215 streets and towns (one per ~116k people); at least two per district.
    const ns = Math.max(2 * nd, Math.round(persons / 116_000));
    const nc = Math.max(4 * ns, Math.ceil(persons / PERSONS_PER_COMPOUND));
    this.W = Math.max(2, Math.round(Math.sqrt(nc * 1.2)));
    this.H = Math.max(2, Math.ceil(nc / this.W));
    const { W, H } = this;
    const n = W * H;
    this.cx = new Int32Array(n);
    this.cy = new Int32Array(n);
    this.street = new Int32Array(n);
    this.pop = new Int32Array(n);
    this.cellCompound = new Int32Array(n);

    const rng = new Rng(seed, S_SPLIT, 0);
    const dRects: Rect[] = [];
    split({ x0: 0, y0: 0, x1: W, y1: H }, nd, rng, dRects);
    const perDistrict = apportion(ns, dRects.map(area), 2).map((s, i) => Math.min(s, area(dRects[i])));
    let k = 0;
    dRects.forEach((rect, d) => {
      const dn = DISTRICTS[d];
      const district: DistrictInfo = { code: `D${pad(d + 1, 2)}`, name: dn.name, nameEn: dn.nameEn, region: dn.region, rect, streets: [], from: k, to: k, population: 0 };
      this.districts.push(district);
      const sRects: Rect[] = [];
      split(rect, perDistrict[d], rng, sRects);
      sRects.forEach((sr, s) => {
        const nr = new Rng(seed, S_NAME, this.streets.length);
        const a = nr.pick(SYLLABLES);
        let b = nr.pick(SYLLABLES);
        while (b === a) b = nr.pick(SYLLABLES);
        // Outer districts are mostly towns (镇), the centre subdistricts (街道).
        const town = d >= 7 && nr.chance(0.6);
        const street: StreetInfo = {
          code: `${district.code}-S${pad(s + 1, 2)}`, district: d, name: `${a[0]}${b[0]}${town ? '镇' : '街道'}`,
          nameEn: `${a[1]}${b[1].toLowerCase()} ${town ? 'Town' : 'Subdistrict'}`, rect: sr, from: k, to: k, population: 0,
        };
        district.streets.push(this.streets.length);
        for (let y = sr.y0; y < sr.y1; y++) {
          for (let x = sr.x0; x < sr.x1; x++) {
            this.cx[k] = x;
            this.cy[k] = y;
            this.street[k] = this.streets.length;
            this.cellCompound[y * W + x] = k;
            k++;
          }
        }
        street.to = k;
        this.streets.push(street);
      });
      district.to = k;
    });

    // Population: denser towards the centre, with a log-normal spread between neighbouring compounds;
    // whole numbers by cumulative rounding, so that they add up to exactly `persons`.
    const weights = new Float64Array(n);
    let total = 0;
    const R = 0.45 * Math.max(W, H);
    const cr = new Rng(seed, S_CELL, 0);
    for (let c = 0; c < n; c++) {
      const dx = this.cx[c] + 0.5 - W / 2;
      const dy = this.cy[c] + 0.5 - H / 2;
      cr.reseed(seed, S_CELL, c);
      weights[c] = (0.35 + 1.65 * Math.exp(-(dx * dx + dy * dy) / (R * R))) * Math.exp(0.45 * cr.gauss());
      total += weights[c];
    }
    let cum = 0;
    let given = 0;
    for (let c = 0; c < n; c++) {
      cum += weights[c];
      const upTo = c === n - 1 ? persons : Math.floor((persons * cum) / total);
      this.pop[c] = upTo - given;
      given = upTo;
      this.streets[this.street[c]].population += this.pop[c];
    }
    for (const d of this.districts) d.population = d.streets.reduce((s, i) => s + this.streets[i].population, 0);

    // Vertex coordinates of the cell grid, jittered, centred on Shanghai.
    const lon0 = CENTER_LON - (W / 2) * CELL_LON;
    const lat0 = CENTER_LAT - (H / 2) * CELL_LAT;
    this.vlon = new Float64Array((W + 1) * (H + 1));
    this.vlat = new Float64Array((W + 1) * (H + 1));
    for (let j = 0; j <= H; j++) {
      for (let i = 0; i <= W; i++) {
        const v = j * (W + 1) + i;
        this.vlon[v] = lon0 + (i + (unit(hash32(seed, S_VERTEX, v, 0)) * 2 - 1) * JITTER) * CELL_LON;
        this.vlat[v] = lat0 + (j + (unit(hash32(seed, S_VERTEX, v, 1)) * 2 - 1) * JITTER) * CELL_LAT;
      }
    }
  }

  get compounds(): number {
    return this.W * this.H;
  }

  private vertexText(i: number, j: number): string {
    if (!this.vtext) this.vtext = Array.from(this.vlon, (lon, v) => `[${lon.toFixed(6)},${this.vlat[v].toFixed(6)}]`);
    return this.vtext[j * (this.W + 1) + i];
  }

  vertex(i: number, j: number): [number, number] {
    const v = j * (this.W + 1) + i;
    return [this.vlon[v], this.vlat[v]];
  }

  /** GeoJSON Polygon of a rectangle of cells: its perimeter vertices, counter-clockwise (RFC 7946), closed. */
  rectGeometry(r: Rect): string {
    const pts: string[] = [];
    for (let x = r.x0; x <= r.x1; x++) pts.push(this.vertexText(x, r.y0));
    for (let y = r.y0 + 1; y <= r.y1; y++) pts.push(this.vertexText(r.x1, y));
    for (let x = r.x1 - 1; x >= r.x0; x--) pts.push(this.vertexText(x, r.y1));
    for (let y = r.y1 - 1; y >= r.y0; y--) pts.push(this.vertexText(r.x0, y));
    return `{"type":"Polygon","coordinates":[[${pts.join(',')}]]}`;
  }

  compoundGeometry(k: number): string {
    return this.rectGeometry({ x0: this.cx[k], y0: this.cy[k], x1: this.cx[k] + 1, y1: this.cy[k] + 1 });
  }

  /** Area-weighted centroid of a compound's quadrilateral. */
  centroid(k: number): [number, number] {
    const x = this.cx[k];
    const y = this.cy[k];
    const p = [this.vertex(x, y), this.vertex(x + 1, y), this.vertex(x + 1, y + 1), this.vertex(x, y + 1)];
    let a = 0;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < 4; i++) {
      const [x0, y0] = p[i];
      const [x1, y1] = p[(i + 1) % 4];
      const cross = x0 * y1 - x1 * y0;
      a += cross;
      sx += (x0 + x1) * cross;
      sy += (y0 + y1) * cross;
    }
    return [sx / (3 * a), sy / (3 * a)];
  }

  /** A point inside compound k: bilinear blend of its corners, which stays inside a convex cell. */
  pointIn(k: number, u: number, v: number): [number, number] {
    const x = this.cx[k];
    const y = this.cy[k];
    const [ax, ay] = this.vertex(x, y);
    const [bx, by] = this.vertex(x + 1, y);
    const [cx, cy] = this.vertex(x + 1, y + 1);
    const [dx, dy] = this.vertex(x, y + 1);
    const lon = (1 - v) * ((1 - u) * ax + u * bx) + v * ((1 - u) * dx + u * cx);
    const lat = (1 - v) * ((1 - u) * ay + u * by) + v * ((1 - u) * dy + u * cy);
    return [lon, lat];
  }

  compoundCode(k: number): string {
    const s = this.streets[this.street[k]];
    return `${s.code}-C${pad(k - s.from + 1, 4)}`;
  }

  compoundName(k: number): string {
    const r = new Rng(this.seed, S_CNAME, k);
    return `${r.pick(SYLLABLES)[0]}${r.pick(SYLLABLES)[0]}${r.pick(COMPOUND_SUFFIXES)}`;
  }

  /** Compound indices sharing an edge with k (4-neighbourhood of the grid). */
  neighbours(k: number): number[] {
    const x = this.cx[k];
    const y = this.cy[k];
    const out: number[] = [];
    if (x > 0) out.push(this.cellCompound[y * this.W + x - 1]);
    if (x < this.W - 1) out.push(this.cellCompound[y * this.W + x + 1]);
    if (y > 0) out.push(this.cellCompound[(y - 1) * this.W + x]);
    if (y < this.H - 1) out.push(this.cellCompound[(y + 1) * this.W + x]);
    return out.sort((a, b) => a - b);
  }
}

// ---- households and buildings of one compound ----

/** Household sizes 1..6 (Shanghai 2020 census: 2.3 people per household on average). */
const HOUSEHOLD_SIZE_CUM = [0.27, 0.6, 0.83, 0.92, 0.97, 1];

/** The buildings and households of one compound, regenerated on demand into reusable buffers. */
export class Structure {
  households = 0;
  buildings = 0;
  hhSize = new Uint8Array(256);
  hhBuilding = new Int32Array(256);
  hhFloor = new Int32Array(256);
  hhUnit = new Int32Array(256);
  hhShared = new Uint8Array(256);
  bFloors = new Int32Array(64);
  bUnits = new Int32Array(64);
  private slots = new Int32Array(256);
  private readonly rng: Rng;

  constructor(private readonly layout: Layout) {
    this.rng = new Rng(layout.seed, S_STRUCT, 0);
  }

  private grow(): void {
    const n = this.hhSize.length * 2;
    const g = <T extends Uint8Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as any)(n) as T;
      b.set(a);
      return b;
    };
    this.hhSize = g(this.hhSize);
    this.hhBuilding = g(this.hhBuilding);
    this.hhFloor = g(this.hhFloor);
    this.hhUnit = g(this.hhUnit);
    this.hhShared = g(this.hhShared);
  }

  compute(k: number): this {
    const rng = this.rng.reseed(this.layout.seed, S_STRUCT, k);
    const pop = this.layout.pop[k];
    // Kinds of compound: old walk-ups (老公房, some with shared kitchens), mid-rise, high-rise, low villas.
    const t = rng.next();
    let floors: number, units: number, shared: number, spread: number;
    if (t < 0.45) [floors, units, shared, spread] = [rng.range(5, 7), rng.range(2, 3), 0.08, 1];
    else if (t < 0.72) [floors, units, shared, spread] = [rng.range(8, 18), 4, 0.01, 2];
    else if (t < 0.95) [floors, units, shared, spread] = [rng.range(18, 30), rng.range(4, 6), 0.004, 3];
    else [floors, units, shared, spread] = [3, rng.range(1, 2), 0, 0];

    let h = 0;
    for (let left = pop; left > 0; h++) {
      if (h === this.hhSize.length) this.grow();
      const r = rng.next();
      let s = 1;
      while (r >= HOUSEHOLD_SIZE_CUM[s - 1]) s++;
      s = Math.min(s, left);
      this.hhSize[h] = s;
      this.hhShared[h] = rng.next() < shared ? 1 : 0;
      left -= s;
    }
    this.households = h;

    // Enough buildings to hold the households at about 85% occupancy.
    let b = 0;
    let cap = 0;
    while (b === 0 || cap * 0.85 < h) {
      if (b === this.bFloors.length) {
        const f = new Int32Array(b * 2);
        f.set(this.bFloors);
        this.bFloors = f;
        const u = new Int32Array(b * 2);
        u.set(this.bUnits);
        this.bUnits = u;
      }
      const f = Math.min(30, Math.max(3, floors + rng.range(-spread, spread)));
      this.bFloors[b] = f;
      this.bUnits[b] = units;
      cap += f * units;
      b++;
    }
    this.buildings = b;

    // Households go to buildings in proportion to their size, each to a distinct random flat.
    let i = 0;
    let capCum = 0;
    for (let j = 0; j < b; j++) {
      const c = this.bFloors[j] * this.bUnits[j];
      capCum += c;
      const upTo = j === b - 1 ? h : Math.floor((h * capCum) / cap);
      const count = upTo - i;
      if (this.slots.length < c) this.slots = new Int32Array(c * 2);
      const sl = this.slots;
      for (let q = 0; q < c; q++) sl[q] = q;
      for (let q = 0; q < count; q++) {
        const p = q + rng.int(c - q);
        const tmp = sl[q];
        sl[q] = sl[p];
        sl[p] = tmp;
      }
      const chosen = sl.subarray(0, count).sort();
      for (let q = 0; q < count; q++, i++) {
        this.hhBuilding[i] = j;
        this.hhFloor[i] = Math.floor(chosen[q] / this.bUnits[j]) + 1;
        this.hhUnit[i] = (chosen[q] % this.bUnits[j]) + 1;
      }
    }
    return this;
  }

  buildingCode(compoundCode: string, j: number): string {
    return `${compoundCode}-B${pad(j + 1, 2)}`;
  }

  householdCode(compoundCode: string, i: number): string {
    return `${compoundCode}-B${pad(this.hhBuilding[i] + 1, 2)}-H${pad(this.hhFloor[i], 2)}${pad(this.hhUnit[i], 2)}`;
  }
}

// ---- persons ----

/**
 * Shanghai's age structure (2020 census, rounded), share per 5-year band from 0-4 to 95-99:
 * 60+ is about 23.4% of the population, 0-14 about 10%.
 */
const AGE_BANDS = [3.5, 3.6, 2.7, 2.6, 4.6, 7.6, 10.1, 9.0, 7.4, 7.3, 7.2, 7.1, 6.9, 6.0, 4.2, 2.3, 1.5, 0.9, 0.4, 0.1];
/**
 * Ages of household heads (18 and over). The rest of a household follows from the head (family()); the
 * weight of older heads is tuned so that the whole population has ~23% aged 60+ (23.1% measured on
 * 200k persons; children 0-14 come out ~13%, a little above the census's 10%).
 */
const HEAD_WEIGHT_60 = 1.1;
const HEAD_CUM = (() => {
  const c = new Float64Array(100);
  let t = 0;
  for (let a = 0; a < 100; a++) c[a] = t += a < 18 ? 0 : (AGE_BANDS[Math.floor(a / 5)] / 5) * (a >= 60 ? HEAD_WEIGHT_60 : 1);
  return c;
})();

// Age bands of the health tables: 0-17, 18-39, 40-59, 60-69, 70-79, 80+.
const band = (age: number) => (age < 18 ? 0 : age < 40 ? 1 : age < 60 ? 2 : age < 70 ? 3 : age < 80 ? 4 : 5);

/**
 * Prevalence of each comorbidity (COMORBIDITIES order) by age band; rough figures for urban China
 * (hypertension ~45-60% past 60, diabetes ~20-25%, BMI >= 30 ~5%), rising with age.
 */
const COMORBIDITY_RATES: readonly (readonly number[])[] = [
  // hypertension, cardiovascular, cerebrovascular, chronicLung, diabetes, chronicLiver, chronicKidney, cancer, immuneDeficiency, obesity
  [0.005, 0.002, 0.0005, 0.03, 0.001, 0.001, 0.001, 0.0005, 0.001, 0.02],
  [0.05, 0.005, 0.002, 0.02, 0.02, 0.01, 0.01, 0.003, 0.003, 0.05],
  [0.25, 0.03, 0.015, 0.05, 0.1, 0.02, 0.03, 0.015, 0.004, 0.07],
  [0.45, 0.08, 0.04, 0.1, 0.2, 0.025, 0.06, 0.035, 0.005, 0.06],
  [0.55, 0.13, 0.07, 0.14, 0.24, 0.025, 0.09, 0.05, 0.006, 0.045],
  [0.6, 0.18, 0.1, 0.16, 0.25, 0.02, 0.12, 0.06, 0.006, 0.03],
];
const CKD = COMORBIDITIES.indexOf('chronicKidney');
const CANCER = COMORBIDITIES.indexOf('cancer');
const LUNG = COMORBIDITIES.indexOf('chronicLung');
// Dialysis: about 0.05% of everyone (Shanghai: ~15,000 patients).
const DIALYSIS = [0, 0.0002, 0.0005, 0.001, 0.0012, 0.001];
const WHEELCHAIR = [0.001, 0.002, 0.004, 0.01, 0.03, 0.08];
const BEDRIDDEN = [0, 0.0005, 0.001, 0.004, 0.012, 0.05];
const FEMALE = [0.48, 0.49, 0.49, 0.51, 0.53, 0.58];
const PHONE_PREFIXES = ['138', '139', '135', '136', '137', '150', '151', '152', '157', '158', '159', '187', '188', '186', '189', '180', '181', '133', '177', '199'];

const EPOCH = Date.UTC(1900, 0, 1);
const REF_DAY = (Date.parse(REFERENCE_DATE + 'T00:00:00Z') - EPOCH) / DAY_MS;
let dateText: string[] | null = null;
/** 'YYYY-MM-DD' of every day from 1900-01-01 to the reference date, made once. */
function dates(): string[] {
  if (!dateText) {
    dateText = new Array(REF_DAY + 1);
    for (let d = 0; d <= REF_DAY; d++) dateText[d] = new Date(EPOCH + d * DAY_MS).toISOString().slice(0, 10);
  }
  return dateText;
}
const REGIONS = [...DISTRICTS.map((d) => d.region), ...OTHER_REGIONS];
/** Per-sex sequence numbers (GB 11643 digits 15-17) run 0..498 for one region and birth day. */
const SEQ_MAX = 499;

/** Generates persons compound by compound; keeps the ID sequence counters that make ID numbers unique. */
class PersonMaker {
  private readonly rng: Rng;
  private readonly seq = new Uint16Array(REGIONS.length * (REF_DAY + 1) * 2);
  private readonly dates = dates();
  private index = 0;
  private readonly phoneOffset: number;

  constructor(private readonly layout: Layout) {
    this.rng = new Rng(layout.seed, S_PERSON, 0);
    this.phoneOffset = hash32(layout.seed, S_PHONE) % 100_000_000;
  }

  /** A bijection of [0, 10^8): a 4-round Feistel network on two 4-digit halves, keyed by the seed. */
  private scramble(x: number): number {
    let l = Math.floor(x / 10_000);
    let r = x % 10_000;
    for (let round = 0; round < 4; round++) {
      const t = (l + (hash32(this.phoneOffset, round, r) % 10_000)) % 10_000;
      l = r;
      r = t;
    }
    return l * 10_000 + r;
  }

  *compound(k: number, st: Structure): Generator<CsvRecord> {
    const rng = this.rng.reseed(this.layout.seed, S_PERSON, k);
    const cc = this.layout.compoundCode(k);
    const home = this.layout.districts[this.layout.streets[this.layout.street[k]].district];
    const homeRegion = REGIONS.indexOf(home.region);
    const ages = new Int32Array(6);
    const sexes = new Uint8Array(6);
    const names = new Array<string>(6);
    const surname = () => SURNAMES[pickCumulative(SURNAME_CUM, rng.next())];
    for (let h = 0; h < st.households; h++) {
      const size = st.hhSize[h];
      const hc = st.householdCode(cc, h);
      this.family(size, ages, sexes, names, surname);
      for (let m = 0; m < size; m++) yield this.person(ages[m], sexes[m] === 1, names[m], homeRegion, hc, cc);
    }
  }

  /**
   * A household: an adult head, usually a spouse of about the same age, then children, the head's
   * parents or grandchildren depending on the head's age. Children take the father's surname.
   * Sexes: 1 female, 0 male.
   */
  private family(size: number, ages: Int32Array, sexes: Uint8Array, names: string[], surname: () => string): void {
    const rng = this.rng;
    const head = pickCumulative(HEAD_CUM, rng.next());
    ages[0] = head;
    sexes[0] = rng.chance(FEMALE[band(head)]) ? 1 : 0;
    names[0] = surname();
    let father = sexes[0] === 0 ? 0 : -1;
    let m = 1;
    if (size >= 2 && rng.chance(head < 25 ? 0.3 : 0.8)) {
      // Husbands are on average two years older than their wives.
      ages[1] = Math.min(99, Math.max(18, head + Math.round(3 * rng.gauss()) + (sexes[0] === 1 ? 2 : -2)));
      sexes[1] = 1 - sexes[0];
      names[1] = surname();
      if (sexes[1] === 0) father = 1;
      m = 2;
    }
    const childName = father >= 0 ? names[father] : names[0];
    for (; m < size; m++) {
      const r = rng.next();
      let age: number;
      let name: string;
      if (head < 30 ? r < 0.5 && head >= 23 : head < 60 ? r < 0.75 : r < 0.5) {
        // A child, or for an older head a grown-up child living at home.
        age = head - rng.range(24, 38);
        if (age < 0) age = rng.int(Math.max(1, head - 21));
        if (head >= 60) age = Math.max(18, age);
        name = childName;
      } else if (head < 60) {
        // One of the head's parents (or, for a young head, a room-mate of about the same age).
        age = head < 23 ? Math.max(18, head + rng.range(-3, 3)) : Math.min(99, head + rng.range(22, 32));
        name = head < 23 || rng.chance(0.5) ? surname() : names[0];
      } else {
        // A grandchild.
        age = Math.max(0, head - rng.range(48, 62));
        name = childName;
      }
      ages[m] = age;
      sexes[m] = rng.chance(FEMALE[band(age)]) ? 1 : 0;
      names[m] = name;
    }
  }

  private person(age: number, female: boolean, surname: string, homeRegion: number, hc: string, cc: string): CsvRecord {
    const rng = this.rng;
    const b = band(age);
    const given = female ? GIVEN_F : GIVEN_M;
    const name = surname + rng.pick(given) + (rng.chance(0.8) ? rng.pick(given) : '');

    // Registered where they live mostly; the rest elsewhere in Shanghai or in another province.
    let region = homeRegion;
    if (!rng.chance(age < 18 ? 0.9 : 0.65)) region = rng.chance(0.4) ? rng.int(DISTRICTS.length) : DISTRICTS.length + rng.int(OTHER_REGIONS.length);
    let day = REF_DAY - 1 - Math.floor((age + rng.next()) * 365.2425);
    let slot = (region * (REF_DAY + 1) + day) * 2 + (female ? 1 : 0);
    // A full day (499 people of one sex, region and birthday) moves the birthday back a day.
    while (this.seq[slot] >= SEQ_MAX) {
      day--;
      slot -= 2;
    }
    const n = this.seq[slot]++;
    const birth = this.dates[day];
    const seq = female ? 2 * n + 2 : 2 * n + 1;
    const idNumber = withCheckDigit(REGIONS[region] + birth.slice(0, 4) + birth.slice(5, 7) + birth.slice(8, 10) + pad(seq, 3));

    // Phone numbers: a permutation of the person's index over 8 digits, so no two are the same.
    const idx = this.index++;
    const prefix = rng.pick(PHONE_PREFIXES);
    const phone = age < 12 || (age >= 85 && rng.chance(0.4)) ? '' : prefix + pad(this.scramble(idx), 8);

    const rates = COMORBIDITY_RATES[b];
    let com = '';
    let ckd = false;
    let cancer = false;
    let lung = false;
    for (let c = 0; c < rates.length; c++) {
      if (rng.next() < rates[c]) {
        com = com ? `${com};${COMORBIDITIES[c]}` : COMORBIDITIES[c];
        if (c === CKD) ckd = true;
        else if (c === CANCER) cancer = true;
        else if (c === LUNG) lung = true;
      }
    }
    const care: string[] = [];
    if (rng.next() < DIALYSIS[b]) {
      care.push(CARE_NEEDS[0]);
      if (!ckd) com = com ? `${com};chronicKidney` : 'chronicKidney';
    }
    if (cancer && rng.chance(0.15)) care.push('chemotherapy');
    if (lung && age >= 60 && rng.chance(0.08)) care.push('oxygen');
    if (rng.next() < WHEELCHAIR[b]) care.push('wheelchair');
    if (rng.next() < BEDRIDDEN[b]) care.push('bedridden');

    let pregnancy = 'none';
    if (female && age >= 20 && age <= 44 && rng.chance(age < 35 ? 0.025 : 0.012)) {
      const r = rng.next();
      pregnancy = r < 0.55 ? 'early' : r < 0.9 ? 'late' : 'perinatal';
    }
    return {
      id_number: idNumber,
      name,
      sex: female ? 'F' : 'M',
      birth_date: birth,
      phone,
      household_code: hc,
      compound_code: cc,
      comorbidities: com,
      pregnancy,
      care_needs: care.join(';'),
    };
  }
}

// ---- the city ----

export type CityCounts = Record<EntityName, number>;

const VENUE_SHARE: Record<(typeof VENUE_KINDS)[number], number> = {
  supermarket: 8, market: 3, restaurant: 30, transit: 3, office: 22, school: 4, hospital: 1, pharmacy: 5, gym: 3, other: 21,
};
const VENUE_CUM = (() => {
  let t = 0;
  return VENUE_KINDS.map((k) => (t += VENUE_SHARE[k]));
})();
/** Typical visits a day per kind; each venue's popularity is this times a heavy-tailed (Zipf-like) factor. */
const VENUE_BASE: Record<(typeof VENUE_KINDS)[number], number> = {
  supermarket: 800, market: 600, restaurant: 150, transit: 4000, office: 300, school: 600, hospital: 1500, pharmacy: 120, gym: 100, other: 80,
};
// Kinds that usually sit inside a residential compound (then the venue carries its compound).
const IN_COMPOUND = new Set(['supermarket', 'market', 'pharmacy', 'other', 'restaurant']);

const fixed = (x: number) => x.toFixed(6);

export class CityModel {
  readonly layout: Layout;
  readonly counts: CityCounts;
  /** Per street: venues and sampling points. */
  readonly venuesPerStreet: number[];
  readonly pointsPerStreet: number[];

  constructor(readonly persons: number, readonly seed: number) {
    if (!Number.isInteger(persons) || persons < 1) throw new Error(`persons must be a whole number of at least 1, not ${persons}`);
    if (!Number.isInteger(seed)) throw new Error(`seed must be a whole number, not ${seed}`);
    const layout = (this.layout = new Layout(persons, seed >>> 0));
    const st = new Structure(layout);
    let buildings = 0;
    let households = 0;
    for (let k = 0; k < layout.compounds; k++) {
      st.compute(k);
      buildings += st.buildings;
      households += st.households;
    }
    const streetPops = layout.streets.map((s) => s.population);
    const ns = layout.streets.length;
    this.venuesPerStreet = apportion(Math.max(ns, Math.round(persons / PERSONS_PER_VENUE)), streetPops, 1);
    this.pointsPerStreet = apportion(Math.max(ns, Math.round(persons / PERSONS_PER_SAMPLING_POINT)), streetPops, 1);
    const { W, H } = layout;
    this.counts = {
      districts: layout.districts.length,
      streets: ns,
      compounds: layout.compounds,
      compound_adjacency: 2 * ((W - 1) * H + W * (H - 1)),
      buildings,
      households,
      persons,
      venues: this.venuesPerStreet.reduce((a, b) => a + b, 0),
      sampling_points: this.pointsPerStreet.reduce((a, b) => a + b, 0),
      labs: layout.districts.reduce((s, d) => s + labsOf(d).length, 0),
      facilities: layout.districts.reduce((s, d) => s + facilitiesOf(d).length, 0),
    };
  }

  *records(entity: EntityName): Generator<CsvRecord> {
    const L = this.layout;
    switch (entity) {
      case 'districts':
        for (const d of L.districts) yield { code: d.code, name: d.name, name_en: d.nameEn, population: String(d.population), geometry: L.rectGeometry(d.rect) };
        return;
      case 'streets':
        for (const s of L.streets) yield { code: s.code, district_code: L.districts[s.district].code, name: s.name, name_en: s.nameEn, geometry: L.rectGeometry(s.rect) };
        return;
      case 'compounds':
        for (let k = 0; k < L.compounds; k++) {
          const [lon, lat] = L.centroid(k);
          yield {
            code: L.compoundCode(k), street_code: L.streets[L.street[k]].code, name: L.compoundName(k), geometry: L.compoundGeometry(k),
            centroid_lon: fixed(lon), centroid_lat: fixed(lat), population: String(L.pop[k]),
          };
        }
        return;
      case 'compound_adjacency':
        for (let k = 0; k < L.compounds; k++) {
          const code = L.compoundCode(k);
          for (const n of L.neighbours(k)) yield { compound_code: code, neighbor_code: L.compoundCode(n) };
        }
        return;
      case 'buildings': {
        const st = new Structure(L);
        for (let k = 0; k < L.compounds; k++) {
          st.compute(k);
          const cc = L.compoundCode(k);
          for (let j = 0; j < st.buildings; j++) yield { code: st.buildingCode(cc, j), compound_code: cc, name: `${j + 1}号楼`, floors: String(st.bFloors[j]) };
        }
        return;
      }
      case 'households': {
        const st = new Structure(L);
        for (let k = 0; k < L.compounds; k++) {
          st.compute(k);
          const cc = L.compoundCode(k);
          for (let i = 0; i < st.households; i++) {
            yield {
              code: st.householdCode(cc, i), building_code: st.buildingCode(cc, st.hhBuilding[i]), floor: String(st.hhFloor[i]),
              unit: `${st.hhFloor[i]}${pad(st.hhUnit[i], 2)}`, shared_facilities: st.hhShared[i] ? 'true' : 'false',
            };
          }
        }
        return;
      }
      case 'persons': {
        const st = new Structure(L);
        const maker = new PersonMaker(L);
        for (let k = 0; k < L.compounds; k++) yield* maker.compound(k, st.compute(k));
        return;
      }
      case 'venues':
        yield* this.venues();
        return;
      case 'sampling_points':
        yield* this.samplingPoints();
        return;
      case 'labs':
        for (const d of L.districts) yield* labsOf(d);
        return;
      case 'facilities':
        for (const [di, d] of L.districts.entries()) {
          for (const f of facilitiesOf(d)) {
            const r = new Rng(this.seed, S_FACILITY, di * 1000 + f.index);
            const k = d.from + r.int(d.to - d.from);
            const [lon, lat] = L.pointIn(k, 0.2 + 0.6 * r.next(), 0.2 + 0.6 * r.next());
            yield { code: f.code, name: f.name, kind: f.kind, district_code: d.code, lon: fixed(lon), lat: fixed(lat), beds_general: String(f.general), beds_icu: String(f.icu), rooms: String(f.rooms) };
          }
        }
        return;
    }
  }

  private *venues(): Generator<CsvRecord> {
    const L = this.layout;
    const rng = new Rng(this.seed, S_VENUE, 0);
    for (let s = 0; s < L.streets.length; s++) {
      const street = L.streets[s];
      const district = L.districts[street.district];
      rng.reseed(this.seed, S_VENUE, s);
      // Venues follow people: a compound is picked in proportion to its population.
      const cum = new Float64Array(street.to - street.from);
      let t = 0;
      for (let k = street.from; k < street.to; k++) cum[k - street.from] = t += L.pop[k] + 1;
      for (let i = 0; i < this.venuesPerStreet[s]; i++) {
        const kind = VENUE_KINDS[pickCumulative(VENUE_CUM, rng.next())];
        const k = street.from + pickCumulative(cum, rng.next());
        const [lon, lat] = L.pointIn(k, 0.1 + 0.8 * rng.next(), 0.1 + 0.8 * rng.next());
        // Pareto tail (alpha 1.2): most venues are quiet, a few are very busy.
        const popularity = Math.max(1, Math.min(VENUE_BASE[kind] * 50, Math.round(VENUE_BASE[kind] * 0.25 * Math.pow(1 - rng.next(), -1 / 1.2))));
        yield {
          code: `${street.code}-V${pad(i + 1, 5)}`, name: this.venueName(kind, rng, street.name), kind, district_code: district.code, street_code: street.code,
          compound_code: IN_COMPOUND.has(kind) && rng.chance(0.5) ? L.compoundCode(k) : '', lon: fixed(lon), lat: fixed(lat), popularity: String(popularity),
        };
      }
    }
  }

  private venueName(kind: string, rng: Rng, streetName: string): string {
    const place = `${rng.pick(SYLLABLES)[0]}${rng.pick(SYLLABLES)[0]}`;
    const area = streetName.replace(/(街道|镇)$/, '');
    switch (kind) {
      case 'supermarket':
        return `${rng.pick(SUPERMARKETS)}(${place}路店)`;
      case 'market':
        return `${place}菜场`;
      case 'restaurant':
        return `${place}${rng.pick(RESTAURANTS)}`;
      case 'transit':
        return `${place}路站`;
      case 'office':
        return `${place}大厦`;
      case 'school':
        return `${area}${place}${rng.pick(SCHOOLS)}`;
      case 'hospital':
        return `${area}${place}社区卫生服务站`;
      case 'pharmacy':
        return `${rng.pick(PHARMACIES)}(${place}店)`;
      case 'gym':
        return `${place}健身中心`;
      default:
        return `${place}${rng.pick(OTHERS)}`;
    }
  }

  private *samplingPoints(): Generator<CsvRecord> {
    const L = this.layout;
    const rng = new Rng(this.seed, S_POINT, 0);
    for (let s = 0; s < L.streets.length; s++) {
      const street = L.streets[s];
      rng.reseed(this.seed, S_POINT, s);
      const n = this.pointsPerStreet[s];
      const cells = street.to - street.from;
      for (let i = 0; i < n; i++) {
        // Spread evenly over the street's compounds (a 15-minute walk for everyone), then a random spot.
        const k = street.from + Math.min(cells - 1, Math.floor(((i + rng.next()) * cells) / n));
        const [lon, lat] = L.pointIn(k, 0.15 + 0.7 * rng.next(), 0.15 + 0.7 * rng.next());
        const allDay = rng.chance(0.1);
        yield {
          code: `${street.code}-P${pad(i + 1, 3)}`, name: `${L.compoundName(k)}核酸采样点`, district_code: L.districts[street.district].code, street_code: street.code,
          lon: fixed(lon), lat: fixed(lat), stations: String(rng.range(2, 8)), opens: allDay ? '00:00' : rng.pick(['07:00', '07:30', '08:00']),
          closes: allDay ? '23:59' : rng.pick(['18:00', '20:00', '21:00', '22:00']), vaccinates: rng.chance(0.2) ? 'true' : 'false',
        };
      }
    }
  }
}

/** Labs of a district: one per ~250k residents; capacity 0.2 tubes a resident a day (Shanghai: 5M for 25M). */
function labsOf(d: DistrictInfo): CsvRecord[] {
  const n = Math.max(1, Math.round(d.population / 250_000));
  const caps = apportion(Math.max(n, Math.round(d.population * 0.2)), new Array(n).fill(1), 1);
  return caps.map((c, i) => ({ code: `${d.code}-L${pad(i + 1, 2)}`, name: `${d.name}第${i + 1}核酸检测实验室`, district_code: d.code, daily_capacity: String(c) }));
}

interface FacilityPlan {
  index: number;
  code: string;
  name: string;
  kind: 'designatedHospital' | 'shelterHospital' | 'quarantineSite';
  general: number;
  icu: number;
  rooms: number;
}

/**
 * Facilities of a district in proportion to its population: designated hospitals ~0.35 beds per 1000
 * (12% of them ICU), shelter hospitals ~8 beds per 1000, quarantine sites ~4 rooms per 1000.
 */
function facilitiesOf(d: DistrictInfo): FacilityPlan[] {
  const out: FacilityPlan[] = [];
  const p = d.population;
  const hospitals = Math.max(1, Math.round(p / 1_500_000));
  const beds = Math.max(2 * hospitals, Math.round((p * 0.35) / 1000));
  apportion(beds, new Array(hospitals).fill(1), 2).forEach((b, i) => {
    const icu = Math.max(1, Math.round(b * 0.12));
    out.push({ index: out.length, code: `${d.code}-DH${pad(i + 1, 2)}`, name: `${d.name}第${i + 1}定点医院`, kind: 'designatedHospital', general: b - icu, icu, rooms: 0 });
  });
  const shelters = Math.max(1, Math.round(p / 250_000));
  apportion(Math.max(10 * shelters, Math.round((p * 8) / 1000)), new Array(shelters).fill(1), 10).forEach((b, i) => {
    out.push({ index: out.length, code: `${d.code}-SH${pad(i + 1, 2)}`, name: `${d.name}${i + 1}号方舱医院`, kind: 'shelterHospital', general: b, icu: 0, rooms: 0 });
  });
  const rooms = Math.max(5, Math.round((p * 4) / 1000));
  const sites = Math.max(1, Math.round(rooms / 300));
  apportion(rooms, new Array(sites).fill(1), 1).forEach((r, i) => {
    out.push({ index: out.length, code: `${d.code}-QS${pad(i + 1, 2)}`, name: `${d.name}第${i + 1}集中隔离点`, kind: 'quarantineSite', general: 0, icu: 0, rooms: r });
  });
  return out;
}
