// The synthetic city through the real import into a real database (PGlite, and PostgreSQL when
// CORDON_TEST_DATABASE_URL is set), and the demo users it comes with.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, type TestContext } from '../../test/harness.ts';
import { login, ROLES } from '../core/auth.ts';
import { ENTITIES, type EntityName } from '../registry/index.ts';
import { generateCity, loadCity, type City } from './index.ts';
import { DEMO_PASSWORD, seedDemo, type DemoUser } from './demo.ts';
import { coverage } from '../support/vaccination.ts';
import { doseProblems } from '../support/rules.ts';

const TABLE: Record<EntityName, string> = {
  districts: 'districts', streets: 'streets', compounds: 'compounds', compound_adjacency: 'compound_adjacency', buildings: 'buildings',
  households: 'households', persons: 'persons', venues: 'venues', sampling_points: 'sampling_points', labs: 'labs', facilities: 'facilities',
};

describe('a demo city in the database', () => {
  let ctx: TestContext;
  let users: DemoUser[];
  const opts = { persons: 5000, seed: 1 };
  const city = generateCity(opts);
  const progress = new Map<string, number>();

  beforeAll(async () => {
    ctx = await testContext({ now: new Date('2022-04-10T08:00:00Z') });
    users = await seedDemo(ctx, { ...opts, onProgress: (e, n) => progress.set(e, n) });
  });
  afterAll(() => ctx?.close());

  it('holds exactly the rows the city said it would, with its populations', async () => {
    for (const e of ENTITIES) {
      const [{ n }] = await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${TABLE[e]}`);
      expect(n, e).toBe(city.counts[e]);
      expect(progress.get(e), e).toBe(city.counts[e]);
    }
    const [{ total }] = await ctx.db.query<{ total: number }>('SELECT sum(population)::int AS total FROM districts');
    expect(total).toBe(opts.persons);
    // Every person got a household, a compound, a street and a district.
    const [{ homeless }] = await ctx.db.query<{ homeless: number }>('SELECT count(*)::int AS homeless FROM persons WHERE household_id IS NULL OR compound_id IS NULL OR street_id IS NULL OR district_id IS NULL');
    expect(homeless).toBe(0);
  });

  it('has one demo user per role, plus a second district, each signing in with the demo password', async () => {
    expect(new Set(users.map((u) => u.role))).toEqual(new Set(ROLES));
    expect(users.map((u) => u.username).sort()).toEqual(['city', 'district', 'district2', 'epi', 'facility', 'lab', 'resident', 'sampler', 'street', 'venue']);
    const now = ctx.clock.now();
    const principals = new Map<string, NonNullable<Awaited<ReturnType<typeof login>>>['principal']>();
    for (const u of users) {
      expect(u.password).toBe(DEMO_PASSWORD);
      const session = await login(ctx.db, u.username, u.password, now);
      expect(session, u.username).not.toBeNull();
      expect(session!.principal.role).toBe(u.role);
      principals.set(u.username, session!.principal);
    }
    expect(await login(ctx.db, 'city', 'not-the-password', now)).toBeNull();

    const p = (name: string) => principals.get(name)!;
    expect(p('city').districtId).toBeNull();
    const [d1, d2] = await ctx.db.query<{ id: number }>('SELECT id FROM districts ORDER BY code LIMIT 2');
    expect(p('district').districtId).toBe(d1.id);
    expect(p('district2').districtId).toBe(d2.id);
    expect(p('epi').districtId).toBe(d1.id);
    const [street] = await ctx.db.query<{ id: number; district_id: number }>('SELECT id, district_id FROM streets WHERE id = $1', [p('street').streetId]);
    expect(street.district_id).toBe(d1.id);
    expect(p('sampler').streetId).toBe(street.id);
    expect(p('lab').labId).not.toBeNull();
    expect(p('facility').facilityId).not.toBeNull();
    expect(p('venue').venueId).not.toBeNull();
    const [resident] = await ctx.db.query<{ street_id: number }>('SELECT street_id FROM persons WHERE id = (SELECT person_id FROM users WHERE username = $1)', ['resident']);
    expect(resident.street_id).toBe(street.id);
  });

  it('comes with dose records: the elderly covered as Shanghai’s were in April 2022, every series in order and in the past', async () => {
    const now = ctx.clock.now();
    const city = (await login(ctx.db, 'city', DEMO_PASSWORD, now))!.principal;
    const { total } = await coverage(ctx.db, city, ctx.preset, now, 'district');
    // rules.md 33: 62% fully vaccinated and 38% boosted, drawn here for about a thousand persons aged 60 and over.
    expect(total.elderly.persons).toBeGreaterThan(500);
    expect(total.elderly.fullyPercent).toBeGreaterThan(55);
    expect(total.elderly.fullyPercent).toBeLessThan(69);
    expect(total.elderly.boostedPercent).toBeGreaterThan(31);
    expect(total.elderly.boostedPercent).toBeLessThan(45);
    const doses = await ctx.db.query<{ person_id: number; dose: number; product: string; given_on: string; born: string }>(
      "SELECT v.person_id, v.dose, v.product, to_char(v.given_on, 'YYYY-MM-DD') AS given_on, to_char(p.birth_date, 'YYYY-MM-DD') AS born FROM vaccinations v JOIN persons p ON p.id = v.person_id ORDER BY v.person_id, v.dose",
    );
    expect(new Set(doses.map((d) => d.product))).toEqual(new Set(['CoronaVac', 'BBIBP-CorV', 'Ad5-nCoV', 'ZF2001']));
    const today = now.toISOString().slice(0, 10);
    const before: { dose: number; product: string; givenOn: string }[] = [];
    for (const [i, d] of doses.entries()) {
      if (i > 0 && doses[i - 1].person_id !== d.person_id) before.length = 0;
      const problems = doseProblems(before, { dose: d.dose, givenOn: d.given_on }, d.born, today);
      if (problems.length) throw new Error(`person ${d.person_id} dose ${d.dose}: ${problems.map((p) => p.text).join(' ')}`);
      if (before.length && before[0].product !== d.product) throw new Error(`person ${d.person_id} changed product`);
      before.push({ dose: d.dose, product: d.product, givenOn: d.given_on });
    }
  });

  it('seeds again without failing or duplicating: users are kept, records matched', async () => {
    const [{ n: dosesBefore }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM vaccinations');
    const again = await seedDemo(ctx, opts);
    expect(again.map((u) => u.username)).toEqual(users.map((u) => u.username));
    const [{ n: dosesAfter }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM vaccinations');
    expect(dosesAfter).toBe(dosesBefore);
    const [{ n }] = await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM persons');
    expect(n).toBe(opts.persons);
  });

  it('refuses a city with a bad record, naming the entity, and keeps nothing of it', async () => {
    const bad: City = {
      ...city,
      records: (e) => (e !== 'labs' ? [] : [...city.records('labs')].map((r, i) => (i === 1 ? { ...r, code: 'D99-L01', district_code: 'D99' } : { ...r, code: `${r.code}X` }))),
    };
    await expect(loadCity(ctx, bad)).rejects.toThrow(/labs.*D99/);
    const [{ n }] = await ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM labs WHERE code LIKE '%X'");
    expect(n).toBe(0);
  });
});
