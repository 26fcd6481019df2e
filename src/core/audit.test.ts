import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDb } from '../../test/harness.ts';
import type { Db } from './db.ts';
import { appendAudit, audit, verifyAudit } from './audit.ts';

describe('audit log', () => {
  let db: Db;
  const at = new Date('2022-04-10T08:00:00Z');
  beforeAll(async () => {
    db = await testDb();
    for (let i = 0; i < 5; i++) await audit(db, [{ actor: 'user:1:alice', role: 'city_command', action: 'read', entity: 'person', entityId: i + 1, reason: 'door-to-door list', detail: { b: 2, a: [1, 'x'] } }], at);
    await db.tx((q) => appendAudit(q, [{ actor: 'system', action: 'create', entity: 'person', entityId: 9 }, { actor: 'system', action: 'create', entity: 'person', entityId: 10 }], at));
  });
  afterAll(() => db.close());

  it('verifies an untouched chain', async () => {
    expect(await verifyAudit(db)).toEqual({ ok: true, checked: 7 });
  });

  it('takes a batch larger than one statement can hold, and the chain still verifies', async () => {
    const other = await testDb();
    try {
      await other.tx((q) => appendAudit(q, Array.from({ length: 7_001 }, (_, i) => ({ actor: 'system', action: 'status', entity: 'person', entityId: i, detail: { from: 'green', to: 'yellow' } })), at));
      expect(await verifyAudit(other)).toEqual({ ok: true, checked: 7_001 });
    } finally {
      await other.close();
    }
  });

  it('refuses UPDATE and DELETE through its trigger', async () => {
    await expect(db.query(`UPDATE audit_log SET reason = 'x' WHERE id = 2`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit_log WHERE id = 2`)).rejects.toThrow(/append-only/);
  });

  it('names the first altered entry when the trigger is bypassed', async () => {
    await db.tx(async (q) => {
      await q.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
      await q.query(`UPDATE audit_log SET reason = 'nothing to see' WHERE id = 3`);
      await q.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    });
    const r = await verifyAudit(db);
    expect(r.ok).toBe(false);
    expect(r.firstBad?.id).toBe(3);
    expect(r.firstBad?.problem).toMatch(/altered/);
  });
});

describe('audit log removals', () => {
  it('names a removed entry in the middle and at the end', async () => {
    const db = await testDb();
    try {
      await audit(db, [1, 2, 3, 4].map((i) => ({ actor: 'system', action: 'read', entity: 'person', entityId: i })), new Date());
      await db.tx(async (q) => {
        await q.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
        await q.query('DELETE FROM audit_log WHERE id = 4');
        await q.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
      });
      expect((await verifyAudit(db)).firstBad).toMatchObject({ id: 4, problem: expect.stringMatching(/removed/) });
      await db.tx(async (q) => {
        await q.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
        await q.query('DELETE FROM audit_log WHERE id = 2');
        await q.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
      });
      expect((await verifyAudit(db)).firstBad).toMatchObject({ id: 2, problem: expect.stringMatching(/missing/) });
    } finally {
      await db.close();
    }
  });
});
