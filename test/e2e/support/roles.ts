import { spawn, type ChildProcess } from 'node:child_process';

import { repoRoot } from '../../../infra/tools/paths.js';
import { freePort } from '../../../infra/tools/process.js';
import { signToken } from '../../../services/auth/tokens.js';
import type { Role } from '../../../services/auth/principal.js';
import { client, type Client } from './client.js';

/** One `services/main.ts --role …` process of a test, as production runs it. */
export interface RoleProcess {
  role: string;
  port: number;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Starts `services/main.ts --role <role>` with `env`, listening on `port` (default a free one). */
export async function startRole(role: 'api' | 'projector' | 'worker' | 'all', env: NodeJS.ProcessEnv, port?: number): Promise<RoleProcess> {
  const listen = port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/main.ts', '--role', role], {
    cwd: repoRoot,
    env: { ...env, PORT: String(listen) },
  });
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { role, port: listen, child, output: () => output, exited };
}

/** Resolves once the process answers GET /health with 200; fails when it exits first. */
export async function healthy(p: RoleProcess, timeoutMs = 120_000): Promise<void> {
  await until(
    async () => {
      if (p.child.exitCode !== null) throw new Error(`${p.role} exited ${p.child.exitCode}:\n${p.output()}`);
      return fetch(`http://127.0.0.1:${p.port}/health`).then((r) => r.status === 200, () => false);
    },
    timeoutMs,
    `${p.role} to be healthy`,
    () => p.output(),
  );
}

/** An API client of the process, as a user of `role` in `unitId`, with tokens signed by `secret`. */
export async function clientOf(p: RoleProcess, secret: string, unitId: string, role: Role, userId?: string): Promise<Client> {
  return client(`http://127.0.0.1:${p.port}`, await signToken(secret, { userId: userId ?? `${role}@${unitId}`, unitId, role }));
}

export async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string, context?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${context ? `:\n${context()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
