import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { Actor, NewEvent, RecordedEvent } from '../../events/envelope.js';
import { problemDecider } from '../../events/problem/decider.js';
import { problemStreamId, type ProblemCommand, type ProblemEvent } from '../../events/problem/index.js';
import type { EscalationPolicy } from '../../events/problem/policy.js';
import { decodeEvent, encodeEvent } from '../../events/registry.js';
import { formatInstant } from '../../events/time.js';
import { decideUnit, evolveUnit, initialUnitState, type UnitLevel } from '../../events/unit/index.js';
import { hierarchyFromUnits } from '../../events/unit/hierarchy.js';
import { unitStreamId } from '../../events/unit/events.js';
import { createSqliteCheckpointStore } from '../../infra/sqlite/checkpoints.js';
import { openSqliteEventStore } from '../../infra/sqlite/event-store.js';
import { createRedisNotifier } from '../../infra/notifier/redis.js';
import type { TemporalConnectionSettings } from '../../infra/temporal/connection.js';
import type { Notification } from '../../services/ports/notifier.js';
import { expected, StreamNotFoundError, type EventStore } from '../../services/ports/event-store.js';
import { bundleWorkflows } from '../../workflows/worker.js';

/**
 * What a workflow test needs around Temporal: a real SQLite event store in a temp file, its checkpoint
 * table, a Redis notifier on a channel of its own with a subscriber recording what arrives, and a small
 * command runner that decides with the real problem decider (as the HTTP layer would).
 */
export interface World {
  dir: string;
  storePath: string;
  channel: string;
  store: EventStore;
  checkpoints: ReturnType<typeof createSqliteCheckpointStore>;
  notifier: ReturnType<typeof createRedisNotifier>;
  notifications: Notification[];
  logger: pino.Logger;
  close(): Promise<void>;
}

export async function openWorld(redisUrl: string): Promise<World> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'duban-wf-'));
  const storePath = path.join(dir, 'events.db');
  const store = openSqliteEventStore({ path: storePath });
  const checkpoints = createSqliteCheckpointStore({ path: storePath });
  const channel = `duban:test:${randomUUID()}`;
  const publisher = new Redis(redisUrl);
  const subscriber = new Redis(redisUrl);
  const notifications: Notification[] = [];
  subscriber.on('message', (_channel: string, message: string) => {
    notifications.push(JSON.parse(message) as Notification);
  });
  await subscriber.subscribe(channel);
  const logger = pino({ level: process.env['LOG_LEVEL'] ?? 'warn' });
  return {
    dir,
    storePath,
    channel,
    store,
    checkpoints,
    notifier: createRedisNotifier({ redis: publisher, channel }),
    notifications,
    logger,
    async close() {
      await checkpoints.close();
      await store.close();
      subscriber.disconnect();
      publisher.disconnect();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const units = {
  prefecture: { unitId: '533400', name: '迪庆藏族自治州', level: 'prefecture' as UnitLevel, parentId: null },
  county: { unitId: '533423', name: '维西傈僳族自治县', level: 'county' as UnitLevel, parentId: '533400' },
  township: { unitId: '533423101', name: '塔城镇', level: 'township' as UnitLevel, parentId: '533423' },
  village: { unitId: '533423101201', name: '启别村', level: 'village' as UnitLevel, parentId: '533423101' },
};

export const admin: Actor = { userId: 'admin-1', unitId: units.prefecture.unitId, role: 'admin' };
export const supervisor: Actor = { userId: 'sup-1', unitId: units.county.unitId, role: 'supervisor' };
export const cadre: Actor = { userId: 'cadre-1', unitId: units.village.unitId, role: 'cadre' };
export const inspector: Actor = { userId: 'insp-1', unitId: units.prefecture.unitId, role: 'inspector' };

const allUnits = Object.values(units);
export const hierarchy = hierarchyFromUnits(allUnits);

function newEvent(type: string, data: unknown, actor: Actor, now: string): NewEvent {
  const encoded = encodeEvent(type as Parameters<typeof encodeEvent>[0], data);
  return {
    type: encoded.type,
    data: encoded.data,
    metadata: {
      eventId: randomUUID(),
      occurredAt: now,
      actor,
      correlationId: randomUUID(),
      causationId: randomUUID(),
      schemaVersion: encoded.schemaVersion,
    },
  };
}

export async function registerUnits(store: EventStore, now: string): Promise<void> {
  for (const u of allUnits) {
    const events = decideUnit({ type: 'registerUnit', ...u }, initialUnitState, {
      now,
      actor: admin,
      hierarchy: hierarchyFromUnits(allUnits.filter((x) => x !== u)),
    });
    evolveUnit(initialUnitState, events[0]!);
    await store.append(
      unitStreamId(u.unitId),
      events.map((e) => newEvent(e.type, e.data, admin, now)),
      expected.noStream,
    );
  }
}

export async function readProblem(store: EventStore, problemId: string): Promise<RecordedEvent[]> {
  try {
    return await store.readStream(problemStreamId(problemId));
  } catch (err) {
    if (err instanceof StreamNotFoundError) return [];
    throw err;
  }
}

/** Decides a problem command with the real decider and appends its events (what the API would do). */
export async function runCommand(store: EventStore, command: ProblemCommand, actor: Actor, now: string) {
  const stored = await readProblem(store, command.problemId);
  let state = problemDecider.initialState;
  for (const e of stored) {
    state = problemDecider.evolve(state, decodeEvent(e.type, e.metadata.schemaVersion, e.data) as ProblemEvent);
  }
  const events = problemDecider.decide(command, state, { now, actor, hierarchy });
  await store.append(
    problemStreamId(command.problemId),
    events.map((e) => newEvent(e.type, e.data, actor, now)),
    stored.length === 0 ? expected.noStream : expected.exact(stored.length - 1),
  );
  return events;
}

/** The tests' usual finding: a medium housing problem in the village, found by inspection, due at `deadline`. */
export function findProblemCommand(problemId: string, deadline: string): ProblemCommand {
  return {
    type: 'findProblem',
    problemId,
    targetUnitId: units.village.unitId,
    responsibleUnitId: units.village.unitId,
    category: 'housing',
    source: 'inspection',
    description: '危房改造未完成',
    severity: 'medium',
    deadline,
    policy: testPolicy,
  };
}

/** The ladder policy of the tests: acknowledge in 2 days, blue at 3 and 1 days, escalate every 3 days. */
export const testPolicy: EscalationPolicy = {
  version: 1,
  timeZone: 'Asia/Shanghai',
  acknowledgeWithin: 'P2D',
  reminderOffsets: ['P3D', 'P1D'],
  escalationInterval: 'P3D',
  repeatReminderEvery: 'P5D',
  topLevel: 'prefecture',
  severityOverrides: {},
};

export const DAY = 24 * 3600 * 1000;
export const HOUR = 3600 * 1000;

/** Polls until `check` returns a value (real time), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The clock's own events of a problem stream, as (type, data, occurredAt ms) for exact comparison. */
export function clockRecords(events: RecordedEvent[]) {
  return events
    .filter((e) => ['ReminderIssued', 'ProblemEscalated', 'WarningColourChanged'].includes(e.type))
    .map((e) => ({ type: e.type, data: e.data, at: Date.parse(e.metadata.occurredAt) }));
}

/**
 * What a test of the reactor and the worker on one task queue needs: the workflow bundle, a worker's connection to
 * the dev server and a client on it, and a SQLite event store holding the units with its checkpoint table, in a
 * temp folder. `close` closes what it opened and removes the folder.
 */
export async function openEngineWorld(settings: TemporalConnectionSettings, name: string) {
  const [bundle, connection] = await Promise.all([bundleWorkflows(), NativeConnection.connect(settings.worker)]);
  const client = new Client({ connection, namespace: settings.namespace });
  const dir = await mkdtemp(path.join(os.tmpdir(), `duban-${name}-`));
  const storePath = path.join(dir, 'events.db');
  const store = openSqliteEventStore({ path: storePath });
  const checkpoints = createSqliteCheckpointStore({ path: storePath });
  await registerUnits(store, formatInstant(Date.now(), 'Asia/Shanghai'));
  return {
    bundle,
    connection,
    client,
    store,
    checkpoints,
    async close() {
      await checkpoints.close();
      await store.close();
      await connection.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
