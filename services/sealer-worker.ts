import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';

import { openSqliteAuditLog } from '../infra/sqlite/audit-log.js';
import { auditKeyFromPem } from './audit/digest.js';
import type { FromSealer, SealerThreadData, ToSealer } from './audit/sealer-thread.js';
import { createAuditService } from './audit/service.js';
import { openEventStore } from './stores.js';

// The composition root of the audit sealer's thread: its own connections to the store and the audit file,
// the audit service's sealing loop and background verification, its state posted to the thread that started it.

const data = workerData as SealerThreadData;
const port = parentPort!;
const post = (message: FromSealer) => port.postMessage(message);
const logger = pino({ level: data.logLevel }).child({ role: data.role, component: 'audit', thread: 'sealer' });

const store = await openEventStore(data.store);
const log = openSqliteAuditLog(data.auditDbFile);
const audit = createAuditService({
  store,
  log,
  key: auditKeyFromPem(data.signingKeyPem),
  logger,
  digestEvery: data.digestEvery,
  digestIntervalMs: data.digestIntervalMs,
  ...(data.pollMs !== undefined ? { pollMs: data.pollMs } : {}),
  ...(data.verifyIntervalMs !== undefined ? { verifyIntervalMs: data.verifyIntervalMs } : {}),
});
audit.start();
const report = () => post({ kind: 'state', state: audit.sealerState() });
report();
const reporting = setInterval(report, 500);

port.on('message', (message: ToSealer) => {
  if (message.kind === 'appended') audit.appended();
  else if (message.kind === 'catchUp') {
    audit.catchUp().then(
      () => post({ kind: 'caughtUp', id: message.id }),
      (error: unknown) => post({ kind: 'caughtUp', id: message.id, error: error instanceof Error ? error.message : String(error) }),
    );
  } else if (message.kind === 'stop') {
    clearInterval(reporting);
    // Once the loops are done and the connections closed, nothing keeps the thread alive: it exits.
    void (async () => {
      try {
        await audit.stop();
      } finally {
        await store.close();
        log.close();
        port.close();
      }
    })();
  }
});
