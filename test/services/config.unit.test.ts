import { describe, expect, test } from 'vitest';

import { ConfigError, loadConfig } from '../../services/config.js';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration from the environment', () => {
  test('given an empty environment, then every default applies and no service address is set', () => {
    const config = loadConfig({});

    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 8080,
      host: '127.0.0.1',
      jwtSecret: undefined,
      redisUrl: undefined,
      temporalAddress: undefined,
      temporalEnv: {},
      temporalTaskQueue: 'duban-rectification',
      workerShutdownGraceMs: 20_000,
      workerMaxCachedWorkflows: 1000,
      workerStickyTimeoutMs: 10_000,
      reactorConcurrency: 16,
      temporalSdkMetricsAddress: undefined,
      defaultTimeZone: 'Asia/Shanghai',
      logLevel: 'info',
      sqliteSynchronous: 'FULL',
    });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  test('given explicit values, then they are parsed and typed', () => {
    const config = loadConfig({
      PORT: '9090',
      HOST: '0.0.0.0',
      REDIS_URL: 'redis://cache:6379',
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'duban',
      TZ_DEFAULT: 'Asia/Urumqi',
      SQLITE_SYNCHRONOUS: 'NORMAL',
      DATA_DIR: '/var/lib/duban',
    });

    expect(config).toMatchObject({
      port: 9090,
      host: '0.0.0.0',
      redisUrl: 'redis://cache:6379',
      temporalAddress: 'temporal.internal:7233',
      temporalEnv: { TEMPORAL_ADDRESS: 'temporal.internal:7233', TEMPORAL_NAMESPACE: 'duban' },
      defaultTimeZone: 'Asia/Urumqi',
      sqliteSynchronous: 'NORMAL',
      dataDir: '/var/lib/duban',
    });
  });

  test('given an empty variable, then it counts as unset', () => {
    expect(loadConfig({ PORT: '', REDIS_URL: '' })).toMatchObject({ port: 8080, redisUrl: undefined });
  });

  test('given several bad variables, then start-up is refused naming each one', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      TZ_DEFAULT: 'Mars/Olympus',
      SQLITE_SYNCHRONOUS: 'OFF',
      REDIS_URL: 'localhost:6379',
      TEMPORAL_ADDRESS: 'http://temporal',
      ESCALATION_POLICY: '/no/such/policy.json',
    });

    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'ESCALATION_POLICY',
      'PORT',
      'REDIS_URL',
      'SQLITE_SYNCHRONOUS',
      'TEMPORAL_ADDRESS',
      'TZ_DEFAULT',
    ]);
    expect(problems.find((p) => p.startsWith('PORT'))).toContain('"eighty"');
  });

  test('given no notifier variables, then notifications go to the log only', () => {
    expect(loadConfig({}).notifiers).toEqual({
      kinds: ['log'],
      redisChannel: undefined,
      webhookUrl: undefined,
      webhookToken: undefined,
    });
  });

  test('given notifier variables, then they are parsed for the notifier factory', () => {
    const config = loadConfig({
      NOTIFIERS: ' log, redis ,webhook',
      REDIS_URL: 'redis://cache:6379',
      NOTIFY_REDIS_CHANNEL: 'duban:alerts',
      NOTIFY_WEBHOOK_URL: 'https://hooks.example.gov.cn/duban',
      NOTIFY_WEBHOOK_TOKEN: 'tok',
    });

    expect(config.notifiers).toEqual({
      kinds: ['log', 'redis', 'webhook'],
      redisChannel: 'duban:alerts',
      webhookUrl: 'https://hooks.example.gov.cn/duban',
      webhookToken: 'tok',
    });
  });

  test('given bad notifier variables, then start-up is refused naming each one', () => {
    const problems = problemsOf({ NOTIFIERS: 'log,sms', NOTIFY_WEBHOOK_URL: 'hooks.example.gov.cn' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['NOTIFIERS', 'NOTIFY_WEBHOOK_URL']);
    expect(problems.find((p) => p.startsWith('NOTIFIERS'))).toContain('"log,sms"');
    expect(problemsOf({ NOTIFIERS: ' , ' })).toEqual([expect.stringMatching(/^NOTIFIERS: must list at least one/)]);
  });

  test('given a notifier without its address, then start-up is refused naming the missing variable', () => {
    expect(problemsOf({ NOTIFIERS: 'redis' })).toEqual([expect.stringMatching(/^REDIS_URL: required when NOTIFIERS includes redis/)]);
    expect(problemsOf({ NOTIFIERS: 'log,webhook' })).toEqual([
      expect.stringMatching(/^NOTIFY_WEBHOOK_URL: required when NOTIFIERS includes webhook/),
    ]);
  });

  test('given DATABASE_URL, then the PostgreSQL event store is configured; a bad one, or one beside ESDB_URL, is refused', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://duban:secret@db:5432/duban' }).databaseUrl).toBe('postgres://duban:secret@db:5432/duban');
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(problemsOf({ DATABASE_URL: 'db:5432' })).toEqual([expect.stringMatching(/^DATABASE_URL: must look like postgres:\/\//)]);
    expect(problemsOf({ DATABASE_URL: 'postgresql://db/duban', ESDB_URL: 'esdb://db:2113?tls=false' })).toEqual([
      expect.stringMatching(/^DATABASE_URL, ESDB_URL: set one event store, not both/),
    ]);
  });

  test('given production without a JWT secret, then start-up is refused', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([expect.stringMatching(/^JWT_SECRET: required/)]);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'short' })).toEqual([
      expect.stringMatching(/^JWT_SECRET: must be at least 32 characters/),
    ]);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).jwtSecret).toBe('x'.repeat(32));
  });

  test('given Temporal variables, then the task queue, grace time, reactor concurrency and SDK metrics address are typed, and Temporal\'s own variables are passed on as set', () => {
    const config = loadConfig({
      TEMPORAL_TASK_QUEUE: 'duban-east',
      WORKER_SHUTDOWN_GRACE_MS: '5000',
      WORKER_STICKY_TIMEOUT_MS: '120000',
      REACTOR_CONCURRENCY: '64',
      TEMPORAL_SDK_METRICS_ADDRESS: '0.0.0.0:9464',
      TEMPORAL_API_KEY: 'key',
      TEMPORAL_TLS: 'true',
      TEMPORAL_GRPC_META_X_TENANT: 'east',
      TEMPORAL_PROFILE: '',
      HOME: '/home/duban',
      PATH: '/usr/bin',
    });
    expect(config).toMatchObject({ temporalTaskQueue: 'duban-east', workerShutdownGraceMs: 5000, workerStickyTimeoutMs: 120_000, reactorConcurrency: 64, temporalSdkMetricsAddress: '0.0.0.0:9464' });
    expect(config.temporalEnv).toEqual({
      TEMPORAL_TASK_QUEUE: 'duban-east',
      TEMPORAL_SDK_METRICS_ADDRESS: '0.0.0.0:9464',
      TEMPORAL_API_KEY: 'key',
      TEMPORAL_TLS: 'true',
      TEMPORAL_GRPC_META_X_TENANT: 'east',
      HOME: '/home/duban',
    });
  });

  test('given a grace time the shutdown timeout cannot hold, or bad Temporal variables, then start-up is refused naming each', () => {
    expect(problemsOf({ WORKER_SHUTDOWN_GRACE_MS: '30000' })).toEqual([expect.stringMatching(/^WORKER_SHUTDOWN_GRACE_MS: must be shorter than SHUTDOWN_TIMEOUT_MS/)]);
    expect(loadConfig({ WORKER_SHUTDOWN_GRACE_MS: '30000', SHUTDOWN_TIMEOUT_MS: '45000' }).workerShutdownGraceMs).toBe(30_000);
    const problems = problemsOf({ TEMPORAL_TLS: 'yes', TEMPORAL_TLS_CLIENT_CERT_PATH: '/no/such/cert.pem', TEMPORAL_SDK_METRICS_ADDRESS: '9464', WORKER_MAX_CACHED_WORKFLOWS: '10', REACTOR_CONCURRENCY: '0' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['REACTOR_CONCURRENCY', 'TEMPORAL_SDK_METRICS_ADDRESS', 'TEMPORAL_TLS', 'TEMPORAL_TLS_CLIENT_CERT_PATH', 'WORKER_MAX_CACHED_WORKFLOWS']);
  });
});
