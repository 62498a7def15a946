import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers log every state change at INFO; tests want warnings and errors only. The Runtime is one per
// process and test files share processes, so only the first file in each process installs it.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch (error) {
  if (!(error instanceof Error && /already been (installed|instantiated)/.test(error.message))) throw error;
}
