// The audit log: who read or changed which personal record, when and why. Append-only and hash-chained:
// each entry's hash covers its content and the hash before it, so altering or removing one is found.
import { createHash } from 'node:crypto';
import type { Db, Queryable } from './db.ts';
import type { Principal } from './auth.ts';

export interface AuditEntry {
  actor: string;
  role?: string | null;
  action: string;
  entity: string;
  entityId?: string | number | null;
  reason?: string | null;
  detail?: unknown;
}

const GENESIS = '0'.repeat(64);

export function actorOf(p: Principal | null): { actor: string; role: string | null } {
  return p ? { actor: `${p.kind}:${p.id}:${p.name}`, role: p.role } : { actor: 'system', role: null };
}

/**
 * The appenders' lock, held until the caller's transaction ends: one appender at a time, as the chain needs
 * the previous hash. Stored statuses take it too (src/status/store.ts), so that their versions commit in order.
 */
export async function takeAuditLock(q: Queryable): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock(7242002)');
}

/** Appends entries inside the caller's transaction, so a change and its audit entry commit together. */
export async function appendAudit(q: Queryable, entries: AuditEntry[], at: Date): Promise<void> {
  if (!entries.length) return;
  await takeAuditLock(q);
  const [head] = await q.query<{ id: number; hash: string }>('SELECT id, hash FROM audit_head');
  let id = head?.id ?? 0;
  let prev = head?.hash ?? GENESIS;
  let rows: unknown[] = [];
  let values: string[] = [];
  // A statement takes at most 65,535 parameters: a large batch (a round's end turning 50,000 persons
  // yellow) is written 1,000 entries at a time, in the same transaction.
  const flush = async () => {
    if (!values.length) return;
    await q.query(`INSERT INTO audit_log (id, at, actor, role, action, entity, entity_id, reason, detail, prev_hash, hash) VALUES ${values.join(',')}`, rows);
    rows = [];
    values = [];
  };
  for (const e of entries) {
    id += 1;
    const row = { id, at: at.toISOString(), actor: e.actor, role: e.role ?? null, action: e.action, entity: e.entity, entityId: e.entityId == null ? null : String(e.entityId), reason: e.reason ?? null, detail: e.detail ?? null };
    const hash = entryHash(row, prev);
    const n = rows.length;
    values.push(`($${n + 1},$${n + 2},$${n + 3},$${n + 4},$${n + 5},$${n + 6},$${n + 7},$${n + 8},$${n + 9},$${n + 10},$${n + 11})`);
    rows.push(row.id, row.at, row.actor, row.role, row.action, row.entity, row.entityId, row.reason, row.detail === null ? null : JSON.stringify(row.detail), prev, hash);
    prev = hash;
    if (values.length === 1000) await flush();
  }
  await flush();
  await q.query('INSERT INTO audit_head (one, id, hash) VALUES (true, $1, $2) ON CONFLICT (one) DO UPDATE SET id = $1, hash = $2', [id, prev]);
}

/** Records one or more entries in their own transaction (for reads, which change nothing else). */
export function audit(db: Db, entries: AuditEntry[], at: Date): Promise<void> {
  return db.tx((q) => appendAudit(q, entries, at));
}

export interface VerifyResult {
  ok: boolean;
  checked: number;
  /** The first entry that was altered, or the place where entries were removed. */
  firstBad?: { id: number; problem: string };
}

/** Walks the whole chain in order, in pages, and names the first entry that does not hold. */
export async function verifyAudit(db: Queryable, onProgress?: (checked: number) => void): Promise<VerifyResult> {
  let prev = GENESIS;
  let expectedId = 1;
  let checked = 0;
  for (;;) {
    const rows = await db.query<{ id: number; at: Date; actor: string; role: string | null; action: string; entity: string; entity_id: string | null; reason: string | null; detail: unknown; prev_hash: string; hash: string }>(
      'SELECT * FROM audit_log WHERE id >= $1 ORDER BY id LIMIT 10000',
      [expectedId],
    );
    for (const r of rows) {
      if (r.id !== expectedId) return { ok: false, checked, firstBad: { id: expectedId, problem: `entry ${expectedId} is missing (next present is ${r.id})` } };
      if (r.prev_hash !== prev) return { ok: false, checked, firstBad: { id: r.id, problem: `entry ${r.id} does not follow the entry before it (chain broken)` } };
      const row = { id: r.id, at: new Date(r.at).toISOString(), actor: r.actor, role: r.role, action: r.action, entity: r.entity, entityId: r.entity_id, reason: r.reason, detail: r.detail ?? null };
      if (entryHash(row, prev) !== r.hash) return { ok: false, checked, firstBad: { id: r.id, problem: `entry ${r.id} was altered (its content no longer matches its hash)` } };
      prev = r.hash;
      expectedId++;
      checked++;
    }
    onProgress?.(checked);
    if (rows.length < 10000) break;
  }
  const [head] = await db.query<{ id: number; hash: string }>('SELECT id, hash FROM audit_head');
  const lastId = expectedId - 1;
  if (head && (head.id !== lastId || head.hash !== prev)) {
    return { ok: false, checked, firstBad: { id: lastId + 1, problem: `entries after ${lastId} were removed (the head records entry ${head.id})` } };
  }
  return { ok: true, checked };
}

function entryHash(row: Record<string, unknown>, prev: string): string {
  return createHash('sha256').update(prev).update(canonicalJson(row)).digest('hex');
}

/** JSON with object keys sorted, so that a jsonb round trip (which reorders keys) hashes the same. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(v as object).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`).join(',')}}`;
}
