// The entry of an import worker thread: the project runs its TypeScript through tsx, which a new thread
// has to register again before it can load import-worker.ts.
import { register } from 'tsx/esm/api';

register();
await import('./import-worker.ts');
