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

describe('cordon rt', () => {
  // Flu2009 (EpiEstim's example data) and the first window of estimate_R(Flu2009$incidence, method = "parametric_si",
  // config = make_config(list(mean_si = 2.6, std_si = 1.5))) as printed in mrc-ide/EpiEstim articles/short_demo.md
  // and tests/testthat/_snaps/estimate_R.md (Example 3); src/command/rt.test.ts checks every window.
  const flu = [1, 1, 0, 2, 5, 3, 3, 3, 6, 2, 5, 9, 13, 12, 13, 11, 12, 6, 6, 6, 3, 1, 0, 2, 0, 0, 0, 0, 2, 0, 2, 0];
  const firstWindow = [2, 8, 1.7357977, 0.40913143, 1.0287437, 1.12193325, 1.4451981, 1.7037612, 1.99152, 2.4589724, 2.6247813];

  it('writes one CSV row per weekly window, matching EpiEstim', async () => {
    const file = path.join(tmpdir(), `cordon-rt-${process.pid}.csv`);
    const day = (i: number) => new Date(Date.UTC(2009, 3, 27 + i)).toISOString().slice(0, 10); // from 2009-04-27
    writeFileSync(file, 'day,cases\n' + flu.map((c, i) => `${day(i)},${c}\n`).join(''));
    const r = await runCli(['rt', '--input', file, '--si-mean', '2.6', '--si-sd', '1.5'], {});
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('t_start,t_end,mean,std,q025,q05,q25,median,q75,q95,q975');
    expect(lines).toHaveLength(26);
    const first = lines[1].split(',').map(Number);
    first.forEach((v, i) => expect(Math.abs(v - firstWindow[i])).toBeLessThan(1e-6));
    expect(lines[25].split(',').slice(0, 2)).toEqual(['26', '32']);
  });

  it('exits 1 naming each bad line of the file', async () => {
    const file = path.join(tmpdir(), `cordon-rt-bad-${process.pid}.csv`);
    writeFileSync(file, 'day,cases\n1,4\n2,3\n3,-2\n4,many\n5,1\n5,1\n');
    const r = await runCli(['rt', '--input', file, '--si-mean', '2.6', '--si-sd', '1.5'], {});
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${file}:4: cases "-2" is negative`);
    expect(r.stderr).toContain(`${file}:5: cases "many" is not a whole number`);
    expect(r.stderr).toContain(`${file}:7: day 5 does not come after day 5`);
    expect(r.stderr).not.toContain(`${file}:2:`);
    const noColumn = path.join(tmpdir(), `cordon-rt-nocol-${process.pid}.csv`);
    writeFileSync(noColumn, 'day,count\n1,4\n');
    const m = await runCli(['rt', '--input', noColumn, '--si-mean', '2.6', '--si-sd', '1.5'], {});
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(`${noColumn}:1: missing column "cases"`);
  });
});
