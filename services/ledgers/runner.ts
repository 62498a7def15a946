import { pino, type Logger } from 'pino';
import type { RecordedEvent } from '../../events/envelope.js';
import { eventsBehind, type EventStore, type Subscription } from '../ports/event-store.js';
import type { KeyspaceWriter, ParkedEvent, ReadModelStore, RowWrite } from '../ports/read-model.js';
import { decodeRecorded } from './decode.js';
import { auditLinkBreak } from './link-check.js';
import { applyEvent, createLedgerState, createSnapshotWriter, type Dirty, type LedgerState, mergeDirty, recordedAtUtc, skipEvent } from './state.js';

export interface ProjectionDeps {
  eventStore: EventStore;
  readModel: ReadModelStore;
  logger?: Logger;
  /** Events per atomic commit at most (default 5,000). */
  batchSize?: number;
  /** A batch is committed once the stream has paused this long (default 25 ms). */
  flushIntervalMs?: number;
  /** …or once it has been open this long while events kept coming (default 1,000 ms). */
  maxBatchMs?: number;
  /** Events between snapshots of the projection state used by inspections (default 10,000). */
  snapshotEvery?: number;
  /**
   * Every how many snapshots one holds every row (default 5); the others are deltas, holding the rows changed
   * since the snapshot before, so snapshots lie close together at a small cost in time and space.
   */
  fullSnapshotEvery?: number;
  /** Pause before restarting after a failure (default 500 ms). */
  retryDelayMs?: number;
  /** How long a replaced keyspace stays readable after a rebuild switched over (default 5 s). */
  dropGraceMs?: number;
}

export interface ProjectionStatus {
  running: boolean;
  keyspace: number | null;
  /** Position of the last event committed to the read model. */
  checkpoint: string;
  /** Newest position in the event store, as last polled. */
  head: string;
  /** Events after the checkpoint, as of the last poll (counted by the store where positions are not event numbers). */
  lag: number;
  /** Poison events parked since the keyspace was built. */
  parked: number;
  /** The newest parked events (up to 20) with their reasons. */
  recentParked: ParkedEvent[];
  lastError: string | null;
  restarts: number;
  rebuilding: { keyspace: number; checkpoint: string } | null;
}

export interface Projections {
  stop(): Promise<void>;
  status(): ProjectionStatus;
  /** Rebuilds every ledger from position zero into a fresh keyspace, then switches readers over to it. */
  rebuild(): Promise<{ keyspace: number; checkpoint: string }>;
  /** Resolves once the live keyspace has committed `position` (default: the store's head now). */
  caughtUp(position?: bigint): Promise<void>;
}

const TIMEOUT = Symbol('timeout');
const YIELD_EVERY = 500;
const LINKS_KEPT = 200_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Keeps one keyspace up to date: a catch-up subscription from the keyspace's checkpoint, events applied to
 * an in-memory copy of the ledgers, and every batch of changed rows committed together with the new
 * checkpoint. After any failure it throws its memory away and starts again from what was committed, so an
 * event is never skipped and never applied twice.
 */
class ProjectionLoop {
  checkpoint = -1n;
  parkedTotal = 0;
  recentParked: ParkedEvent[] = [];
  lastError: string | null = null;
  restarts = 0;
  private stopped = false;
  /** Why the running session must give up (set from outside by verifyStored). */
  private abandoned: string | null = null;
  private stopSignal: () => void = () => {};
  private readonly stopping = new Promise<void>((resolve) => (this.stopSignal = resolve));
  private subscription: Subscription | null = null;
  private running: Promise<void> | null = null;
  private sinceSnapshot = 0;
  /** Stream id -> hash of the last event seen, to check each link against its predecessor. */
  private readonly links = new Map<string, string>();

  constructor(
    readonly keyspace: KeyspaceWriter,
    private readonly deps: Required<Omit<ProjectionDeps, 'logger'>> & { logger: Logger },
    /** A rebuild's fresh keyspace, which no reader reads before it is activated (see `building`). */
    private readonly fresh = false,
  ) {}

  start(): void {
    this.running = this.run();
  }

  /** Parked records as stored: an operator may have dismissed some from another process. */
  async refreshParked(): Promise<void> {
    const parked = await this.keyspace.parked();
    this.parkedTotal = parked.length;
    this.recentParked = parked.slice(-20);
  }

  /**
   * The store's checkpoint behind what this loop committed means the store lost data (Redis restarted
   * empty while the loop was idle): the session is given up and the next one rebuilds from what is stored.
   */
  async verifyStored(): Promise<void> {
    const subscription = this.subscription;
    if (!subscription) return;
    const committed = this.checkpoint;
    const stored = await this.keyspace.checkpoint();
    if (stored >= committed || this.subscription !== subscription) return;
    this.abandoned = `the read model's checkpoint went back from ${committed} to ${stored} (its store lost data); rebuilding from there`;
    await subscription.close().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopSignal();
    await this.subscription?.close().catch(() => undefined);
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.session();
      } catch (error) {
        this.restarts++;
        this.lastError = error instanceof Error ? error.message : String(error);
        this.deps.logger.error({ err: error, keyspace: this.keyspace.id }, 'projection failed; restarting from the stored checkpoint');
        await Promise.race([sleep(this.deps.retryDelayMs), this.stopping]);
      }
    }
  }

  private async session(): Promise<void> {
    this.abandoned = null;
    const state = await loadState(this.keyspace);
    this.checkpoint = state.position;
    // The checkpoint the store holds before the next commit: a store that lost data refuses the commit.
    let previous = state.position;
    // A session replays from the stored checkpoint: links seen by a failed one are ahead of it.
    this.links.clear();
    const parked = await this.keyspace.parked();
    this.parkedTotal = parked.length;
    this.recentParked = parked.slice(-20);
    if (this.stopped) return;
    // The store's head as a rebuild's keyspace starts from nothing (see `building`).
    const buildTo = this.fresh && state.position < 0n ? await this.deps.eventStore.headPosition() : -1n;

    const subscription = this.deps.eventStore.subscribeToAll(state.position >= 0n ? { fromCheckpoint: state.position } : {});
    this.subscription = subscription;
    const events = subscription[Symbol.asyncIterator]();
    // Rejects when a commit fails, so an idle loop (no more events to flush behind it) fails the session now
    // instead of waiting with a batch its store never took.
    let failSession: (error: unknown) => void = () => {};
    let commitBroken = false;
    const commitFailed = new Promise<never>((_, reject) => (failSession = (error) => ((commitBroken = true), reject(error))));
    commitFailed.catch(() => undefined);
    const stopped = Promise.race([this.stopping, commitFailed]).then(() => ({ done: true as const, value: undefined }));
    // The rows changed since the last snapshot or flush (what applyEvent writes into), and the open batch's
    // rows up to then: a snapshot moves the first into the second, so the delta it writes names exactly the
    // rows changed since the snapshot before, however large the batch has grown.
    let dirty: Dirty = new Map();
    let batch: Dirty = new Map();
    let batchParked: ParkedEvent[] = [];
    let pending = 0;
    // A rebuild's fresh keyspace keeps one batch open up to the store's head as of the start, or the stream's
    // first pause before it, whatever batchSize and maxBatchMs say: no reader sees it before it is activated,
    // and each row is written once into empty tables instead of once per batch that touches it again
    // (docs/ledgers.md). A failure on the way commits what was applied, as always. The live keyspace, which
    // readers read as it catches up, commits batch by batch.
    let building = buildTo >= 0n;
    // The previous batch's commit; the next batch is applied in memory while it travels to the store.
    let inFlight: Promise<void> | null = null;
    // Copies the rows the previous snapshot wrote and that no event changed since, instead of writing them again.
    const snapshots = createSnapshotWriter();
    // The last snapshot taken in this session (the first is a full one: what changed before it is not known),
    // the deltas since the last full one, and the rows changed since the last snapshot, for the next delta.
    let lastSnapshot: bigint | null = null;
    let deltas = 0;
    let fullNext = false;
    let saving: Promise<void> = Promise.resolve();
    const changed = new Map<string, RowWrite>();
    const settle = () => {
      for (const [key, write] of dirty) changed.set(key, write);
      mergeDirty(batch, dirty);
      dirty = new Map();
    };
    const takeSnapshot = () => {
      settle();
      const full = lastSnapshot === null || fullNext || deltas + 1 >= this.deps.fullSnapshotEvery;
      const bytes = full ? snapshots.write(state) : snapshots.writeDelta(state, changed.values(), lastSnapshot!);
      deltas = full ? 0 : deltas + 1;
      fullNext = false;
      lastSnapshot = state.position;
      changed.clear();
      return bytes;
    };

    const flush = async () => {
      if (pending === 0) return;
      const position = state.position;
      const parked = batchParked;
      settle();
      const writes = [...batch.values()];
      // Each row written once as JSON, for the store and for the snapshots; units always now, since their
      // counters change in place after this commit. A rebuild's one batch leaves the other rows' JSON to the
      // store, written as it sends them (rows are replaced, never changed): held all at once, with the
      // snapshots' copies, the 127,441 rows of 1M events raised the peak by 150 MB.
      for (const write of writes) {
        if (write.row === null) continue;
        if (write.collection === 'unit') write.doc = JSON.stringify(write.row);
        else if (!building) write.doc = snapshots.textOf(write.row);
      }
      batch = new Map();
      batchParked = [];
      pending = 0;
      building = false;
      const after = previous;
      previous = position;
      // Commits stay in order, and a failed one fails the session before anything later is committed.
      if (inFlight) await inFlight;
      const commit = this.keyspace.commit({ writes, parked, checkpoint: position, previous: after }).then(async () => {
        this.checkpoint = position;
        if (parked.length > 0) {
          this.parkedTotal += parked.length;
          this.recentParked = [...this.recentParked, ...parked].slice(-20);
        }
      });
      commit.catch(failSession);
      inFlight = commit;
    };

    try {
      let next = events.next();
      // Created once per batch (not once per event, which would pile up handlers on long-lived promises):
      // resolves when a partial batch has waited flushIntervalMs for more events, or on stop; rejects when a
      // commit failed.
      let wake: Promise<typeof TIMEOUT> | null = null;
      // A catch-up (a rebuild, a restart behind) keeps its batch open while events keep coming, so a row
      // that many events change is written once per batch, not once per page read (a rebuild of 266,821
      // events: 54 commits and 224,645 rows, against 120 and 260,277 when a batch ended at the first page
      // read after flushIntervalMs).
      let openedAt = 0;
      let arrived = 0;
      const arm = () => {
        arrived = 0;
        wake = Promise.race([sleep(this.deps.flushIntervalMs), this.stopping, commitFailed]).then((): typeof TIMEOUT => TIMEOUT);
      };
      let sinceYield = 0;
      const flushNow = async () => {
        wake = null;
        await flush();
      };
      while (!this.stopped) {
        const result: IteratorResult<RecordedEvent> | typeof TIMEOUT = await Promise.race<IteratorResult<RecordedEvent> | typeof TIMEOUT>(
          wake ? [next, wake] : [next, stopped],
        );
        if (result === TIMEOUT) {
          if (arrived > 0 && !this.stopped && (building || performance.now() - openedAt < this.deps.maxBatchMs)) arm();
          else await flushNow();
          continue;
        }
        if (result.done) break;
        next = events.next();
        this.apply(state, result.value, dirty, batchParked);
        pending++;
        arrived++;
        if (!wake) {
          openedAt = performance.now();
          arm();
        }
        // A snapshot every snapshotEvery events wherever the batch ends, so an inspection replays at most that
        // many events whatever the batches' sizes. It is saved at once, before its batch is committed: it is
        // the state the events made (an inspection reads it with the events, never with the rows), and one
        // session after a failure takes the same state at the same position again.
        if (++this.sinceSnapshot >= this.deps.snapshotEvery) {
          this.sinceSnapshot = 0;
          const recordedAt = recordedAtUtc(state);
          if (recordedAt !== null) {
            // One save in flight while the next events are applied; its outcome decides whether this one is full.
            await saving;
            // A snapshot only speeds up inspections; failing to write one must not stop the ledgers. The deltas
            // over it are then of no use (inspections skip them), so the next snapshot is a full one.
            saving = this.keyspace.saveSnapshot({ position: state.position, recordedAt, state: takeSnapshot() }).catch((error: unknown) => {
              fullNext = true;
              this.deps.logger.warn({ err: error }, 'snapshot not saved');
            });
          }
        }
        if (building ? state.position >= buildTo : pending >= this.deps.batchSize) await flushNow();
        // A catch-up delivers events as microtasks; give timers and I/O (an HTTP server in the same
        // process, the health poll) their turn now and then, and commit a batch open for maxBatchMs (its
        // age is read here, not at every event).
        if (++sinceYield >= YIELD_EVERY) {
          sinceYield = 0;
          if (!building && pending > 0 && performance.now() - openedAt >= this.deps.maxBatchMs) await flushNow();
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      if (this.abandoned) throw new Error(this.abandoned);
      await flush();
      await inFlight;
    } catch (error) {
      // The event store failed while a batch was open (a lost connection, a stopped server): what was
      // applied is whole up to state.position, so it is committed before restarting, and the ledgers hold
      // every event read before the outage instead of going without them until the store returns.
      if (!commitBroken && !this.abandoned) {
        try {
          await flush();
          await inFlight;
        } catch (commitError) {
          this.deps.logger.warn({ err: commitError }, 'the open batch was not committed either');
        }
      }
      throw error;
    } finally {
      await saving;
      this.subscription = null;
      await subscription.close().catch(() => undefined);
    }
  }

  private apply(state: LedgerState, raw: RecordedEvent, dirty: Dirty, parked: ParkedEvent[]): void {
    try {
      // An event whose audit link does not verify is parked, never turned into ledger state.
      const broken = auditLinkBreak(raw, this.links.get(raw.streamId));
      if (this.links.size >= LINKS_KEPT) this.links.clear();
      if (typeof raw.metadata?.hash === 'string') this.links.set(raw.streamId, raw.metadata.hash);
      if (broken) throw new Error(broken);
      applyEvent(state, decodeRecorded(raw), dirty);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const record: ParkedEvent = {
        position: raw.position.toString(),
        streamId: raw.streamId,
        revision: raw.revision,
        type: raw.type,
        eventId: typeof raw.metadata?.eventId === 'string' ? raw.metadata.eventId : null,
        reason,
        parkedAt: new Date().toISOString(),
      };
      parked.push(record);
      this.deps.logger.error({ parked: record }, 'poison event parked');
      skipEvent(state, { position: raw.position, recordedAt: raw.metadata?.recordedAt });
    }
  }
}

/** The keyspace's rows, read back into memory, as of its checkpoint. */
export async function loadState(keyspace: KeyspaceWriter): Promise<LedgerState> {
  const state = createLedgerState();
  state.position = await keyspace.checkpoint();
  for await (const write of keyspace.scanAll()) {
    if (write.row !== null) (state.rows[write.collection] as Map<string, unknown>).set(write.key, write.row);
  }
  return state;
}

export const projectionDefaults = {
  batchSize: 5000,
  flushIntervalMs: 25,
  maxBatchMs: 1000,
  snapshotEvery: 10_000,
  fullSnapshotEvery: 5,
  retryDelayMs: 500,
  dropGraceMs: 5000,
};

const settingsOf = (deps: ProjectionDeps) => ({
  ...projectionDefaults,
  ...Object.fromEntries(Object.entries(deps).filter(([, v]) => v !== undefined)),
  eventStore: deps.eventStore,
  readModel: deps.readModel,
  logger: deps.logger ?? pino({ name: 'ledgers' }),
});

async function waitFor(predicate: () => boolean, stopped: () => boolean = () => false): Promise<void> {
  while (!predicate()) {
    if (stopped()) throw new Error('projections stopped');
    await sleep(10);
  }
}

/**
 * A rebuild from a process that runs no projections (`npm run admin -- rebuild`): every ledger replayed
 * into a fresh keyspace up to the store's head, which is then activated. A running projector follows the
 * activation within a second (it polls the active keyspace) and carries on from the fresh checkpoint, so
 * readers never see a half-built ledger; in that second they may see it that far behind. The replaced
 * keyspace is dropped after the grace period, for readers that resolved it just before the switch.
 */
export async function rebuildLedgers(
  deps: ProjectionDeps,
): Promise<{ keyspace: number; replaced: number; checkpoint: string; parked: ParkedEvent[] }> {
  const settings = settingsOf(deps);
  const replaced = await deps.readModel.activeKeyspace();
  const fresh = new ProjectionLoop(await deps.readModel.createKeyspace(), settings, true);
  fresh.start();
  try {
    const target = await deps.eventStore.headPosition();
    await waitFor(() => fresh.checkpoint >= target);
  } finally {
    await fresh.stop();
  }
  await deps.readModel.activate(fresh.keyspace.id);
  settings.logger.info({ keyspace: fresh.keyspace.id, replaced, checkpoint: fresh.checkpoint.toString() }, 'ledgers rebuilt');
  await sleep(settings.dropGraceMs);
  await deps.readModel.dropKeyspace(replaced);
  return { keyspace: fresh.keyspace.id, replaced, checkpoint: fresh.checkpoint.toString(), parked: await fresh.keyspace.parked() };
}

export function startProjections(deps: ProjectionDeps): Projections {
  const settings = settingsOf(deps);
  let live: ProjectionLoop | null = null;
  let rebuilding: ProjectionLoop | null = null;
  let head = -1n;
  let lag = 0;
  let stopped = false;

  const started = (async () => {
    const loop = new ProjectionLoop(deps.readModel.keyspace(await deps.readModel.activeKeyspace()), settings);
    live = loop;
    if (!stopped) loop.start();
  })();
  started.catch((error: unknown) => settings.logger.error({ err: error }, 'projections could not start'));

  // Every second: the store's head, and what the admin command line may have changed from outside.
  const pollStores = async () => {
    try {
      head = await deps.eventStore.headPosition();
      // A store whose positions are not event numbers counts the lag; counting takes a read, so once a poll.
      if (deps.eventStore.eventsAfter) lag = await eventsBehind(deps.eventStore, head, live?.checkpoint ?? -1n);
      const loop = live;
      if (!loop || stopped || rebuilding) return;
      const active = await deps.readModel.activeKeyspace();
      if (active !== loop.keyspace.id) {
        settings.logger.info({ keyspace: active, replaced: loop.keyspace.id }, 'following a keyspace rebuilt elsewhere');
        const next = new ProjectionLoop(deps.readModel.keyspace(active), settings);
        live = next;
        next.start();
        await loop.stop();
      } else {
        await loop.verifyStored();
        await loop.refreshParked();
      }
    } catch (error) {
      settings.logger.warn({ err: error }, 'event store head or active keyspace not read');
    }
  };
  void pollStores();
  const headTimer = setInterval(() => void pollStores(), 1000);
  headTimer.unref();

  const waitUntil = (predicate: () => boolean) => waitFor(predicate, () => stopped);

  return {
    async stop() {
      stopped = true;
      clearInterval(headTimer);
      await started.catch(() => undefined);
      await Promise.all([live?.stop(), rebuilding?.stop()]);
    },
    status() {
      const l = live as ProjectionLoop | null;
      const r = rebuilding as ProjectionLoop | null;
      const checkpoint = l?.checkpoint ?? -1n;
      return {
        running: l !== null && !stopped,
        keyspace: l?.keyspace.id ?? null,
        checkpoint: checkpoint.toString(),
        head: head.toString(),
        lag: deps.eventStore.eventsAfter ? lag : head > checkpoint ? Number(head - checkpoint) : 0,
        parked: l?.parkedTotal ?? 0,
        recentParked: l?.recentParked ?? [],
        lastError: l?.lastError ?? null,
        restarts: l?.restarts ?? 0,
        rebuilding: r ? { keyspace: r.keyspace.id, checkpoint: r.checkpoint.toString() } : null,
      };
    },
    async rebuild() {
      await started;
      if (rebuilding) throw new Error('a rebuild is already running');
      const fresh = new ProjectionLoop(await deps.readModel.createKeyspace(), settings, true);
      rebuilding = fresh;
      fresh.start();
      try {
        const target = await deps.eventStore.headPosition();
        await waitUntil(() => fresh.checkpoint >= target);
        // Stop the old loop first, then let the fresh one pass where it stopped: readers switch to a
        // keyspace that is never behind the one they leave.
        const old = live!;
        await old.stop();
        await waitUntil(() => fresh.checkpoint >= old.checkpoint);
        await deps.readModel.activate(fresh.keyspace.id);
        live = fresh;
        const dropOld = () =>
          deps.readModel.dropKeyspace(old.keyspace.id).catch((error: unknown) => settings.logger.warn({ err: error }, 'old keyspace not dropped'));
        if (settings.dropGraceMs > 0) setTimeout(() => void dropOld(), settings.dropGraceMs).unref();
        else await dropOld();
        return { keyspace: fresh.keyspace.id, checkpoint: fresh.checkpoint.toString() };
      } catch (error) {
        if (live !== fresh) await fresh.stop();
        throw error;
      } finally {
        rebuilding = null;
      }
    },
    async caughtUp(position?: bigint) {
      await started;
      const target = position ?? (await deps.eventStore.headPosition());
      await waitUntil(() => (live?.checkpoint ?? -1n) >= target);
    },
  };
}
