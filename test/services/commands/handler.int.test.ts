import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Decider } from '../../../events/decider.js';
import type { Actor } from '../../../events/envelope.js';
import { notDue, refuse } from '../../../events/errors.js';
import type { ReminderIssued } from '../../../events/problem/events.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { createCommandHandler, seededEventId, type StreamKind } from '../../../services/commands/handler.js';
import { createUnitHierarchy } from '../../../services/hierarchy.js';
import { type EventStore, expected, WrongExpectedVersionError } from '../../../services/ports/event-store.js';

/**
 * A small stream kind over a real registry event: it counts reminders, refuses a level it has seen, and
 * finds a reminder "not due" once level 9 was reached.
 */
type Remind = { type: 'remind'; level: number; recipients?: string[] };
interface Reminders {
  levels: number[];
}
const decider: Decider<Remind, ReminderIssued, Reminders> = {
  initialState: { levels: [] },
  evolve: (state, event) => ({ levels: [...state.levels, event.data.level] }),
  decide(command, state) {
    if (state.levels.includes(9)) throw notDue('test.not_due', 'the top was reached');
    if (state.levels.includes(command.level)) throw refuse('test.repeat_level', `level ${command.level} already reminded`);
    return [{ type: 'ReminderIssued', data: { kind: 'overdue', level: command.level, recipients: command.recipients ?? ['533423'] } }];
  },
};
const reminders: StreamKind<Remind, ReminderIssued, Reminders> = { name: 'test', decider, unitsOfState: () => [] };

const actor: Actor = { userId: 'system', unitId: '533400', role: 'system' };
const meta = { actor, correlationId: 'corr' };

describe('the command handler', () => {
  let dir: string;
  let store: EventStore;
  const handler = (options: { maxRetries?: number } = {}) =>
    createCommandHandler({ store, hierarchy: createUnitHierarchy({ store }), ...options });
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'duban-handler-'));
    store = openSqliteEventStore({ path: join(dir, 'events.db') });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('given no stream, when a command is handled, then its events are appended with the registry schema version, at the time asked', async () => {
    const at = '2026-07-01T09:00:00.000+08:00';
    const outcome = await handler().run(reminders, 'problem-P1', { type: 'remind', level: 0 }, { ...meta, at });
    const [stored] = await store.readStream('problem-P1');
    expect(stored).toMatchObject({
      type: 'ReminderIssued',
      data: { level: 0 },
      metadata: { schemaVersion: 1, occurredAt: at, correlationId: 'corr', causationId: 'corr' },
    });
    expect(outcome).toEqual({
      streamId: 'problem-P1',
      revision: 0,
      position: stored!.position.toString(),
      events: [{ eventId: stored!.metadata.eventId, type: 'ReminderIssued' }],
    });
  });

  it('given history, when a command is refused by the decider, then nothing is appended and it is not retried', async () => {
    const h = handler();
    await h.run(reminders, 'problem-P1', { type: 'remind', level: 1 }, meta);
    await expect(h.run(reminders, 'problem-P1', { type: 'remind', level: 1 }, meta)).rejects.toMatchObject({
      rule: 'test.repeat_level',
    });
    expect(await store.readStream('problem-P1')).toHaveLength(1);
  });

  it('refuses event data the registry rejects, appending nothing', async () => {
    await expect(
      handler().run(reminders, 'problem-P2', { type: 'remind', level: 0, recipients: [] }, meta),
    ).rejects.toMatchObject({ code: 'validation', rule: 'event.encode' });
    expect(await store.headPosition()).toBe(-1n);
  });

  it('given writers in two processes racing on one stream, then conflicts are retried and every command lands once', async () => {
    const [a, b] = [handler(), handler()];
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, (_, level) => (level % 2 ? a : b).run(reminders, 'problem-P3', { type: 'remind', level }, meta)),
    );
    const events = await store.readStream('problem-P3');
    expect(events.map((e) => e.revision)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(events.map((e) => (e.data as { level: number }).level).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(outcomes.map((o) => o.revision).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('gives up after maxRetries version conflicts with the conflict error', async () => {
    const [a, b] = [handler({ maxRetries: 0 }), handler({ maxRetries: 0 })];
    const results = await Promise.allSettled(
      [a, b].map((h, level) => h.run(reminders, 'problem-P4', { type: 'remind', level }, meta)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(failed.reason).toBeInstanceOf(WrongExpectedVersionError);
  });

  it('decodes stored events through the registry before evolving (a stored event that fails its schema is refused)', async () => {
    await store.append(
      'problem-P5',
      [
        {
          type: 'ReminderIssued',
          data: { kind: 'overdue', level: 'high', recipients: ['x'] },
          metadata: {
            eventId: seededEventId('bad', 0),
            occurredAt: '2026-07-01T09:00:00+08:00',
            actor,
            correlationId: 'c',
            causationId: 'c',
            schemaVersion: 1,
          },
        },
      ],
      expected.noStream,
    );
    await expect(handler().run(reminders, 'problem-P5', { type: 'remind', level: 0 }, meta)).rejects.toMatchObject({
      rule: 'event.decode',
    });
  });

  it('given an event id seed, when the same command is sent again (by another process), then nothing is appended and the first outcome is answered', async () => {
    const seeded = { ...meta, eventIdSeed: 'user-1 POST /v1/x key-1' };
    const first = await handler().run(reminders, 'problem-P6', { type: 'remind', level: 2 }, seeded);
    expect(first.events).toEqual([{ eventId: seededEventId(seeded.eventIdSeed, 0), type: 'ReminderIssued' }]);
    await handler().run(reminders, 'problem-P6', { type: 'remind', level: 3 }, meta);

    // The decider refuses the repeat (level 2 was reminded), yet the caller learns its command stands.
    const again = await handler().run(reminders, 'problem-P6', { type: 'remind', level: 2 }, seeded);
    expect(again).toEqual({ ...first, revision: 1 });
    expect(await store.readStream('problem-P6')).toHaveLength(2);
  });

  it('given a seeded command stored with its request fingerprint, when the seed comes back asking something else, then 422 whatever the decider says, and nothing is appended', async () => {
    const seeded = { ...meta, eventIdSeed: 'user-1 POST /v1/x key-2', requestFingerprint: 'fp-a' };
    const first = await handler().run(reminders, 'problem-P8', { type: 'remind', level: 2 }, seeded);
    const [stored] = await store.readStream('problem-P8');
    expect(stored!.metadata.requestFingerprint).toBe('fp-a');

    // Refused by the decider (level 2 again), decided anew with other data (level 4), or repeated exactly.
    const other = { ...seeded, requestFingerprint: 'fp-b' };
    for (const level of [2, 4]) {
      await expect(handler().run(reminders, 'problem-P8', { type: 'remind', level }, other)).rejects.toMatchObject({
        code: 'unprocessable',
        rule: 'http.idempotency_key_reused',
      });
    }
    expect(await handler().run(reminders, 'problem-P8', { type: 'remind', level: 2 }, seeded)).toEqual(first);
    // The same request deciding other data now (its clock moved on) still gets the first answer.
    expect(await handler().run(reminders, 'problem-P8', { type: 'remind', level: 5 }, seeded)).toEqual(first);
    expect(await store.readStream('problem-P8')).toHaveLength(1);
  });

  it('given a step the stream no longer justifies, then the outcome says "not due" with the rule, and nothing is appended', async () => {
    const h = handler();
    await h.run(reminders, 'problem-P7', { type: 'remind', level: 9 }, meta);
    const outcome = await h.run(reminders, 'problem-P7', { type: 'remind', level: 10 }, { ...meta, eventIdSeed: 'step' });
    expect(outcome).toEqual({
      streamId: 'problem-P7',
      revision: 0,
      position: null,
      events: [],
      notDue: { rule: 'test.not_due', message: 'the top was reached' },
    });
    expect(await store.readStream('problem-P7')).toHaveLength(1);
  });
});
