// The demo: a synthetic city and one user per role, each in a jurisdiction of that city, so that every
// page of the product can be tried at once after `npm start`.
import type { AppContext } from '../core/context.ts';
import type { Role } from '../core/auth.ts';
import { createUser, type NewUser } from '../core/users.ts';
import { generateCity, loadCity, type CityProgress } from './index.ts';

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
export async function seedDemo(ctx: AppContext, opts: { persons: number; seed: number; onProgress?: CityProgress }): Promise<DemoUser[]> {
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
  return out;
}
