// Configuration from the environment, read once. Every setting has a default that works on a fresh clone.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';

export interface Config {
  /** Where PGlite keeps its files, and where the key file lives when CORDON_KEY is not set. */
  dataDir: string;
  /** A PostgreSQL server to use instead of the embedded database. */
  databaseUrl?: string;
  port: number;
  host: string;
  /** The protocol preset in force (shared/domain/rules.md). */
  preset: string;
  /** 32-byte secret for personal identifiers (keyed hash and encryption). */
  key: Buffer;
  /** Whether the clock may be set or sped up over HTTP (demos, tests). */
  clockSettable: boolean;
  logLevel: string;
  /** Rows of a lab upload applied per transaction (what a crash mid-upload can cost is at most one chunk);
   * unset, the engine's own default (src/testing/results.ts). */
  resultChunkRows: number | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(env.CORDON_DATA ?? 'data');
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be a port number, not "${env.PORT}"`);
  return {
    dataDir,
    databaseUrl: env.DATABASE_URL || undefined,
    port,
    host: env.HOST ?? '127.0.0.1',
    preset: env.CORDON_PRESET ?? 'shanghai-2022-05',
    key: loadKey(env.CORDON_KEY, dataDir),
    clockSettable: env.CORDON_CLOCK === 'settable',
    logLevel: env.LOG_LEVEL ?? 'info',
    resultChunkRows: positive(env.CORDON_RESULT_CHUNK_ROWS, 'CORDON_RESULT_CHUNK_ROWS'),
  };
}

/** A positive whole number from the environment, or undefined when it is not set. */
function positive(v: string | undefined, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number, not "${v}"`);
  return n;
}

// The key never goes into the database: a stolen dump then holds no readable ID number.
function loadKey(fromEnv: string | undefined, dataDir: string): Buffer {
  if (fromEnv) {
    const key = Buffer.from(fromEnv, 'base64');
    if (key.length !== 32) throw new Error('CORDON_KEY must be 32 bytes in base64 (openssl rand -base64 32)');
    return key;
  }
  const file = path.join(dataDir, 'cordon.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64') + '\n', { mode: 0o600 });
  return key;
}
