// Venue codes over HTTP: a venue's signed code as JSON, and as the QR image its poster prints. Venues are
// public places (no personal data), so nothing here is audited; who may print a venue's code is still
// limited to the venue's own operator and staff whose jurisdiction holds the venue.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import QRCode from 'qrcode';
import type { AppContext } from '../core/context.ts';
import { caller, schemas } from '../core/http.ts';
import { STAFF, withinJurisdiction, type Role } from '../core/auth.ts';
import { forbidden, notFound } from '../core/errors.ts';
import { signVenueCode } from './venue-code.ts';

const CODE_READERS: readonly Role[] = [...STAFF, 'venue_operator'];
const idParams = { type: 'object', required: ['id'], properties: { id: schemas.id } } as const;

interface VenueCode {
  venueId: number;
  code: string;
  name: string;
}

/** The venue's code if the caller may print it: 403 for another venue's operator or outside one's jurisdiction. */
async function venueCodeFor(ctx: AppContext, req: FastifyRequest<{ Params: { id: number } }>): Promise<VenueCode> {
  const p = caller(req);
  const id = req.params.id;
  if (p.role === 'venue_operator' && p.venueId !== id) throw forbidden(`You operate venue ${p.venueId ?? 'none'}, not venue ${id}.`, { code: 'notYourVenue', venueId: id, yourVenueId: p.venueId });
  const [v] = await ctx.db.query<{ id: number; name: string; district_id: number | null; street_id: number | null }>('SELECT id, name, district_id, street_id FROM venues WHERE id = $1', [id]);
  if (!v) throw notFound(`Venue ${id}`, { code: 'venueUnknown', venueId: id });
  if (p.role !== 'venue_operator' && !withinJurisdiction(p, { districtId: v.district_id, streetId: v.street_id })) {
    throw forbidden(`Venue ${id} is outside your jurisdiction.`, { code: 'venueOutsideJurisdiction', venueId: id });
  }
  return { venueId: v.id, code: signVenueCode(ctx.pii, v.id), name: v.name };
}

export function venueCodeRoutes(app: FastifyInstance, ctx: AppContext): void {
  const tags = ['status'];

  app.get<{ Params: { id: number } }>(
    '/api/v1/venues/:id/code',
    {
      config: { access: { roles: CODE_READERS } },
      schema: {
        tags,
        summary: "A venue's code (场所码): the text its QR carries and a check-in sends as venueCode",
        params: idParams,
        response: {
          200: {
            type: 'object',
            properties: { venueId: { type: 'integer' }, code: { type: 'string', description: 'CV1.<venue id>.<signature>' }, name: { type: 'string' } },
          },
        },
      },
    },
    (req) => venueCodeFor(ctx, req),
  );

  app.get<{ Params: { id: number } }>(
    '/api/v1/venues/:id/code.svg',
    {
      config: { access: { roles: CODE_READERS } },
      schema: {
        tags,
        summary: "A venue's code as a QR image (SVG) for its poster; it decodes to exactly the code's text",
        params: idParams,
        response: { 200: { description: 'The QR image', content: { 'image/svg+xml': { schema: { type: 'string' } } } } },
      },
    },
    async (req, reply) => {
      const { code, venueId } = await venueCodeFor(ctx, req);
      // The first image fetched for printing counts as the code issued (the coverage of venue codes).
      await ctx.db.query('UPDATE venues SET code_issued_at = $2 WHERE id = $1 AND code_issued_at IS NULL', [venueId, ctx.clock.now()]);
      return reply.type('image/svg+xml; charset=utf-8').header('cache-control', 'private, max-age=300').send(await qrSvg(code));
    },
  );
}

/** The QR of `text` as SVG: error correction M (15%), the standard quiet zone of 4 modules. */
export async function qrSvg(text: string): Promise<string> {
  const opts = { errorCorrectionLevel: 'M', margin: 4 } as const;
  // A width of 8 px a module gives the image an intrinsic size (an <img> shows it whole); print scales it losslessly.
  const modules = QRCode.create(text, opts).modules.size + 2 * opts.margin;
  return QRCode.toString(text, { ...opts, type: 'svg', width: 8 * modules });
}

