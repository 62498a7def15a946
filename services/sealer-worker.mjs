// The audit sealer's thread (services/audit/sealer-thread.ts starts it). Node 20 does not carry tsx's loader
// into a worker thread, so it is registered here before the TypeScript is loaded.
import { register } from 'tsx/esm/api';

register();
await import('./sealer-worker.ts');
