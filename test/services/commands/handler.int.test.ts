import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Decider } from '../../../events/decider.js';
import type { Actor, RecordedEvent } from '../../../events/envelope.js';
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


/** Decides on the state before it: each reminder's level counts the reminders already on the stream. */
const stacked: StreamKind<Remind, ReminderIssued, Reminders> = {
  name: 'test',
  decider: {
    ...decider,
    decide(command, state) {
      return [{ type: 'ReminderIssued', data: { kind: 'overdue', level: command.level + state.levels.length, recipients: ['533423'] } }];
    },
  },
  unitsOfState: () => [],
};

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

  describe('given one stream\'s commands together (runAll)', () => {
    const seeded = (i: number, at = '2026-07-01T09:00:00.000+08:00') => ({ ...meta, eventIdSeed: `import/test/${i}`, at, causationId: 'import:corr' });
    const commands = [2, 0, 3, 1, 0].map((level) => ({ type: 'remind' as const, level }));
    /** What two runs may differ in: where and when the store put the event, and the hash chain over it. */
    const comparable = (events: RecordedEvent[]) =>
      events.map(({ type, data, revision, metadata: { recordedAt: _r, prevHash: _p, hash: _h, ...metadata } }) => ({ type, data, revision, metadata }));

    it('then the events (ids, types, data, metadata) are exactly those of the same commands sent one by one, from one read and one append', async () => {
      const h = handler();
      const one = [];
      for (const [i, command] of commands.entries()) one.push(await h.run(stacked, 'problem-B1', command, seeded(i)));
      const separate = comparable(await store.readStream('problem-B1'));

      const otherDir = await mkdtemp(join(tmpdir(), 'duban-handler-'));
      const other = openSqliteEventStore({ path: join(otherDir, 'events.db') });
      try {
        const calls = { append: 0, read: 0 };
        const counted: EventStore = {
          ...other,
          append: (...args) => (calls.append++, other.append(...args)),
          readStream: (...args) => (calls.read++, other.readStream(...args)),
        };
        const together = await createCommandHandler({ store: counted, hierarchy: createUnitHierarchy({ store: other }) }).runAll(
          stacked,
          'problem-B1',
          commands.map((command, i) => ({ command, meta: seeded(i) })),
        );
        expect(comparable(await other.readStream('problem-B1'))).toEqual(separate);
        expect(separate.map((e) => (e.data as { level: number }).level)).toEqual([2, 1, 5, 4, 4]);
        expect(calls).toEqual({ append: 1, read: 1 });
        expect(together.map(({ revision, events }) => ({ revision, events }))).toEqual(one.map(({ revision, events }) => ({ revision, events })));
      } finally {
        await other.close();
        await rm(otherDir, { recursive: true, force: true });
      }
    });

    it('when a command in the middle is refused, then the commands before it are appended, its error is thrown, and the ones after it are not run', async () => {
      const h = handler();
      const batch = [1, 2, 1, 3].map((level, i) => ({ command: { type: 'remind' as const, level }, meta: seeded(i) }));
      await expect(h.runAll(reminders, 'problem-B2', batch)).rejects.toMatchObject({ rule: 'test.repeat_level' });
      const stored = await store.readStream('problem-B2');
      expect(stored.map((e) => (e.data as { level: number }).level)).toEqual([1, 2]);
      expect(stored.map((e) => e.metadata.eventId)).toEqual([seededEventId('import/test/0', 0), seededEventId('import/test/1', 0)]);
      // Sent again (an import resumed after fixing its file), the appended commands are answered by their seeds.
      const again = await h.runAll(reminders, 'problem-B2', [batch[0]!, batch[1]!, batch[3]!]);
      expect(again.map((o) => o.events.map((e) => e.eventId))).toEqual([
        [seededEventId('import/test/0', 0)],
        [seededEventId('import/test/1', 0)],
        [seededEventId('import/test/3', 0)],
      ]);
      expect(await store.readStream('problem-B2')).toHaveLength(3);
    });

    it('when another writer appends between the read and the append, then the whole batch is read, decided and appended again', async () => {
      const rival = handler();
      const appends: number[] = [];
      let raced = false;
      const racing: EventStore = {
        ...store,
        async append(streamId, events, expectedRevision) {
          appends.push(events.length);
          if (!raced) {
            raced = true;
            await rival.run(stacked, streamId, { type: 'remind', level: 7 }, meta);
          }
          return store.append(streamId, events, expectedRevision);
        },
      };
      const h = createCommandHandler({ store: racing, hierarchy: createUnitHierarchy({ store }) });
      const outcomes = await h.runAll(stacked, 'problem-B3', commands.slice(0, 3).map((command, i) => ({ command, meta: seeded(i) })));
      const stored = await store.readStream('problem-B3');
      // The rival's event first; the batch decided again on the state that includes it.
      expect(stored.map((e) => (e.data as { level: number }).level)).toEqual([7, 3, 2, 6]);
      expect(appends).toEqual([3, 3]);
      expect(outcomes.map((o) => o.revision)).toEqual([1, 2, 3]);
    });

    describe('with what a dry run decided on the stream (checked)', () => {
      /** What a dry run finds: each command decided on the state the ones before it left, at `at`. */
      const dryRun = (kind: typeof stacked, state: Reminders, batch: readonly Remind[], revision: number) => {
        const events: ReminderIssued[][] = [];
        for (const command of batch) {
          const decided = kind.decider.decide(command, state, { now: seeded(0).at, actor, hierarchy: createUnitHierarchy({ store }).view });
          for (const e of decided) state = kind.decider.evolve(state, e);
          events.push(decided);
        }
        return { revision, events, state };
      };

      it('then the same events are appended without reading or deciding again, and the handler keeps the state they lead to', async () => {
        await handler().run(stacked, 'problem-C1', { type: 'remind', level: 1 }, meta);
        const batch = commands.slice(0, 3);
        const checked = dryRun(stacked, { levels: [1] }, batch, 0);
        const calls = { read: 0, decide: 0 };
        const counted: EventStore = { ...store, readStream: (...args) => (calls.read++, store.readStream(...args)) };
        const counting = { ...stacked, decider: { ...stacked.decider, decide: (...args: Parameters<typeof stacked.decider.decide>) => (calls.decide++, stacked.decider.decide(...args)) } };
        const h = createCommandHandler({ store: counted, hierarchy: createUnitHierarchy({ store }) });
        const outcomes = await h.runAll(counting, 'problem-C1', batch.map((command, i) => ({ command, meta: seeded(i) })), checked);
        expect(calls).toEqual({ read: 0, decide: 0 });
        const stored = await store.readStream('problem-C1');
        expect(stored.map((e) => (e.data as { level: number }).level)).toEqual([1, 3, 2, 6]);
        expect(stored.slice(1).map((e) => e.metadata)).toMatchObject(batch.map((_, i) => ({ eventId: seededEventId(`import/test/${i}`, 0), occurredAt: seeded(i).at, causationId: 'import:corr' })));
        expect(outcomes.map((o) => o.revision)).toEqual([1, 2, 3]);
        // The next command trusts the cached state: decided on four reminders, no read.
        await h.run(counting, 'problem-C1', { type: 'remind', level: 0 }, meta);
        expect(calls.read).toBe(0);
        expect((await store.readStream('problem-C1')).at(-1)!.data).toMatchObject({ level: 4 });
      });

      it('when the stream moved on since the dry run, then the append conflicts and the commands are read and decided again', async () => {
        await handler().run(stacked, 'problem-C2', { type: 'remind', level: 1 }, meta);
        const batch = commands.slice(0, 2);
        const checked = dryRun(stacked, { levels: [1] }, batch, 0);
        // Another writer, after the dry run.
        await handler().run(stacked, 'problem-C2', { type: 'remind', level: 7 }, meta);
        const outcomes = await handler().runAll(stacked, 'problem-C2', batch.map((command, i) => ({ command, meta: seeded(i) })), checked);
        const stored = await store.readStream('problem-C2');
        // Decided again on two reminders, not on the dry run's one.
        expect(stored.map((e) => (e.data as { level: number }).level)).toEqual([1, 8, 4, 3]);
        expect(outcomes.map((o) => o.revision)).toEqual([2, 3]);
      });
    });
  });
});
