// Reading a table by increasing ids, a reader that has read id 12 may later see id 11 appear: ids are taken
// in one order and committed in another on a PostgreSQL server (embedded PGlite commits one transaction at a
// time, so a gap there is a rollback and is never filled). The ids a read passed over are kept as ranges,
// to be looked for again until they are found or have waited too long (a rolled-back transaction's ids never
// come).

export class IdHoles {
  private ranges: { lo: number; hi: number; since: number }[] = [];

  /**
   * `keepMs`: how long a range is looked for. `most`: how many ranges are kept, the newest (a database's
   * first read finds every rollback of its history; only the last ones can be transactions still running).
   */
  constructor(
    private readonly keepMs: number,
    private readonly most = 1_000,
  ) {}

  /** Notes the ids after `after` and below `ids`' last that `ids` (in increasing order) does not hold. */
  passedOver(after: number, ids: readonly number[], now: number): void {
    let expected = after + 1;
    for (const id of ids) {
      if (id > expected) this.ranges.push({ lo: expected, hi: id - 1, since: now });
      if (id >= expected) expected = id + 1;
    }
    if (this.ranges.length > this.most) this.ranges.splice(0, this.ranges.length - this.most);
  }

  /** An id passed over has been read: it is looked for no more. */
  found(id: number): void {
    const i = this.ranges.findIndex((r) => r.lo <= id && id <= r.hi);
    if (i < 0) return;
    const r = this.ranges[i];
    const parts = [
      { lo: r.lo, hi: id - 1, since: r.since },
      { lo: id + 1, hi: r.hi, since: r.since },
    ].filter((p) => p.lo <= p.hi);
    this.ranges.splice(i, 1, ...parts);
  }

  /** Whether the id was passed over and is still looked for. */
  has(id: number): boolean {
    return this.ranges.some((r) => r.lo <= id && id <= r.hi);
  }

  /** The ranges still looked for, as two arrays (their first and last ids), after dropping those that waited too long; null when none. */
  toRead(now: number): [number[], number[]] | null {
    this.ranges = this.ranges.filter((r) => now - r.since < this.keepMs);
    if (!this.ranges.length) return null;
    return [this.ranges.map((r) => r.lo), this.ranges.map((r) => r.hi)];
  }
}
