/**
 * Event store benchmark: the SQLite adapter through the port against bare better-sqlite3 on the same file
 * system in the same run. Prints one JSON object. `BENCH_EVENTS` sets the replay size (default 1,000,000).
 *
 *   npm run bench:store
 *   BENCH_EVENTS=100000 npm run bench:store
 */
import Database from 'better-sqlite3';
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DomainEvent, NewEvent } from '../events/envelope.js';
import { POLICY_V1 } from '../events/problem/policy.js';
import { decodeEvent } from '../events/registry.js';
import { householdDecider } from '../events/household/decider.js';
import { problemDecider } from '../events/problem/decider.js';
import { openSqliteEventStore } from '../infra/sqlite/event-store.js';
import { type EventStore, expected } from '../services/ports/event-store.js';

const REPLAY_EVENTS = Number(process.env.BENCH_EVENTS ?? 1_000_000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 1000);
const SINGLE_COMMANDS = Number(process.env.BENCH_SINGLE ?? 1500);
const CONCURRENT_COMMANDS = Number(process.env.BENCH_CONCURRENT ?? 12_800);
const WRITERS = 64;
const REPLAY_ROUNDS = Number(process.env.BENCH_REPLAY_ROUNDS ?? 2);

// ---------------------------------------------------------------------------------------------------
// Realistic events: problem lifecycles and household plans, with Chinese text, valid for the registry.

let seed = 42;
const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const hex64 = () => randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', '');
const villages = ['533423101201', '533423101202', '533423102203', '533422103204', '533401104205'];
const townships = ['533423101', '533423102', '533422103', '533401104'];
const descriptions = [
  '部分建档立卡户饮水安全保障不稳定，需落实供水管网维修',
  '易地扶贫搬迁安置点就业帮扶措施未落实到户',
  '义务教育阶段控辍保学台账不完整',
  '危房改造验收资料缺失，住房安全有保障认定依据不足',
  '产业扶持资金拨付滞后，合作社分红未按期兑现',
];

function metadata(): NewEvent['metadata'] {
  return {
    eventId: randomUUID(),
    occurredAt: '2026-04-30T10:15:00+08:00',
    actor: { userId: `cadre-${Math.floor(random() * 500)}`, unitId: pick(townships), role: 'cadre' },
    correlationId: randomUUID(),
    causationId: randomUUID(),
    schemaVersion: 1,
  };
}

const event = (type: string, data: unknown, schemaVersion = 1): NewEvent => ({
  type,
  data,
  metadata: { ...metadata(), schemaVersion },
});

function problemLife(id: number): NewEvent[] {
  const problemId = `P${id}`;
  const responsibleUnitId = pick(townships);
  const measures = 1 + Math.floor(random() * 3);
  const evidence = () => [{ kind: 'photo' as const, uri: `s3://evidence/${problemId}/${randomUUID()}.jpg`, sha256: hex64() }];
  const events: NewEvent[] = [
    event(
      'ProblemFound',
      {
        problemId,
        targetUnitId: pick(villages),
        responsibleUnitId,
        category: pick(['water', 'employment', 'education', 'housing', 'funds'] as const),
        source: pick(['inspection', 'audit', 'self_check'] as const),
        description: pick(descriptions),
        severity: pick(['low', 'medium', 'high'] as const),
        deadline: '2026-06-30T23:59:59+08:00',
        policy: POLICY_V1,
      },
      2,
    ),
    event('ProblemAcknowledged', { acknowledgedBy: { userId: 'cadre-1', unitId: responsibleUnitId } }),
  ];
  for (let m = 0; m < measures; m++) {
    events.push(
      event('MeasureAssigned', {
        measureId: `${problemId}-M${m}`,
        description: '落实村级供水管网维修，明确责任人和完成时限',
        assigneeUnitId: responsibleUnitId,
        deadline: '2026-06-15T23:59:59+08:00',
      }),
    );
  }
  for (let m = 0; m < measures; m++) {
    events.push(event('MeasureCompleted', { measureId: `${problemId}-M${m}`, evidence: evidence() }));
  }
  events.push(
    event('RectificationSubmitted', {
      summary: '整改措施已全部落实，群众满意度回访完成',
      evidence: evidence(),
      submittedBy: { userId: 'cadre-1', unitId: responsibleUnitId },
    }),
    event('ProblemCleared', { verifiedBy: { userId: 'supervisor-1', unitId: '533423' }, clearedAt: '2026-06-20T16:00:00+08:00' }),
  );
  return events;
}

function householdLife(id: number): NewEvent[] {
  const householdId = `H${id}`;
  const events: NewEvent[] = [
    event('HouseholdRegistered', { householdId, villageId: pick(villages), members: 1 + Math.floor(random() * 7), category: 'registered' }),
  ];
  for (let m = 0; m < 2; m++) {
    events.push(
      event('PlanMeasureAdded', {
        measureId: `${householdId}-PM${m}`,
        kind: pick(['industry', 'employment', 'education', 'housing'] as const),
        description: '发展核桃种植并提供劳务输出就业岗位',
        responsibleUnitId: pick(townships),
        deadline: '2026-06-30T23:59:59+08:00',
      }),
    );
    events.push(
      event('PlanMeasureCompleted', {
        measureId: `${householdId}-PM${m}`,
        evidence: [{ kind: 'record', uri: `s3://evidence/${householdId}/${m}.pdf`, sha256: hex64() }],
      }),
    );
  }
  events.push(
    event('HouseholdAssessed', { food: true, clothing: true, education: true, medical: true, housing: true, water: true, meetsStandard: true }),
  );
  return events;
}

/** Streams with their whole life, about 8 events each, until `total` events. */
function* lives(total: number): Generator<[string, NewEvent[]]> {
  let produced = 0;
  for (let i = 0; produced < total; i++) {
    const [streamId, events] = i % 3 === 2 ? [`household-H${i}`, householdLife(i)] : [`problem-P${i}`, problemLife(i)];
    const take = events.slice(0, total - produced);
    produced += take.length;
    yield [streamId, take];
  }
}

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
async function batchAppends(dir: string, batches: Array<[string, NewEvent[]]>) {
  const store = openSqliteEventStore({ path: join(dir, 'batch-port.db') });
  const db = openRaw(join(dir, 'batch-raw.db'));
  const insert = db.prepare(
    'INSERT INTO events (stream_id, revision, event_id, type, data, metadata) VALUES (?, ?, ?, ?, ?, ?)',
  );
  const rawWrite = db.transaction((streamId: string, events: NewEvent[]) => {
    events.forEach((e, revision) =>
      insert.run(streamId, revision, e.metadata.eventId, e.type, JSON.stringify(e.data), JSON.stringify(e.metadata)),
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

/** `writers` loops, each appending one event per command to its own stream with the exact revision. */
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
  return (perWriter * writers) / seconds(start);
}

async function seedReplayFile(path: string) {
  // Seeding is not measured; NORMAL only shortens it. The file format is the same.
  const store = openSqliteEventStore({ path, synchronous: 'NORMAL' });
  let pending: Promise<unknown>[] = [];
  for (const [streamId, events] of lives(REPLAY_EVENTS)) {
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

function inChild(kind: 'raw' | 'replay', path: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [kind, path], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
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
async function replay(path: string): Promise<Omit<ChildResult, 'peakRssMb'>> {
  const store = openSqliteEventStore({ path });
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

async function child(kind: string, path: string) {
  if (kind === 'seed') {
    // For profiling: `tsx bench/store.ts seed <file>` writes the replay file and stops.
    console.log(JSON.stringify({ seeded: String(await seedReplayFile(path)) }));
    return;
  }
  const result = kind === 'raw' ? rawRead(path) : await replay(path);
  const report: ChildResult = { ...result, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  // Run by hand (`tsx bench/store.ts replay <file>`) there is no parent to tell: print instead.
  if (process.send) {
    process.send(report);
    process.disconnect();
  } else {
    console.log(JSON.stringify(report));
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'duban-bench-store-'));
  try {
    const batches = Array.from({ length: BATCHES }, (_, b): [string, NewEvent[]] => {
      const events: NewEvent[] = [];
      while (events.length < 100) events.push(...problemLife(b * 1000 + events.length));
      return [`problem-batch-${b}`, events.slice(0, 100)];
    });
    const { appendBatchEps, rawBatchEps } = await batchAppends(dir, batches);

    const commandStore = openSqliteEventStore({ path: join(dir, 'commands.db') });
    const appendSingleEps = await appendCommands(commandStore, 1, SINGLE_COMMANDS, 'single');
    const appendConcurrentEps = await appendCommands(commandStore, WRITERS, CONCURRENT_COMMANDS, 'concurrent');
    await commandStore.close();

    const replayPath = join(dir, 'replay.db');
    const seedStart = process.hrtime.bigint();
    await seedReplayFile(replayPath);
    const seedSeconds = seconds(seedStart);
    const reads: ChildResult[] = [];
    const replays: ChildResult[] = [];
    for (let r = 0; r < REPLAY_ROUNDS; r++) {
      reads.push(await inChild('raw', replayPath));
      replays.push(await inChild('replay', replayPath));
    }
    const best = (results: ChildResult[]) => results.reduce((a, b) => (b.eps > a.eps ? b : a));
    const raw = best(reads);
    const replayed = { ...best(replays), peakRssMb: Math.max(...replays.map((r) => r.peakRssMb)) };
    if (replayed.events !== raw.events) throw new Error(`replayed ${replayed.events} events but ${raw.events} rows exist`);

    const result = {
      bench: 'store',
      file_system: dir,
      synchronous: 'FULL',
      append_batch_eps: round(appendBatchEps),
      raw_batch_eps: round(rawBatchEps),
      append_batch_ratio: +(appendBatchEps / rawBatchEps).toFixed(3),
      append_batch_ratio_target: 0.7,
      append_single_eps: round(appendSingleEps),
      append_concurrent_eps: round(appendConcurrentEps),
      concurrent_ratio: +(appendConcurrentEps / appendSingleEps).toFixed(2),
      concurrent_ratio_target: 5,
      replay_events: replayed.events,
      replay_streams: replayed.streams,
      replay_file_mb: Math.round(statSync(replayPath).size / 1048576),
      replay_eps: round(replayed.eps),
      raw_read_eps: round(raw.eps),
      replay_ratio: +(replayed.eps / raw.eps).toFixed(3),
      replay_ratio_target: 0.5,
      peak_rss_mb: Math.round(replayed.peakRssMb),
      raw_read_peak_rss_mb: Math.round(raw.peakRssMb),
      peak_rss_target_mb: 512,
      seed_seconds: +seedSeconds.toFixed(1),
      targets_met: {
        append_batch_ratio: appendBatchEps / rawBatchEps >= 0.7,
        concurrent_ratio: appendConcurrentEps / appendSingleEps >= 5,
        replay_ratio: replayed.eps / raw.eps >= 0.5,
        peak_rss: replayed.peakRssMb < 512,
      },
    };
    console.log(JSON.stringify(result));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [kind, path] = process.argv.slice(2);
if (kind && path) await child(kind, path);
else await main();
