// Seeded randomness for the synthetic city. Every stream is derived from (seed, stream, index), so any
// part of the city (one compound's households, one street's venues) can be regenerated on its own,
// in any order, with the same result. Never Math.random: the same seed must give the same city.

/** A 32-bit integer hash (murmur3's finaliser): well mixed, cheap. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hash of a few integers, e.g. (seed, stream, i, j). */
export function hash32(a: number, b: number, c = 0, d = 0): number {
  let h = mix32((a ^ 0x9e3779b9) >>> 0);
  h = mix32((h ^ Math.imul(b + 0x7f4a7c15, 0x2c1b3c6d)) >>> 0);
  h = mix32((h ^ Math.imul(c + 0x165667b1, 0x297a2d39)) >>> 0);
  return mix32((h ^ Math.imul(d + 0x27d4eb2f, 0x68e31da4)) >>> 0);
}

/** A uniform number in [0, 1) from a hash. */
export const unit = (h: number) => h / 4294967296;

/** sfc32 (Small Fast Counting PRNG): 128-bit state, passes PractRand, a few ns a draw. Re-seedable without allocation. */
export class Rng {
  private a = 0;
  private b = 0;
  private c = 0;
  private d = 0;

  constructor(seed: number, stream = 0, index = 0) {
    this.reseed(seed, stream, index);
  }

  reseed(seed: number, stream: number, index: number): this {
    this.a = hash32(seed, stream, index, 1);
    this.b = hash32(seed, stream, index, 2);
    this.c = hash32(seed, stream, index, 3);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.u32();
    return this;
  }

  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Integer in [lo, hi] inclusive. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)];
  }

  /** Standard normal (Box-Muller, one of the pair). */
  gauss(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

/** Index into a cumulative-weight table (last entry = total) for a uniform draw. */
export function pickCumulative(cum: Float64Array | readonly number[], r: number): number {
  const x = r * cum[cum.length - 1];
  let lo = 0;
  let hi = cum.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cum[mid] > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Splits `total` into integers proportional to `weights` (largest remainder), each at least `min` when total allows. */
export function apportion(total: number, weights: readonly number[], min = 0): number[] {
  const n = weights.length;
  const out = new Array<number>(n).fill(min);
  let left = total - min * n;
  if (left < 0) throw new Error(`cannot give ${n} parts at least ${min} each out of ${total}`);
  const sum = weights.reduce((s, w) => s + w, 0);
  const exact = weights.map((w) => (sum > 0 ? (w / sum) * left : left / n));
  const rem: { i: number; r: number }[] = [];
  for (let i = 0; i < n; i++) {
    const f = Math.floor(exact[i]);
    out[i] += f;
    rem.push({ i, r: exact[i] - f });
  }
  left -= exact.reduce((s, e) => s + Math.floor(e), 0);
  rem.sort((x, y) => y.r - x.r || x.i - y.i);
  for (let k = 0; k < left; k++) out[rem[k % n].i]++;
  return out;
}
