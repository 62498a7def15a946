import { Connection } from '@temporalio/client';

import { dockerAnswers } from '../tools/docker.js';
import { installedTool } from '../tools/paths.js';
import { freePort, startProcess, waitUntilReady } from '../tools/process.js';
import { errorMessage, unavailable, type Unavailable } from '../tools/service.js';
import { searchAttributeCliTypes, searchAttributeKeys } from '../../workflows/search-attributes.js';

/** `--search-attribute Name=Type` for each of Duban's: a dev server registers them at start. */
const searchAttributeArgs = searchAttributeCliTypes.flatMap(({ name, type }) => ['--search-attribute', `${name}=${type}`]);

export interface TemporalServer {
  /** host:port of the frontend gRPC service. */
  readonly address: string;
  readonly namespace: string;
  /** The Web UI, when this server has one. */
  readonly uiUrl: string | undefined;
  /** Where it came from, for logs: `TEMPORAL_ADDRESS`, `testcontainers`, `local dev server`, `SDK download`. */
  readonly source: string;
  readonly stop: () => Promise<void>;
}

export interface TemporalProviderOptions {
  /** An explicit server (TEMPORAL_ADDRESS); used as is and never stopped. */
  address?: string | undefined;
  namespace?: string;
  /**
   * Keep state in this SQLite file and serve the Web UI (for `npm start`). Without it the server is in
   * memory and headless (for tests), and a Docker engine may be used instead of the local binary.
   */
  dbFilename?: string;
  /** Where the local dev server's own log goes (appended). */
  logFile?: string;
  /** Try a Docker engine through testcontainers (default: only for in-memory servers). */
  useDocker?: boolean;
  startTimeoutMs?: number;
  /** Dynamic config of a local dev server (`--dynamic-config-value key=value`), over `devServerDynamicConfig`. */
  dynamicConfig?: Record<string, string | number | boolean>;
}

// The dev server image of the same CLI release that infra/tools/setup.sh builds.
const TEMPORAL_IMAGE = 'temporalio/temporal:1.5.1';

/**
 * A Temporal server for the caller, with Duban's search attributes registered unless it is an explicit
 * one (registered once per cluster: docs/workflows.md), resolved in order: the explicit address; a testcontainers container
 * when Docker answers; the dev server from the Temporal CLI that infra/tools/setup.sh builds into .tools/;
 * the dev server the TypeScript SDK downloads (needs the internet and the @temporalio/testing package).
 */
export async function provideTemporal(
  options: TemporalProviderOptions = {},
): Promise<TemporalServer | Unavailable> {
  const namespace = options.namespace ?? 'default';
  if (options.address) {
    return { address: options.address, namespace, uiUrl: undefined, source: 'TEMPORAL_ADDRESS', stop: async () => {} };
  }
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const reasons: string[] = ['TEMPORAL_ADDRESS is not set'];

  if (options.useDocker ?? options.dbFilename === undefined) {
    const docker = await dockerAnswers();
    if (docker === true) {
      try {
        return await startContainer(namespace, timeoutMs);
      } catch (error) {
        reasons.push(`testcontainers: ${errorMessage(error)}`);
      }
    } else {
      reasons.push(docker);
    }
  }

  const cli = installedTool('temporal');
  if (cli) {
    try {
      return await startDevServer(cli, namespace, options, timeoutMs);
    } catch (error) {
      reasons.push(`local dev server: ${errorMessage(error)}`);
    }
  } else {
    reasons.push('no Temporal CLI in .tools/bin (npm run setup builds it when Go is installed)');
  }

  try {
    return await startSdkDownload(namespace, options.dbFilename);
  } catch (error) {
    reasons.push(`SDK download: ${errorMessage(error)}`);
  }
  return unavailable(reasons.join('; '));
}

/**
 * A dev server with a file keeps it in SQLite's write-ahead log instead of its default rollback journal:
 * a commit then syncs the log once instead of journal and database, and readers do not wait on writers.
 * synchronous=FULL, named so it cannot change under us: what the server acknowledged (a signal the reactor
 * then checkpointed past) is on disk before the answer, so it survives a crash or power loss.
 */
const sqliteWal = ['--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=full'];

/**
 * The dev server's task-queue statistics are at most 200 ms old instead of 5 s: the reactor holds its
 * deliveries on them while the clocks' workers are behind (infra/temporal/backlog.ts). The compose file's
 * Temporal gets the same (infra/deploy/temporal-dynamic-config.yaml).
 */
export const devServerDynamicConfig: Record<string, string | number | boolean> = { 'matching.TaskQueueInfoByBuildIdTTL': '200ms' };

async function startDevServer(
  cli: string,
  namespace: string,
  options: TemporalProviderOptions,
  timeoutMs: number,
): Promise<TemporalServer> {
  // A persistent server keeps Temporal's usual ports when they are free, so the UI stays where people expect it.
  const persistent = options.dbFilename !== undefined;
  const port = await freePort('127.0.0.1', persistent ? 7233 : undefined);
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace, ...searchAttributeArgs];
  args.push('--log-format', 'json', '--log-level', 'warn');
  for (const [key, value] of Object.entries({ ...devServerDynamicConfig, ...options.dynamicConfig })) args.push('--dynamic-config-value', `${key}=${JSON.stringify(value)}`);
  let uiUrl: string | undefined;
  if (options.dbFilename) {
    const uiPort = await freePort('127.0.0.1', 8233);
    args.push('--db-filename', options.dbFilename, '--ui-port', String(uiPort), ...sqliteWal);
    uiUrl = `http://127.0.0.1:${uiPort}`;
  } else {
    args.push('--headless');
  }
  const server = startProcess(cli, args, options.logFile ? { logFile: options.logFile } : {});
  const address = `127.0.0.1:${port}`;
  try {
    await waitUntilReady('temporal dev server', server, () => namespaceAnswers(address, namespace), timeoutMs);
  } catch (error) {
    await server.stop();
    throw error;
  }
  // SIGTERM lets the dev server close its SQLite file cleanly; it usually needs well under a second.
  return { address, namespace, uiUrl, source: 'local dev server', stop: () => server.stop(15_000) };
}

/** True once the frontend answers and knows the namespace (the dev server registers it at start-up). */
async function namespaceAnswers(address: string, namespace: string): Promise<boolean> {
  const connection = await Connection.connect({ address, connectTimeout: 2_000 });
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } finally {
    await connection.close();
  }
}

async function startContainer(namespace: string, timeoutMs: number): Promise<TemporalServer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(TEMPORAL_IMAGE)
    .withCommand(['server', 'start-dev', '--ip', '0.0.0.0', '--headless', '--namespace', namespace, ...searchAttributeArgs])
    .withExposedPorts(7233)
    .withWaitStrategy(Wait.forListeningPorts())
    .withStartupTimeout(timeoutMs)
    .start();
  const address = `${container.getHost()}:${container.getMappedPort(7233)}`;
  const stop = async (): Promise<void> => {
    await container.stop();
  };
  try {
    const deadline = Date.now() + timeoutMs;
    while (!(await namespaceAnswers(address, namespace).catch(() => false))) {
      if (Date.now() > deadline) throw new Error(`container did not serve namespace ${namespace} in time`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { address, namespace, uiUrl: undefined, source: 'testcontainers', stop };
}

async function startSdkDownload(namespace: string, dbFilename: string | undefined): Promise<TemporalServer> {
  // A devDependency: present for tests and development, absent from production installs.
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      namespace,
      searchAttributes: Object.values(searchAttributeKeys),
      ...(dbFilename ? { dbFilename, ui: true, extraArgs: sqliteWal } : {}),
    },
  });
  return {
    address: env.address,
    namespace,
    uiUrl: undefined,
    source: 'SDK download',
    stop: () => env.teardown(),
  };
}
