#!/usr/bin/env node
// The cordon command: runs the TypeScript sources directly through tsx, so a fresh clone needs no build step.
import { setFlagsFromString } from 'node:v8';
import { register } from 'tsx/esm/api';
// Without it V8 learns that a request's objects outlive a scavenge (a check-in waits for its group's commit on
// a PostgreSQL server) and allocates them in the old generation: each scavenge then took 8-10 ms every ~100 ms
// and the old generation grew 1.6-1.9 MB each time (node --trace-gc, bench checkpoints on PostgreSQL), against
// about 1 ms and no growth without it. Set before the platform is loaded.
setFlagsFromString('--no-allocation-site-pretenuring');
register();
await import('../src/cli.ts');
