import type { Logger } from 'pino';
import type { RecordedEvent } from '../events/envelope.js';
import { decodeEvent } from '../events/registry.js';
import type { CheckpointStore } from './ports/checkpoints.js';
import type { EventStore, Subscription } from './ports/event-store.js';
import type { ClockDelivery, WorkflowEngine } from './ports/workflow-engine.js';

export interface ReactorDeps {
  store: EventStore;
  workflows: WorkflowEngine;
  checkpoints: CheckpointStore;
  logger: Logger;
  /** Name of this subscriber's checkpoint. Default `rectification-reactor`. */
  subscriberId?: string;
  /**
   * Problems with a delivery in flight at once (default `REACTOR_CONCURRENCY`). Events of one problem go one
   * delivery after another; those that queue up meanwhile go together in the next one.
   */
  concurrency?: number;
  /** Told how long each delivery the engine accepted took, in seconds (the metrics' histogram). */
  onDelivered?: (seconds: number) => void;
  /** Most events of one problem in one signal (default 100; a signal's payload is bounded). */
  maxBatch?: number;
  /** Most events read but not yet accepted by the engine (default 8 × concurrency), to bound memory. */
  maxBuffered?: number;
  /**
   * Least time between two checkpoint saves, in ms (default 100). A save is a durable write (an fsync
   * with SQLite, on the event loop); under load the checkpoint moves on every signal, and saving each
   * move would cost one write per event. Saving less often only moves the restart point back a little:
   * delivery is at least once and the clock drops what it has already seen.
   */
  checkpointIntervalMs?: number;
}

export interface Reactor {
  /** Stops reading, lets signals in flight finish (or gives up on them), saves the checkpoint. */
  stop(): Promise<void>;
  /** Position of the last event the workflow engine accepted, with every earlier one (for tests). */
  checkpoint(): bigint | undefined;
}

/** The reactor's checkpoint name when none is given (the admin command line reports it). */
export const REACTOR_SUBSCRIBER_ID = 'rectification-reactor';

/**
 * Problems with a delivery in flight when none is given. Each start or signal is a chain of the Temporal
 * server's writes, and a clock's step due now waits behind every write queued before it: on the dev server
 * (serial SQLite commits), 256 in flight left the steps of items falling due under load 9.6–11.8 s late, while
 * 16 started more clocks a second and left them 3.5–6.1 s late (`bench:soak`, docs/workflows.md). A cluster
 * that takes writes in parallel may start clocks faster with more (`REACTOR_CONCURRENCY`).
 */
export const REACTOR_CONCURRENCY = 16;

const problemPrefix = 'problem-';

/** The event as the clock needs it, its data upcast to the current schema (old ProblemFound had no policy). */
export function toClockDelivery(event: RecordedEvent): ClockDelivery {
  return {
    eventId: event.metadata.eventId,
    revision: event.revision,
    type: event.type,
    data: decodeEvent(event.type, event.metadata.schemaVersion, event.data).data,
    occurredAt: event.metadata.occurredAt,
    correlationId: event.metadata.correlationId,
  };
}

/**
 * Runs `run` at most once per `intervalMs`: the first request after a quiet spell runs at once, later
 * ones fold into one run at the end of the interval (or after the run in progress). `flush` runs what
 * was requested now and waits for it.
 */
function throttle(run: () => Promise<void>, intervalMs: number) {
  let lastRunAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let wanted = false;
  const fire = () => {
    timer = undefined;
    wanted = false;
    running = run().finally(() => {
      lastRunAt = Date.now();
      running = undefined;
      if (wanted) request();
    });
  };
  const request = () => {
    wanted = true;
    if (running || timer) return;
    const wait = lastRunAt + intervalMs - Date.now();
    if (wait > 0) timer = setTimeout(fire, wait);
    else fire();
  };
  return {
    request,
    async flush() {
      while (running || wanted) {
        clearTimeout(timer);
        timer = undefined;
        if (running) await running;
        else fire();
      }
    },
  };
}

/**
 * Forwards every clock-moving problem event to its item's clock (the workflow engine starts it if need be).
 *
 * Delivery is at least once: the checkpoint moves past an event only once the engine accepted it
 * and every earlier one, so a crash at any point replays from the last saved position and the
 * clock drops what it has already seen. Events of one problem are signalled strictly in order (those
 * that queued up behind a signal in flight go together in the next one); problems do not wait for
 * each other, and the checkpoint moves over the prefix that is finished.
 */
export async function startReactor(deps: ReactorDeps): Promise<Reactor> {
  const subscriberId = deps.subscriberId ?? REACTOR_SUBSCRIBER_ID;
  const concurrency = deps.concurrency ?? REACTOR_CONCURRENCY;
  const maxBatch = deps.maxBatch ?? 100;
  const maxBuffered = deps.maxBuffered ?? 8 * concurrency;
  const checkpointIntervalMs = deps.checkpointIntervalMs ?? 100;
  const log = deps.logger.child({ component: 'reactor', subscriberId });
  let committed = await deps.checkpoints.load(subscriberId);
  // Aborted when the reactor stops: it ends every wait for room in the engine, and every loop checks it.
  const stopped = new AbortController();
  const stopping = () => stopped.signal.aborted;

  let subscription: Subscription | undefined;
  const subscribe = (from: bigint | undefined) =>
    deps.store.subscribeToAll({
      ...(from !== undefined ? { fromCheckpoint: from } : {}),
      filter: { streamPrefixes: [problemPrefix], types: [...deps.workflows.clockEventTypes] },
    });
  log.info({ from: committed?.toString() ?? 'start' }, 'reactor started');

  interface Entry {
    event: RecordedEvent;
    done: boolean;
  }
  // Events read and not yet all accepted, in store order; the checkpoint advances over the finished prefix.
  const inFlight: Entry[] = [];
  // Per problem with a signal in flight: its events still to send, in stream order.
  const queues = new Map<string, Entry[]>();
  const running = new Set<Promise<void>>();
  // The one consumer waiting for room (Promise.race over every task in flight would add a reaction to
  // each of them for every event).
  let roomFreed: (() => void) | undefined;
  const wake = () => {
    const resolve = roomFreed;
    roomFreed = undefined;
    resolve?.();
  };
  let toSave: bigint | undefined;

  // One save per interval at most, of the newest position by then; stop() saves at once.
  const checkpointSaves = throttle(async () => {
    const position = toSave;
    if (position === undefined || position === committed) return;
    try {
      await deps.checkpoints.save(subscriberId, position);
      committed = position;
    } catch (err) {
      // The events stay signalled; only the restart point lags. Tried again on the next event.
      log.error({ err }, 'checkpoint not saved');
    }
  }, checkpointIntervalMs);

  const advance = () => {
    let moved = false;
    while (inFlight[0]?.done) {
      toSave = inFlight.shift()?.event.position;
      moved = true;
    }
    if (moved) {
      checkpointSaves.request();
      wake();
    }
  };

  const decoded = (event: RecordedEvent): ClockDelivery | undefined => {
    try {
      return toClockDelivery(event);
    } catch (err) {
      // An event that does not decode can never move a clock; retrying would stop every later one.
      log.error({ err, eventId: event.metadata.eventId, streamId: event.streamId }, 'problem event does not decode; skipped');
      return undefined;
    }
  };

  const signal = async (events: RecordedEvent[], problemId: string) => {
    const deliveries = events.map(decoded).filter((delivery) => delivery !== undefined);
    if (deliveries.length === 0) return;
    for (let attempt = 0; ; attempt++) {
      try {
        await deps.workflows.room?.(stopped.signal);
        if (stopping()) throw new Error('reactor stopped before the engine had room');
        const startedAt = performance.now();
        await deps.workflows.deliverToClock(problemId, deliveries);
        deps.onDelivered?.((performance.now() - startedAt) / 1000);
        return;
      } catch (err) {
        if (stopping()) throw err;
        const delay = Math.min(100 * 2 ** attempt, 5_000);
        log.warn({ err, eventIds: deliveries.map((d) => d.eventId), attempt, delay }, 'signal not accepted; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (stopping()) throw err;
      }
    }
  };

  // Sends the problem's queue, a batch at a time, until it is empty. A failed signal (only when
  // stopping) leaves its entries unfinished: the checkpoint stays before them.
  const drain = async (problemId: string, queue: Entry[]) => {
    try {
      while (queue.length > 0) {
        const batch = queue.splice(0, maxBatch);
        await signal(
          batch.map((entry) => entry.event),
          problemId,
        );
        for (const entry of batch) entry.done = true;
        advance();
      }
    } finally {
      queues.delete(problemId);
      wake();
    }
  };

  const consume = async (current: Subscription) => {
    for await (const event of current) {
      if (stopping()) break;
      if (!event.streamId.startsWith(problemPrefix)) continue;
      const problemId = event.streamId.slice(problemPrefix.length);
      // A problem already in flight takes the event into its queue; a new one needs a free slot.
      while (!stopping() && (inFlight.length >= maxBuffered || (!queues.has(problemId) && queues.size >= concurrency))) {
        await new Promise<void>((resolve) => (roomFreed = resolve));
      }
      if (stopping()) break;
      const entry: Entry = { event, done: false };
      inFlight.push(entry);
      const queue = queues.get(problemId);
      if (queue) {
        queue.push(entry);
        continue;
      }
      const fresh = [entry];
      queues.set(problemId, fresh);
      const task = drain(problemId, fresh).finally(() => running.delete(task));
      task.catch(() => undefined);
      running.add(task);
    }
  };

  const loop = (async () => {
    while (!stopping()) {
      try {
        subscription = subscribe(toSave ?? committed);
        await consume(subscription);
        if (!stopping()) throw new Error('subscription ended');
      } catch (err) {
        if (stopping()) break;
        log.error({ err }, 'reactor subscription failed; resubscribing from the checkpoint');
        await subscription?.close().catch(() => undefined);
        // Let what is in flight finish, then start over right after the last event fully signalled.
        await Promise.allSettled([...running]);
        inFlight.length = 0;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  })();

  return {
    checkpoint: () => committed,
    async stop() {
      stopped.abort();
      wake();
      await subscription?.close();
      await loop;
      await Promise.allSettled([...running]);
      await checkpointSaves.flush();
      log.info({ checkpoint: committed?.toString() }, 'reactor stopped');
    },
  };
}
