import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { containerStep } from '../tools/docker.js';
import { freePort, startProcess, waitUntilReady } from '../tools/process.js';
import { firstAvailable, type Unavailable } from '../tools/service.js';

export interface RedisServer {
  readonly url: string;
  /** Where it came from, for logs: `REDIS_URL`, `testcontainers` or `redis-server`. */
  readonly source: string;
  readonly stop: () => Promise<void>;
}

export interface RedisProviderOptions {
  /** An explicit server (REDIS_URL); used as is and never stopped. */
  url?: string | undefined;
  /** Try a Docker engine through testcontainers (default true). */
  useDocker?: boolean;
  startTimeoutMs?: number;
  /** Port for the local redis-server (default a free one): a restart on the same port is the same address. */
  port?: number;
}

const REDIS_IMAGE = 'redis:7-alpine';

/**
 * A Redis server for the caller: the explicit URL, else a testcontainers container when Docker answers,
 * else Debian's `redis-server` started on a free port with a throw-away directory and no persistence.
 */
export async function provideRedis(options: RedisProviderOptions = {}): Promise<RedisServer | Unavailable> {
  if (options.url) return { url: options.url, source: 'REDIS_URL', stop: async () => {} };
  return firstAvailable<RedisServer>(['REDIS_URL is not set'], [
    ...(options.useDocker === false ? [] : [containerStep(startContainer)]),
    {
      name: 'redis-server',
      start: async () => {
        const binary = findRedisServer();
        if (!binary) return 'redis-server is not installed (npm run setup installs it as root, or apt-get install redis-server)';
        return startLocal(binary, options.startTimeoutMs ?? 15_000, options.port);
      },
    },
  ]);
}

function findRedisServer(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const file = found.stdout.trim();
  return found.status === 0 && file ? file : undefined;
}

async function startContainer(): Promise<RedisServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(REDIS_IMAGE)
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
    .start();
  return {
    url: `redis://${container.getHost()}:${container.getMappedPort(6379)}`,
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

async function startLocal(binary: string, timeoutMs: number, fixedPort: number | undefined): Promise<RedisServer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'duban-redis-'));
  const port = fixedPort ?? (await freePort());
  const server = startProcess(binary, [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--save', '',
    '--appendonly', 'no',
    '--daemonize', 'no',
  ]);
  const stop = async (): Promise<void> => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady('redis-server', server, () => answersPing(port), timeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis://127.0.0.1:${port}`, source: 'redis-server', stop };
}

/** Speaks just enough RESP to ask for PONG, so readiness needs no client library. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}
