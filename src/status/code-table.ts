// Personal code -> person id for a whole city, in typed arrays. A JavaScript Map cannot hold more than
// 16,777,216 keys (Shanghai has 25 million persons), holds each code as a string object the garbage
// collector walks, and hashes a fresh string per look-up. A personal code is 16 characters of our base32
// (10 bytes of HMAC, src/core/pii.ts): read as two 40-bit numbers, it is its own hash, and a person's code
// is stored once, by person id. 1,000,000 persons take about 25 MB here.
import { BASE32_ALPHABET } from '../core/pii.ts';

const CODE_LENGTH = 16;
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE32_ALPHABET.length; i++) DIGIT[BASE32_ALPHABET.charCodeAt(i)] = i;

export class CodeTable {
  /** Each person's code as two 40-bit halves, by person id. */
  private high = new Float64Array(1024);
  private low = new Float64Array(1024);
  /** Open addressing on the low half: person ids, 0 for an empty slot (ids start at 1). */
  private slots = new Int32Array(1024);
  private count = 0;
  /** Codes not in the personal-code form (none from our registry): looked up as strings. */
  private other = new Map<string, number>();

  get size(): number {
    return this.count + this.other.size;
  }

  /** The person with this code, or undefined. */
  get(code: string): number | undefined {
    if (!split(code)) return this.other.get(code);
    const mask = this.slots.length - 1;
    for (let slot = halves.low % this.slots.length; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot];
      if (id === 0) return undefined;
      if (this.low[id] === halves.low && this.high[id] === halves.high) return id;
    }
  }

  /** Records a person's code (a person's code never changes; each person is set once). */
  set(code: string, id: number): void {
    if (!Number.isInteger(id) || id < 1 || id > 0x7fffffff) throw new RangeError(`Person id ${id} out of range`);
    if (!split(code)) {
      this.other.set(code, id);
      return;
    }
    this.high = toHold(this.high, id);
    this.low = toHold(this.low, id);
    this.high[id] = halves.high;
    this.low[id] = halves.low;
    // At most 70% full, so a look-up probes a slot or two.
    if ((this.count + 1) * 10 > this.slots.length * 7) this.rehash(this.slots.length * 2);
    this.place(id);
    this.count++;
  }

  private place(id: number): void {
    const mask = this.slots.length - 1;
    let slot = this.low[id] % this.slots.length;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = id;
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size);
    for (const id of old) if (id !== 0) this.place(id);
  }
}

/** The halves of the last code split: module scope, so a look-up allocates nothing. */
const halves = { high: 0, low: 0 };

/** Reads a personal code into `halves`; false when the text is not one. */
function split(code: string): boolean {
  if (code.length !== CODE_LENGTH) return false;
  let high = 0;
  let low = 0;
  for (let i = 0; i < CODE_LENGTH; i++) {
    const c = code.charCodeAt(i);
    const d = c < 128 ? DIGIT[c] : -1;
    if (d < 0) return false;
    // Products and sums stay below 2^40, exact in a double.
    if (i < CODE_LENGTH / 2) high = high * 32 + d;
    else low = low * 32 + d;
  }
  halves.high = high;
  halves.low = low;
  return true;
}

/** The array itself when `index` fits, else a copy doubled in length until it does (arrays kept by person id). */
export function toHold<A extends Float64Array<ArrayBuffer> | Int32Array<ArrayBuffer>>(a: A, index: number): A {
  if (index < a.length) return a;
  let n = a.length;
  while (n <= index) n *= 2;
  const b = new (a.constructor as new (n: number) => A)(n);
  b.set(a);
  return b;
}
