// The cordon command as a user runs it: a child process on a real database (PGlite files, or the server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
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

describe('cordon import', () => {
  it('rejects a CSV with malformed rows, naming each bad line, and writes nothing', async () => {
    const where = await cliDatabase();
    try {
      const districts = path.join(tmpdir(), `cordon-districts-${process.pid}.csv`);
      const labs = path.join(tmpdir(), `cordon-labs-${process.pid}.csv`);
      writeFileSync(districts, 'code,name,name_en,population,geometry\nD1,黄浦区,Huangpu,0,\n');
      writeFileSync(labs, 'code,name,district_code,daily_capacity\nL1,Lab one,D1,1000\nL2,Lab two,D9,10\nL3,Lab three,D1,lots\nL4,Lab four,D1,500\n');
      expect((await runCli(['import', 'districts', districts], where.env)).code).toBe(0);
      const r = await runCli(['import', 'labs', labs], where.env);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${labs}:3:`);
      expect(r.stderr).toContain(`${labs}:4:`);
      expect(r.stderr).not.toContain(`${labs}:2:`);
      expect(r.stderr).toMatch(/nothing imported: 2 bad row/);
      const db = await where.open();
      try {
        expect(await db.query('SELECT code FROM labs')).toEqual([]);
      } finally {
        await db.close();
      }
      const partial = await runCli(['import', 'labs', labs, '--partial'], where.env);
      expect(partial.stdout).toContain('4 rows read, 2 inserted, 0 matched, 2 rejected');
    } finally {
      await where.remove();
    }
  });
});
