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
   * Signals in flight at once (events of one problem still go one after another). Default 256: each
   * signal-with-start waits on the Temporal server's persistence, which takes more of them together
   * (on the dev server with its SQLite file, 25/s at 32 in flight, 42/s at 256 and 72/s at 512, load ~20).
   */
  concurrency?: number;
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
 * Forwards every clock-moving problem event to its item's clock (the workflow engine starts it if need be).
 *
 * Delivery is at least once: the checkpoint moves past an event only once the engine accepted it
 * and every earlier one, so a crash at any point replays from the last saved position and the
 * clock drops what it has already seen. Events of one problem are signalled strictly in order.
 */
export async function startReactor(deps: ReactorDeps): Promise<Reactor> {
  const subscriberId = deps.subscriberId ?? REACTOR_SUBSCRIBER_ID;
  const concurrency = deps.concurrency ?? 256;
  const checkpointIntervalMs = deps.checkpointIntervalMs ?? 100;
  const log = deps.logger.child({ component: 'reactor', subscriberId });
  let committed = await deps.checkpoints.load(subscriberId);
  let stopping = false;

  let subscription: Subscription | undefined;
  const subscribe = (from: bigint | undefined) =>
    deps.store.subscribeToAll({
      ...(from !== undefined ? { fromCheckpoint: from } : {}),
      filter: { streamPrefixes: [problemPrefix], types: [...deps.workflows.clockEventTypes] },
    });
  log.info({ from: committed?.toString() ?? 'start' }, 'reactor started');

  // Events in flight, in store order; the checkpoint advances over the finished prefix.
  const inFlight: Array<{ position: bigint; done: boolean }> = [];
  const tailByProblem = new Map<string, Promise<void>>();
  const running = new Set<Promise<void>>();
  // The one consumer waiting for a free slot (Promise.race over every task in flight would add a
  // reaction to each of them for every event).
  let slotFreed: (() => void) | undefined;
  let saving: Promise<void> | undefined;
  let toSave: bigint | undefined;

  let lastSavedAt = 0;
  let pause: { timer: NodeJS.Timeout; end: () => void } | undefined;
  const saveCheckpoint = () => {
    if (saving) return;
    saving = (async () => {
      while (toSave !== undefined && toSave !== committed) {
        // One save per interval at most, of the newest position by then; stop() ends the wait at once.
        const wait = lastSavedAt + checkpointIntervalMs - Date.now();
        if (wait > 0 && !stopping) {
          await new Promise<void>((resolve) => {
            pause = { timer: setTimeout(resolve, wait), end: resolve };
          });
          pause = undefined;
        }
        const position = toSave;
        try {
          await deps.checkpoints.save(subscriberId, position);
          committed = position;
          lastSavedAt = Date.now();
        } catch (err) {
          // The events stay signalled; only the restart point lags. Try again on the next event.
          log.error({ err }, 'checkpoint not saved');
          break;
        }
      }
      saving = undefined;
    })();
  };

  const advance = () => {
    let moved = false;
    while (inFlight[0]?.done) {
      toSave = inFlight.shift()?.position;
      moved = true;
    }
    if (moved) saveCheckpoint();
  };

  const signal = async (event: RecordedEvent, problemId: string) => {
    let delivery: ClockDelivery;
    try {
      delivery = toClockDelivery(event);
    } catch (err) {
      // An event that does not decode can never move a clock; retrying would stop every later one.
      log.error({ err, eventId: event.metadata.eventId, streamId: event.streamId }, 'problem event does not decode; skipped');
      return;
    }
    for (let attempt = 0; ; attempt++) {
      try {
        await deps.workflows.deliverToClock(problemId, delivery);
        return;
      } catch (err) {
        if (stopping) throw err;
        const delay = Math.min(100 * 2 ** attempt, 5_000);
        log.warn({ err, eventId: event.metadata.eventId, attempt, delay }, 'signal not accepted; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (stopping) throw err;
      }
    }
  };

  const consume = async (current: Subscription) => {
    for await (const event of current) {
      if (stopping) break;
      if (!event.streamId.startsWith(problemPrefix)) continue;
      const problemId = event.streamId.slice(problemPrefix.length);
      while (running.size >= concurrency) await new Promise<void>((resolve) => (slotFreed = resolve));
      const entry = { position: event.position, done: false };
      inFlight.push(entry);
      const previous = tailByProblem.get(problemId) ?? Promise.resolve();
      const task: Promise<void> = previous
        .then(() => signal(event, problemId))
        .then(() => {
          entry.done = true;
          advance();
        })
        .finally(() => {
          running.delete(task);
          if (tailByProblem.get(problemId) === task) tailByProblem.delete(problemId);
          const wake = slotFreed;
          slotFreed = undefined;
          wake?.();
        });
      // A failed signal (only when stopping) leaves its entry unfinished: the checkpoint stays before it.
      task.catch(() => undefined);
      running.add(task);
      tailByProblem.set(problemId, task);
    }
  };

  const loop = (async () => {
    while (!stopping) {
      try {
        subscription = subscribe(toSave ?? committed);
        await consume(subscription);
        if (!stopping) throw new Error('subscription ended');
      } catch (err) {
        if (stopping) break;
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
      stopping = true;
      if (pause) {
        clearTimeout(pause.timer);
        pause.end();
      }
      await subscription?.close();
      await loop;
      await Promise.allSettled([...running]);
      await saving;
      saveCheckpoint();
      await saving;
      log.info({ checkpoint: committed?.toString() }, 'reactor stopped');
    },
  };
}
