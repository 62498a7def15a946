/**
 * Event store benchmark: the SQLite adapter through the port against bare better-sqlite3 on the same file
 * system in the same run, then the PostgreSQL adapter against bare `pg` on the same server. Prints one
 * JSON object (PostgreSQL's figures under `postgres`). `BENCH_EVENTS` sets the replay size (default
 * 1,000,000), `BENCH_STORES` which stores run (default `sqlite,postgres`); PostgreSQL is DATABASE_URL or
 * a server the bench starts itself (infra/postgres/provider.ts). `audit` (in BENCH_STORES by default) adds
 * the audit tree's costs under `audit`: batch appends with witnesses while the sealer runs in its thread
 * (as `npm start` runs it), sealing, proofs and full-log verification over `BENCH_AUDIT_EVENTS` events
 * (default 1,000,000).
 *
 *   npm run bench:store
 *   BENCH_EVENTS=100000 BENCH_STORES=postgres npm run bench:store
 */
import Database from 'better-sqlite3';
import { fork } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DomainEvent, NewEvent } from '../events/envelope.js';
import { decodeEvent } from '../events/registry.js';
import { householdDecider } from '../events/household/decider.js';
import { problemDecider } from '../events/problem/decider.js';
import pg from 'pg';
import { pino } from 'pino';
import { openPostgresEventStore, SCHEMA_SQL } from '../infra/postgres/event-store.js';
import { openSqliteAuditLog } from '../infra/sqlite/audit-log.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { auditKeyFromPem } from '../services/audit/digest.js';
import { startSealerThread } from '../services/audit/sealer-thread.js';
import { embeddedStores } from '../services/stores.js';
import { createAuditService } from '../services/audit/service.js';
import { witnessAppends } from '../services/audit/witness.js';
import { type EventStore, expected } from '../services/ports/event-store.js';
import { event, lives, pick, problemLife, random, townships } from './fixtures.js';
import { withScratchPostgres } from './scratch-postgres.js';

const REPLAY_EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 1000);
const SINGLE_COMMANDS = Number(process.env.BENCH_SINGLE ?? 1500);
const CONCURRENT_COMMANDS = Number(process.env.BENCH_CONCURRENT ?? 12_800);
const WRITERS = 64;
const REPLAY_ROUNDS = Number(process.env.BENCH_REPLAY_ROUNDS ?? 2);
const STORES = (process.env.BENCH_STORES ?? 'sqlite,postgres,audit').split(',');
const AUDIT_EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 1_000_000);

/** The deciders whose streams feed the ledgers, by stream prefix. */
interface Evolver {
  prefix: string;
  initialState: unknown;
  evolve(state: unknown, event: DomainEvent): unknown;
}
const asEvolver = <S, E extends DomainEvent>(prefix: string, d: { initialState: S; evolve(s: S, e: E): S }): Evolver => ({
  prefix,
  initialState: d.initialState,
  // The registry has validated the event against its type's schema, so it is one of the decider's events.
  evolve: (state, e) => d.evolve(state as S, e as E),
});
const ledgerEvolvers: Evolver[] = [asEvolver('problem-', problemDecider), asEvolver('household-', householdDecider)];

// ---------------------------------------------------------------------------------------------------
// Measurements.

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;
const round = (n: number) => Math.round(n);

/** A stand-in for a sha256 digest: the bare side hashes nothing but stores rows of the port's size. */
const DIGEST = 'f'.repeat(64);

/**
 * The metadata text of a stored row as the port writes it (envelope + recordedAt, prevHash and hash), so
 * both sides write the same number of bytes per row; without hashing or canonical ordering.
 */
function storedMetadata(e: NewEvent, revision: number, recordedAt: string): string {
  return JSON.stringify({ ...e.metadata, recordedAt, prevHash: revision === 0 ? null : DIGEST, hash: DIGEST });
}

function openRaw(path: string): Database.Database {
  // Exactly the adapter's schema and durability, without the adapter.
  const store = openSqliteEventStore({ path });
  void store.close();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  return db;
}

/**
 * Batches of 100 through the port and the same batches through bare statements, interleaved batch by
 * batch on two files of the same directory, so both sides see the same disk and the same neighbours.
 */
async function batchAppends(
  dir: string,
  batches: Array<[string, NewEvent[]]>,
  store: EventStore = openSqliteEventStore({ path: join(dir, 'batch-port.db') }),
) {
  const db = openRaw(join(dir, 'batch-raw.db'));
  const insert = db.prepare(
    'INSERT INTO events (stream_id, revision, event_id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const rawWrite = db.transaction((streamId: string, events: NewEvent[]) => {
    const recordedAt = new Date().toISOString();
    events.forEach((e, revision) =>
      insert.run(streamId, revision, e.metadata.eventId, e.type, JSON.stringify(e.data), storedMetadata(e, revision, recordedAt)),
    );
  });
  let portNs = 0n;
  let rawNs = 0n;
  for (const [i, [streamId, events]] of batches.entries()) {
    // Alternate which side goes first so neither always follows the other's fsync.
    const raw = () => {
      const start = process.hrtime.bigint();
      rawWrite.immediate(streamId, events);
      rawNs += process.hrtime.bigint() - start;
    };
    if (i % 2 === 0) raw();
    const start = process.hrtime.bigint();
    await store.append(streamId, events, expected.noStream);
    portNs += process.hrtime.bigint() - start;
    if (i % 2 === 1) raw();
  }
  await store.close();
  db.close();
  const events = batches.length * 100;
  return { appendBatchEps: events / (Number(portNs) / 1e9), rawBatchEps: events / (Number(rawNs) / 1e9) };
}

/** `writers` loops, each appending one event per command to its own stream with the exact revision; the seconds taken. */
async function appendCommands(store: EventStore, writers: number, commands: number, tag: string) {
  const perWriter = Math.ceil(commands / writers);
  const start = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        await store.append(
          `problem-${tag}-${w}`,
          [event('ReminderIssued', { kind: 'overdue', level: 0, recipients: [pick(townships)] })],
          i === 0 ? expected.noStream : expected.exact(i - 1),
        );
      }
    }),
  );
  return { events: perWriter * writers, seconds: seconds(start) };
}

const COMMAND_ROUNDS = 5;

/**
 * One writer against 64 on the same store, in rounds that alternate which goes first (each round on
 * fresh streams), so both sides see the same disk: fsync latency on a shared machine moves several-fold
 * within a minute, and measured one after the other the ratio followed it.
 */
async function commandAppends(store: EventStore) {
  const total = { single: { events: 0, seconds: 0 }, concurrent: { events: 0, seconds: 0 } };
  const add = (side: keyof typeof total, run: { events: number; seconds: number }) => {
    total[side].events += run.events;
    total[side].seconds += run.seconds;
  };
  for (let r = 0; r < COMMAND_ROUNDS; r++) {
    const single = async () => add('single', await appendCommands(store, 1, SINGLE_COMMANDS / COMMAND_ROUNDS, `single-${r}`));
    const concurrent = async () =>
      add('concurrent', await appendCommands(store, WRITERS, CONCURRENT_COMMANDS / COMMAND_ROUNDS, `concurrent-${r}`));
    if (r % 2 === 0) {
      await single();
      await concurrent();
    } else {
      await concurrent();
      await single();
    }
  }
  return {
    appendSingleEps: total.single.events / total.single.seconds,
    appendConcurrentEps: total.concurrent.events / total.concurrent.seconds,
  };
}

async function seedReplayFile(path: string) {
  // Seeding is not measured; NORMAL only shortens it. The file format is the same.
  return seedReplay(openSqliteEventStore({ path, synchronous: 'NORMAL' }));
}

async function seedReplay(store: EventStore, total = REPLAY_EVENTS) {
  let pending: Promise<unknown>[] = [];
  for (const [streamId, events] of lives(total)) {
    pending.push(store.append(streamId, events, expected.noStream));
    if (pending.length === 500) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  const head = await store.headPosition();
  await store.close();
  return head;
}

interface ChildResult {
  events: number;
  eps: number;
  peakRssMb: number;
  streams?: number;
}

type ChildKind = 'raw' | 'replay' | 'raw-pg' | 'replay-pg';

function inChild(kind: ChildKind, path: string, schema?: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = schema ? [kind, path, schema] : [kind, path];
    const child = fork(fileURLToPath(import.meta.url), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('message', (message) => resolve(message as ChildResult));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${kind} child exited with ${code}`))));
  });
}

/** Bare SELECT + JSON.parse of every row: the floor a replay cannot beat. */
function rawRead(path: string): Omit<ChildResult, 'peakRssMb'> {
  const db = new Database(path, { readonly: true });
  const rows = db.prepare('SELECT position, stream_id, revision, type, data, metadata FROM events ORDER BY position').raw(true);
  let events = 0;
  let checksum = 0;
  const start = process.hrtime.bigint();
  for (const row of rows.iterate() as IterableIterator<[number, string, number, string, string, string]>) {
    const data = JSON.parse(row[4]) as object;
    const meta = JSON.parse(row[5]) as { schemaVersion: number };
    checksum += meta.schemaVersion + (data ? 1 : 0);
    events++;
  }
  const eps = events / seconds(start);
  db.close();
  if (checksum === 0) throw new Error('nothing read');
  return { events, eps };
}

/** The port's readAll, each event decoded through the registry and folded by its stream's decider. */
async function replay(store: EventStore): Promise<Omit<ChildResult, 'peakRssMb'>> {
  const states = new Map<string, unknown>();
  let events = 0;
  const start = process.hrtime.bigint();
  for await (const recorded of store.readAll()) {
    const decoded: DomainEvent = decodeEvent(recorded.type, recorded.metadata.schemaVersion, recorded.data);
    const evolver = ledgerEvolvers.find((e) => recorded.streamId.startsWith(e.prefix));
    if (!evolver) throw new Error(`no decider for ${recorded.streamId}`);
    states.set(recorded.streamId, evolver.evolve(states.get(recorded.streamId) ?? evolver.initialState, decoded));
    events++;
  }
  const eps = events / seconds(start);
  await store.close();
  return { events, eps, streams: states.size };
}

/** Bare keyset-paged SELECT + JSON.parse of every row, pages of the adapter's size: PostgreSQL's floor. */
async function rawReadPostgres(url: string, schema: string): Promise<Omit<ChildResult, 'peakRssMb'>> {
  const client = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
  await client.connect();
  let events = 0;
  let checksum = 0;
  let after = '0';
  const start = process.hrtime.bigint();
  for (;;) {
    const { rows } = await client.query<[string, string, number, string, string, string]>({
      text: 'SELECT position, stream_id, revision, type, data, metadata FROM events WHERE position > $1 ORDER BY position LIMIT 1000',
      values: [after],
      rowMode: 'array',
      name: 'raw_page',
    });
    for (const row of rows) {
      const data = JSON.parse(row[4]) as object;
      const meta = JSON.parse(row[5]) as { schemaVersion: number };
      checksum += meta.schemaVersion + (data ? 1 : 0);
      events++;
    }
    if (rows.length < 1000) break;
    after = rows[rows.length - 1]![0];
  }
  const eps = events / seconds(start);
  await client.end();
  if (checksum === 0) throw new Error('nothing read');
  return { events, eps };
}

async function child(kind: string, path: string, schema = '') {
  if (kind === 'seed') {
    // For profiling: `tsx bench/store.ts seed <file>` writes the replay file and stops.
    console.log(JSON.stringify({ seeded: String(await seedReplayFile(path)) }));
    return;
  }
  const result =
    kind === 'raw'
      ? rawRead(path)
      : kind === 'raw-pg'
        ? await rawReadPostgres(path, schema)
        : kind === 'replay-pg'
          ? await replay(await openPostgresEventStore({ connectionString: path, schema }))
          : await replay(openSqliteEventStore({ path }));
  const report: ChildResult = { ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  // Run by hand (`tsx bench/store.ts replay <file>`) there is no parent to tell: print instead.
  if (process.send) {
    process.send(report);
    process.disconnect();
  } else {
    console.log(JSON.stringify(report));
  }
}

/** The same batches, single and concurrent commands, and replay, as for SQLite. */
function batchesOf100(): Array<[string, NewEvent[]]> {
  return Array.from({ length: BATCHES }, (_, b): [string, NewEvent[]] => {
    const events: NewEvent[] = [];
    while (events.length < 100) events.push(...problemLife(b * 1000 + events.length));
    return [`problem-batch-${b}`, events.slice(0, 100)];
  });
}

const best = (results: ChildResult[]) => results.reduce((a, b) => (b.eps > a.eps ? b : a));

async function replayRounds(raw: () => Promise<ChildResult>, port: () => Promise<ChildResult>) {
  const reads: ChildResult[] = [];
  const replays: ChildResult[] = [];
  for (let r = 0; r < REPLAY_ROUNDS; r++) {
    reads.push(await raw());
    replays.push(await port());
  }
  const rawBest = best(reads);
  const replayed = { ...best(replays), peakRssMb: Math.max(...replays.map((r) => r.peakRssMb)) };
  if (replayed.events !== rawBest.events) throw new Error(`replayed ${replayed.events} events but ${rawBest.events} rows exist`);
  return { raw: rawBest, replayed };
}

async function sqliteFigures() {
  const dir = mkdtempSync(join(tmpdir(), 'duban-bench-store-'));
  try {
    const { appendBatchEps, rawBatchEps } = await batchAppends(dir, batchesOf100());

    const commandStore = openSqliteEventStore({ path: join(dir, 'commands.db') });
    const { appendSingleEps, appendConcurrentEps } = await commandAppends(commandStore);
    await commandStore.close();

    const replayPath = join(dir, 'replay.db');
    const seedStart = process.hrtime.bigint();
    await seedReplayFile(replayPath);
    const seedSeconds = seconds(seedStart);
    const { raw, replayed } = await replayRounds(
      () => inChild('raw', replayPath),
      () => inChild('replay', replayPath),
    );

    return {
      bench: 'store',
      file_system: dir,
      synchronous: 'FULL',
      ...figures({ store: 'sqlite', appendBatchEps, rawBatchEps, appendSingleEps, appendConcurrentEps, raw, replayed, seedSeconds }),
      replay_file_mb: Math.round(statSync(replayPath).size / 1048576),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Group commit: SQLite ≥ 10× one writer (#14), PostgreSQL ≥ 5× (#11). */
const CONCURRENT_TARGET = { sqlite: 10, postgres: 5 } as const;

function figures(m: {
  store: keyof typeof CONCURRENT_TARGET;
  appendBatchEps: number;
  rawBatchEps: number;
  appendSingleEps: number;
  appendConcurrentEps: number;
  raw: ChildResult;
  replayed: ChildResult;
  seedSeconds: number;
}) {
  return {
    append_batch_eps: round(m.appendBatchEps),
    raw_batch_eps: round(m.rawBatchEps),
    append_batch_ratio: +(m.appendBatchEps / m.rawBatchEps).toFixed(3),
    append_batch_ratio_target: 0.7,
    append_single_eps: round(m.appendSingleEps),
    append_concurrent_eps: round(m.appendConcurrentEps),
    concurrent_ratio: +(m.appendConcurrentEps / m.appendSingleEps).toFixed(2),
    concurrent_ratio_target: CONCURRENT_TARGET[m.store],
    replay_events: m.replayed.events,
    replay_streams: m.replayed.streams,
    replay_eps: round(m.replayed.eps),
    raw_read_eps: round(m.raw.eps),
    replay_ratio: +(m.replayed.eps / m.raw.eps).toFixed(3),
    replay_ratio_target: 0.5,
    peak_rss_mb: Math.round(m.replayed.peakRssMb),
    raw_read_peak_rss_mb: Math.round(m.raw.peakRssMb),
    peak_rss_target_mb: 512,
    seed_seconds: +m.seedSeconds.toFixed(1),
    targets_met: {
      append_batch_ratio: m.appendBatchEps / m.rawBatchEps >= 0.7,
      concurrent_ratio: m.appendConcurrentEps / m.appendSingleEps >= CONCURRENT_TARGET[m.store],
      replay_ratio: m.replayed.eps / m.raw.eps >= 0.5,
      peak_rss: m.replayed.peakRssMb < 512,
    },
  };
}

/**
 * Batches of 100 through the port and the same rows through one bare multi-row INSERT (unnest) in one
 * transaction per batch, into the same schema on the same server, alternating batch by batch.
 */
async function batchAppendsPostgres(url: string, batches: Array<[string, NewEvent[]]>) {
  const store = await openPostgresEventStore({ connectionString: url, schema: 'bench_batch_port' });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE SCHEMA bench_batch_raw; SET search_path = bench_batch_raw');
  await client.query(SCHEMA_SQL);
  let position = 0;
  const rawWrite = async (streamId: string, events: NewEvent[]) => {
    const columns: unknown[][] = [[], [], [], [], [], [], []];
    const recordedAt = new Date().toISOString();
    events.forEach((e, revision) => {
      const values = [++position, streamId, revision, e.metadata.eventId, e.type, JSON.stringify(e.data), storedMetadata(e, revision, recordedAt)];
      values.forEach((v, c) => columns[c]!.push(v));
    });
    await client.query('BEGIN');
    await client.query({
      text: `INSERT INTO events (position, stream_id, revision, event_id, type, data, metadata)
             SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::text[], $7::text[])`,
      values: columns,
      name: 'raw_batch',
    });
    await client.query('COMMIT');
  };
  let portNs = 0n;
  let rawNs = 0n;
  for (const [i, [streamId, events]] of batches.entries()) {
    const raw = async () => {
      const start = process.hrtime.bigint();
      await rawWrite(streamId, events);
      rawNs += process.hrtime.bigint() - start;
    };
    if (i % 2 === 0) await raw();
    const start = process.hrtime.bigint();
    await store.append(streamId, events, expected.noStream);
    portNs += process.hrtime.bigint() - start;
    if (i % 2 === 1) await raw();
  }
  await store.close();
  await client.end();
  const events = batches.length * 100;
  return { appendBatchEps: events / (Number(portNs) / 1e9), rawBatchEps: events / (Number(rawNs) / 1e9) };
}

async function postgresFigures() {
  return withScratchPostgres('duban_bench', async ({ url, source, settings }) => {
    const { appendBatchEps, rawBatchEps } = await batchAppendsPostgres(url, batchesOf100());

    const commandStore = await openPostgresEventStore({ connectionString: url, schema: 'bench_commands' });
    const { appendSingleEps, appendConcurrentEps } = await commandAppends(commandStore);
    await commandStore.close();

    const seedStart = process.hrtime.bigint();
    await seedReplay(await openPostgresEventStore({ connectionString: url, schema: 'bench_replay' }));
    const seedSeconds = seconds(seedStart);
    const { raw, replayed } = await replayRounds(
      () => inChild('raw-pg', url, 'bench_replay'),
      () => inChild('replay-pg', url, 'bench_replay'),
    );
    return {
      server: source,
      ...(await settings()),
      ...figures({ store: 'postgres', appendBatchEps, rawBatchEps, appendSingleEps, appendConcurrentEps, raw, replayed, seedSeconds }),
    };
  });
}

/**
 * The audit tree's costs on SQLite: batch appends through the witnessing port while the sealer keeps the
 * tree in its own thread (against bare inserts, as append_batch_ratio), then sealing (on this thread, to
 * time it alone), proofs and a full-log verification over AUDIT_EVENTS events.
 */
async function auditFigures() {
  const dir = mkdtempSync(join(tmpdir(), 'duban-bench-audit-'));
  const signingKeyPem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const key = auditKeyFromPem(signingKeyPem);
  const audited = (name: string, synchronous: 'FULL' | 'NORMAL') => {
    const raw = openSqliteEventStore({ path: join(dir, `${name}.db`), synchronous });
    const log = openSqliteAuditLog(join(dir, `${name}-audit.db`));
    const audit = createAuditService({ store: raw, log, key, pollMs: 5, verifyIntervalMs: 0, digestEvery: 10_000 });
    const store = witnessAppends(raw, log, key.witnessKey, () => audit.appended());
    return { raw, log, audit, store: { ...store, close: async () => {} } as EventStore };
  };
  try {
    // As `npm start` runs it: the sealer in its own thread, on its own connections to both files.
    const batchLog = openSqliteAuditLog(join(dir, 'batch-audit.db'));
    const sealer = startSealerThread(
      {
        store: embeddedStores(dir, 'FULL'),
        auditDbFile: join(dir, 'batch-audit.db'),
        signingKeyPem,
        digestEvery: 10_000,
        digestIntervalMs: 600_000,
        logLevel: 'warn',
        role: 'bench',
        pollMs: 5,
        verifyIntervalMs: 0,
      },
      pino({ level: 'warn' }),
    );
    const batchStore = witnessAppends(openSqliteEventStore({ path: join(dir, 'events.db'), synchronous: 'FULL' }), batchLog, key.witnessKey, () => sealer.appended());
    const { appendBatchEps, rawBatchEps } = await batchAppends(dir, batchesOf100(), batchStore);
    await sealer.catchUp();
    await sealer.stop();
    batchLog.close();

    const big = audited('log', 'NORMAL');
    const seedStart = process.hrtime.bigint();
    await seedReplay(big.store, AUDIT_EVENTS);
    const seedSeconds = seconds(seedStart);
    const sealStart = process.hrtime.bigint();
    await big.audit.catchUp();
    const sealSeconds = seconds(sealStart);
    const size = big.log.treeSize();

    const samples = 1000;
    let proofBytes = 0;
    let proofHashes = 0;
    const proofStart = process.hrtime.bigint();
    for (let i = 0; i < samples; i++) {
      const leaf = big.log.leaves(Math.floor(random() * size), 1)[0]!;
      const proof = big.audit.inclusion(leaf.eventId, size);
      proofHashes += proof.proof.length;
      proofBytes += JSON.stringify(proof).length;
    }
    const inclusionUs = (seconds(proofStart) * 1e6) / samples;
    const consistencyStart = process.hrtime.bigint();
    const consistency = big.audit.consistency(Math.floor(size / 3), size);
    const consistencyUs = seconds(consistencyStart) * 1e6;

    const verifyStart = process.hrtime.bigint();
    const verification = await big.audit.verify({ wholeLog: true });
    const verifySeconds = seconds(verifyStart);
    if (!verification.ok) throw new Error(`the benchmark's own log does not verify: ${JSON.stringify(verification.breaks.slice(0, 3))}`);
    await big.raw.close();
    big.log.close();
    return {
      audit_append_batch_eps: round(appendBatchEps),
      audit_raw_batch_eps: round(rawBatchEps),
      audit_append_batch_ratio: +(appendBatchEps / rawBatchEps).toFixed(3),
      audit_append_batch_ratio_target: 0.7,
      audit_events: size,
      audit_seed_seconds: +seedSeconds.toFixed(1),
      audit_seal_eps: round(size / sealSeconds),
      audit_inclusion_proof_us: +inclusionUs.toFixed(1),
      audit_inclusion_proof_hashes: +(proofHashes / samples).toFixed(1),
      audit_inclusion_proof_json_bytes: round(proofBytes / samples),
      audit_consistency_proof_us: +consistencyUs.toFixed(1),
      audit_consistency_proof_hashes: consistency.proof.length,
      audit_verify_eps: round(size / verifySeconds),
      audit_file_mb: Math.round(statSync(join(dir, 'log-audit.db')).size / 1048576),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const sqlite = STORES.includes('sqlite') ? await sqliteFigures() : { bench: 'store' };
  const postgres = STORES.includes('postgres') ? await postgresFigures() : undefined;
  const audit = STORES.includes('audit') ? await auditFigures() : undefined;
  console.log(JSON.stringify({ ...sqlite, ...(postgres ? { postgres } : {}), ...(audit ? { audit } : {}) }));
}

const [kind, path, schema] = process.argv.slice(2);
if (kind && path) await child(kind, path, schema);
else await main();
