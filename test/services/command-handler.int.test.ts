import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Decider } from '../../events/decider.js';
import { refuse } from '../../events/errors.js';
import type { ReminderIssued } from '../../events/problem/events.js';
import { openSqliteEventStore } from '../../infra/sqlite/event-store.js';
import { type EventMetadataFactory, handleCommand } from '../../services/command-handler.js';
import { type EventStore, expected, WrongExpectedVersionError } from '../../services/ports/event-store.js';

/** A small decider over a real registry event: it counts reminders and refuses a level it has seen. */
type Remind = { type: 'remind'; level: number; recipients?: string[] };
interface Reminders {
  levels: number[];
}
const reminders: Decider<Remind, ReminderIssued, Reminders, { now: string }> = {
  initialState: { levels: [] },
  evolve: (state, event) => ({ levels: [...state.levels, event.data.level] }),
  decide(command, state) {
    if (state.levels.includes(command.level)) throw refuse('test.repeat_level', `level ${command.level} already reminded`);
    return [{ type: 'ReminderIssued', data: { kind: 'overdue', level: command.level, recipients: command.recipients ?? ['533423'] } }];
  },
};

const metadata: EventMetadataFactory = () => ({
  eventId: randomUUID(),
  occurredAt: '2026-07-01T09:00:00+08:00',
  actor: { userId: 'system', unitId: '533400', role: 'system' },
  correlationId: 'corr',
  causationId: 'cmd',
});

describe('handleCommand', () => {
  let dir: string;
  let store: EventStore;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-handler-'));
    store = openSqliteEventStore({ path: join(dir, 'events.db') });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('given no stream, when a command is handled, then its events are appended with the registry schema version', async () => {
    const outcome = await handleCommand(store, 'problem-P1', reminders, { type: 'remind', level: 0 }, { now: '' }, metadata);
    expect(outcome).toMatchObject({ nextRevision: 0, state: { levels: [0] } });
    const [stored] = await store.readStream('problem-P1');
    expect(stored).toMatchObject({ type: 'ReminderIssued', data: { level: 0 }, metadata: { schemaVersion: 1 } });
    expect(outcome.position).toBe(stored!.position);
  });

  it('given history, when a command is refused by the decider, then nothing is appended and it is not retried', async () => {
    await handleCommand(store, 'problem-P1', reminders, { type: 'remind', level: 1 }, { now: '' }, metadata);
    await expect(
      handleCommand(store, 'problem-P1', reminders, { type: 'remind', level: 1 }, { now: '' }, metadata),
    ).rejects.toMatchObject({ rule: 'test.repeat_level' });
    expect(await store.readStream('problem-P1')).toHaveLength(1);
  });

  it('refuses event data the registry rejects, appending nothing', async () => {
    await expect(
      handleCommand(store, 'problem-P2', reminders, { type: 'remind', level: 0, recipients: [] }, { now: '' }, metadata),
    ).rejects.toMatchObject({ code: 'validation', rule: 'event.encode' });
    expect(await store.headPosition()).toBe(-1n);
  });

  it('given concurrent commands on one stream, then conflicts are retried and every command lands once, in order of revision', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, level) =>
        handleCommand(store, 'problem-P3', reminders, { type: 'remind', level }, { now: '' }, metadata, { maxRetries: 10 }),
      ),
    );
    const events = await store.readStream('problem-P3');
    expect(events.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(events.map((e) => (e.data as { level: number }).level).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(outcomes.map((o) => o.nextRevision).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives up after maxRetries version conflicts with the conflict error', async () => {
    const results = await Promise.allSettled(
      [0, 1].map((level) =>
        handleCommand(store, 'problem-P4', reminders, { type: 'remind', level }, { now: '' }, metadata, { maxRetries: 0 }),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason).toBeInstanceOf(WrongExpectedVersionError);
  });

  it('decodes stored events through the registry before evolving (a stored event that fails its schema is refused)', async () => {
    await store.append(
      'problem-P5',
      [{ type: 'ReminderIssued', data: { kind: 'overdue', level: 'high', recipients: ['x'] }, metadata: { ...metadata({ type: 'x', data: null }, 0), schemaVersion: 1 } }],
      expected.noStream,
    );
    await expect(
      handleCommand(store, 'problem-P5', reminders, { type: 'remind', level: 0 }, { now: '' }, metadata),
    ).rejects.toMatchObject({ rule: 'event.decode' });
  });
});
