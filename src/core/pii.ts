// Protected personal identifiers. The national ID number is stored as a keyed hash (to find a person)
// and an AES-256-GCM copy (to show it to the few who may see it); the key lives outside the database.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';

export class PiiKeys {
  private readonly hashKey: Buffer;
  private readonly encKey: Buffer;
  private readonly codeKey: Buffer;
  private readonly venueKey: Buffer;

  constructor(master: Buffer) {
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, 32));
    this.hashKey = derive('cordon id hash');
    this.encKey = derive('cordon id encryption');
    this.codeKey = derive('cordon personal code');
    this.venueKey = derive('cordon venue code');
  }

  hashId(idNumber: string): Buffer {
    return createHmac('sha256', this.hashKey).update(normalizeIdNumber(idNumber)).digest();
  }

  // IVs are drawn from a pool refilled with randomBytes: one call per 4096 IVs instead of per ID number
  // (a call costs about 5 us, most of an encryption; a million-person import makes a million of them).
  private ivPool = Buffer.alloc(0);
  private ivAt = 0;

  encryptId(idNumber: string): Buffer {
    if (this.ivAt + 12 > this.ivPool.length) {
      this.ivPool = randomBytes(12 * 4096);
      this.ivAt = 0;
    }
    const iv = this.ivPool.subarray(this.ivAt, (this.ivAt += 12));
    const cipher = createCipheriv('aes-256-gcm', this.encKey, iv);
    const body = Buffer.concat([cipher.update(normalizeIdNumber(idNumber), 'utf8'), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]);
  }

  decryptId(blob: Buffer): string {
    const decipher = createDecipheriv('aes-256-gcm', this.encKey, blob.subarray(0, 12));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8');
  }

  /** The code a person shows at entrances: stable for an ID number, unguessable without the key. */
  personalCode(idHash: Buffer): string {
    return base32(createHmac('sha256', this.codeKey).update(idHash).digest().subarray(0, 10));
  }

  /** The signature of a venue code's text (src/status/venue-code.ts): 16 bytes of HMAC-SHA256, base64url. */
  venueCodeMac(text: string): string {
    return createHmac('sha256', this.venueKey).update(text).digest().subarray(0, 16).toString('base64url');
  }
}

export function normalizeIdNumber(s: string): string {
  return s.trim().toUpperCase();
}

const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const ID_CHECK = '10X98765432';

/** Why an 18-character resident ID number (GB 11643) is invalid, or null if it is valid. */
export function idNumberProblem(raw: string): string | null {
  const fault = idNumberFault(raw);
  return fault === null ? null : ID_NUMBER_FAULTS[fault];
}

const ID_NUMBER_FAULTS = { idNumberFormat: 'ID number must be 17 digits and a check digit (0-9 or X)', idNumberCheckDigit: 'ID number check digit does not match' };

/** What is wrong with an ID number, as a code (its words: idNumberProblem); null when it is valid. */
export function idNumberFault(raw: string): keyof typeof ID_NUMBER_FAULTS | null {
  const s = normalizeIdNumber(raw);
  if (!/^\d{17}[\dX]$/.test(s)) return 'idNumberFormat';
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(s[i]) * ID_WEIGHTS[i];
  if (ID_CHECK[sum % 11] !== s[17]) return 'idNumberCheckDigit';
  return null;
}

/** Completes 17 digits with their check digit (used by the synthetic city). */
export function withCheckDigit(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i];
  return first17 + ID_CHECK[sum % 11];
}

/** What most roles are shown of an ID number: region and check digit only. */
export function maskIdNumber(s: string): string {
  return s.slice(0, 4) + '*'.repeat(Math.max(0, s.length - 6)) + s.slice(-2);
}

/** Base32 without I, O, 0 and 1, which are misread from a screen. */
export const BASE32_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32_ALPHABET[(value << (5 - bits)) & 31];
  return out;
}
