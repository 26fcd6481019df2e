// What every capability's routes and jobs are given: the database, the clock, the preset in force, the keys.
import type { Db } from './db.ts';
import type { Config } from './config.ts';
import type { Clock } from './clock.ts';
import type { Preset } from './presets.ts';
import type { PiiKeys } from './pii.ts';

export interface AppContext {
  db: Db;
  config: Config;
  clock: Clock;
  preset: Preset;
  pii: PiiKeys;
}
