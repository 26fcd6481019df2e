// Venue codes (场所码): the text a venue's QR poster carries, and exactly what a check-in sends as
// `venueCode`. `CV1.<venue id>.<signature>`, the signature being 16 bytes of HMAC-SHA256 over
// `CV1.<venue id>` (base64url, 22 characters) with a key derived from the master key: anyone can read the
// venue id, nobody without the key can make a code for another venue. Pure: no database.
import { timingSafeEqual } from 'node:crypto';
import type { PiiKeys } from '../core/pii.ts';
import { badRequest } from '../core/errors.ts';

export const VENUE_CODE_VERSION = 'CV1';
const MAX_ID = 2_147_483_647; // venues.id is an int
const SHAPE = /^CV1\.([1-9]\d{0,9})\.([A-Za-z0-9_-]{22})$/;

/** The signed code of a venue: the QR's text. */
export function signVenueCode(keys: PiiKeys, venueId: number): string {
  if (!Number.isSafeInteger(venueId) || venueId < 1 || venueId > MAX_ID) throw new RangeError(`venue id ${venueId} is not a positive int`);
  const body = `${VENUE_CODE_VERSION}.${venueId}`;
  return `${body}.${keys.venueCodeMac(body)}`;
}

/**
 * The venue id a code names, or a 400 problem: `reason` is `not-a-venue-code` for text of the wrong
 * shape, `venue-code-signature` for a code whose signature does not match (altered, forged, or signed
 * with another key).
 */
export function readVenueCode(keys: PiiKeys, text: string): number {
  // A scanner may add a line end; nothing else is forgiven.
  const code = typeof text === 'string' ? text.trim() : '';
  const m = SHAPE.exec(code);
  const id = m ? Number(m[1]) : 0;
  if (!m || id > MAX_ID) {
    const shown = code.length > 40 ? `${code.slice(0, 40)}…` : code;
    throw badRequest(`"${shown}" is not a venue code (a venue code reads ${VENUE_CODE_VERSION}.<venue id>.<signature>).`, { reason: 'not-a-venue-code', code: 'notAVenueCode', shown });
  }
  // Compared as text, so that a non-canonical base64url spelling of the same bytes is refused too.
  const expected = Buffer.from(keys.venueCodeMac(`${VENUE_CODE_VERSION}.${m[1]}`));
  const given = Buffer.from(m[2]);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw badRequest("The venue code's signature does not match: it was altered or forged.", { reason: 'venue-code-signature', code: 'venueCodeForged' });
  }
  return id;
}
