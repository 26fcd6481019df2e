import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, testServer, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { createUser } from '../core/users.ts';
import { importCsv } from './import.ts';
import { csvStream, idNo, loadGeography, personLine, personsCsv, PERSON_HEADER } from './fixtures.test-helpers.ts';

describe('registry HTTP API', () => {
  let ctx: TestContext;
  let srv: TestServer;
  const as: Record<string, Session> = {};
  const ids: Record<string, number> = {};
  const idNumbers: string[] = [];
  // 20 persons in district D1 (household H1), 6 in D2 (household H2).
  const D1_PERSONS = 20;
  const D2_PERSONS = 6;

  beforeAll(async () => {
    ctx = await testContext();
    await loadGeography(ctx);
    const lines: string[] = [];
    for (let i = 1; i <= D1_PERSONS + D2_PERSONS; i++) {
      lines.push(personLine(i, { household: i <= D1_PERSONS ? 'H1' : 'H2' }));
      idNumbers.push(idNo(i));
    }
    const r = await importCsv(ctx, 'persons', csvStream(personsCsv(lines)));
    expect(r.committed).toBe(true);
    for (const t of ['districts', 'streets', 'compounds', 'households']) {
      for (const row of await ctx.db.query<{ id: number; code: string }>(`SELECT id, code FROM ${t}`)) ids[row.code] = row.id;
    }
    const [resident] = await ctx.db.query<{ id: number }>('SELECT id FROM persons ORDER BY id LIMIT 1');
    ids.resident = resident.id;
    const [other] = await ctx.db.query<{ id: number }>('SELECT id FROM persons WHERE district_id = $1 ORDER BY id LIMIT 1', [ids.D2]);
    ids.d2Person = other.id;
    const users = [
      { username: 'city', role: 'city_command' },
      { username: 'd1', role: 'district_command', districtId: ids.D1 },
      { username: 'd2', role: 'district_command', districtId: ids.D2 },
      { username: 'worker1', role: 'street_worker', streetId: ids.S1 },
      { username: 'epi', role: 'epidemiologist' },
      { username: 'sampler', role: 'sampler' },
      { username: 'resident', role: 'resident', personId: ids.resident },
    ] as const;
    await ctx.db.tx(async (q) => {
      for (const u of users) await createUser(q, { ...u, password: 'password-1' }, new Date());
    });
    srv = await testServer(ctx);
    for (const u of users) as[u.username] = await srv.login(u.username, 'password-1');
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  const noIdNumberIn = (text: string) => {
    for (const n of idNumbers) expect(text).not.toContain(n);
  };

  it('answers 401 without a session or token', async () => {
    for (const path of ['/api/v1/persons', `/api/v1/persons/${ids.resident}`, '/api/v1/districts', '/api/v1/map/compounds.geojson']) {
      const r = await srv.call('GET', path);
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toMatch(/problem\+json/);
    }
    const bad = await srv.call('GET', '/api/v1/persons', { headers: { cookie: 'cordon_session=forged' } });
    expect(bad.status).toBe(401);
  });

  it('walks all persons with keyset paging, without repeats, and never shows an ID number', async () => {
    const seen: number[] = [];
    let after = 0;
    for (let page = 0; page < 20; page++) {
      const r = await srv.call('GET', `/api/v1/persons?limit=7&after=${after}`, { as: as.city });
      expect(r.status).toBe(200);
      noIdNumberIn(r.text);
      seen.push(...r.body.items.map((p: { id: number }) => p.id));
      if (r.body.next === null) break;
      after = r.body.next;
    }
    expect(seen).toHaveLength(D1_PERSONS + D2_PERSONS);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
  });

  it('shows a masked ID number and writes an audit entry for each person read', async () => {
    const before = await ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'read' AND entity = 'person' AND entity_id = $1", [String(ids.resident)]);
    const r = await srv.call('GET', `/api/v1/persons/${ids.resident}`, { as: as.epi });
    expect(r.status).toBe(200);
    expect(r.body.idNumberMasked).toBe(idNumbers[0].slice(0, 4) + '*'.repeat(12) + idNumbers[0].slice(-2));
    noIdNumberIn(r.text);
    const after = await ctx.db.query<{ n: number; reason: string; actor: string }>(
      "SELECT count(*)::int AS n, max(reason) AS reason, max(actor) AS actor FROM audit_log WHERE action = 'read' AND entity = 'person' AND entity_id = $1",
      [String(ids.resident)],
    );
    expect(after[0].n).toBe(before[0].n + 1);
    expect(after[0].reason).toBe('GET /api/v1/persons/:id');
    expect(after[0].actor).toMatch(/:epi$/);
    // A list page writes one entry per person on it.
    const list = await srv.call('GET', `/api/v1/persons?limit=5`, { as: as.epi });
    const [{ n }] = await ctx.db.query<{ n: number }>("SELECT count(*)::int AS n FROM audit_log WHERE action = 'read' AND reason = 'GET /api/v1/persons' AND actor LIKE '%:epi'");
    expect(list.body.items).toHaveLength(5);
    expect(n).toBe(5);
  });

  it('keeps a district user to their district: 404 and no data outside it, never in lists', async () => {
    const r = await srv.call('GET', `/api/v1/persons/${ids.d2Person}`, { as: as.d1 });
    expect(r.status).toBe(404);
    expect(r.text).not.toContain(`张${D1_PERSONS + 1}`);
    expect(r.body).not.toHaveProperty('name');
    const own = await srv.call('GET', `/api/v1/persons/${ids.d2Person}`, { as: as.d2 });
    expect(own.status).toBe(200);
    const list = await srv.call('GET', '/api/v1/persons?limit=1000', { as: as.d1 });
    expect(list.body.items).toHaveLength(D1_PERSONS);
    expect(list.body.items.every((p: { districtId: number }) => p.districtId === ids.D1)).toBe(true);
    const asked = await srv.call('GET', `/api/v1/persons?districtId=${ids.D2}`, { as: as.d1 });
    expect(asked.body.items).toEqual([]);
    const search = await srv.call('GET', `/api/v1/persons?q=${idNumbers[D1_PERSONS]}`, { as: as.d1 });
    expect(search.body.items).toEqual([]);
    const idn = await srv.call('GET', `/api/v1/persons/${ids.d2Person}/id-number?reason=checking`, { as: as.d1 });
    expect(idn.status).toBe(404);
    const patch = await srv.call('PATCH', `/api/v1/persons/${ids.d2Person}`, { as: as.d1, body: { name: 'x' } });
    expect(patch.status).toBe(404);
    // A street worker sees their street only.
    const street = await srv.call('GET', '/api/v1/persons?limit=1000', { as: as.worker1 });
    expect(street.body.items).toHaveLength(D1_PERSONS);
  });

  it('lets a resident see their own record only', async () => {
    const own = await srv.call('GET', `/api/v1/persons/${ids.resident}`, { as: as.resident });
    expect(own.status).toBe(200);
    expect((await srv.call('GET', `/api/v1/persons/${ids.resident + 1}`, { as: as.resident })).status).toBe(404);
    const list = await srv.call('GET', '/api/v1/persons', { as: as.resident });
    expect(list.body.items.map((p: { id: number }) => p.id)).toEqual([ids.resident]);
    // Places are not personal data: a resident may read them (to name their own compound).
    expect((await srv.call('GET', '/api/v1/districts', { as: as.resident })).status).toBe(200);
    expect((await srv.call('GET', '/api/v1/persons', { as: as.sampler })).status).toBe(403);
  });

  it('finds a person by ID number, personal code, phone and name prefix', async () => {
    const byId = await srv.call('GET', `/api/v1/persons?q=${idNumbers[2]}`, { as: as.city });
    expect(byId.body.items).toHaveLength(1);
    expect(byId.body.items[0].name).toBe('张3');
    noIdNumberIn(byId.text);
    const code = byId.body.items[0].personalCode;
    const byCode = await srv.call('GET', `/api/v1/persons?q=${code}`, { as: as.city });
    expect(byCode.body.items.map((p: { id: number }) => p.id)).toEqual([byId.body.items[0].id]);
    const byPhone = await srv.call('GET', `/api/v1/persons?q=13800000003`, { as: as.city });
    expect(byPhone.body.items.map((p: { id: number }) => p.id)).toEqual([byId.body.items[0].id]);
    const byName = await srv.call('GET', `/api/v1/persons?q=${encodeURIComponent('张1')}&limit=100`, { as: as.city });
    // 张1, 张10..张19
    expect(byName.body.items).toHaveLength(11);
    const none = await srv.call('GET', `/api/v1/persons?q=${encodeURIComponent('%')}`, { as: as.city });
    expect(none.body.items).toEqual([]);
  });

  it('shows the ID number in clear only to command, with a reason, and audits it', async () => {
    const path = `/api/v1/persons/${ids.resident}/id-number`;
    expect((await srv.call('GET', path, { as: as.city })).status).toBe(400);
    expect((await srv.call('GET', `${path}?reason=door-to-door`, { as: as.epi })).status).toBe(403);
    const r = await srv.call('GET', `${path}?reason=${encodeURIComponent('transfer to hospital')}`, { as: as.city });
    expect(r.status).toBe(200);
    expect(r.body.idNumber).toBe(idNumbers[0]);
    const [entry] = await ctx.db.query<{ reason: string }>("SELECT reason FROM audit_log WHERE action = 'read-id-number' AND entity_id = $1", [String(ids.resident)]);
    expect(entry.reason).toBe('transfer to hospital');
  });

  it('creates, updates and deletes a person with audit entries, in jurisdiction only', async () => {
    const body = { idNumber: idNo(900), name: '新人', sex: 'F', birthDate: '1995-06-01', householdId: ids.H1, comorbidities: ['asthma'] };
    const bad = await srv.call('POST', '/api/v1/persons', { as: as.d1, body });
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/comorbidities/);
    const outside = await srv.call('POST', '/api/v1/persons', { as: as.d1, body: { ...body, comorbidities: [], householdId: ids.H2 } });
    expect(outside.status).toBe(403);
    expect(outside.body.code).toBe('registerOwnJurisdiction');
    const wrongId = idNo(900).slice(0, 17) + (idNo(900).endsWith('0') ? '1' : '0');
    const badId = await srv.call('POST', '/api/v1/persons', { as: as.city, body: { ...body, comorbidities: [], idNumber: wrongId } });
    expect(badId.status).toBe(400);
    expect(badId.body.detail).toBe('idNumber is not valid: ID number check digit does not match.');
    expect(badId.body.code).toBe('idNumberCheckDigit');
    expect(badId.text).not.toContain(wrongId);
    const created = await srv.call('POST', '/api/v1/persons', { as: as.worker1, body: { ...body, comorbidities: ['diabetes'] } });
    expect(created.status).toBe(201);
    noIdNumberIn(created.text);
    expect(created.text).not.toContain(idNo(900));
    expect(created.body).toMatchObject({ name: '新人', householdId: ids.H1, compoundId: ids.C1, streetId: ids.S1, districtId: ids.D1 });
    const again = await srv.call('POST', '/api/v1/persons', { as: as.city, body: { ...body, comorbidities: [] } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('idNumberRegistered');
    const id = created.body.id;
    // A field the rules refuse says which, and why, as data; nothing changes.
    const notADay = await srv.call('PATCH', `/api/v1/persons/${id}`, { as: as.city, body: { birthDate: '1995-02-30' } });
    expect([notADay.status, notADay.body]).toMatchObject([400, { code: 'fieldNotDate', column: 'birthDate', value: '1995-02-30' }]);
    const ahead = await srv.call('PATCH', `/api/v1/persons/${id}`, { as: as.city, body: { birthDate: '2999-01-01' } });
    expect([ahead.status, ahead.body]).toMatchObject([400, { code: 'fieldDateAhead', column: 'birthDate', value: '2999-01-01' }]);
    expect((await srv.call('PATCH', `/api/v1/persons/${id}`, { as: as.city, body: { phone: 'call me' } })).body).toMatchObject({ code: 'fieldNotPhone', column: 'phone' });
    const moved = await srv.call('PATCH', `/api/v1/persons/${id}`, { as: as.city, body: { householdId: ids.H2, phone: '139 0000 0000' } });
    expect(moved.status).toBe(200);
    expect(moved.body).toMatchObject({ householdId: ids.H2, compoundId: ids.C2, districtId: ids.D2, phone: '13900000000' });
    expect((await srv.call('DELETE', `/api/v1/persons/${id}`, { as: as.d1 })).status).toBe(404);
    expect((await srv.call('DELETE', `/api/v1/persons/${id}`, { as: as.d2 })).status).toBe(204);
    const hasAccount = await srv.call('DELETE', `/api/v1/persons/${ids.resident}`, { as: as.city });
    expect(hasAccount.status).toBe(409);
    expect(hasAccount.body).toMatchObject({ code: 'personHasAccount', personId: ids.resident });
    const actions = await ctx.db.query<{ action: string }>("SELECT action FROM audit_log WHERE entity = 'person' AND entity_id = $1 ORDER BY id", [String(id)]);
    expect(actions.map((a) => a.action)).toEqual(['create', 'update', 'delete']);
  });

  it('serves places with paging, search and filters, and lets only command change them', async () => {
    const list = await srv.call('GET', '/api/v1/compounds?limit=2', { as: as.sampler });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    expect(list.body.items[0]).not.toHaveProperty('geom');
    const rest = await srv.call('GET', `/api/v1/compounds?after=${list.body.next}`, { as: as.sampler });
    expect(rest.body).toEqual({ items: [expect.objectContaining({ code: 'C3' })], next: null });
    const filtered = await srv.call('GET', `/api/v1/compounds?streetId=${ids.S2}`, { as: as.epi });
    expect(filtered.body.items.map((c: { code: string }) => c.code)).toEqual(['C2']);
    const search = await srv.call('GET', `/api/v1/districts?q=${encodeURIComponent('徐汇')}`, { as: as.epi });
    expect(search.body.items.map((c: { code: string }) => c.code)).toEqual(['D2']);
    const one = await srv.call('GET', `/api/v1/compounds/${ids.C1}`, { as: as.epi });
    expect(one.body.geom.type).toBe('Polygon');
    expect((await srv.call('GET', '/api/v1/compounds/99999', { as: as.epi })).status).toBe(404);

    const invalid = await srv.call('POST', '/api/v1/compounds', { as: as.city, body: { code: 'C9' } });
    expect(invalid.status).toBe(400);
    expect(invalid.body.detail).toMatch(/streetId|name/);
    expect((await srv.call('POST', '/api/v1/compounds', { as: as.epi, body: { code: 'C9', streetId: ids.S1, name: 'x' } })).status).toBe(403);
    expect((await srv.call('POST', '/api/v1/compounds', { as: as.d2, body: { code: 'C9', streetId: ids.S1, name: 'x' } })).status).toBe(403);
    const made = await srv.call('POST', '/api/v1/compounds', { as: as.d1, body: { code: 'C9', streetId: ids.S1, name: '九号小区', population: 30 } });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ code: 'C9', districtId: ids.D1, population: 30 });
    const dup = await srv.call('POST', '/api/v1/compounds', { as: as.city, body: { code: 'C9', streetId: ids.S1, name: 'again' } });
    expect(dup.status).toBe(409);
    const renamed = await srv.call('PATCH', `/api/v1/compounds/${made.body.id}`, { as: as.d1, body: { name: '新九号' } });
    expect(renamed.body.name).toBe('新九号');
    expect((await srv.call('DELETE', `/api/v1/compounds/${ids.C1}`, { as: as.city })).status).toBe(409);
    const referenced = await srv.call('DELETE', `/api/v1/districts/${ids.D1}`, { as: as.city });
    expect(referenced.status).toBe(409);
    expect(referenced.body).toMatchObject({ code: 'recordReferenced', entity: 'districts', id: ids.D1, referencedBy: 'streets' });
    expect((await srv.call('DELETE', `/api/v1/compounds/${made.body.id}`, { as: as.d1 })).status).toBe(204);
    expect((await srv.call('GET', `/api/v1/compounds/${made.body.id}`, { as: as.d1 })).status).toBe(404);
    expect((await srv.call('POST', '/api/v1/districts', { as: as.d1, body: { code: 'D9', name: 'x' } })).status).toBe(403);
    const venue = await srv.call('POST', '/api/v1/venues', { as: as.city, body: { code: 'V1', name: '菜场', kind: 'market', compoundId: ids.C2, lon: 121.5, lat: 31 } });
    expect(venue.status).toBe(201);
    expect(venue.body).toMatchObject({ streetId: ids.S2, districtId: ids.D2 });
  });

  it('serves the compound and district map without personal data', async () => {
    const r = await srv.call('GET', '/api/v1/map/compounds.geojson', { as: as.resident });
    expect(r.status).toBe(200);
    const fc = JSON.parse(r.text);
    expect(fc.type).toBe('FeatureCollection');
    const c1 = fc.features.find((f: { properties: { code: string } }) => f.properties.code === 'C1');
    expect(c1.geometry.type).toBe('Polygon');
    expect(c1.properties).toEqual({ id: ids.C1, code: 'C1', name: '一号小区', streetId: ids.S1, districtId: ids.D1, population: 120 });
    noIdNumberIn(r.text);
    const d = await srv.call('GET', '/api/v1/map/districts.geojson', { as: as.epi });
    expect(JSON.parse(d.text).features).toHaveLength(2);
  });

  it('imports CSV over HTTP: 422 with the bad lines and nothing written, then the good file', async () => {
    const count = async () => (await ctx.db.query<{ n: number }>('SELECT count(*)::int AS n FROM persons'))[0].n;
    const before = await count();
    const bad = [PERSON_HEADER, personLine(500), personLine(501, { birth: '1990-13-01' })].join('\n');
    const r = await srv.call('POST', '/api/v1/import/persons', { as: as.city, body: bad, headers: { 'content-type': 'text/csv' } });
    expect(r.status).toBe(422);
    expect(r.body.report.rejected).toEqual([{ line: 3, reason: "birth_date '1990-13-01' is not a date" }]);
    expect(await count()).toBe(before);
    const partial = await srv.call('POST', '/api/v1/import/persons?partial=true', { as: as.city, body: bad, headers: { 'content-type': 'text/csv' } });
    expect(partial.status).toBe(200);
    expect(partial.body).toMatchObject({ inserted: 1, committed: true });
    expect(await count()).toBe(before + 1);
    expect((await srv.call('POST', '/api/v1/import/persons', { as: as.epi, body: bad, headers: { 'content-type': 'text/csv' } })).status).toBe(403);
    const header = await srv.call('POST', '/api/v1/import/persons', { as: as.city, body: 'who,what\n' + 'x,y\n'.repeat(50_000), headers: { 'content-type': 'text/csv' } });
    expect(header.status).toBe(422);
    expect(header.body.report.rejected[0]).toMatchObject({ line: 1, reason: expect.stringMatching(/unknown column\(s\): who, what; missing column\(s\): id_number/) });
    expect((await srv.call('POST', '/api/v1/import/persons', { as: as.city, body: { a: 1 } })).status).toBe(415);
    const labs = await srv.call('POST', '/api/v1/import/labs', { as: as.d2, body: 'code,name,district_code,daily_capacity\nL7,Lab,D1,5\n', headers: { 'content-type': 'text/csv' } });
    expect(labs.status).toBe(422);
    expect(labs.body.report.rejected[0].reason).toMatch(/outside your jurisdiction/);
  });
});
