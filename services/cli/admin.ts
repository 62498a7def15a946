import { Client, Connection } from '@temporalio/client';
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { pino } from 'pino';

import { openEventStoreDb } from '../../infra/eventstoredb/event-store.js';
import { openPostgresEventStore } from '../../infra/postgres/event-store.js';
import { createRedisClient } from '../../infra/redis/client.js';
import { openSqliteEventStore } from '../../infra/sqlite/event-store.js';
import { temporalConnectionSettings } from '../../infra/temporal/connection.js';
import { runningRectificationsQuery } from '../../workflows/search-attributes.js';
import { roleSchema } from '../auth/principal.js';
import { signToken } from '../auth/tokens.js';
import { type Config, loadConfig, loadDotEnv, withJwtSecret } from '../config.js';
import { rebuildLedgers } from '../ledgers/index.js';
import type { EventStore } from '../ports/event-store.js';
import { REACTOR_SUBSCRIBER_ID } from '../reactor.js';
import { eventStoreKind, openCheckpointStore, openEventStore, openReadModel } from '../stores.js';

/**
 * `npm run admin -- <command>`: what an operator does to a running Duban from outside it, against the
 * stores the configuration names (the same environment and `.env` as the service). Every command prints
 * one JSON object on stdout (`token` prints the bare token, for `TOKEN=$(…)`); failures print
 * `{"error": …}` on stderr. Exit codes are in `exitCodes`.
 */
export const exitCodes = {
  ok: 0,
  /** A store or server could not be reached, or the command failed. */
  failed: 1,
  /** Unknown command or option, or a missing argument. */
  usage: 2,
  /** The command worked and found something wrong: parked events, a broken audit chain. */
  problemFound: 3,
  /** The parked event or schedule named does not exist. */
  notFound: 4,
} as const;

export interface AdminIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

class AdminError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Outcome {
  output: unknown;
  exitCode?: number;
}

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;

interface Command {
  usage: string;
  summary: string;
  options?: Options;
  run(args: { values: Values; positionals: string[]; config: () => Config; io: AdminIo }): Promise<Outcome>;
}

const json = (value: unknown): string =>
  `${JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;

/** Opens what a command needs and closes it afterwards, whatever happens. */
async function using<T extends { close(): Promise<unknown> }, R>(open: () => T | Promise<T>, use: (resource: T) => Promise<R>): Promise<R> {
  const resource = await open();
  try {
    return await use(resource);
  } finally {
    await resource.close().catch(() => undefined);
  }
}

async function withTemporal<R>(config: Config, use: (client: Client) => Promise<R>): Promise<R> {
  const temporal = temporalConnectionSettings(config.temporalEnv);
  if (!temporal.address) {
    throw new AdminError('TEMPORAL_ADDRESS is not set (nor a Temporal profile): name the Temporal frontend (host:port)', exitCodes.failed);
  }
  const connection = await Connection.connect({ ...temporal.client, connectTimeout: '5s' });
  try {
    return await use(new Client({ connection, namespace: temporal.namespace }));
  } finally {
    await connection.close();
  }
}

const quietLogger = pino({ level: 'warn' });

const commands: Record<string, Command> = {
  status: {
    usage: 'status',
    summary: 'projections (keyspace, checkpoint, lag, parked events), subscriber checkpoints, running workflows',
    async run({ config }) {
      const cfg = config();
      const redis = cfg.redisUrl ? createRedisClient(cfg.redisUrl, { name: 'duban-admin' }) : undefined;
      try {
        return await using(
          () => openEventStore(cfg),
          (store) =>
            using(
              () => openReadModel(cfg, redis),
              (readModel) =>
                using(
                  () => openCheckpointStore(cfg, redis),
                  async (checkpoints) => {
                    const head = await store.headPosition();
                    const keyspace = await readModel.activeKeyspace();
                    const ledgers = readModel.keyspace(keyspace);
                    const checkpoint = await ledgers.checkpoint();
                    const parked = await ledgers.parked();
                    const reactor = await checkpoints.load(REACTOR_SUBSCRIBER_ID);
                    const workflows = await withTemporal(cfg, async (client) => ({
                      running: Number((await client.workflow.count(runningRectificationsQuery)).count),
                    })).catch((error: unknown) => ({ unavailable: error instanceof Error ? error.message.split('\n')[0] : String(error) }));
                    const output = {
                      eventStore: { kind: eventStoreKind(cfg), head },
                      ledgers: { store: readModel.kind, keyspace, checkpoint, lag: lagOf(head, checkpoint), parked },
                      checkpoints: { [REACTOR_SUBSCRIBER_ID]: { position: reactor ?? null, lag: lagOf(head, reactor ?? -1n) } },
                      workflows,
                    };
                    return { output, exitCode: parked.length > 0 ? exitCodes.problemFound : exitCodes.ok };
                  },
                ),
            ),
        );
      } finally {
        await redis?.quit().catch(() => undefined);
      }
    },
  },

  rebuild: {
    usage: 'rebuild',
    summary: 'replays every ledger into a fresh keyspace and switches readers over, while the service runs',
    async run({ config }) {
      const result = await rebuildWith(config());
      return { output: result, exitCode: result.parked.length > 0 ? exitCodes.problemFound : exitCodes.ok };
    },
  },

  'retry-parked': {
    usage: 'retry-parked',
    summary: 'after fixing their cause: rebuilds, so parked events are applied in order; lists those parked again',
    async run({ config }) {
      const cfg = config();
      const before = await using(
        () => openReadModel(cfg),
        async (readModel) => readModel.keyspace(await readModel.activeKeyspace()).parked(),
      );
      if (before.length === 0) return { output: { retried: 0, stillParked: [] } };
      const result = await rebuildWith(cfg);
      return {
        output: { retried: before.length, stillParked: result.parked, keyspace: result.keyspace, checkpoint: result.checkpoint },
        exitCode: result.parked.length > 0 ? exitCodes.problemFound : exitCodes.ok,
      };
    },
  },

  unpark: {
    usage: 'unpark <position | eventId>',
    summary: 'leaves one parked event out of the ledgers for good: its record goes and /health turns green',
    async run({ positionals, config }) {
      const id = positionals[0];
      if (!id) throw new AdminError('unpark needs the position or eventId of a parked event (see status)', exitCodes.usage);
      const cfg = config();
      return using(
        () => openReadModel(cfg),
        async (readModel) => {
          const ledgers = readModel.keyspace(await readModel.activeKeyspace());
          const parked = (await ledgers.parked()).find((event) => event.position === id || event.eventId === id);
          if (!parked || !(await ledgers.dismissParked(parked.position))) {
            throw new AdminError(`no parked event at position or with eventId ${id}`, exitCodes.notFound);
          }
          return { output: { unparked: parked } };
        },
      );
    },
  },

  verify: {
    usage: 'verify [--store <events.db file | esdb:// or postgres:// URL>]',
    summary: "checks the audit hash chain of every stream, offline (default: the configured store)",
    options: { store: { type: 'string' } },
    async run({ values, config }) {
      const target = values['store'];
      const open = (): EventStore | Promise<EventStore> => {
        if (typeof target !== 'string') return openEventStore(config());
        if (/^esdb(\+discover)?:\/\//.test(target)) return openEventStoreDb({ connectionString: target });
        if (/^postgres(ql)?:\/\//.test(target)) return openPostgresEventStore({ connectionString: target });
        if (!existsSync(target)) throw new AdminError(`no such event store file: ${target}`, exitCodes.notFound);
        return openSqliteEventStore({ path: target });
      };
      return using(open, async (store) => {
        const result = await store.verifyAll();
        return { output: result, exitCode: result.ok ? exitCodes.ok : exitCodes.problemFound };
      });
    },
  },

  token: {
    usage: 'token --unit <unitId> --role admin|supervisor|cadre|inspector [--user <id>] [--expires 12h]',
    summary: 'prints a bearer token signed with JWT_SECRET (outside production: the development secret in DATA_DIR)',
    options: { unit: { type: 'string' }, role: { type: 'string' }, user: { type: 'string' }, expires: { type: 'string', default: '12h' } },
    async run({ values, config, io }) {
      const unit = values['unit'];
      if (typeof unit !== 'string') throw new AdminError('--unit is required', exitCodes.usage);
      const role = roleSchema.safeParse(values['role']);
      if (!role.success) throw new AdminError(`--role must be one of ${roleSchema.options.join(', ')}`, exitCodes.usage);
      const cfg = config();
      if (!cfg.jwtSecret && cfg.jwtPublicKey) {
        throw new AdminError('JWT_PUBLIC_KEY is set: tokens come from your identity provider, not from here', exitCodes.failed);
      }
      const { jwtSecret } = await withJwtSecret(cfg);
      const user = typeof values['user'] === 'string' ? values['user'] : `${role.data}@${unit}`;
      const token = await signToken(jwtSecret, { userId: user, unitId: unit, role: role.data }, { expiresIn: String(values['expires']) });
      io.stdout(`${token}\n`);
      return { output: undefined };
    },
  },

  schedules: {
    usage: 'schedules list | schedules trigger <scheduleId>',
    summary: 'the review schedules (一月一研判, 每日一报) in Temporal: list them, or run one now',
    async run({ positionals, config }) {
      const [action, scheduleId] = positionals;
      if (action === 'list') {
        return withTemporal(config(), async (client) => {
          const schedules = [];
          for await (const schedule of client.schedule.list()) {
            schedules.push({
              scheduleId: schedule.scheduleId,
              paused: schedule.state.paused,
              nextActionTimes: schedule.info.nextActionTimes,
              recentActions: schedule.info.recentActions.map((a) => ({ takenAt: a.takenAt, workflowId: a.action.workflow.workflowId })),
            });
          }
          return { output: { schedules } };
        });
      }
      if (action === 'trigger') {
        if (!scheduleId) throw new AdminError('schedules trigger needs a scheduleId (see schedules list)', exitCodes.usage);
        return withTemporal(config(), async (client) => {
          const handle = client.schedule.getHandle(scheduleId);
          await handle.describe().catch((error: unknown) => {
            throw new AdminError(`no schedule ${scheduleId}: ${error instanceof Error ? error.message : String(error)}`, exitCodes.notFound);
          });
          await handle.trigger();
          return { output: { triggered: scheduleId } };
        });
      }
      throw new AdminError('schedules needs list or trigger <scheduleId>', exitCodes.usage);
    },
  },
};

async function rebuildWith(config: Config) {
  return using(
    () => openEventStore(config),
    (eventStore) => using(() => openReadModel(config), (readModel) => rebuildLedgers({ eventStore, readModel, logger: quietLogger })),
  );
}

const lagOf = (head: bigint, checkpoint: bigint): number => (head > checkpoint ? Number(head - checkpoint) : 0);

function helpText(name?: string): string {
  const command = name ? commands[name] : undefined;
  if (command) return `usage: npm run admin -- ${command.usage}\n\n${command.summary}\n`;
  const lines = Object.values(commands).map((c) => `  ${c.usage}\n      ${c.summary}`);
  const codes = Object.entries(exitCodes).map(([what, code]) => `${code} ${what}`).join(', ');
  return `usage: npm run admin -- <command> [--help]\n\n${lines.join('\n')}\n\nexit codes: ${codes}\n`;
}

/** Runs one command line; resolves to its exit code. */
export async function runAdmin(argv: readonly string[], io: AdminIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(helpText());
    return name ? exitCodes.ok : exitCodes.usage;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(json({ error: `unknown command ${name}` }) + helpText());
    return exitCodes.usage;
  }
  try {
    let parsed;
    try {
      parsed = parseArgs({ args: [...rest], options: { ...command.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true });
    } catch (error) {
      throw new AdminError(error instanceof Error ? error.message : String(error), exitCodes.usage);
    }
    if (parsed.values['help']) {
      io.stdout(helpText(name));
      return exitCodes.ok;
    }
    const outcome = await command.run({ values: parsed.values, positionals: parsed.positionals, config: () => loadConfig(io.env), io });
    if (outcome.output !== undefined) io.stdout(json(outcome.output));
    return outcome.exitCode ?? exitCodes.ok;
  } catch (error) {
    const exitCode = error instanceof AdminError ? error.exitCode : exitCodes.failed;
    io.stderr(json({ error: error instanceof Error ? error.message : String(error) }));
    if (exitCode === exitCodes.usage) io.stderr(helpText(name));
    return exitCode;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  loadDotEnv();
  // Files the commands create (a development secret, an empty store) are the operator's alone, as the service's.
  process.umask(0o077);
  process.exitCode = await runAdmin(process.argv.slice(2), {
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
}
