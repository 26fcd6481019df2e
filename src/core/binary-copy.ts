// A COPY file in PostgreSQL's binary format, for Queryable.copyBinary: a signature, flags and header extension
// length, then per tuple its field count and each field as its length (-1 for NULL) and its bytes in network
// order; -1 ends the file. Embedded PGlite reads it without parsing any text (a timestamp above all), which
// makes it the cheapest way to write rows there. Written through a DataView, cheaper than Buffer's methods;
// words (a status, a kind) are encoded once each.

/** Milliseconds from 1970 to 2000-01-01, PostgreSQL's epoch for timestamps. */
const PG_EPOCH_MS = 946_684_800_000;
const TWO_32 = 4_294_967_296;
const SIGNATURE = [...Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1')];

export class BinaryCopy {
  private bytes: Uint8Array<ArrayBuffer>;
  private view: DataView;
  private o = 0;
  private readonly words = new Map<string, Uint8Array>();

  /** `sizeHint`: the bytes expected, so that the buffer rarely grows. */
  constructor(sizeHint = 1 << 16) {
    this.bytes = new Uint8Array(Math.max(64, sizeHint));
    this.view = new DataView(this.bytes.buffer);
    this.reset();
  }

  /** Starts a new file in the same buffer (the last one's bytes are overwritten). */
  reset(): this {
    this.o = 0;
    for (const b of SIGNATURE) this.bytes[this.o++] = b;
    this.view.setInt32(this.o, 0); // flags
    this.view.setInt32(this.o + 4, 0); // header extension length
    this.o += 8;
    return this;
  }

  private room(n: number): void {
    if (this.o + n <= this.bytes.length) return;
    const bigger = new Uint8Array(Math.max(this.bytes.length * 2, this.o + n));
    bigger.set(this.bytes.subarray(0, this.o));
    this.bytes = bigger;
    this.view = new DataView(bigger.buffer);
  }

  /** Starts a tuple of `fields` fields; the fields follow in the order of the COPY's columns. */
  tuple(fields: number): this {
    this.room(2);
    this.view.setInt16(this.o, fields);
    this.o += 2;
    return this;
  }

  null(): this {
    this.room(4);
    this.view.setInt32(this.o, -1);
    this.o += 4;
    return this;
  }

  int4(v: number | null): this {
    if (v === null) return this.null();
    this.room(8);
    this.view.setInt32(this.o, 4);
    this.view.setInt32(this.o + 4, v);
    this.o += 8;
    return this;
  }

  float4(v: number | null): this {
    if (v === null) return this.null();
    this.room(8);
    this.view.setInt32(this.o, 4);
    this.view.setFloat32(this.o + 4, v);
    this.o += 8;
    return this;
  }

  float8(v: number | null): this {
    if (v === null) return this.null();
    this.room(12);
    this.view.setInt32(this.o, 8);
    this.view.setFloat64(this.o + 4, v);
    this.o += 12;
    return this;
  }

  bool(v: boolean): this {
    this.room(5);
    this.view.setInt32(this.o, 1);
    this.bytes[this.o + 4] = v ? 1 : 0;
    this.o += 5;
    return this;
  }

  /** timestamptz from epoch milliseconds: int8 microseconds since 2000-01-01 UTC, written as two halves (exact below 2^53). */
  time(ms: number): this {
    this.room(12);
    const us = (ms - PG_EPOCH_MS) * 1000;
    const high = Math.floor(us / TWO_32);
    this.view.setInt32(this.o, 8);
    this.view.setInt32(this.o + 4, high);
    this.view.setUint32(this.o + 8, us - high * TWO_32);
    this.o += 12;
    return this;
  }

  /** text, for the few distinct words of a column (each is encoded once and kept). */
  word(s: string): this {
    let b = this.words.get(s);
    if (!b) this.words.set(s, (b = Buffer.from(s)));
    this.room(4 + b.length);
    this.view.setInt32(this.o, b.length);
    this.o += 4;
    for (let i = 0; i < b.length; i++) this.bytes[this.o++] = b[i];
    return this;
  }

  /** jsonb: a version byte (1), then the JSON text (byte by byte while it is ASCII: cheaper than a call to encode). */
  jsonb(json: string): this {
    this.room(5 + 3 * json.length);
    const at = this.o;
    let o = at + 5;
    for (let i = 0; i < json.length; i++) {
      const c = json.charCodeAt(i);
      if (c > 0x7f) {
        o = at + 5 + Buffer.from(this.bytes.buffer).write(json, at + 5, 'utf8');
        break;
      }
      this.bytes[o++] = c;
    }
    this.view.setInt32(at, o - at - 4);
    this.bytes[at + 4] = 1;
    this.o = o;
    return this;
  }

  /** The whole file, with its trailer. */
  done(): Uint8Array<ArrayBuffer> {
    this.room(2);
    this.view.setInt16(this.o, -1);
    return this.bytes.subarray(0, this.o + 2);
  }
}
