import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { expect, inject, test } from 'vitest';

import { repoRoot } from '../../infra/tools/paths.js';
import { freePort } from '../../infra/tools/process.js';
import { describeWithService } from '../setup/services.js';
import { eventually } from '../workflows/world.js';

/** Runs services/main.ts with `env` until it exits (or `boundMs` passes: then it is killed and null returned). */
async function runMain(args: string[], env: NodeJS.ProcessEnv, boundMs: number): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', ...args], { cwd: repoRoot, env });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const bound = setTimeout(() => child.kill('SIGKILL'), boundMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (exitCode) => resolve(exitCode)));
  clearTimeout(bound);
  return { code, output };
}

describeWithService('temporal', 'the worker role against a Temporal namespace (services/main.ts)', (address) => {
  test("given a namespace without Duban's search attributes, when the worker role starts, then it fails start-up with one error naming the command", async () => {
    const namespace = `duban-nosa-${randomUUID().slice(0, 8)}`;
    const connection = await Connection.connect({ address });
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
      await eventually(() => connection.workflowService.describeNamespace({ namespace }).then(() => true, () => undefined), 30_000);
    } finally {
      await connection.close();
    }
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'duban-nosa-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: 'info', TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: namespace };
      delete env['REDIS_URL'];
      // Bounded: a process that retried forever instead would be killed here and the test fail.
      const { code, output } = await runMain(['--role', 'worker'], env, 90_000);

      expect(code, output).toBe(1);
      const fatal = output.split('\n').filter((line) => line.includes('"msg":"start-up failed"'));
      expect(fatal, output).toHaveLength(1);
      expect(fatal[0]).toContain(`Temporal namespace ${namespace} at ${address} lacks Duban's search attributes`);
      expect(fatal[0]).toContain(`temporal operator search-attribute create --address ${address} --namespace ${namespace}`);
      expect(output).toContain(`"namespace":"${namespace}"`);
      expect(output).not.toContain('"msg":"reactor started"');
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test('given the namespace the test run provides, then the worker role names it in its connection line and starts', async () => {
    const namespace = inject('temporalNamespace');
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'duban-worker-'));
    try {
      const sdkMetrics = `127.0.0.1:${await freePort()}`;
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATA_DIR: dataDir,
        PORT: String(await freePort()),
        LOG_LEVEL: 'info',
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: namespace,
        TEMPORAL_TASK_QUEUE: `main-${randomUUID()}`,
        TEMPORAL_SDK_METRICS_ADDRESS: sdkMetrics,
      };
      delete env['REDIS_URL'];
      const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', '--role', 'worker'], { cwd: repoRoot, env });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        await eventually(() => (output.includes('"msg":"duban started"') ? true : child.exitCode !== null ? Promise.reject(new Error(output)) : undefined), 120_000);
        expect(output).toMatch(new RegExp(`"address":"${address}","namespace":"${namespace}","tls":false,"apiKey":false,"profile":"default","msg":"temporal connection"`));
        expect(output).toContain(`"taskQueue":"${env['TEMPORAL_TASK_QUEUE']}","msg":"temporal worker started"`);
        // The SDK's own lines are pino lines now.
        expect(output).toMatch(/"component":"temporal".*"msg":"Worker state changed"/);
        // Its Prometheus exporter serves the worker's series, labelled with the task queue.
        const scrape = await eventually(async () => {
          const text = await fetch(`http://${sdkMetrics}/metrics`).then((response) => response.text(), () => '');
          return text.includes('temporal_') ? text : undefined;
        }, 60_000);
        expect(scrape).toMatch(new RegExp(`^temporal_\\w+\\{[^}]*task_queue="${env['TEMPORAL_TASK_QUEUE']}"`, 'm'));
        child.kill('SIGTERM');
        expect(await exited, output).toBe(0);
        expect(output).toMatch(/"state":"DRAINING"/);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
