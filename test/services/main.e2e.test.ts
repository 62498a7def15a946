import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { installedTool, repoRoot } from '../../infra/tools/paths.js';
import { freePort } from '../../infra/tools/process.js';
import type { CheckResult } from '../../services/http/app.js';

/**
 * `npm start` as a user runs it (minus npm, as `npm run start:prod` and the Docker image do): the real
 * process, its own Temporal dev server on a SQLite file in DATA_DIR, the worker on the workflow bundle
 * `npm run build` writes, and a clean stop on SIGTERM. Needs the Temporal CLI that infra/tools/setup.sh builds.
 */
const cli = installedTool('temporal');
const metricsToken = 'scrape-token-for-the-e2e-test';
if (!cli) console.warn('[services] no Temporal CLI in .tools/bin: the service process tests are SKIPPED');

describe.skipIf(!cli)('the service process (services/main.ts)', () => {
  let dataDir: string;
  let port: number;
  let service: ChildProcess;
  let output = '';
  let exited: Promise<number | null>;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'duban-main-'));
    port = await freePort();
    const bundle = path.join(dataDir, 'workflow-bundle.js');
    await new Promise<void>((resolve, reject) =>
      spawn(process.execPath, ['--import', 'tsx', 'services/cli/build-workflows.ts', bundle], { cwd: repoRoot, stdio: 'inherit' }).once(
        'exit',
        (code) => (code === 0 ? resolve() : reject(new Error(`npm run build exited ${code}`))),
      ),
    );
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', WORKFLOW_BUNDLE: bundle, METRICS_TOKEN: metricsToken };
    delete env['TEMPORAL_ADDRESS'];
    delete env['REDIS_URL'];
    service = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts'], { cwd: repoRoot, env });
    service.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    service.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    exited = new Promise((resolve) => service.once('exit', (code) => resolve(code)));
  });
  afterAll(async () => {
    if (service.exitCode === null) service.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  test('given a fresh data folder, when it starts, then /health reports the event store and Temporal up', async () => {
    const health = await pollHealth(port, 90_000);

    expect(health.status).toBe(200);
    expect(health.body.checks.map((c) => [c.name, c.status])).toEqual([
      ['event-store', 'up'],
      ['audit', 'up'],
      ['temporal', 'up'],
      ['projections', 'up'],
    ]);
    expect(existsSync(path.join(dataDir, 'temporal.db'))).toBe(true);
    // The worker set up the review schedules before the process reported itself started.
    expect(output).toMatch(/"scheduleId":"duban-monthly-review","msg":"schedule (created|updated)"/);
    expect(output).toMatch(/"scheduleId":"duban-daily-report","msg":"schedule (created|updated)"/);
    expect((await readFile(path.join(dataDir, 'dev-jwt-secret'), 'utf8')).trim().length).toBeGreaterThanOrEqual(32);
    // The audit signing key was generated once into the data folder, outside the event store.
    expect(await readFile(path.join(dataDir, 'audit-signing-key.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
  });

  test('a scraper with METRICS_TOKEN reads /metrics, with the projection and reactor gauges and the reactor delivery times', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });

    expect(response.status).toBe(200);
    const text = await response.text();
    for (const name of ['duban_projection_lag_events', 'duban_projection_parked_events', 'duban_reactor_lag_events', 'duban_open_workflows']) {
      expect(text).toMatch(new RegExp(`^${name} \\d+$`, 'm'));
    }
    expect(text).toMatch(/^duban_reactor_delivery_duration_seconds_count \d+$/m);
  });

  test('when it gets SIGTERM, then it exits 0 and its Temporal server is gone', async () => {
    const temporalAddress = /"address":"([\d.]+:\d+)"/.exec(output)?.[1];
    expect(temporalAddress, output).toBeDefined();

    service.kill('SIGTERM');
    expect(await exited).toBe(0);

    const [host, portText] = (temporalAddress ?? '').split(':');
    expect(await accepts(host ?? '', Number(portText))).toBe(false);
    expect(output).toMatch(/"name":"temporal server","msg":"closed"/);
    // The audit sealer's thread finished its chunk and closed its connections in time.
    expect(output).toMatch(/"name":"audit sealer","msg":"closed"/);
  });
});

describe('the projector role (services/main.ts --role projector)', () => {
  test('answers /health and /metrics on its own port, and nothing of the API', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'duban-projector-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), METRICS_TOKEN: metricsToken };
    delete env['TEMPORAL_ADDRESS'];
    delete env['REDIS_URL'];
    const projector = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', '--role', 'projector'], { cwd: repoRoot, env });
    const exited = new Promise<number | null>((resolve) => projector.once('exit', (code) => resolve(code)));
    try {
      expect((await pollHealth(port, 60_000)).body.checks.map((c) => c.name)).toEqual(['event-store', 'audit', 'projections']);
      const metrics = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toMatch(/^duban_projection_parked_events 0$/m);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/v1/listings`)).status).toBe(404);
    } finally {
      projector.kill('SIGTERM');
      expect(await exited).toBe(0);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

async function pollHealth(port: number, timeoutMs: number): Promise<{ status: number; body: { checks: CheckResult[] } }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      return { status: response.status, body: (await response.json()) as { checks: CheckResult[] } };
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
