// Opens the platform: database, migrations, preset, clock and keys, from the configuration.
import { openDb } from './db.ts';
import { migrate } from './migrate.ts';
import { loadPreset } from './presets.ts';
import { Clock } from './clock.ts';
import { PiiKeys } from './pii.ts';
import type { Config } from './config.ts';
import type { AppContext } from './context.ts';

export async function openPlatform(config: Config): Promise<AppContext & { migrated: string[] }> {
  const preset = loadPreset(config.preset);
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const migrated = await migrate(db);
  return { db, config, clock: new Clock(), preset, pii: new PiiKeys(config.key), migrated };
}
