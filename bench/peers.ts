/**
 * Duban's event stores against the nearest peer, Emmett, on the same work in the same process run:
 * `BENCH_PEER_STREAMS` (default 1,500) problem streams of 6 events, appended one stream per call (each
 * call waits for its commit, as a command handler does), then every stream read back. Duban appends
 * through the port (envelope validation, canonical JSON, the hash chain, synchronous=FULL on SQLite);
 * Emmett through `appendToStream` with the same events (type, data, metadata). Each figure is
 * Duban / Emmett in events per second, sides alternating round by round (`BENCH_PEER_ROUNDS`, default 2,
 * best round of each side). Prints one JSON object.
 *
 * Emmett is not a dependency of Duban: its SQLite and PostgreSQL packages need different versions of
 * Emmett's core, so each lives in its own small package under bench/peers/, installed there on first use
 * (`npm ci`; the sqlite3 addon is built against the system's libsqlite3 and Node headers).
 *
 *   npm run bench:peers
 *   BENCH_PEERS=sqlite BENCH_PEER_STREAMS=300 npm run bench:peers
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NewEvent } from '../events/envelope.js';
import { openPostgresEventStore } from '../infra/postgres/event-store.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { type EventStore, expected } from '../services/ports/event-store.js';
import { problemLife } from './fixtures.js';
import { withScratchPostgres } from './scratch-postgres.js';

const STREAMS = Number(process.env.BENCH_PEER_STREAMS ?? 1500);
const EVENTS_PER_STREAM = 6;
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 2);
const ENGINES = (process.env.BENCH_PEERS ?? 'sqlite,postgresql').split(',');

/** What the benchmark uses of Emmett's event store (the same on both engines). */
interface EmmettStore {
  appendToStream(streamName: string, events: NewEvent[], options?: { expectedStreamVersion?: unknown }): Promise<unknown>;
  readStream(streamName: string): Promise<{ events: unknown[] }>;
  close?: () => Promise<void>;
}

/** Emmett's package of one engine, installed into bench/peers/<engine> when it is not there yet. */
function peerPackage(engine: 'sqlite' | 'postgresql'): NodeRequire {
  const folder = fileURLToPath(new URL(`./peers/${engine}/`, import.meta.url));
  if (!existsSync(join(folder, 'node_modules', '@event-driven-io', `emmett-${engine}`))) {
    console.error(`[bench:peers] installing Emmett for ${engine} into ${folder} (once)`);
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
      cwd: folder,
      stdio: ['ignore', 'inherit', 'inherit'],
      // sqlite3 is a native addon: built against this Node's headers and the system's SQLite.
      env: { ...process.env, npm_config_nodedir: process.env['npm_config_nodedir'] ?? '/usr', npm_config_sqlite: '/usr' },
    });
  }
  return createRequire(join(folder, 'package.json'));
}

/** The work: 6 events of a problem's life per stream, fresh ids each round. */
function streams(tag: string): Array<[string, NewEvent[]]> {
  return Array.from({ length: STREAMS }, (_, i): [string, NewEvent[]] => [
    `problem-${tag}-${i}`,
    problemLife(i).slice(0, EVENTS_PER_STREAM),
  ]);
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

interface Side {
  append(streamId: string, events: NewEvent[]): Promise<unknown>;
  read(streamId: string): Promise<number>;
}

async function measure(side: Side, work: Array<[string, NewEvent[]]>) {
  let start = process.hrtime.bigint();
  for (const [streamId, events] of work) await side.append(streamId, events);
  const appendEps = (work.length * EVENTS_PER_STREAM) / seconds(start);
  let read = 0;
  start = process.hrtime.bigint();
  for (const [streamId] of work) read += await side.read(streamId);
  const readEps = read / seconds(start);
  if (read !== work.length * EVENTS_PER_STREAM) throw new Error(`read ${read} events back, appended ${work.length * EVENTS_PER_STREAM}`);
  return { appendEps, readEps };
}

const dubanSide = (store: EventStore): Side => ({
  append: (streamId, events) => store.append(streamId, events, expected.noStream),
  read: async (streamId) => (await store.readStream(streamId)).length,
});

/** Appends Emmett refused with SQLITE_BUSY and that were tried again (counted in its time). */
let emmettRetries = 0;

function emmettSide(store: EmmettStore, noStream: unknown): Side {
  return {
    async append(streamId, events) {
      // Emmett-SQLite opens a connection per call; under load a COMMIT sometimes meets SQLITE_BUSY and the
      // transaction is rolled back. It is tried again, as a caller would, in the measured time.
      for (let attempt = 1; ; attempt++) {
        try {
          return await store.appendToStream(streamId, events, { expectedStreamVersion: noStream });
        } catch (error) {
          if ((error as { code?: unknown }).code !== 'SQLITE_BUSY' || attempt === 5) throw error;
          emmettRetries++;
        }
      }
    },
    read: async (streamId) => (await store.readStream(streamId)).events.length,
  };
}

/** Rounds alternating which side goes first; the best round of each side. */
async function compare(duban: Side, emmett: Side) {
  const d: Array<{ appendEps: number; readEps: number }> = [];
  const e: Array<{ appendEps: number; readEps: number }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2 === 0) {
      d.push(await measure(duban, streams(`duban${round}`)));
      e.push(await measure(emmett, streams(`emmett${round}`)));
    } else {
      e.push(await measure(emmett, streams(`emmett${round}`)));
      d.push(await measure(duban, streams(`duban${round}`)));
    }
  }
  const retries = emmettRetries;
  emmettRetries = 0;
  const best = (rs: typeof d, k: 'appendEps' | 'readEps') => Math.max(...rs.map((r) => r[k]));
  return {
    duban_append_eps: Math.round(best(d, 'appendEps')),
    emmett_append_eps: Math.round(best(e, 'appendEps')),
    duban_read_eps: Math.round(best(d, 'readEps')),
    emmett_read_eps: Math.round(best(e, 'readEps')),
    append: +(best(d, 'appendEps') / best(e, 'appendEps')).toFixed(2),
    read: +(best(d, 'readEps') / best(e, 'readEps')).toFixed(2),
    emmett_busy_retries: retries,
  };
}

async function sqlite() {
  const require = peerPackage('sqlite');
  const emmett = require('@event-driven-io/emmett-sqlite') as {
    getSQLiteEventStore(options: { fileName: string; schema?: { autoMigration?: string } }): EmmettStore;
  };
  const { STREAM_DOES_NOT_EXIST } = require('@event-driven-io/emmett') as { STREAM_DOES_NOT_EXIST: unknown };
  const dir = mkdtempSync(join(tmpdir(), 'duban-bench-peers-'));
  try {
    const duban = openSqliteEventStore({ path: join(dir, 'duban.db') });
    const peer = emmett.getSQLiteEventStore({ fileName: join(dir, 'emmett.db'), schema: { autoMigration: 'CreateOrUpdate' } });
    const r = await compare(dubanSide(duban), emmettSide(peer, STREAM_DOES_NOT_EXIST));
    await duban.close();
    await peer.close?.();
    return {
      sqlite: { duban_synchronous: 'FULL', emmett_package: '@event-driven-io/emmett-sqlite@0.38.5 (sqlite3, WAL, default synchronous)', ...r },
      append_vs_emmett_sqlite: r.append,
      read_vs_emmett_sqlite: r.read,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function postgresql() {
  const require = peerPackage('postgresql');
  const emmett = require('@event-driven-io/emmett-postgresql') as { getPostgreSQLEventStore(url: string): EmmettStore };
  const { STREAM_DOES_NOT_EXIST } = require('@event-driven-io/emmett') as { STREAM_DOES_NOT_EXIST: unknown };
  // Emmett's pools are dumbo's, shared per connection string and counted per user; its close() only counts one
  // user off, so the pool stayed open with idle clients, and dropping the scratch database terminated them: an
  // 'error' on a pool with no listener, which ended the bench (2 runs of 5 on a quiet machine). Its own helper
  // ends them.
  const dumbo = createRequire(require.resolve('@event-driven-io/emmett-postgresql'))('@event-driven-io/dumbo') as {
    endAllPools(): Promise<unknown>;
  };
  const r = await withScratchPostgres('duban_peers', async ({ url, source, settings }) => {
    const duban = await openPostgresEventStore({ connectionString: url, schema: 'duban_peers' });
    const peer = emmett.getPostgreSQLEventStore(url);
    let figures: Awaited<ReturnType<typeof compare>>;
    try {
      figures = await compare(dubanSide(duban), emmettSide(peer, STREAM_DOES_NOT_EXIST));
    } finally {
      // Before the scratch database is dropped, whether the comparison finished or threw.
      await duban.close();
      await peer.close?.();
      await dumbo.endAllPools();
    }
    return { server: source, ...(await settings()), emmett_package: '@event-driven-io/emmett-postgresql@0.42.0', ...figures };
  });
  if ('skipped' in r) return { postgresql: r };
  return { postgresql: r, append_vs_emmett_postgresql: r.append, read_vs_emmett_postgresql: r.read };
}

// Emmett logs the errors it rethrows (console.log): to stderr, so stdout stays one JSON object.
const print = console.log.bind(console);
console.log = console.error.bind(console);
const started = process.hrtime.bigint();
const result = {
  bench: 'peers',
  streams: STREAMS,
  events_per_stream: EVENTS_PER_STREAM,
  rounds: ROUNDS,
  ...(ENGINES.includes('sqlite') ? await sqlite() : {}),
  ...(ENGINES.includes('postgresql') ? await postgresql() : {}),
  target: 1.0,
  seconds: +seconds(started).toFixed(1),
  load_average: (await import('node:os')).loadavg().map((l) => +l.toFixed(2)),
};
print(JSON.stringify(result));
