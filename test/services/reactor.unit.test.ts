import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RecordedEvent } from '../../events/envelope.js';
import type { CheckpointStore } from '../../services/ports/checkpoints.js';
import type { EventStore, Subscription } from '../../services/ports/event-store.js';
import type { ClockDelivery, WorkflowEngine } from '../../services/ports/workflow-engine.js';
import { startReactor } from '../../services/reactor.js';
import { clockEventTypes } from '../../workflows/clock.js';

/** A subscription fed by the test: `push` hands the reactor one more event. */
function feed() {
  const waiting: Array<(result: IteratorResult<RecordedEvent>) => void> = [];
  const queued: RecordedEvent[] = [];
  let closed = false;
  const subscription: Subscription = {
    close: async () => {
      closed = true;
      for (const resolve of waiting.splice(0)) resolve({ done: true, value: undefined });
    },
    [Symbol.asyncIterator]: () => ({
      next: () =>
        new Promise<IteratorResult<RecordedEvent>>((resolve) => {
          const event = queued.shift();
          if (event) resolve({ done: false, value: event });
          else if (closed) resolve({ done: true, value: undefined });
          else waiting.push(resolve);
        }),
    }),
  };
  const push = (event: RecordedEvent) => {
    const resolve = waiting.shift();
    if (resolve) resolve({ done: false, value: event });
    else queued.push(event);
  };
  return { subscription, push };
}

let position = 0n;
const acknowledged = (problemId: string, revision: number): RecordedEvent => ({
  streamId: `problem-${problemId}`,
  revision,
  position: ++position,
  type: 'ProblemAcknowledged',
  data: { acknowledgedBy: { userId: 'u1', unitId: 'v1' } },
  metadata: {
    eventId: randomUUID(),
    occurredAt: '2026-12-02T10:00:00+08:00',
    recordedAt: '2026-12-02T10:00:00+08:00',
    actor: { userId: 'u1', unitId: 'v1', role: 'cadre' },
    correlationId: 'c1',
    causationId: 'c1',
    schemaVersion: 1,
    prevHash: null,
    hash: 'h',
  },
});

/** An engine whose every delivery waits until the test releases it. */
function heldEngine() {
  const calls: Array<{ problemId: string; revisions: number[]; release: () => void }> = [];
  const workflows: WorkflowEngine = {
    clockEventTypes,
    deliverToClock: (problemId: string, events: readonly ClockDelivery[]) =>
      new Promise<void>((release) => calls.push({ problemId, revisions: events.map((e) => e.revision), release })),
    upsertReviewSchedule: () => Promise.resolve('created'),
  };
  return { workflows, calls };
}

function memoryCheckpoints(): CheckpointStore & { saved: bigint[] } {
  const saved: bigint[] = [];
  return {
    saved,
    load: () => Promise.resolve(undefined),
    save: (_id, at) => {
      saved.push(at);
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(check()).toBe(true);
};

describe('reactor', () => {
  it('sends the events of a problem that queued behind a signal in flight in one signal, in order, without holding up other problems', async () => {
    const { subscription, push } = feed();
    const store = { subscribeToAll: () => subscription } as unknown as EventStore;
    const { workflows, calls } = heldEngine();
    const checkpoints = memoryCheckpoints();
    const reactor = await startReactor({ store, workflows, checkpoints, logger: pino({ level: 'silent' }), checkpointIntervalMs: 0 });

    const a0 = acknowledged('a', 0);
    push(a0);
    await until(() => calls.length === 1);
    const [a1, b0, a2] = [acknowledged('a', 1), acknowledged('b', 0), acknowledged('a', 2)];
    push(a1);
    push(b0);
    push(a2);
    // b does not wait for a; a's later events wait for its first signal.
    await until(() => calls.length === 2);
    expect(calls.map((c) => [c.problemId, c.revisions])).toEqual([
      ['a', [0]],
      ['b', [0]],
    ]);
    // b finishes first: the checkpoint stays before a's unfinished first event.
    calls[1]!.release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(checkpoints.saved).toEqual([]);

    calls[0]!.release();
    await until(() => calls.length === 3);
    expect(calls[2]).toMatchObject({ problemId: 'a', revisions: [1, 2] });
    // a0 is done, a1 is not: the checkpoint moves to a0 only, though b0 (after a1) is done.
    await until(() => checkpoints.saved.at(-1) === a0.position);
    calls[2]!.release();
    await until(() => checkpoints.saved.at(-1) === a2.position);

    await reactor.stop();
    expect(reactor.checkpoint()).toBe(a2.position);
  });

  it('stops while signals are refused, saving the checkpoint before the first event not accepted', async () => {
    const { subscription, push } = feed();
    const store = { subscribeToAll: () => subscription } as unknown as EventStore;
    const checkpoints = memoryCheckpoints();
    let refused = 0;
    const workflows: WorkflowEngine = {
      clockEventTypes,
      deliverToClock: (problemId: string) => (problemId === 'down' ? Promise.reject(new Error(`refused ${++refused}`)) : Promise.resolve()),
      upsertReviewSchedule: () => Promise.resolve('created'),
    };
    const delivered: number[] = [];
    const reactor = await startReactor({
      store,
      workflows,
      checkpoints,
      logger: pino({ level: 'silent' }),
      checkpointIntervalMs: 60_000,
      maxBuffered: 2,
      onDelivered: (seconds) => delivered.push(seconds),
    });
    const up = acknowledged('up', 0);
    push(up);
    await until(() => reactor.checkpoint() === up.position);
    push(acknowledged('down', 0));
    push(acknowledged('down', 1));
    push(acknowledged('later', 0));
    await until(() => refused > 0);
    await reactor.stop();
    expect(reactor.checkpoint()).toBe(up.position);
    // Only the accepted delivery is timed: a refused one is not a delivery time.
    expect(delivered).toHaveLength(1);
    expect(delivered[0]).toBeGreaterThanOrEqual(0);
  });
});
