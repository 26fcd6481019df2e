// The cordon command as a user runs it: a child process on a real database (PGlite files, or the server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliDatabase, runCli } from './cli-harness.ts';
import { migrate } from '../src/core/migrate.ts';
import { audit } from '../src/core/audit.ts';

describe('cordon audit verify', () => {
  let where: Awaited<ReturnType<typeof cliDatabase>>;
  beforeAll(async () => {
    where = await cliDatabase();
    const db = await where.open();
    await migrate(db);
    for (let i = 1; i <= 6; i++) await audit(db, [{ actor: 'user:1:city', role: 'city_command', action: 'read', entity: 'person', entityId: i, reason: 'list' }], new Date());
    await db.close();
  });
  afterAll(() => where.remove());

  it('passes on an intact log', async () => {
    const r = await runCli(['audit', 'verify'], where.env);
    expect(r.stdout).toContain('audit log intact: 6 entries verified');
    expect(r.code).toBe(0);
  });

  it('exits non-zero and names the entry altered with plain SQL', async () => {
    const db = await where.open();
    // The table refuses UPDATE; someone with the power to switch its trigger off can still edit a row.
    await db.tx(async (q) => {
      await q.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
      await q.query(`UPDATE audit_log SET actor = 'user:2:someone-else' WHERE id = 4`);
      await q.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    });
    await db.close();
    const r = await runCli(['audit', 'verify'], where.env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('BROKEN at entry 4');
    expect(r.stdout).toContain('altered');
  });
});
