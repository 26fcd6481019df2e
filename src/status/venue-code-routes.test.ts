// Venue codes over real HTTP on a generated city: the QR image the endpoint serves, rasterized and decoded
// with a standard QR reader, gives the code the check-in accepts (readVenueCode); an altered code is refused
// with a clear error; unknown venues are 404; another venue's operator and staff of another street are 403.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Resvg } from '@resvg/resvg-js';
import jsqr from 'jsqr';
import { testContext, testServer, type Session, type TestContext, type TestServer } from '../../test/harness.ts';
import { generateCity, loadCity } from '../sim/index.ts';
import { createUser } from '../core/users.ts';
import { PiiKeys } from '../core/pii.ts';
import { readVenueCode } from './index.ts';

// jsqr is CommonJS with an ES default export in its types: the function is its `default`.
const jsQR = jsqr.default;

interface Venue {
  id: number;
  name: string;
  street: number;
}

/** The text a standard reader finds in an SVG QR image, or null. */
function decodeSvg(svg: string, width = 400): string | null {
  const png = new Resvg(svg, { fitTo: { mode: 'width', value: width }, background: '#ffffff' }).render();
  return jsQR(new Uint8ClampedArray(png.pixels), png.width, png.height)?.data ?? null;
}

describe('venue codes over HTTP', () => {
  let ctx: TestContext;
  let srv: TestServer;
  let city: Session, operator: Session, street: Session;
  let venue: Venue;
  let elsewhere: Venue;

  beforeAll(async () => {
    ctx = await testContext();
    await loadCity(ctx, generateCity({ persons: 600, seed: 5 }));
    [venue] = await ctx.db.query<Venue>('SELECT id, name, street_id AS street FROM venues WHERE street_id IS NOT NULL ORDER BY id LIMIT 1');
    [elsewhere] = await ctx.db.query<Venue>('SELECT id, name, street_id AS street FROM venues WHERE street_id IS NOT NULL AND street_id <> $1 ORDER BY id LIMIT 1', [venue.street]);
    expect(elsewhere).toBeDefined();
    await ctx.db.tx(async (q) => {
      await createUser(q, { username: 'city', password: 'city-password', role: 'city_command' }, new Date());
      await createUser(q, { username: 'operator', password: 'operator-password', role: 'venue_operator', venueId: venue.id }, new Date());
      await createUser(q, { username: 'street', password: 'street-password', role: 'street_worker', streetId: venue.street }, new Date());
    });
    srv = await testServer(ctx);
    city = await srv.login('city', 'city-password');
    operator = await srv.login('operator', 'operator-password');
    street = await srv.login('street', 'street-password');
  });
  afterAll(async () => {
    await srv?.close();
    await ctx?.close();
  });

  it("gives a venue's signed code with its name, to its operator and to staff", async () => {
    for (const as of [operator, city, street]) {
      const res = await srv.call('GET', `/api/v1/venues/${venue.id}/code`, { as });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ venueId: venue.id, code: expect.stringMatching(new RegExp(`^CV1\\.${venue.id}\\.[A-Za-z0-9_-]{22}$`)), name: venue.name });
      expect(readVenueCode(ctx.pii, res.body.code)).toBe(venue.id);
    }
  });

  it('serves a QR image that a standard reader decodes to the code the check-in accepts', async () => {
    const json = await srv.call('GET', `/api/v1/venues/${venue.id}/code`, { as: operator });
    const res = await srv.call('GET', `/api/v1/venues/${venue.id}/code.svg`, { as: operator });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(res.text).toMatch(/^<svg [^>]*width="\d+" height="\d+"/);
    const decoded = decodeSvg(res.text);
    expect(decoded).toBe(json.body.code);
    expect(readVenueCode(ctx.pii, decoded!)).toBe(venue.id);
    // Also at the size of a small print or a phone's camera frame.
    expect(decodeSvg(res.text, 150)).toBe(json.body.code);
  });

  it('refuses an altered or foreign code with a clear error', async () => {
    const { code } = (await srv.call('GET', `/api/v1/venues/${venue.id}/code`, { as: city })).body as { code: string };
    // One character of the signature changed.
    const last = code.length - 3;
    const altered = code.slice(0, last) + (code[last] === 'x' ? 'y' : 'x') + code.slice(last + 1);
    expect(() => readVenueCode(ctx.pii, altered)).toThrow("The venue code's signature does not match: it was altered or forged.");
    // Another venue's id under this venue's signature.
    const moved = code.replace(`CV1.${venue.id}.`, `CV1.${elsewhere.id}.`);
    expect(() => readVenueCode(ctx.pii, moved)).toThrow(/signature does not match: it was altered or forged/);
    // A code made with another deployment's key.
    expect(() => readVenueCode(new PiiKeys(Buffer.alloc(32, 9)), code)).toThrow(/signature does not match/);
    expect(() => readVenueCode(ctx.pii, 'https://example.com/venue/12')).toThrow(/not a venue code/);
  });

  it('answers 404 for an unknown venue, in JSON and for the image', async () => {
    const [{ max }] = await ctx.db.query<{ max: number }>('SELECT max(id)::int AS max FROM venues');
    for (const path of [`/api/v1/venues/${max + 1}/code`, `/api/v1/venues/${max + 1}/code.svg`]) {
      const res = await srv.call('GET', path, { as: city });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(res.body.detail).toMatch(new RegExp(`Venue ${max + 1} does not exist`));
      expect(res.body).toMatchObject({ code: 'venueUnknown', venueId: max + 1 });
    }
  });

  it("refuses another venue's operator and staff outside their jurisdiction (403)", async () => {
    for (const path of [`/api/v1/venues/${elsewhere.id}/code`, `/api/v1/venues/${elsewhere.id}/code.svg`]) {
      const op = await srv.call('GET', path, { as: operator });
      expect(op.status).toBe(403);
      expect(op.body.detail).toBe(`You operate venue ${venue.id}, not venue ${elsewhere.id}.`);
      expect(op.body).toMatchObject({ code: 'notYourVenue', venueId: elsewhere.id, yourVenueId: venue.id });
      const st = await srv.call('GET', path, { as: street });
      expect(st.status).toBe(403);
      expect(st.body.detail).toMatch(/outside your jurisdiction/);
      expect(st.body).toMatchObject({ code: 'venueOutsideJurisdiction', venueId: elsewhere.id });
    }
    // The city sees every venue.
    expect((await srv.call('GET', `/api/v1/venues/${elsewhere.id}/code`, { as: city })).status).toBe(200);
  });

  it('needs a session, and a role that has venues to print', async () => {
    const anonymous = await srv.call('GET', `/api/v1/venues/${venue.id}/code.svg`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.code).toBe('notSignedIn');
    const token = await srv.call('POST', '/api/v1/tokens', { as: city, body: { name: 'lab machine', role: 'lab', labId: 1 } });
    expect(token.status).toBe(201);
    const lab = await srv.call('GET', `/api/v1/venues/${venue.id}/code`, { as: { bearer: token.body.token } });
    expect(lab.status).toBe(403);
    expect(lab.body).toMatchObject({ code: 'roleNotAllowed', role: 'lab' });
  });
});
