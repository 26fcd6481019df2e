// The demo: a synthetic city and one user per role, each in a jurisdiction of that city, so that every
// page of the product can be tried at once after `npm start`.
import type { AppContext } from '../core/context.ts';
import type { Role } from '../core/auth.ts';
import { createUser, type NewUser } from '../core/users.ts';
import type { Queryable } from '../core/db.ts';
import { generateCity, loadCity } from './index.ts';
import type { EntityName } from '../registry/index.ts';
import { Rng } from './rng.ts';
import { DAY_MS } from '../core/days.ts';

export const DEMO_PASSWORD = 'cordon-demo';

export interface DemoUser {
  username: string;
  password: string;
  role: Role;
  /** What the user is responsible for, in words (for the start-up banner). */
  jurisdiction: string;
}

type Named = { id: number; code: string; name: string };

/** Loads a synthetic city and creates the demo users. Users that exist already are left as they are. */
export async function seedDemo(ctx: AppContext, opts: { persons: number; seed: number; onProgress?: (entity: EntityName | 'vaccinations', rows: number) => void }): Promise<DemoUser[]> {
  const city = generateCity({ persons: opts.persons, seed: opts.seed });
  await loadCity(ctx, city, opts.onProgress);
  const q = ctx.db;
  const one = async <T>(sql: string, params: unknown[] = []): Promise<T> => {
    const [row] = await q.query<T>(sql, params);
    if (!row) throw new Error(`The demo city is missing what the demo users need (${sql})`);
    return row;
  };
  const [d1, d2] = await q.query<Named>('SELECT id, code, name FROM districts ORDER BY code LIMIT 2');
  if (!d1 || !d2) throw new Error('The demo city needs at least two districts');
  const street = await one<Named>('SELECT id, code, name FROM streets WHERE district_id = $1 ORDER BY code LIMIT 1', [d1.id]);
  const lab = await one<Named>('SELECT id, code, name FROM labs ORDER BY code LIMIT 1');
  const facility = await one<Named>('SELECT id, code, name FROM facilities ORDER BY code LIMIT 1');
  const venue = await one<Named>('SELECT id, code, name FROM venues ORDER BY code LIMIT 1');
  const person = await one<{ id: number; name: string }>('SELECT id, name FROM persons WHERE street_id = $1 ORDER BY id LIMIT 1', [street.id]);

  const place = (x: Named) => `${x.name} (${x.code})`;
  const plan: (Omit<NewUser, 'password'> & { jurisdiction: string })[] = [
    { username: 'city', role: 'city_command', displayName: '市指挥部', jurisdiction: 'city' },
    { username: 'district', role: 'district_command', displayName: `${d1.name}指挥部`, districtId: d1.id, jurisdiction: `district ${place(d1)}` },
    { username: 'district2', role: 'district_command', displayName: `${d2.name}指挥部`, districtId: d2.id, jurisdiction: `district ${place(d2)}` },
    { username: 'street', role: 'street_worker', displayName: `${street.name}社区工作者`, streetId: street.id, jurisdiction: `street ${place(street)}` },
    { username: 'epi', role: 'epidemiologist', displayName: `${d1.name}流调员`, districtId: d1.id, jurisdiction: `district ${place(d1)}` },
    { username: 'sampler', role: 'sampler', displayName: `${street.name}采样员`, streetId: street.id, jurisdiction: `street ${place(street)}` },
    { username: 'lab', role: 'lab', displayName: lab.name, labId: lab.id, jurisdiction: `lab ${place(lab)}` },
    { username: 'facility', role: 'facility_manager', displayName: facility.name, facilityId: facility.id, jurisdiction: `facility ${place(facility)}` },
    { username: 'venue', role: 'venue_operator', displayName: venue.name, venueId: venue.id, jurisdiction: `venue ${place(venue)}` },
    { username: 'resident', role: 'resident', displayName: person.name, personId: person.id, jurisdiction: `resident ${person.name} of ${place(street)}` },
  ];
  const now = ctx.clock.now();
  const out: DemoUser[] = [];
  for (const { jurisdiction, ...u } of plan) {
    const [exists] = await q.query('SELECT 1 FROM users WHERE username = $1', [u.username]);
    if (!exists) await createUser(q, { ...u, password: DEMO_PASSWORD }, now, 'demo');
    out.push({ username: u.username, password: DEMO_PASSWORD, role: u.role, jurisdiction });
  }
  // Last, so that a progress line started at 0 ends with the count: its time is the seeding's.
  opts.onProgress?.('vaccinations', 0);
  opts.onProgress?.('vaccinations', await seedVaccinations(q, opts.seed, now));
  return out;
}

/** Vaccination coverage of the demo: persons aged 60 and over as Shanghai's (rules.md 33); younger ones a demo assumption. */
const COVERAGE = [
  { fromAge: 60, fully: 0.62, boosted: 0.38 },
  { fromAge: 3, fully: 0.9, boosted: 0.55 },
];
/** Products and their primary series: mostly two-dose inactivated vaccines, a few one-dose and three-dose ones. */
const PRODUCTS = [
  { product: 'CoronaVac', series: 2, share: 0.7 },
  { product: 'BBIBP-CorV', series: 2, share: 0.22 },
  { product: 'Ad5-nCoV', series: 1, share: 0.04 },
  { product: 'ZF2001', series: 3, share: 0.04 },
];

/**
 * Dose records, so that the vaccination pages and the entrance devices have something to show: drawn from
 * the seed and each person's id (the same city gets the same records), none dated after `now`. A database
 * that has dose records already is left as it is.
 */
export async function seedVaccinations(q: Queryable, seed: number, now: Date): Promise<number> {
  if ((await q.query('SELECT 1 FROM vaccinations LIMIT 1')).length) return 0;
  const persons = await q.query<{ id: number; born: string }>("SELECT id, to_char(birth_date, 'YYYY-MM-DD') AS born FROM persons ORDER BY id");
  const rng = new Rng(seed, 0x7acc);
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const lines: string[] = [];
  for (const p of persons) {
    rng.reseed(seed, 0x7acc, p.id);
    const born = Date.parse(p.born);
    const age = (now.getTime() - born) / (365.25 * DAY_MS);
    const band = COVERAGE.find((c) => age >= c.fromAge);
    if (!band) continue;
    const draw = rng.next();
    let pick = rng.next();
    const product = PRODUCTS.find((x) => (pick -= x.share) < 0) ?? PRODUCTS[0];
    // Fully vaccinated, boosted, or one dose short of the series (a few of those not fully vaccinated).
    const doses = draw < band.boosted ? product.series + 1 : draw < band.fully ? product.series : draw < band.fully + 0.05 && product.series > 1 ? product.series - 1 : 0;
    // The first dose from January to June 2021 (at age 3 at the earliest), the series 28 days apart, the booster 6 to 8 months after it: by mid-April 2022, as rules.md 33 counts.
    let at = Math.max(Date.parse('2021-01-15') + rng.int(150) * DAY_MS, born + 3 * 365.25 * DAY_MS + DAY_MS);
    for (let dose = 1; dose <= doses; dose++) {
      if (dose > 1) at += dose <= product.series ? 28 * DAY_MS : (190 + rng.int(60)) * DAY_MS;
      if (at > now.getTime()) break;
      lines.push(`${p.id},${dose},${product.product},${day(at)},demo,${now.toISOString()}\n`);
    }
  }
  if (!lines.length) return 0;
  return q.copyCsv('vaccinations', ['person_id', 'dose', 'product', 'given_on', 'recorded_by', 'recorded_at'], [lines.join('')]);
}
