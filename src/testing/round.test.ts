// A screening round end to end over real HTTP on a generated city: tubes, results by CSV, a positive pool
import { parse } from 'csv-parse/sync';
// resolved by single-tube retests, coverage correct to the person; and bad input that changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, testServer, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { generateCity, loadCity } from '../sim/index.ts';
import { createUser } from '../core/users.ts';
import { uploadResults } from './results.ts';
import { tubeCountsBothWays } from './counts.test-helpers.ts';

interface P { id: number; code: string; compound: number; street: number }

describe('a screening round', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session, sampler: Session, lab: Session, street: Session;
  let persons: P[];
  let campaignId: number;
  let pointId: number;
  let labId: number;
  let sealedCompound: number;
  const skipped = new Set<number>();
  const pools: { barcode: string; members: P[] }[] = [];
  const results: string[] = [];
  const at = '2022-04-10T08:00:00Z';

  beforeAll(async () => {
    ctx = await testContext({ now: new Date('2022-04-10T06:00:00Z') });
    await loadCity(ctx, generateCity({ persons: 3000, seed: 1 }));
    const [d] = await ctx.db.query<{ id: number }>('SELECT id FROM districts ORDER BY id LIMIT 1');
    persons = await ctx.db.query<P>('SELECT id, personal_code AS code, compound_id AS compound, street_id AS street FROM persons WHERE district_id = $1 ORDER BY compound_id, id', [d.id]);
    [{ id: pointId }] = await ctx.db.query<{ id: number }>('SELECT id FROM sampling_points ORDER BY id LIMIT 1');
    [{ id: labId }] = await ctx.db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
    const [st] = await ctx.db.query<{ id: number }>('SELECT id FROM streets WHERE district_id = $1 ORDER BY id LIMIT 1', [d.id]);
    await ctx.db.tx(async (q) => {
      await createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date());
      await createUser(q, { username: 'sampler', password: 'sampler-password', role: 'sampler', streetId: st.id }, new Date());
      await createUser(q, { username: 'street', password: 'street-password', role: 'street_worker', streetId: st.id }, new Date());
    });
    srv = await testServer(ctx);
    city = await srv.login('city', 'city-password');
    sampler = await srv.login('sampler', 'sampler-password');
    street = await srv.login('street', 'street-password');
    const token = await srv.call('POST', '/api/v1/tokens', { as: city, body: { name: 'lab upload', role: 'lab', labId } });
    lab = { bearer: token.body.token };
    sealedCompound = persons[0].compound;
    const created = await srv.call('POST', '/api/v1/campaigns', {
      as: city,
      body: { name: 'Round 1', areaLevel: 'district', areaIds: [d.id], startsAt: at, endsAt: '2022-04-11T08:00:00Z', defaultGroup: 'controlled', compoundGroups: { [sealedCompound]: 'sealed' } },
    });
    expect(created.status).toBe(201);
    campaignId = created.body.id;
    expect(created.body.expected).toBe(persons.length);
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  it('samples the district: single tubes in the sealed compound, 10-in-1 elsewhere, one by one and in batches', async () => {
    // Leave out every 7th person: they are who coverage must list.
    const toSample = persons.filter((p, i) => (i % 7 === 3 ? (skipped.add(p.id), false) : true));
    const sealed = toSample.filter((p) => p.compound === sealedCompound);
    const rest = toSample.filter((p) => p.compound !== sealedCompound);
    // The sealed compound through the phone flow, one tube per person.
    for (const [i, p] of sealed.entries()) {
      const bc = `S${String(i).padStart(6, '0')}`;
      const open = await srv.call('POST', '/api/v1/tubes', { as: sampler, body: { barcode: bc, samplingPointId: pointId, campaignId, group: 'sealed' } });
      expect(open.status).toBe(201);
      expect(open.body.capacity).toBe(1);
      const add = await srv.call('POST', `/api/v1/tubes/${bc}/samples`, { as: sampler, body: { person: p.code } });
      expect(add.status).toBe(201);
      expect((await srv.call('POST', `/api/v1/tubes/${bc}/close`, { as: sampler })).status).toBe(200);
      pools.push({ barcode: bc, members: [p] });
    }
    // Everyone else in 10-in-1 tubes, synced as a device's batches.
    const tubes = [];
    for (let i = 0; i < rest.length; i += 10) {
      const members = rest.slice(i, i + 10);
      const bc = `P${String(i / 10).padStart(6, '0')}`;
      pools.push({ barcode: bc, members });
      tubes.push({ barcode: bc, samplingPointId: pointId, campaignId, group: 'controlled', sampledAt: at, persons: members.map((m) => m.code) });
    }
    for (let i = 0; i < tubes.length; i += 50) {
      const r = await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: tubes.slice(i, i + 50) } });
      expect(r.status).toBe(201);
    }
    const progress = await srv.call('GET', `/api/v1/campaigns/${campaignId}/progress`, { as: city });
    expect(progress.body).toEqual({ expected: persons.length, sampled: toSample.length, resulted: 0, positive: 0 });
  });

  it('refuses a sealed compound’s resident in a pooled tube', async () => {
    const sealedPerson = persons.find((p) => p.compound === sealedCompound && !skipped.has(p.id))!;
    await srv.call('POST', '/api/v1/tubes', { as: sampler, body: { barcode: 'MIX0001', samplingPointId: pointId, campaignId, group: 'controlled' } });
    const r = await srv.call('POST', '/api/v1/tubes/MIX0001/samples', { as: sampler, body: { person: sealedPerson.code } });
    expect(r.status).toBe(409);
    expect(r.body.detail).toMatch(/sampling group sealed/);
    const batch = await srv.call('POST', '/api/v1/tubes/batch', { as: sampler, body: { tubes: [{ barcode: 'MIX0002', samplingPointId: pointId, campaignId, group: 'controlled', sampledAt: at, persons: [sealedPerson.code, persons.find((p) => p.compound !== sealedCompound)!.code] }] } });
    expect(batch.status).toBe(400);
    expect(batch.body.problems[0]).toMatch(/sampling group sealed/);
  });

  it('flags a person sampled twice in the round, and accepts them', async () => {
    const again = pools[pools.length - 1].members[0];
    await srv.call('POST', '/api/v1/tubes', { as: sampler, body: { barcode: 'AGAIN01', samplingPointId: pointId, campaignId, group: 'controlled' } });
    const r = await srv.call('POST', '/api/v1/tubes/AGAIN01/samples', { as: sampler, body: { person: again.code } });
    expect(r.status).toBe(201);
    expect(r.body.repeatInRound).toBe(true);
    pools.push({ barcode: 'AGAIN01', members: [again] });
  });

  it('applies a lab CSV: one positive pool puts its members under control with retest tasks per street', async () => {
    const positivePool = pools.find((p) => p.members.length === 10)!;
    const positiveSingle = pools.find((p) => p.members.length === 1 && p.members[0].compound === sealedCompound)!;
    results.push('barcode,result,ct_orf1ab,ct_n,resulted_at');
    for (const p of pools) {
      const pos = p === positivePool || p === positiveSingle;
      results.push(`${p.barcode},${pos ? 'positive' : 'negative'},${pos ? '31.5' : ''},${pos ? '33.2' : ''},2022-04-10T20:00:00+08:00`);
    }
    const r = await srv.call('POST', `/api/v1/labs/${labId}/results`, { as: lab, body: results.join('\n') + '\n', headers: { 'content-type': 'text/csv' } });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows: pools.length, applied: pools.length, duplicates: 0, conflicts: 0, positives: 1, poolControls: 10 });
    for (const m of positivePool.members) {
      const h = await srv.call('GET', `/api/v1/persons/${m.id}/tests`, { as: city });
      expect(h.body.underPoolControl).toBe(true);
    }
    const tasks = await ctx.db.query<{ street_id: number; person_ids: number[] }>("SELECT street_id, person_ids FROM tasks WHERE kind = 'retest'");
    expect(tasks.flatMap((t) => t.person_ids).sort()).toEqual(positivePool.members.map((m) => m.id).sort());
    expect(new Set(tasks.map((t) => t.street_id))).toEqual(new Set(positivePool.members.map((m) => m.street)));
    const findings = await ctx.db.query<{ person_id: number }>('SELECT person_id FROM positive_findings');
    expect(findings.map((f) => f.person_id)).toEqual([positiveSingle.members[0].id]);
    const progress = await srv.call('GET', `/api/v1/campaigns/${campaignId}/progress`, { as: city });
    expect(progress.body.resulted).toBe(progress.body.sampled);
    expect(progress.body.positive).toBe(11);
  });

  it('changes nothing when the same upload comes twice', async () => {
    const before = await ctx.db.query('SELECT count(*)::int AS n FROM lab_results');
    const r = await srv.call('POST', `/api/v1/labs/${labId}/results`, { as: lab, body: results.join('\n') + '\n', headers: { 'content-type': 'text/csv' } });
    expect(r.body).toMatchObject({ applied: 0, duplicates: pools.length, conflicts: 0 });
    expect(await ctx.db.query('SELECT count(*)::int AS n FROM lab_results')).toEqual(before);
  });

  it('keeps a second, different result for a tube as a conflict, never overwriting', async () => {
    // A 10-in-1 pool other than the positive one.
    const tube = pools.filter((p) => p.members.length === 10)[3];
    const r = await srv.call('POST', `/api/v1/labs/${labId}/results`, { as: lab, body: `barcode,result,ct_orf1ab,ct_n,resulted_at\n${tube.barcode},positive,30,30,2022-04-10T21:00:00+08:00\n`, headers: { 'content-type': 'text/csv' } });
    expect(r.body).toMatchObject({ applied: 0, conflicts: 1 });
    const conflicts = await srv.call('GET', '/api/v1/results/conflicts', { as: city });
    expect(conflicts.body.items).toHaveLength(1);
    expect(conflicts.body.items[0]).toMatchObject({ barcode: tube.barcode, result: 'positive', appliedResult: 'negative' });
    const h = await srv.call('GET', `/api/v1/persons/${tube.members[0].id}/tests`, { as: city });
    expect(h.body.underPoolControl).toBe(false);
    // A person decides: the conflicting positive is put in force, and its pool's members come under control.
    const noReason = await srv.call('POST', `/api/v1/results/conflicts/${conflicts.body.items[0].id}/resolve`, { as: city, body: { keep: 'conflicting' } });
    expect(noReason.status).toBe(400);
    const resolved = await srv.call('POST', `/api/v1/results/conflicts/${conflicts.body.items[0].id}/resolve`, { as: city, body: { keep: 'conflicting', reason: 'lab confirmed the rerun' } });
    expect(resolved.status).toBe(200);
    expect(resolved.body.summary.poolControls).toBe(tube.members.length);
    expect((await srv.call('GET', '/api/v1/results/conflicts', { as: city })).body.items).toEqual([]);
    const after = await srv.call('GET', `/api/v1/persons/${tube.members[0].id}/tests`, { as: city });
    expect(after.body.underPoolControl).toBe(true);
    expect((await srv.call('POST', `/api/v1/results/conflicts/${conflicts.body.items[0].id}/resolve`, { as: city, body: { keep: 'current', reason: 'second try' } })).status).toBe(404);
  });

  it('finds a conflict between chunks of one upload, and applies only the first result', async () => {
    const [a, b] = pools.slice(7, 9);
    const rows = [
      { line: 2, barcode: a.barcode, result: 'negative' as const, ctOrf1ab: null, ctN: null, resultedAt: new Date('2022-04-10T13:00:00Z') },
      { line: 3, barcode: b.barcode, result: 'negative' as const, ctOrf1ab: null, ctN: null, resultedAt: new Date('2022-04-10T13:00:00Z') },
      { line: 4, barcode: a.barcode, result: 'positive' as const, ctOrf1ab: 25, ctN: 26, resultedAt: new Date('2022-04-10T14:00:00Z') },
    ];
    // Two new single tubes; the first one gets a negative, then (in a later chunk) a different positive.
    const fresh: string[] = [];
    for (const [i, p] of [a, b].entries()) {
      const bc = `CHUNK00${i}`;
      await srv.call('POST', '/api/v1/tubes', { as: sampler, body: { barcode: bc, samplingPointId: pointId } });
      await srv.call('POST', `/api/v1/tubes/${bc}/samples`, { as: sampler, body: { person: p.members[0].code } });
      fresh.push(bc);
    }
    const report = await uploadResults(ctx.db, { labId, rows: rows.map((r) => ({ ...r, barcode: r.barcode === a.barcode ? fresh[0] : fresh[1] })), rejected: [], sha256: 'x', preset: ctx.preset, by: 'test', now: ctx.clock.now(), chunk: 1 });
    expect(report).toMatchObject({ applied: 2, conflicts: 1, positives: 0 });
    const states = await ctx.db.query<{ state: string; result: string }>("SELECT r.state, r.result FROM lab_results r JOIN tubes t ON t.id = r.tube_id WHERE t.barcode = 'CHUNK000' ORDER BY r.id");
    expect(states).toEqual([{ state: 'applied', result: 'negative' }, { state: 'conflict', result: 'positive' }]);
  });

  it('resolves the positive pool by single-tube retests: negatives released, a positive found', async () => {
    const pool = pools.find((p) => p.members.length === 10)!;
    const lines = ['barcode,result,ct_orf1ab,ct_n,resulted_at'];
    // The next morning: retests are sampled after the pool.
    ctx.clock.set(new Date('2022-04-11T01:00:00Z'), 0);
    for (const [i, m] of pool.members.entries()) {
      const bc = `R${String(i).padStart(6, '0')}`;
      expect((await srv.call('POST', '/api/v1/tubes', { as: sampler, body: { barcode: bc, samplingPointId: pointId, retestOf: pool.barcode } })).status).toBe(201);
      expect((await srv.call('POST', `/api/v1/tubes/${bc}/samples`, { as: sampler, body: { person: m.code } })).status).toBe(201);
      lines.push(i === 0 ? `${bc},positive,28,29,2022-04-11T20:00:00+08:00` : `${bc},negative,,,2022-04-11T20:00:00+08:00`);
    }
    const r = await srv.call('POST', `/api/v1/labs/${labId}/results`, { as: lab, body: lines.join('\n'), headers: { 'content-type': 'text/csv' } });
    expect(r.status, r.text).toBe(200);
    expect(r.body).toMatchObject({ applied: 10, positives: 1, cleared: 9 });
    for (const [i, m] of pool.members.entries()) {
      const h = await srv.call('GET', `/api/v1/persons/${m.id}/tests`, { as: city });
      expect(h.body.underPoolControl).toBe(false);
      if (i > 0) expect(h.body.lastNegativeAt).not.toBeNull();
    }
    const findings = await ctx.db.query<{ person_id: number }>('SELECT person_id FROM positive_findings ORDER BY resulted_at');
    expect(findings.map((f) => f.person_id)).toContain(pool.members[0].id);
    const open = await ctx.db.query("SELECT id FROM tasks WHERE kind = 'retest' AND status <> 'done' AND source ->> 'barcode' = $1", [pool.barcode]);
    expect(open).toEqual([]);
  });

  it('lists exactly the unsampled residents, sorted for door-to-door work, as JSON and CSV', async () => {
    const r = await srv.call('GET', `/api/v1/campaigns/${campaignId}/coverage`, { as: city });
    expect(r.status).toBe(200);
    expect(new Set(r.body.items.map((x: { personId: number }) => x.personId))).toEqual(skipped);
    const keys = r.body.items.map((x: { compoundCode: string; buildingCode: string; floor: number; unit: string }) => [x.compoundCode, x.buildingCode, String(x.floor).padStart(4, '0'), x.unit].join('|'));
    expect([...keys].sort()).toEqual(keys);
    // Door-to-door tasks: one per street, naming exactly those residents; asked again, nothing new.
    const d2d = await srv.call('POST', `/api/v1/campaigns/${campaignId}/door-to-door`, { as: city });
    expect(d2d.status, d2d.text).toBe(200);
    expect(d2d.body.persons).toBe(skipped.size);
    const tasks = await ctx.db.query<{ street_id: number; person_ids: number[]; due_at: Date }>(`SELECT street_id, person_ids, due_at FROM tasks WHERE kind = 'doorToDoor'`);
    expect(tasks).toHaveLength(d2d.body.streets);
    expect(new Set(tasks.flatMap((t) => t.person_ids.map(Number)))).toEqual(skipped);
    expect(new Set(tasks.map((t) => t.street_id)).size).toBe(tasks.length);
    expect((await srv.call('POST', `/api/v1/campaigns/${campaignId}/door-to-door`, { as: city })).body.tasks).toBe(0);
    // The whole list is written as CSV by the database, a limited one here: both quote the same way.
    const tricky = [...skipped][0];
    await ctx.db.query(`UPDATE persons SET name = $2, phone = '' WHERE id = $1`, [tricky, 'Li, "Xiao"\nMing']);
    const csv = await srv.call('GET', `/api/v1/campaigns/${campaignId}/coverage?format=csv`, { as: city });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const records = parse(csv.text, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(skipped.size);
    expect(records.find((x) => Number(x.person_id) === tricky)).toMatchObject({ name: 'Li, "Xiao"\nMing', phone: '' });
    const page = await srv.call('GET', `/api/v1/campaigns/${campaignId}/coverage?format=csv&limit=1000000`, { as: city });
    expect(page.text).toBe(csv.text);
    // A street worker sees only their street's part, and the read is audited.
    const mine = await srv.call('GET', `/api/v1/campaigns/${campaignId}/coverage`, { as: street });
    const [{ id: streetId }] = await ctx.db.query<{ id: number }>("SELECT street_id AS id FROM users WHERE username = 'street'");
    expect(mine.body.items.length).toBe(persons.filter((p) => skipped.has(p.id) && p.street === streetId).length);
    const audited = await ctx.db.query("SELECT 1 FROM audit_log WHERE entity = 'coverage'");
    expect(audited.length).toBe(4);
  });

  it('creates a PCR task for a positive antigen self-report', async () => {
    const p = persons[1];
    const r = await srv.call('POST', '/api/v1/antigen-reports', { as: city, body: { personId: p.id, result: 'positive', testedAt: '2022-04-11T07:00:00Z', symptoms: true } });
    expect(r.status).toBe(201);
    expect(r.body.pcrTask).toBe(true);
    const [task] = await ctx.db.query<{ person_ids: number[]; street_id: number }>("SELECT person_ids, street_id FROM tasks WHERE kind = 'pcrAfterAntigen'");
    expect(task).toEqual({ person_ids: [p.id], street_id: p.street });
  });

  it('reports lab load and turnaround, and a sampling point’s throughput and wait', async () => {
    const load = await srv.call('GET', `/api/v1/labs/${labId}/load`, { as: city });
    expect(load.status).toBe(200);
    expect(load.body.resultedToday).toBeGreaterThan(0);
    const q = await srv.call('POST', `/api/v1/sampling-points/${pointId}/queue`, { as: sampler, body: { waiting: 40 } });
    expect(q.status).toBe(201);
    expect(q.body.queue.waiting).toBe(40);
  });
  it('raises one alert for tubes at a lab still without a result after the preset’s deadline', async () => {
    await srv.call('POST', '/api/v1/tubes', { as: sampler, body: { barcode: 'LATE0001', samplingPointId: pointId } });
    await srv.call('POST', '/api/v1/tubes/LATE0001/samples', { as: sampler, body: { person: persons[2].code } });
    await srv.call('POST', '/api/v1/tubes/LATE0001/close', { as: sampler });
    const received = await srv.call('POST', `/api/v1/labs/${labId}/receipts`, { as: lab, body: { barcodes: ['LATE0001', 'NOSUCH99'] } });
    expect(received.body).toEqual({ received: 1, unknown: ['NOSUCH99'] });
    await srv.call('GET', `/api/v1/labs/${labId}/load`, { as: city });
    expect(await ctx.db.query("SELECT 1 FROM alerts WHERE kind = 'labOverdue'")).toHaveLength(0);
    ctx.clock.advance((ctx.preset.testing.resultDeadlineHours + 1) * 3600_000);
    await srv.call('GET', `/api/v1/labs/${labId}/load`, { as: city });
    await srv.call('GET', `/api/v1/labs/${labId}/load`, { as: city });
    const alerts = await ctx.db.query<{ facts: { tubes: number; labId: number } }>("SELECT facts FROM alerts WHERE kind = 'labOverdue'");
    expect(alerts).toHaveLength(1);
    expect(alerts[0].facts).toMatchObject({ labId, tubes: 1 });
  });

  it('keeps the tube counts the daily figures read equal to the tubes and results of the round', async () => {
    // Phone flow, device batches, CSV uploads, a conflict put in force, retests: all of it above.
    const { kept, recounted } = await tubeCountsBothWays(ctx.db);
    expect(recounted.reduce((s, r) => s + r.resulted, 0)).toBeGreaterThan(100);
    expect(kept).toEqual(recounted);
  });
});

describe('bad input changes nothing', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session;
  let pointId: number;
  let labId: number;
  let codes: string[];
  const count = async (table: string) => (await ctx.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0].n;

  beforeAll(async () => {
    ctx = await testContext({ now: new Date('2022-04-10T06:00:00Z') });
    await loadCity(ctx, generateCity({ persons: 500, seed: 2 }));
    codes = (await ctx.db.query<{ personal_code: string }>('SELECT personal_code FROM persons ORDER BY id LIMIT 30')).map((r) => r.personal_code);
    [{ id: pointId }] = await ctx.db.query<{ id: number }>('SELECT id FROM sampling_points ORDER BY id LIMIT 1');
    [{ id: labId }] = await ctx.db.query<{ id: number }>('SELECT id FROM labs ORDER BY id LIMIT 1');
    await ctx.db.tx((q) => createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date()));
    srv = await testServer(ctx);
    city = await srv.login('city', 'city-password');
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  it('refuses a 21st person in a tube, and an 11th in a 10-in-1 tube', async () => {
    await srv.call('POST', '/api/v1/tubes', { as: city, body: { barcode: 'T020', samplingPointId: pointId, group: 'precaution' } });
    for (const c of codes.slice(0, 20)) expect((await srv.call('POST', '/api/v1/tubes/T020/samples', { as: city, body: { person: c } })).status).toBe(201);
    const r = await srv.call('POST', '/api/v1/tubes/T020/samples', { as: city, body: { person: codes[20] } });
    expect(r.status).toBe(409);
    expect(r.body.detail).toMatch(/at most 20/);
    await srv.call('POST', '/api/v1/tubes', { as: city, body: { barcode: 'T010', samplingPointId: pointId, group: 'controlled' } });
    for (const c of codes.slice(0, 10)) await srv.call('POST', '/api/v1/tubes/T010/samples', { as: city, body: { person: c } });
    expect((await srv.call('POST', '/api/v1/tubes/T010/samples', { as: city, body: { person: codes[10] } })).status).toBe(409);
    expect(await count('samples')).toBe(30);
  });

  it('refuses an unknown barcode and a tube put into a tube', async () => {
    expect((await srv.call('POST', '/api/v1/tubes/NOSUCH1/samples', { as: city, body: { person: codes[0] } })).status).toBe(404);
    await srv.call('POST', '/api/v1/tubes', { as: city, body: { barcode: 'T030', samplingPointId: pointId } });
    const r = await srv.call('POST', '/api/v1/tubes/T030/samples', { as: city, body: { person: 'T010' } });
    expect(r.status).toBe(400);
    expect(r.body.detail).toMatch(/re-pooling/);
    // The same as data, for the sampler's page to word in its reader's language.
    expect(r.body).toMatchObject({ code: 'isTube', ref: 'T010' });
    expect(await count('samples')).toBe(30);
  });

  it('rejects a CSV with a malformed line, naming it, and writes nothing', async () => {
    const before = await count('lab_results');
    const body = 'barcode,result,ct_orf1ab,ct_n,resulted_at\nT020,negative,,,2022-04-10T20:00:00Z\nT010,maybe,,,2022-04-10T20:00:00Z\nT020,negative,abc,,2022-04-10T20:00:00Z\nT020,constructor,,,2022-04-10T20:00:00Z\nT0;20,negative,,,2022-04-10T20:00:00Z\n';
    const r = await srv.call('POST', `/api/v1/labs/${labId}/results`, { as: city, body, headers: { 'content-type': 'text/csv' } });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.rejected).toEqual([
      { line: 3, reason: "result 'maybe' is not positive, negative or invalid", why: { code: 'resultBad', value: 'maybe' } },
      { line: 4, reason: "ct_orf1ab 'abc' is not a Ct value between 0 and 50", why: { code: 'ctBad', column: 'ct_orf1ab', value: 'abc' } },
      { line: 5, reason: "result 'constructor' is not positive, negative or invalid", why: { code: 'resultBad', value: 'constructor' } },
      { line: 6, reason: "barcode 'T0;20' is not a tube barcode (4 to 64 letters, digits, - or _)", why: { code: 'barcodeBad', value: 'T0;20' } },
    ]);
    expect(await count('lab_results')).toBe(before);
    expect(await count('result_uploads')).toBe(0);
  });

  it('rejects results for a tube never sampled or unknown, and writes nothing', async () => {
    const body = 'barcode,result,ct_orf1ab,ct_n,resulted_at\nT020,negative,,,2022-04-10T20:00:00Z\nT030,negative,,,2022-04-10T20:00:00Z\nGHOST9,negative,,,2022-04-10T20:00:00Z\n';
    const r = await srv.call('POST', `/api/v1/labs/${labId}/results`, { as: city, body, headers: { 'content-type': 'text/csv' } });
    expect(r.status).toBe(422);
    expect(r.body.rejected).toEqual([
      { line: 3, reason: 'tube T030 holds no sample', why: { code: 'tubeEmpty', barcode: 'T030' } },
      { line: 4, reason: 'tube GHOST9 was never sampled (unknown barcode)', why: { code: 'tubeUnknown', barcode: 'GHOST9' } },
    ]);
    expect(await count('lab_results')).toBe(0);
  });

  it('rejects a whole device batch when one tube is bad', async () => {
    const r = await srv.call('POST', '/api/v1/tubes/batch', {
      as: city,
      body: { tubes: [ { barcode: 'B001', samplingPointId: pointId, sampledAt: '2022-04-10T08:00:00Z', persons: [codes[0]] }, { barcode: 'B002', samplingPointId: pointId, sampledAt: '2022-04-10T08:00:00Z', persons: ['NOBODY123'] } ] },
    });
    expect(r.status).toBe(400);
    expect(r.body.problems).toEqual(['tubes[1] (B002): no person with code or ID number NOBODY123']);
    expect((await ctx.db.query("SELECT 1 FROM tubes WHERE barcode IN ('B001','B002')")).length).toBe(0);
  });
});
