import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { REACTOR_CONCURRENCY } from './reactor.js';

/**
 * All of Duban's configuration, read from the environment in one place. An empty variable counts as
 * unset, so `FOO= npm start` falls back to the default instead of failing.
 */
const unset = (value: unknown): unknown => (value === '' ? undefined : value);
const optional = <T extends z.ZodType>(schema: T) => z.preprocess(unset, schema.optional());
const withDefault = <T extends z.ZodType>(schema: T, fallback: z.input<T>) =>
  z.preprocess(unset, schema.default(fallback as never));

const isTimeZone = (zone: string): boolean => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
};

/** Whose X-Forwarded-For to believe: all, none, these addresses/CIDRs, or the nearest hops. */
export type TrustProxy = boolean | string[] | ((address: string, hop: number) => boolean);

export const notifierKinds = ['log', 'redis', 'webhook'] as const;
export type NotifierKind = (typeof notifierKinds)[number];

const EnvSchema = z.object({
  NODE_ENV: withDefault(z.enum(['development', 'production', 'test']), 'development'),
  PORT: withDefault(z.coerce.number().int().min(0).max(65_535), 8080),
  HOST: withDefault(z.string().min(1), '127.0.0.1'),
  DATA_DIR: withDefault(z.string().min(1), './data'),
  JWT_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'must look like postgres://user:password@host:5432/database')),
  ESDB_URL: optional(z.string().regex(/^esdb(\+discover)?:\/\/\S+$/, 'must look like esdb://host:2113?tls=false')),
  REDIS_URL: optional(z.string().regex(/^rediss?:\/\/\S+$/, 'must look like redis://host:6379')),
  TEMPORAL_ADDRESS: optional(z.string().regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port')),
  // The rest of Temporal's own client variables (TEMPORAL_GRPC_META_*, the _DATA forms) are read as they are.
  TEMPORAL_NAMESPACE: optional(z.string().min(1)),
  TEMPORAL_API_KEY: optional(z.string().min(1)),
  TEMPORAL_TLS: optional(z.enum(['true', 'false', '1', '0'], 'must be true or false')),
  TEMPORAL_TLS_CLIENT_CERT_PATH: optional(z.string().refine((file) => existsSync(file), 'no such file')),
  TEMPORAL_TLS_CLIENT_KEY_PATH: optional(z.string().refine((file) => existsSync(file), 'no such file')),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: optional(z.string().refine((file) => existsSync(file), 'no such file')),
  TEMPORAL_TLS_SERVER_NAME: optional(z.string().min(1)),
  TEMPORAL_CONFIG_FILE: optional(z.string().refine((file) => existsSync(file), 'no such file')),
  TEMPORAL_PROFILE: optional(z.string().min(1)),
  TEMPORAL_TASK_QUEUE: withDefault(z.string().min(1).max(1000), 'duban-rectification'),
  WORKER_SHUTDOWN_GRACE_MS: withDefault(z.coerce.number().int().min(0).max(3_600_000), 20_000),
  // At least the SDK's 40 concurrent workflow tasks, which it refuses to run with a smaller cache.
  WORKER_MAX_CACHED_WORKFLOWS: withDefault(z.coerce.number().int().min(40).max(1_000_000), 1000),
  WORKER_STICKY_TIMEOUT_MS: withDefault(z.coerce.number().int().min(1_000).max(3_600_000), 10_000),
  REACTOR_CONCURRENCY: withDefault(z.coerce.number().int().min(1).max(4096), REACTOR_CONCURRENCY),
  TEMPORAL_SDK_METRICS_ADDRESS: optional(z.string().regex(/^[\w.-]+:\d{1,5}$/, 'must be host:port')),
  ESCALATION_POLICY: optional(z.string().refine((file) => existsSync(file), 'no such file')),
  TZ_DEFAULT: withDefault(z.string().refine(isTimeZone, 'not an IANA time zone'), 'Asia/Shanghai'),
  LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  SQLITE_SYNCHRONOUS: withDefault(z.enum(['FULL', 'NORMAL']), 'FULL'),
  JWT_PUBLIC_KEY: optional(z.string().includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key (RS256)' })),
  BODY_LIMIT: withDefault(z.coerce.number().int().min(1024).max(10 * 1024 * 1024), 64 * 1024),
  NOTIFIERS: z.preprocess(
    unset,
    z
      .string()
      .transform((list) => list.split(',').map((kind) => kind.trim()).filter(Boolean))
      .pipe(z.array(z.enum(notifierKinds, 'must list log, redis or webhook, comma-separated')).min(1, 'must list at least one notifier'))
      .default(['log']),
  ),
  NOTIFY_REDIS_CHANNEL: optional(z.string().min(1)),
  NOTIFY_WEBHOOK_URL: optional(z.string().regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')),
  NOTIFY_WEBHOOK_TOKEN: optional(z.string().min(1)),
  TRUST_PROXY: optional(
    z
      .string()
      .regex(/^(true|false|\d{1,2}|[\d.:a-fA-F/]+(,[\d.:a-fA-F/]+)*)$/, 'must be true, false, a hop count or comma-separated addresses/CIDRs')
      .transform((value): TrustProxy => {
        if (value === 'true' || value === 'false') return value === 'true';
        if (!/^\d+$/.test(value)) return value.split(',');
        // A hop count: trust that many proxies in front of the service (what fastify does with a number).
        const hops = Number(value);
        return (_address: string, hop: number) => hop < hops;
      }),
  ),
  RATE_LIMIT_PER_MINUTE: withDefault(z.coerce.number().int().min(0).max(1_000_000), 1200),
  MAX_EVENT_LOOP_DELAY_MS: withDefault(z.coerce.number().int().min(0).max(60_000), 1000),
  SHUTDOWN_TIMEOUT_MS: withDefault(z.coerce.number().int().min(1000).max(3_600_000), 30_000),
  METRICS_TOKEN: optional(z.string().min(16, 'must be at least 16 characters')),
  WORKFLOW_BUNDLE: optional(z.string().refine((file) => existsSync(file), 'no such file (npm run build writes it)')),
  AUDIT_SIGNING_KEY: optional(z.string().min(1)),
  AUDIT_DB: optional(z.string().min(1)),
  AUDIT_DIGEST_EVERY: withDefault(z.coerce.number().int().min(1).max(10_000_000), 10_000),
  AUDIT_DIGEST_MINUTES: withDefault(z.coerce.number().min(0.01).max(24 * 60), 10),
});

/** Every variable `loadConfig` reads, for the checks of the deployment files. */
export const configVariables: readonly string[] = Object.keys(EnvSchema.shape);

/**
 * Local configuration: `.env` in the working directory, when there is one, fills in variables the
 * environment leaves unset (a set variable always wins). `process.loadEnvFile` exists from Node 20.12.
 */
export function loadDotEnv(file = '.env'): boolean {
  if (typeof process.loadEnvFile !== 'function' || !existsSync(file)) return false;
  process.loadEnvFile(file);
  return true;
}

export interface Config {
  nodeEnv: 'development' | 'production' | 'test';
  port: number;
  host: string;
  /** Absolute; holds the event store, Temporal's database and the development JWT secret. */
  dataDir: string;
  /** Undefined outside production until `withJwtSecret` supplies the development one. */
  jwtSecret: string | undefined;
  /** The PostgreSQL event store; setting it and `esdbUrl` together is refused. */
  databaseUrl: string | undefined;
  esdbUrl: string | undefined;
  redisUrl: string | undefined;
  /** TEMPORAL_ADDRESS as set. Undefined and no profile naming a server: start the local Temporal dev server. */
  temporalAddress: string | undefined;
  /**
   * What Temporal's client configuration reads (infra/temporal/connection.ts): every TEMPORAL_* variable
   * set, and HOME / XDG_CONFIG_HOME, where its config file lives.
   */
  temporalEnv: Record<string, string>;
  /** The task queue the worker polls and workflows and schedules are started on. */
  temporalTaskQueue: string;
  /** After SIGTERM, how long the worker lets activities in flight finish before cancelling them. */
  workerShutdownGraceMs: number;
  /**
   * Workflow runs the worker keeps in memory between tasks. A clock sleeps for days between steps, so a run
   * pushed out of the cache costs one replay of its short history when it wakes, while the SDK's default
   * (sized from the heap limit) let the process grow past 1 GB with thousands of open items.
   */
  workerMaxCachedWorkflows: number;
  /** How long a workflow task may wait on the worker's sticky queue before any worker may take it (workflows/worker.ts). */
  workerStickyTimeoutMs: number;
  /** Problems the reactor has a start or signal in flight for at once (services/reactor.ts). */
  reactorConcurrency: number;
  /** host:port where the Temporal SDK serves its Prometheus metrics; undefined: not served. */
  temporalSdkMetricsAddress: string | undefined;
  escalationPolicyFile: string | undefined;
  defaultTimeZone: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** PEM public key: tokens are then RS256, issued elsewhere, and JWT_SECRET is not used to verify. */
  jwtPublicKey: string | undefined;
  /** Largest request body in bytes; larger ones are answered 413. */
  bodyLimit: number;
  /** Where the worker sends reminders and escalations (`log`, Redis pub/sub, a webhook). */
  notifiers: {
    kinds: NotifierKind[];
    /** Redis channel; undefined: the notifier's default. */
    redisChannel: string | undefined;
    webhookUrl: string | undefined;
    /** Bearer token sent to the webhook. */
    webhookToken: string | undefined;
  };
  /** Fastify's trustProxy; undefined: the client address is the socket's. */
  trustProxy: TrustProxy | undefined;
  /** Requests per user per minute; 0: no limit. */
  rateLimitPerMinute: number;
  /** Requests are shed (503 + Retry-After) while the event loop lags more than this; 0: never. */
  maxEventLoopDelayMs: number;
  /** After SIGTERM, exit anyway once this much has passed. */
  shutdownTimeoutMs: number;
  /** Static bearer credential for Prometheus on GET /metrics (user tokens are accepted too). */
  metricsToken: string | undefined;
  /** The workflow bundle `npm run build` wrote; undefined: the worker bundles the workflows at start. */
  workflowBundle: string | undefined;
  audit: {
    /** PEM file of the Ed25519 key that signs the audit digests; required in production. */
    signingKeyFile: string | undefined;
    /** The audit tree's file; every process that appends and the one that seals must share it. */
    dbFile: string;
    /** A digest is signed once this many events were sealed since the last one... */
    digestEvery: number;
    /** ...or this long after the last one when anything was sealed since. */
    digestIntervalMs: number;
  };
}

/** Start-up stops with this: every bad variable, by name, with what is wrong with it. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = String(issue.path[0] ?? '?');
        return `${name}: ${issue.message} (got ${JSON.stringify(env[name])})`;
      }),
    );
  }
  const e = parsed.data;
  if (e.NODE_ENV === 'production' && !e.JWT_SECRET && !e.JWT_PUBLIC_KEY) {
    throw new ConfigError(['JWT_SECRET: required when NODE_ENV=production (at least 32 characters)']);
  }
  const missing: string[] = [];
  if (e.DATABASE_URL && e.ESDB_URL) missing.push('DATABASE_URL, ESDB_URL: set one event store, not both');
  if (e.NOTIFIERS.includes('redis') && !e.REDIS_URL) missing.push('REDIS_URL: required when NOTIFIERS includes redis');
  if (e.NOTIFIERS.includes('webhook') && !e.NOTIFY_WEBHOOK_URL) {
    missing.push('NOTIFY_WEBHOOK_URL: required when NOTIFIERS includes webhook');
  }
  if (e.WORKER_SHUTDOWN_GRACE_MS >= e.SHUTDOWN_TIMEOUT_MS) {
    missing.push(`WORKER_SHUTDOWN_GRACE_MS: must be shorter than SHUTDOWN_TIMEOUT_MS (${e.SHUTDOWN_TIMEOUT_MS}), or the process exits mid-drain`);
  }
  if (missing.length > 0) throw new ConfigError(missing);
  return {
    nodeEnv: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    dataDir: path.resolve(e.DATA_DIR),
    jwtSecret: e.JWT_SECRET,
    databaseUrl: e.DATABASE_URL,
    esdbUrl: e.ESDB_URL,
    redisUrl: e.REDIS_URL,
    temporalAddress: e.TEMPORAL_ADDRESS,
    temporalEnv: Object.fromEntries(
      Object.entries(env).filter(
        (entry): entry is [string, string] =>
          (entry[0].startsWith('TEMPORAL_') || entry[0] === 'HOME' || entry[0] === 'XDG_CONFIG_HOME') && !!entry[1],
      ),
    ),
    temporalTaskQueue: e.TEMPORAL_TASK_QUEUE,
    workerShutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
    workerMaxCachedWorkflows: e.WORKER_MAX_CACHED_WORKFLOWS,
    workerStickyTimeoutMs: e.WORKER_STICKY_TIMEOUT_MS,
    reactorConcurrency: e.REACTOR_CONCURRENCY,
    temporalSdkMetricsAddress: e.TEMPORAL_SDK_METRICS_ADDRESS,
    escalationPolicyFile: e.ESCALATION_POLICY,
    defaultTimeZone: e.TZ_DEFAULT,
    logLevel: e.LOG_LEVEL,
    sqliteSynchronous: e.SQLITE_SYNCHRONOUS,
    jwtPublicKey: e.JWT_PUBLIC_KEY,
    bodyLimit: e.BODY_LIMIT,
    notifiers: {
      kinds: e.NOTIFIERS,
      redisChannel: e.NOTIFY_REDIS_CHANNEL,
      webhookUrl: e.NOTIFY_WEBHOOK_URL,
      webhookToken: e.NOTIFY_WEBHOOK_TOKEN,
    },
    trustProxy: e.TRUST_PROXY,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    maxEventLoopDelayMs: e.MAX_EVENT_LOOP_DELAY_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    metricsToken: e.METRICS_TOKEN,
    workflowBundle: e.WORKFLOW_BUNDLE === undefined ? undefined : path.resolve(e.WORKFLOW_BUNDLE),
    audit: {
      signingKeyFile: e.AUDIT_SIGNING_KEY === undefined ? undefined : path.resolve(e.AUDIT_SIGNING_KEY),
      dbFile: path.resolve(e.AUDIT_DB ?? path.join(e.DATA_DIR, 'audit.db')),
      digestEvery: e.AUDIT_DIGEST_EVERY,
      digestIntervalMs: Math.round(e.AUDIT_DIGEST_MINUTES * 60_000),
    },
  };
}

export const DEV_JWT_SECRET_FILE = 'dev-jwt-secret';

/**
 * The config with a JWT secret: the configured one, or outside production a random one generated once and
 * kept in DATA_DIR, so tokens survive a restart. `npm run token` needs it as JWT_SECRET.
 */
export async function withJwtSecret(config: Config): Promise<Config & { jwtSecret: string }> {
  if (config.jwtSecret) return { ...config, jwtSecret: config.jwtSecret };
  const file = path.join(config.dataDir, DEV_JWT_SECRET_FILE);
  await mkdir(config.dataDir, { recursive: true });
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (existing.trim().length >= 32) return { ...config, jwtSecret: existing.trim() };
  const secret = randomBytes(32).toString('base64url');
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return { ...config, jwtSecret: secret };
}

export const DEV_AUDIT_KEY_FILE = 'audit-signing-key.pem';

/**
 * The PEM text of the audit signing key: the configured file, or outside production one generated once
 * into DATA_DIR. In production it is required, and should live where whoever can write the event store
 * cannot read it.
 */
export async function readAuditSigningKey(config: Config): Promise<string> {
  if (config.audit.signingKeyFile) {
    const file = config.audit.signingKeyFile;
    return readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      throw new ConfigError([`AUDIT_SIGNING_KEY: cannot read ${file} (${error.code ?? error.message})`]);
    });
  }
  if (config.nodeEnv === 'production') {
    throw new ConfigError(['AUDIT_SIGNING_KEY: required when NODE_ENV=production (a PEM file of an Ed25519 private key)']);
  }
  const file = path.join(config.dataDir, DEV_AUDIT_KEY_FILE);
  await mkdir(config.dataDir, { recursive: true });
  const existing = await readFile(file, 'utf8').catch(() => '');
  if (existing.includes('PRIVATE KEY')) return existing;
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await writeFile(file, pem, { mode: 0o600 });
  return pem;
}
