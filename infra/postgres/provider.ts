import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import pg from 'pg';

import { containerStep } from '../tools/docker.js';
import { freePort, type ManagedProcess, startProcess, waitUntilReady } from '../tools/process.js';
import { firstAvailable, type Unavailable } from '../tools/service.js';

export interface PostgresServer {
  /** postgres://… of a database the caller may create tables in. */
  readonly url: string;
  /** Where it came from, for logs: `DATABASE_URL`, `testcontainers` or `postgresql <version>`. */
  readonly source: string;
  readonly stop: () => Promise<void>;
}

export interface PostgresProviderOptions {
  /** An explicit server (DATABASE_URL); used as is and never stopped. */
  url?: string | undefined;
  /** Try a Docker engine through testcontainers (default true). */
  useDocker?: boolean;
  startTimeoutMs?: number;
}

const POSTGRES_IMAGE = 'postgres:16-alpine';
/** PostgreSQL refuses to run as root; Debian's package creates this user. */
const SERVER_USER = 'postgres';
const DATABASE_USER = 'duban';

/**
 * A PostgreSQL server for the caller: the explicit URL, else a testcontainers container when Docker
 * answers, else Debian's `postgresql` binaries run by the project: `initdb` into a throw-away folder and
 * `postgres` on a free port, as the `postgres` user when this process is root.
 */
export async function providePostgres(options: PostgresProviderOptions = {}): Promise<PostgresServer | Unavailable> {
  if (options.url) return { url: options.url, source: 'DATABASE_URL', stop: async () => {} };
  return firstAvailable<PostgresServer>(['DATABASE_URL is not set'], [
    ...(options.useDocker === false ? [] : [containerStep(startContainer)]),
    {
      name: 'postgresql',
      start: async () => {
        const bin = findPostgresBin();
        if (!bin) return "PostgreSQL is not installed (npm run setup installs Debian's postgresql as root, or apt-get install postgresql)";
        const dir = await mkdtemp(path.join(os.tmpdir(), 'duban-postgres-'));
        const server = await startLocalPostgres({ bin, dir, timeoutMs: options.startTimeoutMs }).catch(async (error: unknown) => {
          await rm(dir, { recursive: true, force: true });
          throw error;
        });
        return {
          url: server.url,
          source: server.source,
          stop: async () => {
            await server.stop();
            await rm(dir, { recursive: true, force: true });
          },
        };
      },
    },
  ]);
}

/** The newest Debian-packaged PostgreSQL (`/usr/lib/postgresql/<version>/bin`), else one on the PATH. */
export function findPostgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(path.join(root, v, 'bin', 'postgres')) && existsSync(path.join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const file = found.stdout.trim();
  return found.status === 0 && file ? path.dirname(file) : undefined;
}

async function startContainer(): Promise<PostgresServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(POSTGRES_IMAGE)
    .withEnvironment({ POSTGRES_USER: DATABASE_USER, POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: DATABASE_USER })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .start();
  return {
    url: `postgres://${DATABASE_USER}@${container.getHost()}:${container.getMappedPort(5432)}/${DATABASE_USER}`,
    source: 'testcontainers',
    stop: async () => {
      await container.stop();
    },
  };
}

export interface LocalPostgres extends PostgresServer {
  readonly port: number;
  readonly process: ManagedProcess;
}

/**
 * Runs `postgres` on `dir/data` (created by `initdb` when missing), listening on 127.0.0.1 only with
 * trust authentication, its socket in `dir`. Starting it again on the same folder and port is a restart
 * with the data kept (what the fault tests do). `stop` is a fast shutdown (SIGINT: clients are
 * disconnected, the data stays consistent).
 */
export async function startLocalPostgres(options: {
  bin: string;
  dir: string;
  port?: number | undefined;
  timeoutMs?: number | undefined;
}): Promise<LocalPostgres> {
  const { bin, dir } = options;
  const user = process.getuid?.() === 0 ? SERVER_USER : undefined;
  const data = path.join(dir, 'data');
  if (user) await chownToServerUser(dir);
  if (!existsSync(path.join(data, 'PG_VERSION'))) {
    const asUser = user ? ['setpriv', `--reuid=${user}`, `--regid=${user}`, '--init-groups', '--'] : [];
    const initdb = [...asUser, path.join(bin, 'initdb'), '-D', data, '-U', DATABASE_USER, '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync'];
    const done = spawnSync(initdb[0]!, initdb.slice(1), { encoding: 'utf8' });
    if (done.status !== 0) throw new Error(`initdb failed (${done.status ?? done.signal}): ${done.stderr || done.stdout}`);
  }
  const port = options.port ?? (await freePort());
  const server = startProcess(
    path.join(bin, 'postgres'),
    [
      '-D', data,
      '-h', '127.0.0.1',
      '-p', String(port),
      '-k', dir,
      '-c', 'max_connections=300',
      '-c', 'listen_addresses=127.0.0.1',
    ],
    { user, logFile: path.join(dir, 'postgres.log') },
  );
  const url = `postgres://${DATABASE_USER}@127.0.0.1:${port}/postgres`;
  const stop = async (): Promise<void> => {
    if (server.hasExited()) return;
    // SIGTERM would be a "smart" shutdown that waits for every client to leave.
    try {
      process.kill(server.pid, 'SIGINT');
    } catch {
      // already gone
    }
    await server.stop(15_000);
  };
  try {
    await waitUntilReady('postgres', server, () => answersQuery(url), options.timeoutMs ?? 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const version = path.basename(path.dirname(bin));
  return { url, port, source: `postgresql ${/^\d+$/.test(version) ? version : ''}`.trim(), process: server, stop };
}

async function chownToServerUser(dir: string): Promise<void> {
  const id = (flag: string) => Number(spawnSync('id', [flag, SERVER_USER], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`there is no ${SERVER_USER} user to run PostgreSQL as`);
  await chown(dir, uid, gid);
}

async function answersQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => {});
  }
}
