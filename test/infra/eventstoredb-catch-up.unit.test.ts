import { Transform, type TransformCallback } from 'node:stream';
import type { AllStreamResolvedEvent, AllStreamSubscription } from '@eventstore/db-client';
import { describe, expect, it } from 'vitest';
import { untilCaughtUp } from '../../infra/eventstoredb/event-store.js';

type Message = { event: number } | 'caughtUp';

/**
 * The client's subscription as far as the read depends on it: an object-mode Transform whose transform
 * emits `caughtUp` when it meets the server's caught-up message and pushes events otherwise.
 */
function fakeSubscription() {
  let unsubscribed = false;
  const stream = new Transform({
    objectMode: true,
    transform(message: Message, _encoding: string, next: TransformCallback) {
      if (message === 'caughtUp') {
        this.emit('caughtUp');
        return next();
      }
      next(null, { event: { position: { commit: BigInt(message.event), prepare: BigInt(message.event) } }, n: message.event });
    },
  });
  Object.assign(stream, {
    unsubscribe: async () => {
      unsubscribed = true;
    },
  });
  return { subscription: stream as unknown as AllStreamSubscription, stream, unsubscribed: () => unsubscribed };
}

const numbers = async (read: AsyncIterable<AllStreamResolvedEvent>) => {
  const out: number[] = [];
  for await (const resolved of read) out.push((resolved as unknown as { n: number }).n);
  return out;
};

describe('EventStoreDB: a filtered read ended where the subscription caught up', () => {
  it('delivers every event sent before the caught-up message, even when they arrive in one burst with it, and nothing after', async () => {
    const { subscription, stream, unsubscribed } = fakeSubscription();
    const reading = numbers(untilCaughtUp(subscription));
    // More than the readable buffer holds (16 objects), then caught up, then live events.
    for (let i = 0; i < 40; i++) stream.write({ event: i });
    stream.write('caughtUp');
    for (let i = 40; i < 45; i++) stream.write({ event: i });
    expect(await reading).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(unsubscribed()).toBe(true);
  });

  it('ends when caught up while it waits for an event, and when caught up with nothing to read', async () => {
    const a = fakeSubscription();
    const reading = numbers(untilCaughtUp(a.subscription));
    a.stream.write({ event: 1 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    a.stream.write('caughtUp');
    expect(await reading).toEqual([1]);

    const b = fakeSubscription();
    const empty = numbers(untilCaughtUp(b.subscription));
    b.stream.write('caughtUp');
    expect(await empty).toEqual([]);
  });

  it('given a slow reader, then events buffered before caught up are still delivered', async () => {
    const { subscription, stream } = fakeSubscription();
    const got: number[] = [];
    const reading = (async () => {
      for await (const resolved of untilCaughtUp(subscription)) {
        got.push((resolved as unknown as { n: number }).n);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    for (let i = 0; i < 20; i++) stream.write({ event: i });
    stream.write('caughtUp');
    stream.write({ event: 99 });
    await reading;
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });
});
