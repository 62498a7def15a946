import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { execFile } from 'node:child_process';
import { rename } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { pino } from 'pino';

import { notifierFromConfig } from '../infra/notifier/index.js';
import { createRedisClient } from '../infra/redis/client.js';
import { createRedisIdempotencyStore } from '../infra/redis/idempotency.js';
import { openSqliteAuditLog } from '../infra/sqlite/audit-log.js';
import { createSqliteIdempotencyStore } from '../infra/sqlite/idempotency.js';
import { localServerSettings, temporalConnectionSettings } from '../infra/temporal/connection.js';
import { provideTemporal } from '../infra/temporal/provider.js';
import { installTemporalRuntime } from '../infra/temporal/runtime.js';
import { registerSearchAttributes, requireSearchAttributes } from '../infra/temporal/search-attributes.js';
import { createTemporalWorkflowEngine } from '../infra/temporal/workflow-engine.js';
import { isUnavailable } from '../infra/tools/service.js';
import { runningRectificationsQuery } from '../workflows/search-attributes.js';
import { startWorker } from '../workflows/worker.js';
import { createTokenVerifier } from './auth/tokens.js';
import { createApiServices } from './commands/index.js';
import { createAuditService } from './audit/service.js';
import { auditKeyFromPem } from './audit/digest.js';
import { startSealerThread } from './audit/sealer-thread.js';
import { witnessAppends } from './audit/witness.js';
import { ConfigError, loadConfig, loadDotEnv, readAuditSigningKey, withJwtSecret } from './config.js';
import { httpApi } from './http/api.js';
import { devSignInFor } from './http/routes/dev-sign-in.js';
import { buildApp, type HealthCheck } from './http/app.js';
import { logRedactPaths } from './http/plugins/correlation.js';
import { errorsPlugin } from './http/plugins/errors.js';
import { hardeningPlugin, logSerializers } from './http/plugins/hardening.js';
import { metricsPlugin } from './http/plugins/metrics.js';
import { ledgerPositionOf } from './http/plugins/services.js';
import { createLedgerQueries, startProjections, type Projections } from './ledgers/index.js';
import { Running } from './lifecycle.js';
import { createMetrics } from './metrics.js';
import { eventsBehind, type EventStore } from './ports/event-store.js';
import { loadEscalationPolicy } from './policy.js';
import { startReactor } from './reactor.js';
import { ensureReviewSchedules } from './schedules.js';
import { eventStoreKind, openCheckpointStore, openEventStore, openReadModel, prepareDataDir, storeConfigOf } from './stores.js';

// The composition root. `npm start` runs every part in one process on embedded defaults: the API, the
// Temporal worker and the reactor that feeds it, and the projections. `--role api|worker|projector`
// runs one part, for scale (several API processes behind a balancer, one projector, workers as needed);
// environment variables move each dependency out of process (DATABASE_URL or ESDB_URL, REDIS_URL,
// TEMPORAL_ADDRESS or a Temporal profile).
// Shutdown runs in reverse order of start: HTTP stops taking requests and drains, then the reactor stops
// signalling, then the worker stops polling and lets its activities in flight finish (up to
// WORKER_SHUTDOWN_GRACE_MS), then the projections commit, then connections and servers close.

const { values: args } = parseArgs({ options: { role: { type: 'string', default: 'all' } } });
const roles = ['all', 'api', 'worker', 'projector'] as const;
type Role = (typeof roles)[number];
if (!roles.includes(args.role as Role)) {
  console.error(`--role must be one of ${roles.join(', ')} (got ${args.role})`);
  process.exit(1);
}
const role = args.role as Role;
const runs = (part: Exclude<Role, 'all'>) => role === 'all' || role === part;

loadDotEnv();
const config = await withJwtSecret(readConfigOrExit());
const log = pino({ level: config.logLevel, redact: logRedactPaths, serializers: logSerializers }).child({ role });
const running = new Running(log);
running.closeOnSignals(config.shutdownTimeoutMs);

try {
  await prepareDataDir(config.dataDir);
  const health: HealthCheck[] = [];
  const metrics = createMetrics();

  const checkpointFailed = (file: string) => (err: Error) =>
    log.warn({ err, file }, 'the WAL checkpoint thread stopped: the connection checkpoints on its own, on the appending thread');
  const storeAsWritten: EventStore = await openEventStore(config, checkpointFailed('events.db'));
  running.add('event store', () => storeAsWritten.close());
  health.push({ name: eventStoreKind(config), check: () => storeAsWritten.ping() });

  // The audit tree, beside the store: every append of this process leaves its witness; the process that
  // runs the projections also seals, signs digests and verifies in the background, in a thread of its own.
  const auditLog = openSqliteAuditLog(config.audit.dbFile);
  running.add('audit log', async () => auditLog.close());
  const signingKeyPem = await readAuditSigningKey(config);
  const sealer = runs('projector')
    ? startSealerThread(
        {
          store: storeConfigOf(config),
          auditDbFile: config.audit.dbFile,
          signingKeyPem,
          digestEvery: config.audit.digestEvery,
          digestIntervalMs: config.audit.digestIntervalMs,
          logLevel: config.logLevel,
          role,
        },
        log.child({ component: 'audit' }),
      )
    : undefined;
  if (sealer) running.add('audit sealer', () => sealer.stop());
  const audit = createAuditService({
    store: storeAsWritten,
    log: auditLog,
    key: auditKeyFromPem(signingKeyPem),
    logger: log.child({ component: 'audit' }),
    digestEvery: config.audit.digestEvery,
    digestIntervalMs: config.audit.digestIntervalMs,
    ...(sealer ? { sealer: () => sealer.state() } : {}),
  });
  const store = witnessAppends(storeAsWritten, auditLog, audit.witnessKey, sealer ? () => sealer.appended() : undefined);
  health.push({ name: 'audit', check: () => audit.health() });

  const redis = config.redisUrl ? createRedisClient(config.redisUrl, { name: `duban-${role}` }) : undefined;
  if (redis) {
    running.add('redis', () => redis.quit());
    health.push({ name: 'redis', check: async () => void (await redis.ping()) });
  }
  const readModel = openReadModel(config, redis, checkpointFailed('ledgers.db'));
  running.add('read model', () => readModel.close());

  // Without a prebuilt bundle, webpack bundles the workflows in a child process, started now so it overlaps
  // the Temporal start-up: webpack's memory then leaves with the child (idle RSS 355 → 265 MB).
  const workflowBundle = runs('worker') ? Promise.resolve(config.workflowBundle ?? bundleWorkflowsInChild(config.dataDir)) : undefined;
  workflowBundle?.catch(() => undefined);

  // Temporal: the worker needs it; the API only reports on it. Reached as Temporal's own tools reach it
  // (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*, TEMPORAL_PROFILE and its config
  // file). When nothing names a server, a local dev server is started, by a process that runs the worker
  // only, so separate API processes never start one of their own.
  if (runs('worker')) {
    // Before any worker connection: the SDK's logs go through pino, and SIGTERM is ours to order.
    installTemporalRuntime({ logger: log, metricsAddress: config.temporalSdkMetricsAddress });
  }
  let temporal = temporalConnectionSettings(config.temporalEnv);
  let temporalStartedHere = false;
  if (!temporal.address && runs('worker')) {
    const server = await provideTemporal({
      address: undefined,
      namespace: temporal.namespace,
      dbFilename: path.join(config.dataDir, 'temporal.db'),
      logFile: path.join(config.dataDir, 'temporal.log'),
    });
    if (isUnavailable(server)) throw new Error(`Temporal is unavailable: ${server.unavailable}`);
    running.add('temporal server', server.stop);
    log.info({ address: server.address, source: server.source, ui: server.uiUrl }, 'temporal ready');
    temporal = localServerSettings(server.address, server.namespace);
    temporalStartedHere = true;
  }
  const temporalNamespace = temporal.namespace;
  let temporalConnection: Connection | undefined;
  let temporalClient: Client | undefined;
  if (temporal.address) {
    log.info(temporal.summary, 'temporal connection');
    const connection = await Connection.connect(temporal.client);
    temporalConnection = connection;
    running.add('temporal connection', () => connection.close());
    temporalClient = new Client({ connection, namespace: temporalNamespace });
    health.push({
      name: 'temporal',
      check: async () => void (await connection.workflowService.describeNamespace({ namespace: temporalNamespace })),
    });
    const client = temporalClient;
    metrics.setSources({
      openWorkflows: async () =>
        Number((await client.workflow.count(runningRectificationsQuery)).count),
    });
  }

  let projectionsHere: Projections | undefined;
  if (runs('projector')) {
    let restartsSeen = 0;
    const projections = startProjections({ eventStore: store, readModel, logger: log.child({ component: 'projections' }) });
    projectionsHere = projections;
    running.add('projections', () => projections.stop());
    metrics.setSources({ parkedEvents: async () => projections.status().parked });
    health.push({
      name: 'projections',
      check: async () => {
        const status = projections.status();
        if (!status.running) throw new Error(status.lastError ?? 'not running');
        // Restarting over and over (its Redis or event store gone) is down, not up: count them.
        const since = status.restarts - restartsSeen;
        restartsSeen = status.restarts;
        if (since > 0) throw new Error(`restarted ${status.restarts} times (${since} since the last check): ${status.lastError ?? ''}`);
        if (status.parked > 0) throw new Error(`${status.parked} event(s) parked: ${status.recentParked[0]?.reason ?? ''}`);
      },
    });
  }
  metrics.setSources({
    projectionLag: async () => eventsBehind(store, await store.headPosition(), await readModel.active.checkpoint()),
  });

  if (runs('worker')) {
    if (!temporal.address || !temporalConnection || !temporalClient) throw new Error('the worker needs Temporal');
    // Without Duban's search attributes every workflow start is refused: register them on a server this
    // process started, and stop with the command that does it on any other.
    if (temporalStartedHere) await registerSearchAttributes(temporalConnection, temporalNamespace);
    else await requireSearchAttributes(temporalConnection, temporal.address, temporalNamespace);
    // The validated configuration, never the raw environment: a bad variable was refused at start-up.
    const notifier = notifierFromConfig(
      {
        NOTIFIERS: config.notifiers.kinds.join(','),
        NOTIFY_REDIS_CHANNEL: config.notifiers.redisChannel,
        NOTIFY_WEBHOOK_URL: config.notifiers.webhookUrl,
        NOTIFY_WEBHOOK_TOKEN: config.notifiers.webhookToken,
      },
      { logger: log, redis },
    );
    const nativeConnection = await NativeConnection.connect(temporal.worker);
    running.add('temporal worker connection', () => nativeConnection.close());
    const codePath = await workflowBundle!;
    const worker = await startWorker({
      connection: nativeConnection,
      namespace: temporalNamespace,
      taskQueue: config.temporalTaskQueue,
      shutdownGraceMs: config.workerShutdownGraceMs,
      maxCachedWorkflows: config.workerMaxCachedWorkflows,
      stickyTimeoutMs: config.workerStickyTimeoutMs,
      store,
      notifier,
      logger: log.child({ component: 'worker' }),
      workflowBundle: { codePath },
    });
    running.add('temporal worker', () => worker.stop());
    // 一月一研判 and 每日一报: created on first start, brought up to date on later ones (and by every worker).
    // On the worker's own connection, so a clock's start hands its first task straight to this worker (eager).
    const workflows = createTemporalWorkflowEngine({
      client: new Client({ connection: nativeConnection, namespace: temporalNamespace }),
      taskQueue: config.temporalTaskQueue,
      eagerStart: true,
    });
    await ensureReviewSchedules({
      workflows,
      logger: log.child({ component: 'schedules' }),
      timeZone: config.defaultTimeZone,
    });
    const checkpoints = openCheckpointStore(config, redis);
    const reactor = await startReactor({
      store,
      workflows,
      checkpoints,
      logger: log,
      concurrency: config.reactorConcurrency,
      onDelivered: (seconds) => metrics.reactorDelivery.observe(seconds),
    });
    running.add('reactor', () => reactor.stop());
    metrics.setSources({ reactorLag: async () => eventsBehind(store, await store.headPosition(), reactor.checkpoint() ?? -1n) });
  }

  // Every role checks bearer tokens: the API's users, and /metrics (METRICS_TOKEN or a user's token).
  const verifyToken = createTokenVerifier(
    config.jwtPublicKey ? { algorithm: 'RS256', publicKeyPem: config.jwtPublicKey } : { algorithm: 'HS256', secret: config.jwtSecret },
  );

  if (runs('api')) {
    const policy = await loadEscalationPolicy(config.escalationPolicyFile, config.defaultTimeZone);
    const ledgers = createLedgerQueries({ eventStore: store, readModel });
    const api = createApiServices({
      store,
      ledgers,
      ledgerPosition: ledgerPositionOf(readModel.active, projectionsHere),
      policy,
      timeZone: config.defaultTimeZone,
      metrics,
      logger: log,
      importJobsDir: path.join(config.dataDir, 'imports'),
    });
    await api.start();
    running.add('api services', () => api.close());
    const idempotency = redis
      ? createRedisIdempotencyStore(redis)
      : createSqliteIdempotencyStore(path.join(config.dataDir, 'idempotency.db'));
    running.add('idempotency store', () => idempotency.close());
    const consoleDir = path.join(import.meta.dirname, '..', 'web', 'dist');
    const app = await buildApp({ health, logger: log, bodyLimit: config.bodyLimit, consoleDir, trustProxy: config.trustProxy });
    const devSignIn = devSignInFor(config);
    await app.register(httpApi, {
      services: { ...api.services, audit },
      verifyToken,
      idempotency,
      metrics,
      metricsToken: config.metricsToken,
      ...(devSignIn ? { devSignIn } : {}),
      hardening: { maxEventLoopDelayMs: config.maxEventLoopDelayMs },
      rateLimit: config.rateLimitPerMinute > 0 ? { perMinute: config.rateLimitPerMinute, redis } : undefined,
    });
    // app.close() stops accepting connections, ends live event streams and waits for requests in flight.
    running.add('http server', () => app.close());
    await app.listen({ port: config.port, host: config.host });
  } else {
    // Worker and projector processes answer /health for their orchestrator and /metrics for Prometheus.
    const app = await buildApp({ health, logger: log, trustProxy: config.trustProxy });
    await app.register(errorsPlugin);
    await app.register(hardeningPlugin, { maxEventLoopDelayMs: config.maxEventLoopDelayMs });
    await app.register(metricsPlugin, { metrics, scrapeToken: config.metricsToken, verifyToken });
    running.add('http server', () => app.close());
    await app.listen({ port: config.port, host: config.host });
  }
  log.info({ role, port: config.port }, 'duban started');
} catch (error) {
  log.fatal({ err: error }, 'start-up failed');
  await running.closeAll();
  process.exit(1);
}

function readConfigOrExit(): ReturnType<typeof loadConfig> {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

/**
 * `npm run build`'s bundle, written by a child process as `workflow-bundle.js` in the data folder (replaced
 * whole, so a process starting beside this one never reads half a file); resolves to its path.
 */
async function bundleWorkflowsInChild(dataDir: string): Promise<string> {
  const target = path.join(dataDir, 'workflow-bundle.js');
  const written = `${target}.${process.pid}`;
  const script = fileURLToPath(new URL('./cli/build-workflows.ts', import.meta.url));
  await promisify(execFile)(process.execPath, [...process.execArgv, script, written]);
  await rename(written, target);
  return target;
}
