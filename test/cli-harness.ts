// Running the cordon command as a user does: a child process on a real database (PGlite files, or the server).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { engine, testDatabaseUrl, TEST_KEY } from './harness.ts';
import { openDb, type Db } from '../src/core/db.ts';

const bin = path.resolve('bin/cordon.js');

export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Where the CLI finds its database: a PGlite folder, or a fresh database on the server. */
export async function cliDatabase(): Promise<{ env: Record<string, string>; open(): Promise<Db>; remove(): Promise<void> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'cordon-cli-'));
  const base = { CORDON_DATA: dir, CORDON_KEY: TEST_KEY.toString('base64') };
  if (engine === 'pglite') {
    return { env: base, open: () => openDb({ dataDir: dir }), remove: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const { url, drop } = await testDatabaseUrl();
  return {
    env: { ...base, DATABASE_URL: url },
    open: () => openDb({ databaseUrl: url }),
    async remove() {
      await drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A free TCP port on the loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface RunningServer {
  url: string;
  child: ChildProcess;
  /** Every line the server printed so far. */
  lines: string[];
  /** Resolves with the first printed line that matches. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `cordon serve` as a child process and waits until it answers /api/health. */
export async function startServer(env: Record<string, string>): Promise<RunningServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, 'serve'], { env: { ...process.env, ...env, PORT: String(port), LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (buf: Buffer) => {
    for (const line of buf.toString().split('\n')) {
      if (!line) continue;
      lines.push(line);
      for (const w of [...waiters]) if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const server: RunningServer = {
    url,
    child,
    lines,
    waitFor(re, timeoutMs = 60_000) {
      const seen = lines.find((l) => re.test(l));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`server never printed ${re}; it printed:\n${lines.slice(-20).join('\n')}`)), timeoutMs);
        waiters.push({ re, resolve: (l) => (clearTimeout(t), resolve(l)) });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null) child.kill(signal);
      await exited;
    },
  };
  await server.waitFor(/cordon is running at/, 90_000);
  return server;
}
