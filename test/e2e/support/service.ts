import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { generateKeyPairSync } from 'node:crypto';
import Fastify from 'fastify';
import { pino } from 'pino';
import { escalationPolicySchema, type EscalationPolicyInput } from '../../../events/problem/index.js';
import { createLogNotifier } from '../../../infra/notifier/index.js';
import { createSqliteCheckpointStore } from '../../../infra/sqlite/checkpoints.js';
import { openSqliteAuditLog } from '../../../infra/sqlite/audit-log.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { createSqliteReadModel } from '../../../infra/sqlite/read-model.js';
import { createTemporalWorkflowEngine } from '../../../infra/temporal/workflow-engine.js';
import { signToken } from '../../../services/auth/tokens.js';
import { createTokenVerifier } from '../../../services/auth/tokens.js';
import type { Role } from '../../../services/auth/principal.js';
import { auditKeyFromPem } from '../../../services/audit/digest.js';
import { type AuditService, createAuditService } from '../../../services/audit/service.js';
import { witnessAppends } from '../../../services/audit/witness.js';
import { createApiServices } from '../../../services/commands/index.js';
import { apiFastifyOptions, httpApi } from '../../../services/http/api.js';
import { consolePlugin } from '../../../services/http/plugins/console.js';
import { createSqliteIdempotencyStore } from '../../../infra/sqlite/idempotency.js';
import type { IdempotencyStore } from '../../../services/ports/idempotency.js';
import { createLedgerQueries, startProjections } from '../../../services/ledgers/index.js';
import { createMetrics } from '../../../services/metrics.js';
import { startReactor } from '../../../services/reactor.js';
import type { RecordedEvent } from '../../../events/envelope.js';
import type { EventStore } from '../../../services/ports/event-store.js';
import { startWorker } from '../../../workflows/worker.js';

export interface TestServiceOptions {
  /** host:port of Temporal; without it, no worker or reactor runs (routes only). */
  temporalAddress?: string;
  temporalNamespace?: string;
  policy?: Partial<EscalationPolicyInput>;
  bodyLimit?: number;
  /** API instances sharing the one event store, as several `--role api` processes would (default 1). */
  apiInstances?: number;
  /** The Idempotency-Key store the instances share; default a SQLite file in the data folder. */
  idempotency?: IdempotencyStore;
  /** Serve the console's build (web/dist) at `/` with its development sign-in, as `npm start` does. */
  console?: boolean;
  /** Use this data folder (kept at stop), to start a service again on what another one left. */
  dataDir?: string;
  /** The event store to run on (closed at stop); default a SQLite file in the data folder. */
  openStore?: (dataDir: string) => Promise<EventStore>;
}

export interface TestService {
  baseUrl: string;
  /** One per API instance; the first is `baseUrl`. */
  baseUrls: string[];
  token(unitId: string, role: Role, userId?: string): Promise<string>;
  /** Every event in the store, in order (to assert what was appended, and what was not). */
  events(): Promise<RecordedEvent[]>;
  /** Position of the newest event (-1n when empty): unchanged means nothing was appended. */
  head(): Promise<bigint>;
  /** Waits until the ledgers have applied everything appended so far. */
  ledgersCaughtUp(): Promise<void>;
  /**
   * Holds the next `writers` appends the API makes to `streamId` until all of them have arrived, then lets
   * them go together: every one has read the same revision, so the store (not the test) picks the winner.
   */
  raceNextAppends(streamId: string, writers: number): void;
  /** The audit tree beside the store (sealer running), and the files, for tamper tests. */
  audit: AuditService;
  dataDir: string;
  auditPublicKeyPem: string;
  stop(): Promise<void>;
}

const secret = 'e2e-secret-0123456789-0123456789-0123456789';

/**
 * The whole service in this process on a free loopback port: SQLite event store and ledgers in a temp
 * DATA_DIR, the API, the projections, and (with Temporal) the worker and the reactor, as `npm start`
 * composes them. Tests talk to it over real HTTP only.
 */
export async function startTestService(options: TestServiceOptions = {}): Promise<TestService> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'duban-e2e-'));
  const logger = pino({ level: process.env['E2E_LOG_LEVEL'] ?? 'silent' });
  const storeAsWritten = options.openStore
    ? await options.openStore(dataDir)
    : openSqliteEventStore({ path: join(dataDir, 'events.db'), synchronous: 'NORMAL' });
  const auditLog = openSqliteAuditLog(join(dataDir, 'audit.db'));
  const auditKey = auditKeyFromPem(generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
  const audit = createAuditService({ store: storeAsWritten, log: auditLog, key: auditKey, logger, witnessGraceMs: 1000, pollMs: 20, verifyIntervalMs: 0 });
  audit.start();
  const store = witnessAppends(storeAsWritten, auditLog, auditKey.witnessKey, () => audit.appended());
  const readModel = createSqliteReadModel({ path: join(dataDir, 'ledgers.db') });
  const projections = startProjections({ eventStore: store, readModel, logger, flushIntervalMs: 5 });
  const ledgers = createLedgerQueries({ eventStore: store, readModel });
  const metrics = createMetrics();
  const policy = escalationPolicySchema.parse({
    version: 1,
    acknowledgeWithin: 'P2D',
    reminderOffsets: ['P3D', 'P1D'],
    escalationInterval: 'P3D',
    repeatReminderEvery: 'P1D',
    ...options.policy,
  });
  let gate: { streamId: string; writers: number; waiting: (() => void)[] } | undefined;
  const apiStore: EventStore = {
    ...store,
    async append(streamId, events, expectedRevision) {
      if (gate && gate.streamId === streamId) {
        const current = gate;
        await new Promise<void>((release) => {
          current.waiting.push(release);
          if (current.waiting.length === current.writers) {
            gate = undefined;
            for (const go of current.waiting) go();
          }
        });
      }
      return store.append(streamId, events, expectedRevision);
    },
  };

  const stops: (() => Promise<void>)[] = [];
  const baseUrls: string[] = [];
  // Shared by the instances, as Redis would be between processes.
  const idempotency = options.idempotency ?? createSqliteIdempotencyStore(join(dataDir, 'idempotency.db'));
  for (let i = 0; i < (options.apiInstances ?? 1); i++) {
    const api = createApiServices({ store: apiStore, ledgers, ledgerPosition: () => readModel.active.checkpoint(), policy, metrics, logger, importJobsDir: join(dataDir, `imports-${i}`) });
    await api.start();
    const app = Fastify({ loggerInstance: logger, bodyLimit: options.bodyLimit ?? 64 * 1024, ...apiFastifyOptions });
    await app.register(httpApi, {
      services: { ...api.services, audit },
      verifyToken: createTokenVerifier({ algorithm: 'HS256', secret }),
      idempotency,
      metrics,
      ...(options.console ? { devSignIn: { secret } } : {}),
    });
    if (options.console) await app.register(consolePlugin, { dir: join(import.meta.dirname, '..', '..', '..', 'web', 'dist') });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    baseUrls.push(`http://127.0.0.1:${address.port}`);
    stops.push(
      () => app.close(),
      () => api.close(),
    );
  }
  stops.push(() => idempotency.close());

  if (options.temporalAddress) {
    const namespace = options.temporalNamespace ?? 'default';
    const taskQueue = `e2e-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
    const nativeConnection = await NativeConnection.connect({ address: options.temporalAddress });
    const worker = await startWorker({ connection: nativeConnection, namespace, taskQueue, store, notifier: createLogNotifier({ logger }), logger });
    const connection = await Connection.connect({ address: options.temporalAddress });
    const temporal = new Client({ connection, namespace });
    const reactor = await startReactor({
      store,
      workflows: createTemporalWorkflowEngine({ client: temporal, taskQueue }),
      checkpoints: createSqliteCheckpointStore({ path: join(dataDir, 'checkpoints.db') }),
      logger,
    });
    stops.push(
      () => reactor.stop(),
      () => worker.stop(),
      () => nativeConnection.close(),
      () => connection.close(),
    );
  }

  return {
    baseUrl: baseUrls[0]!,
    baseUrls,
    token: (unitId, role, userId) => signToken(secret, { userId: userId ?? `${role}@${unitId}`, unitId, role }),
    async events() {
      const all: RecordedEvent[] = [];
      for await (const event of store.readAll()) all.push(event);
      return all;
    },
    head: () => store.headPosition(),
    ledgersCaughtUp: () => projections.caughtUp(),
    raceNextAppends(streamId, writers) {
      gate = { streamId, writers, waiting: [] };
    },
    audit,
    dataDir,
    auditPublicKeyPem: auditKey.publicKeyPem,
    async stop() {
      for (const stop of stops) await stop();
      await projections.stop();
      await readModel.close();
      await audit.stop();
      auditLog.close();
      await store.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
