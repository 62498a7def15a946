import { spawn } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** `preferred` when it is free on `host`, else a port the OS just handed out as free. */
export async function freePort(host = '127.0.0.1', preferred?: number): Promise<number> {
  if (preferred !== undefined) {
    const port = await listenOnce(host, preferred).catch(() => undefined);
    if (port !== undefined) return port;
  }
  return listenOnce(host, 0);
}

function listenOnce(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the port the OS assigned'));
      });
    });
  });
}

export interface ManagedProcess {
  readonly pid: number;
  /** Settles with the exit code (or signal) once the process has ended. */
  readonly exited: Promise<string>;
  readonly hasExited: () => boolean;
  /** The last few kilobytes the process printed, for error messages. */
  readonly outputTail: () => string;
  /** SIGTERM, then SIGKILL if it has not ended after `graceMs`; resolves once it has ended. */
  readonly stop: (graceMs?: number) => Promise<void>;
}

const TAIL_BYTES = 4_096;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((candidate) => existsSync(candidate));

/**
 * Starts a server process the project owns. Its output goes to `logFile` when given and is kept in a short
 * tail either way. The process is killed if this Node process exits without stopping it, so no server
 * outlives the test run or `npm start` that started it.
 */
export function startProcess(
  command: string,
  args: readonly string[],
  options: { logFile?: string; env?: NodeJS.ProcessEnv; user?: string } = {},
): ManagedProcess {
  // The exit hook below cannot run when this process is killed outright (SIGKILL, or a SIGTERM nobody
  // handles); where util-linux's setpriv exists, the kernel then sends the server SIGTERM instead.
  // A server that refuses to run as root (PostgreSQL) runs as `user`; the same setpriv changes user first
  // and sets the death signal after, since a change of user clears it.
  const asUser = options.user ? [`--reuid=${options.user}`, `--regid=${options.user}`, '--init-groups'] : [];
  if (options.user && !SETPRIV) throw new Error(`running a server as ${options.user} needs util-linux's setpriv`);
  const [file, argv] = SETPRIV ? [SETPRIV, [...asUser, '--pdeathsig', 'SIGTERM', '--', command, ...args]] : [command, args];
  const child = spawn(file, argv, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env ?? process.env,
  });
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : undefined;
  let tail = '';
  const record = (chunk: Buffer): void => {
    log?.write(chunk);
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  };
  child.stdout.on('data', record);
  child.stderr.on('data', record);

  let ended = false;
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const exited = new Promise<string>((resolve) => {
    child.once('error', (error) => {
      record(Buffer.from(`\n${error.message}\n`));
    });
    child.once('close', (code, signal) => {
      ended = true;
      process.off('exit', killOnExit);
      log?.end();
      resolve(signal ? `signal ${signal}` : `code ${code}`);
    });
  });

  return {
    pid: child.pid ?? -1,
    exited,
    hasExited: () => ended,
    outputTail: () => tail,
    stop: async (graceMs = 10_000) => {
      if (ended) return;
      child.kill('SIGTERM');
      const stopped = await Promise.race([exited.then(() => true), sleep(graceMs, false, { ref: false })]);
      if (!stopped) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/**
 * Polls `ready` until it resolves true, the process dies, or the deadline passes. Errors thrown by `ready`
 * count as "not yet".
 */
export async function waitUntilReady(
  name: string,
  server: ManagedProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  while (Date.now() < deadline) {
    if (server.hasExited()) {
      throw new Error(`${name} exited during start-up (${await server.exited}):\n${server.outputTail()}`);
    }
    try {
      if (await ready()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    await sleep(150);
  }
  throw new Error(
    `${name} did not become ready within ${timeoutMs} ms${lastError ? ` (last error: ${lastError})` : ''}:\n${server.outputTail()}`,
  );
}
