// Vaccination over real HTTP on the hand-built town: doses recorded in order and never twice, coverage of
// the 60+ and 80+ by street, the door-to-door lists of unvaccinated and unboosted elderly, a booking at a
// point that vaccinates (done when the dose is recorded), and a person's record as FHIR R4 Immunization.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testContext, testServer, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { createUser } from '../core/users.ts';
import { buildSupportTown, TOWN_NOW } from './town.test-helpers.ts';

const PW = 'vaccine-password';

/** The R4 rules an Immunization must meet (hl7.org/fhir/R4/immunization.html): required elements, their types, the codes. */
function immunizationProblems(r: Record<string, any>): string[] {
  const out: string[] = [];
  const isCoding = (c: any) => c && typeof c.system === 'string' && /^https?:\/\//.test(c.system) && typeof c.code === 'string' && c.code.length > 0;
  if (r.resourceType !== 'Immunization') out.push('resourceType');
  if (typeof r.id !== 'string' || !/^[A-Za-z0-9\-.]{1,64}$/.test(r.id)) out.push('id');
  if (!['completed', 'entered-in-error', 'not-done'].includes(r.status)) out.push('status (1..1, code)');
  if (!Array.isArray(r.vaccineCode?.coding) || !r.vaccineCode.coding.every(isCoding)) out.push('vaccineCode (1..1 CodeableConcept)');
  if (typeof r.patient?.reference !== 'string' || !/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(r.patient.reference)) out.push('patient (1..1 Reference(Patient))');
  const occurrence = ['occurrenceDateTime', 'occurrenceString'].filter((k) => k in r);
  if (occurrence.length !== 1) out.push('occurrence[x] (exactly one)');
  if (r.occurrenceDateTime !== undefined && !/^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?)?)?$/.test(r.occurrenceDateTime)) out.push('occurrenceDateTime (dateTime)');
  if (r.recorded !== undefined && Number.isNaN(Date.parse(r.recorded))) out.push('recorded (dateTime)');
  for (const pa of r.protocolApplied ?? []) {
    const doseNumber = ['doseNumberPositiveInt', 'doseNumberString'].filter((k) => k in pa);
    if (doseNumber.length !== 1) out.push('protocolApplied.doseNumber[x] (1..1)');
    if ('doseNumberPositiveInt' in pa && !(Number.isInteger(pa.doseNumberPositiveInt) && pa.doseNumberPositiveInt > 0)) out.push('doseNumberPositiveInt');
    if ('seriesDosesPositiveInt' in pa && !(Number.isInteger(pa.seriesDosesPositiveInt) && pa.seriesDosesPositiveInt > 0)) out.push('seriesDosesPositiveInt');
  }
  if ('doseQuantity' in r && (typeof r.doseQuantity.value !== 'number' || typeof r.doseQuantity.unit !== 'string')) out.push('doseQuantity (SimpleQuantity)');
  const allowed = new Set(['resourceType', 'id', 'meta', 'text', 'identifier', 'status', 'statusReason', 'vaccineCode', 'patient', 'encounter', 'occurrenceDateTime', 'occurrenceString', 'recorded', 'primarySource', 'reportOrigin', 'location', 'manufacturer', 'lotNumber', 'expirationDate', 'site', 'route', 'doseQuantity', 'performer', 'note', 'reasonCode', 'reasonReference', 'isSubpotent', 'subpotentReason', 'education', 'programEligibility', 'fundingSource', 'reaction', 'protocolApplied']);
  for (const k of Object.keys(r)) if (!allowed.has(k)) out.push(`unknown element ${k}`);
  return out;
}

describe('vaccination', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session, street1: Session, street2: Session, sampler: Session, resident1: Session;
  const record = (personId: number, dose: number, product: string, givenOn: string, as: Session = sampler) => srv.call('POST', `/api/v1/persons/${personId}/vaccinations`, { as, body: { dose, product, givenOn } });

  beforeAll(async () => {
    ctx = await testContext({ now: TOWN_NOW });
    await ctx.db.tx((q) => buildSupportTown(q));
    await ctx.db.tx(async (q) => {
      const at = new Date();
      await createUser(q, { username: 'city', password: PW, role: 'city_command' }, at);
      await createUser(q, { username: 'street1', password: PW, role: 'street_worker', streetId: 1 }, at);
      await createUser(q, { username: 'street2', password: PW, role: 'street_worker', streetId: 2 }, at);
      await createUser(q, { username: 'sampler', password: PW, role: 'sampler', streetId: 3 }, at);
      await createUser(q, { username: 'resident1', password: PW, role: 'resident', personId: 1 }, at);
    });
    srv = await testServer(ctx);
    [city, street1, street2, sampler, resident1] = await Promise.all(['city', 'street1', 'street2', 'sampler', 'resident1'].map((u) => srv.login(u, PW)));
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  it('records doses in order and never twice; a sampler vaccinates whoever comes', async () => {
    // Person 1 (70): two doses of CoronaVac long ago, booster due. Person 3 (65): boosted. Person 5 (82): primary series
    // completed in March, booster not yet due. Person 2 (85): none. Person 4 (37): none.
    for (const [p, d, day] of [[1, 1, '2021-05-01'], [1, 2, '2021-06-01'], [3, 1, '2021-03-01'], [3, 2, '2021-04-01'], [3, 3, '2021-11-01'], [5, 1, '2022-02-01'], [5, 2, '2022-03-01']] as const) {
      const r = await record(p, d, 'CoronaVac', day);
      expect(r.status, r.text).toBe(201);
    }
    const again = await record(1, 2, 'CoronaVac', '2021-06-02');
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'doseRecorded', dose: 2, problems: [{ code: 'doseRecorded', dose: 2 }], detail: expect.stringMatching(/already recorded/) });
    const skipped = await record(2, 2, 'CoronaVac', '2021-06-02');
    expect(skipped.status).toBe(400);
    expect(skipped.body).toMatchObject({ code: 'dosePreviousMissing', dose: 2, previous: 1, detail: expect.stringMatching(/Dose 1 must be recorded/) });
    const ahead = await record(2, 1, 'CoronaVac', '2022-05-01');
    expect([ahead.status, ahead.body.code, ahead.body.givenOn]).toEqual([400, 'doseInFuture', '2022-05-01']);
    // A street's worker records only within their street.
    expect((await record(9, 1, 'CoronaVac', '2021-05-01', street1)).status).toBe(404);

    const one = await srv.call('GET', '/api/v1/persons/1/vaccinations', { as: resident1 });
    expect(one.body).toMatchObject({ personId: 1, state: { doses: 2, primaryComplete: true, boosterDue: true, boosterDueFrom: '2021-12-01', next: { dose: 3, series: 'booster' } }, booking: null });
    expect(one.body.doses.map((d: { dose: number; givenOn: string }) => [d.dose, d.givenOn])).toEqual([[1, '2021-05-01'], [2, '2021-06-01']]);
    expect((await srv.call('GET', '/api/v1/persons/3/vaccinations', { as: resident1 })).status).toBe(404);
  });

  it('gives coverage of the 60+ and 80+ by street', async () => {
    const cov = await srv.call('GET', '/api/v1/vaccination/coverage?by=street', { as: city });
    expect(cov.status, cov.text).toBe(200);
    expect(cov.body.bands.map((b: { label: string }) => b.label)).toEqual(['60+', '80+']);
    // Street 1: persons 1 (70), 2 (85), 3 (65), 5 (82) are 60+; 2 and 5 are 80+.
    const s1 = cov.body.areas.find((a: { id: number }) => a.id === 1);
    expect(s1).toMatchObject({ name: '一街', bands: { elderly: { persons: 4, atLeastOneDose: 3, fullyVaccinated: 3, boosted: 1, unvaccinated: 1, fullyPercent: 75, boostedPercent: 25 }, oldest: { persons: 2, atLeastOneDose: 1, fullyVaccinated: 1, boosted: 0, unvaccinated: 1 } } });
    expect(cov.body.total.elderly.persons).toBe(4);
    const mine = await srv.call('GET', '/api/v1/vaccination/coverage', { as: street2 });
    expect(mine.body).toMatchObject({ by: 'street', total: { elderly: { persons: 0 } } });
  });

  it('lists the unvaccinated and the unboosted elderly for door-to-door work, with where they live', async () => {
    const unvaccinated = await srv.call('GET', '/api/v1/vaccination/elderly?list=unvaccinated', { as: street1 });
    expect(unvaccinated.body.items).toMatchObject([{ personId: 2, age: 85, compound: '一号小区', building: '1号楼', unit: '101', doses: 0 }]);
    const unboosted = await srv.call('GET', '/api/v1/vaccination/elderly?list=unboosted', { as: street1 });
    expect(unboosted.body.items.map((i: { personId: number; boosterDueFrom: string }) => [i.personId, i.boosterDueFrom])).toEqual([[1, '2021-12-01'], [5, '2022-09-01']]);
    const due = await srv.call('GET', '/api/v1/vaccination/elderly?list=unboosted&dueOnly=true', { as: street1 });
    expect(due.body.items.map((i: { personId: number }) => i.personId)).toEqual([1]);
    const oldest = await srv.call('GET', '/api/v1/vaccination/elderly?list=unboosted&ageAtLeast=80', { as: street1 });
    expect(oldest.body.items.map((i: { personId: number }) => i.personId)).toEqual([5]);
    const paged = await srv.call('GET', '/api/v1/vaccination/elderly?list=unboosted&limit=1', { as: street1 });
    expect(paged.body).toMatchObject({ items: [{ personId: 1 }], next: 1 });
    expect((await srv.call('GET', '/api/v1/vaccination/elderly?list=unboosted&limit=1&after=1', { as: street1 })).body.items[0].personId).toBe(5);
    expect((await srv.call('GET', '/api/v1/vaccination/elderly?list=unboosted', { as: street2 })).body.items).toEqual([]);
    const [a] = await ctx.db.query<{ reason: string }>("SELECT reason FROM audit_log WHERE entity = 'person' AND reason LIKE 'vaccination door-to-door%' ORDER BY id LIMIT 1");
    expect(a.reason).toBe('vaccination door-to-door list (unvaccinated)');
  });

  it('books a booster at a point that vaccinates, one booking a person; recording the dose completes it', async () => {
    const points = await srv.call('GET', '/api/v1/vaccination/points', { as: resident1 });
    expect(points.body.items.map((p: { id: number }) => p.id)).toEqual([1]);
    // Tomorrow 10:00 in Shanghai.
    const slot = '2022-04-13T02:00:00.000Z';
    const b = await srv.call('POST', '/api/v1/vaccination/bookings', { as: resident1, body: { samplingPointId: 1, slotAt: '2022-04-13T02:20:00Z' } });
    expect(b.status, b.text).toBe(201);
    expect(b.body).toMatchObject({ personId: 1, samplingPointId: 1, slotAt: slot, dose: 3, series: 'booster', capacity: ctx.preset.vaccination.bookingsPerStationPerHour, bookedInSlot: 1 });
    const second = await srv.call('POST', '/api/v1/vaccination/bookings', { as: resident1, body: { samplingPointId: 1, slotAt: '2022-04-13T03:00:00Z' } });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'bookingExists', personId: 1 });
    const notHere = await srv.call('POST', '/api/v1/vaccination/bookings', { as: street1, body: { personId: 2, samplingPointId: 2, slotAt: slot } });
    expect(notHere.status).toBe(409);
    expect(notHere.body).toMatchObject({ code: 'pointNotVaccinating', detail: expect.stringMatching(/does not vaccinate/) });
    const night = await srv.call('POST', '/api/v1/vaccination/bookings', { as: street1, body: { personId: 2, samplingPointId: 1, slotAt: '2022-04-13T14:00:00Z' } });
    expect(night.body).toMatchObject({ code: 'slotOutsideHours', slot: '22:00', detail: expect.stringMatching(/outside the point's hours/) });
    const notDue = await srv.call('POST', '/api/v1/vaccination/bookings', { as: street1, body: { personId: 5, samplingPointId: 1, slotAt: slot } });
    expect(notDue.body).toMatchObject({ code: 'doseNotDue', dose: 3, series: 'booster', earliest: '2022-09-01', detail: expect.stringMatching(/due from 2022-09-01/) });
    // The point's list for the day; the street's list shows the booking.
    const day = await srv.call('GET', '/api/v1/sampling-points/1/vaccination-bookings?day=2022-04-13', { as: sampler });
    expect(day.body.items).toMatchObject([{ personId: 1, dose: 3, state: 'booked' }]);
    const list = await srv.call('GET', '/api/v1/vaccination/elderly?list=unboosted&dueOnly=true', { as: street1 });
    expect(list.body.items[0].booked).toEqual({ samplingPointId: 1, slotAt: slot });

    ctx.clock.set(new Date('2022-04-13T02:30:00Z'), 0);
    expect((await record(1, 3, 'BBIBP-CorV', '2022-04-13')).status).toBe(201);
    const [done] = await ctx.db.query<{ state: string; vaccination_id: number | null }>('SELECT state, vaccination_id FROM vaccination_bookings WHERE id = $1', [b.body.id]);
    expect(done.state).toBe('done');
    expect(done.vaccination_id).not.toBeNull();
    expect((await srv.call('GET', '/api/v1/persons/1/vaccinations', { as: resident1 })).body.state).toMatchObject({ boosted: true, next: null });
  });

  it('exports a person’s record as FHIR R4 Immunization resources', async () => {
    const r = await srv.call('GET', '/api/v1/persons/1/immunizations', { as: resident1 });
    expect(r.status, r.text).toBe(200);
    expect(r.headers.get('content-type')).toContain('application/fhir+json');
    expect(r.body).toMatchObject({ resourceType: 'Bundle', type: 'collection' });
    const resources = r.body.entry.map((e: { resource: Record<string, unknown> }) => e.resource);
    expect(resources).toHaveLength(3);
    for (const res of resources) expect(immunizationProblems(res), JSON.stringify(res)).toEqual([]);
    expect(resources[0]).toMatchObject({
      resourceType: 'Immunization',
      status: 'completed',
      vaccineCode: { coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '511' }], text: 'CoronaVac' },
      patient: { reference: 'Patient/1' },
      occurrenceDateTime: '2021-05-01',
      protocolApplied: [{ series: 'primary', doseNumberPositiveInt: 1, seriesDosesPositiveInt: 2 }],
    });
    expect(resources[2]).toMatchObject({ vaccineCode: { coding: [{ code: '510' }] }, occurrenceDateTime: '2022-04-13', protocolApplied: [{ series: 'booster', doseNumberPositiveInt: 3 }] });
    expect(resources[2].protocolApplied[0]).not.toHaveProperty('seriesDosesPositiveInt');
    // The checker itself refuses a resource without its required parts.
    expect(immunizationProblems({ resourceType: 'Immunization', id: 'x', status: 'done', patient: {} })).toEqual(expect.arrayContaining(['status (1..1, code)', 'vaccineCode (1..1 CodeableConcept)', 'patient (1..1 Reference(Patient))', 'occurrence[x] (exactly one)']));
    expect((await srv.call('GET', '/api/v1/persons/2/immunizations', { as: resident1 })).status).toBe(404);
    const [a] = await ctx.db.query<{ action: string }>("SELECT action FROM audit_log WHERE entity = 'vaccination' AND action = 'export'");
    expect(a).toBeDefined();
  });
});
