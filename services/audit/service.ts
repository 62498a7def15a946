import type { Logger } from 'pino';
import type { Actor, RecordedEvent } from '../../events/envelope.js';
import type { HierarchyView } from '../../events/unit/hierarchy.js';
import { notFound, invalid } from '../../events/errors.js';
import { type AuditLog, type RefusedEvent, SealRaceError, type SealedLeaf, type SignedDigest, type WitnessedEvent } from '../ports/audit-log.js';
import type { EventStore } from '../ports/event-store.js';
import { type AuditKey, digestSignatureHolds, signDigest } from './digest.js';
import { eventLeafHash, type SealingChecks, sealingChecks } from './leaf.js';
import { consistencyProof, Frontier, inclusionProof, rootHash } from './merkle.js';
import { describeChange, missingReason, UNSEALED_REASON } from './breaks.js';
import { streamsInScope, unitsOpenedBy } from './scope.js';

export interface AuditServiceDeps {
  /** The store as written (reads only). */
  store: EventStore;
  log: AuditLog;
  key: AuditKey;
  logger?: Logger;
  /** Sign a digest once this many events were sealed since the last one (default 10,000). */
  digestEvery?: number;
  /** ...or this long after the last one when anything was sealed since (default 10 minutes). */
  digestIntervalMs?: number;
  /** How long an event may wait for its writer's witness before it is refused (default 10 s). */
  witnessGraceMs?: number;
  /** Pause between looks at the store when nothing new was found (default 250 ms). */
  pollMs?: number;
  /** Pause between two full background verifications (default 10 minutes; 0: none). */
  verifyIntervalMs?: number;
  /** Breaks reported by one verification at most (default 100). */
  breakLimit?: number;
  now?: () => Date;
  /** Where the sealer runs elsewhere (a worker thread): its latest state, for status() and health(). */
  sealer?: () => SealerState | undefined;
}

/** What the sealing loop and the background verifier know that the audit file does not hold. */
export interface SealerState {
  awaitingWitness: number;
  sealerError: string | null;
  treeBroken: string | null;
  background: { running: boolean; checked: number; startedAt: string | null; lastOk: boolean | null; lastFinishedAt: string | null };
  /** The newest whole-log verification (the background's or one asked for), with its first break. */
  lastWholeLog: { ok: boolean; finishedAt: string; firstBreak: AuditBreak | null } | null;
}

/** One event that does not fit the record, named by where it is (or was). */
export interface AuditBreak {
  streamId: string;
  revision: number;
  position: string;
  eventId: string | null;
  /** changed: differs from its sealed leaf; missing: sealed but gone; unsealed: never sealed (inserted behind Duban's back or refused). */
  problem: 'changed' | 'missing' | 'unsealed';
  reason: string;
}

export interface AuditVerification {
  ok: boolean;
  scope: 'log' | 'subtree';
  /** Events of the store compared with their leaves. */
  checked: number;
  /** Events newer than the sealer has reached (checked by it when it gets there). */
  pending: number;
  breaks: AuditBreak[];
  /** More breaks than the limit were found. */
  truncated: boolean;
  /** The latest signed digest and whether the audit tree still hashes to its root. */
  digest: (SignedDigest & { signatureHolds: boolean; rootMatches: boolean | null }) | null;
  startedAt: string;
  finishedAt: string;
}

const CHUNK = 1000;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const hex = (hash: Buffer) => hash.toString('hex');

function breakOf(event: { streamId: string; revision: number; position: bigint; eventId: string | null }, problem: AuditBreak['problem'], reason: string): AuditBreak {
  return { streamId: event.streamId, revision: event.revision, position: event.position.toString(), eventId: event.eventId, problem, reason };
}

/**
 * The audit tree kept beside the event store, through the port only (so any adapter will do): a sealer
 * follows the log in position order and gives each event Duban wrote a leaf, signs digests, answers
 * proofs, and verifies the store against the tree (chunked, yielding to the event loop), on demand and
 * in the background.
 */
export function createAuditService(deps: AuditServiceDeps) {
  const { store, log, key } = deps;
  const digestEvery = deps.digestEvery ?? 10_000;
  const digestIntervalMs = deps.digestIntervalMs ?? 10 * 60_000;
  const graceMs = deps.witnessGraceMs ?? 10_000;
  const pollMs = deps.pollMs ?? 250;
  const verifyIntervalMs = deps.verifyIntervalMs ?? 10 * 60_000;
  const breakLimit = deps.breakLimit ?? 100;
  const now = deps.now ?? (() => new Date());

  const awaitingWitness = new Map<string, number>();
  let stopped = false;
  let wake: (() => void) | null = null;
  // One chunk at a time, whoever asks (the loop, a digest on demand, a verification).
  let sealing: Promise<unknown> = Promise.resolve();
  const sealNext = (): Promise<boolean> => {
    const run = sealing.then(sealChunk);
    sealing = run.catch(() => undefined);
    return run;
  };
  let sealerError: string | null = null;
  let treeBroken: string | null = null;
  let lastDigestAt = Date.now();
  let background: { running: boolean; checked: number; startedAt: string | null; last: AuditVerification | null } = {
    running: false,
    checked: 0,
    startedAt: null,
    last: null,
  };

  /** Examines events after the sealed position, up to one chunk; true when it stopped before the head. */
  async function sealChunk(): Promise<boolean> {
    const through = log.sealedThrough();
    const leaves: SealedLeaf[] = [];
    const nodes: Array<{ level: number; index: number; hash: Buffer }> = [];
    const refused: RefusedEvent[] = [];
    const streams: Array<{ streamId: string; units: string[] }> = [];
    const heads = new Map<string, number>();
    let sealedThrough = through;
    let examined = 0;
    let waiting = false;
    const working = Frontier.from(log.treeSize(), log);
    const refuse = (event: RecordedEvent, reason: string) => {
      refused.push({ position: event.position, streamId: event.streamId, revision: event.revision, eventId: event.metadata?.eventId ?? null, reason, seenAt: now().toISOString() });
    };
    const events: RecordedEvent[] = [];
    for await (const event of store.readAll(through >= 0n ? { fromPosition: through } : {})) {
      events.push(event);
      if (events.length >= CHUNK) break;
    }
    // One look-up for the chunk's witnesses rather than one per event.
    const witnessed: WitnessedEvent[] = [];
    for (const event of events) {
      const eventId = event.metadata?.eventId;
      if (typeof eventId === 'string') witnessed.push({ eventId, streamId: event.streamId, revision: event.revision, position: event.position });
    }
    const witnesses = log.witnessesOf(witnessed);
    const spent: string[] = [];
    for (const event of events) {
      const eventId = event.metadata?.eventId;
      const witness = typeof eventId === 'string' ? witnesses.get(eventId) : undefined;
      let checks: SealingChecks;
      if (!witness) {
        const seen = awaitingWitness.get(event.position.toString()) ?? Date.now();
        awaitingWitness.set(event.position.toString(), seen);
        // The witness is written just after the store commits: give it a moment before refusing.
        if (Date.now() - seen < graceMs) {
          waiting = true;
          break;
        }
        refuse(event, "no writer's witness: it was written into the event store, not appended by Duban");
      } else {
        // A witness serves once: the event it vouches for is sealed or refused now, and its leaf covers it from here on.
        spent.push(eventId!);
        if (!witness.mac.equals((checks = sealingChecks(key.witnessKey, event, witness.over)).mac)) {
          refuse(event, 'differs from what its writer appended (the witness does not match)');
        } else {
          // The store's unique (stream, revision) rules out a second revision 0: only later ones need a lookup.
          const previous = heads.get(event.streamId) ?? (event.revision === 0 ? -1 : (log.lastLeafOfStream(event.streamId)?.revision ?? -1));
          if (event.revision !== previous + 1) {
            refuse(event, `revision ${event.revision} follows sealed revision ${previous}`);
          } else if (!checks.linkHolds) {
            refuse(event, 'its hash link does not match its content');
          } else {
            const hash = checks.leafHash;
            leaves.push({ index: working.size, position: event.position, streamId: event.streamId, revision: event.revision, eventId: eventId!, hash });
            nodes.push(...working.append(hash));
            heads.set(event.streamId, event.revision);
          }
        }
      }
      if (awaitingWitness.size > 0) awaitingWitness.delete(event.position.toString());
      if (event.revision === 0) streams.push({ streamId: event.streamId, units: unitsOpenedBy(event) ?? [] });
      sealedThrough = event.position;
      examined++;
    }
    if (sealedThrough !== through) {
      log.commit({ leaves, nodes, refused, streams, spentWitnesses: spent, sealedThrough, expectedThrough: through });
      for (const r of refused) deps.logger?.error({ refused: { ...r, position: r.position.toString() } }, 'event refused by the audit tree');
    }
    return !waiting && examined >= CHUNK;
  }

  async function sealerLoop(): Promise<void> {
    while (!stopped) {
      let more = false;
      try {
        more = await sealNext();
        sealerError = null;
        const latest = log.latestDigest();
        const since = log.treeSize() - (latest?.treeSize ?? 0);
        if (since >= digestEvery || (since > 0 && Date.now() - lastDigestAt >= digestIntervalMs)) signNow();
      } catch (error) {
        if (error instanceof SealRaceError) continue;
        sealerError = error instanceof Error ? error.message : String(error);
        deps.logger?.error({ err: error }, 'audit sealer failed; retrying');
      }
      if (more) {
        await yieldToLoop();
        continue;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = null;
    }
  }

  /** Seals up to the store's head as it is now (waiting out pending witnesses). */
  async function catchUp(): Promise<void> {
    const head = await store.headPosition();
    // Gives up only when the sealer stops moving (a witness that never comes is refused after the grace).
    let deadline = Date.now() + graceMs + 5_000;
    let reached = log.sealedThrough();
    while (log.sealedThrough() < head) {
      if (log.sealedThrough() > reached) {
        reached = log.sealedThrough();
        deadline = Date.now() + graceMs + 5_000;
      }
      if (Date.now() > deadline) throw new Error('the audit sealer did not reach the head of the store in time');
      await sealNext().catch((error: unknown) => {
        if (!(error instanceof SealRaceError)) throw error;
      });
      if (log.sealedThrough() < head) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  function signNow(): SignedDigest {
    const size = log.treeSize();
    const previous = log.latestDigest();
    // Never sign over a tree that no longer extends what was signed before.
    if (previous && (previous.treeSize > size || hex(rootHash(log, previous.treeSize)) !== previous.rootHash)) {
      treeBroken = `the audit tree no longer hashes to the digest signed at ${previous.time} (${previous.treeSize} events)`;
      throw new Error(treeBroken);
    }
    const digest = signDigest(key, size, rootHash(log, size), now());
    log.addDigest(digest);
    lastDigestAt = Date.now();
    return digest;
  }

  function leafBreak(leaf: SealedLeaf, event: RecordedEvent | undefined): AuditBreak | undefined {
    if (!event) return breakOf(leaf, 'missing', missingReason(leaf));
    if (!eventLeafHash(event).equals(leaf.hash)) {
      return breakOf({ ...event, eventId: event.metadata?.eventId ?? null }, 'changed', describeChange(leaf, event));
    }
    return undefined;
  }

  /** Compares events and leaves, both in position order; calls `report` for every break. */
  async function compare(
    events: AsyncIterable<RecordedEvent> | Iterable<RecordedEvent>,
    nextLeaves: () => SealedLeaf[],
    refusedAt: Map<string, RefusedEvent>,
    report: (b: AuditBreak) => void,
    onLeaf: (leaf: SealedLeaf) => void,
    progress: (checked: number) => void,
  ) {
    const sealedThrough = log.sealedThrough();
    let leaves = nextLeaves();
    let li = 0;
    let checked = 0;
    let pending = 0;
    let sinceYield = 0;
    const leaf = () => {
      if (li >= leaves.length) {
        leaves = nextLeaves();
        li = 0;
      }
      return leaves[li];
    };
    const unsealed = (event: RecordedEvent) => {
      if (event.position > sealedThrough) {
        pending++;
        return;
      }
      const refused = refusedAt.get(event.position.toString());
      report(breakOf({ ...event, eventId: event.metadata?.eventId ?? null }, 'unsealed', refused ? `refused by the sealer: ${refused.reason}` : UNSEALED_REASON));
    };
    for await (const event of events) {
      let current = leaf();
      while (current && current.position < event.position) {
        report(breakOf(current, 'missing', missingReason(current)));
        onLeaf(current);
        li++;
        current = leaf();
      }
      if (current && current.position === event.position) {
        const broken = leafBreak(current, event);
        if (broken) report(broken);
        onLeaf(current);
        li++;
        checked++;
      } else {
        unsealed(event);
      }
      if (++sinceYield >= CHUNK) {
        sinceYield = 0;
        progress(checked);
        await yieldToLoop();
      }
    }
    for (let current = leaf(); current; li++, current = leaf()) {
      report(breakOf(current, 'missing', missingReason(current)));
      onLeaf(current);
    }
    return { checked, pending };
  }

  async function verify(options: {
    actor?: Actor;
    hierarchy?: HierarchyView;
    wholeLog: boolean;
    limit?: number;
    progress?: (checked: number) => void;
  }): Promise<AuditVerification> {
    const limit = options.limit ?? breakLimit;
    const startedAt = now().toISOString();
    await catchUp().catch((error: unknown) => deps.logger?.warn({ err: error }, 'verifying before the sealer caught up'));
    const breaks: AuditBreak[] = [];
    let truncated = false;
    const report = (b: AuditBreak) => {
      if (breaks.length < limit) breaks.push(b);
      else truncated = true;
    };
    const refusedAt = new Map(log.refused().map((r) => [r.position.toString(), r]));
    const progress = options.progress ?? (() => {});
    const latest = log.latestDigest() ?? null;
    let rootMatches: boolean | null = null;
    let totals = { checked: 0, pending: 0 };

    if (options.wholeLog) {
      // The leaves are hashed again as they pass, so a tree file edited behind the sealer's back shows too.
      const recomputed = new Frontier();
      let next = 0;
      totals = await compare(
        store.readAll(),
        () => {
          const batch = log.leaves(next, CHUNK);
          next += batch.length;
          return batch;
        },
        refusedAt,
        report,
        (leaf) => {
          recomputed.append(leaf.hash);
          if (latest && recomputed.size === latest.treeSize) rootMatches = hex(recomputed.root()) === latest.rootHash;
        },
        progress,
      );
      if (latest && latest.treeSize === 0) rootMatches = true;
      if (latest && rootMatches === null) rootMatches = false;
    } else {
      const { actor, hierarchy } = options;
      if (!actor || !hierarchy) throw new Error('a scoped verification needs the actor and the hierarchy');
      for await (const { streamId, events } of streamsInScope(store, log, actor, hierarchy)) {
        let given = false;
        const part = await compare(events, () => (given ? [] : ((given = true), log.leavesOfStream(streamId))), refusedAt, report, () => {}, progress);
        totals = { checked: totals.checked + part.checked, pending: totals.pending + part.pending };
      }
    }
    const signatureHolds = latest ? digestSignatureHolds(key.publicKey, latest) : false;
    const result: AuditVerification = {
      ok: breaks.length === 0 && (latest === null || (signatureHolds && rootMatches !== false)),
      scope: options.wholeLog ? 'log' : 'subtree',
      checked: totals.checked,
      pending: totals.pending,
      breaks,
      truncated,
      digest: latest ? { ...latest, signatureHolds, rootMatches } : null,
      startedAt,
      finishedAt: now().toISOString(),
    };
    // The newest whole-log answer is what /health reports, whoever asked for it.
    if (options.wholeLog) lastWholeLog = result;
    return result;
  }

  async function backgroundLoop(): Promise<void> {
    while (!stopped && verifyIntervalMs > 0) {
      background = { ...background, running: true, checked: 0, startedAt: now().toISOString() };
      try {
        const result = await verify({ wholeLog: true, progress: (checked) => (background.checked = checked) });
        background = { running: false, checked: result.checked, startedAt: background.startedAt, last: result };
        if (!result.ok) deps.logger?.error({ breaks: result.breaks.slice(0, 5) }, 'audit verification found breaks');
      } catch (error) {
        background.running = false;
        deps.logger?.error({ err: error }, 'background audit verification failed');
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, verifyIntervalMs);
        timer.unref();
        stopWaits.add(resolve);
      });
    }
  }
  const stopWaits = new Set<() => void>();
  let lastWholeLog: AuditVerification | null = null;
  let loops: Promise<void>[] = [];

  function sealerState(): SealerState {
    return {
      awaitingWitness: awaitingWitness.size,
      sealerError,
      treeBroken,
      background: {
        running: background.running,
        checked: background.checked,
        startedAt: background.startedAt,
        lastOk: background.last?.ok ?? null,
        lastFinishedAt: background.last?.finishedAt ?? null,
      },
      lastWholeLog: lastWholeLog && { ok: lastWholeLog.ok, finishedAt: lastWholeLog.finishedAt, firstBreak: lastWholeLog.breaks[0] ?? null },
    };
  }
  /** This service's state, with the sealer's where it runs elsewhere: its loop's, and the newer whole-log verification. */
  function stateNow(): SealerState {
    const own = sealerState();
    const remote = deps.sealer?.();
    if (!remote) return own;
    const newer = (a: SealerState['lastWholeLog'], b: SealerState['lastWholeLog']) => (!a ? b : !b ? a : a.finishedAt >= b.finishedAt ? a : b);
    return {
      awaitingWitness: remote.awaitingWitness,
      sealerError: own.sealerError ?? remote.sealerError,
      treeBroken: own.treeBroken ?? remote.treeBroken,
      background: remote.background,
      lastWholeLog: newer(own.lastWholeLog, remote.lastWholeLog),
    };
  }

  return {
    start() {
      loops = [sealerLoop(), backgroundLoop()];
    },
    async stop() {
      stopped = true;
      wake?.();
      for (const resolve of stopWaits) resolve();
      await Promise.all(loops);
      await sealing;
    },
    /** Called by the witnessing store after each append: seal soon. */
    appended() {
      wake?.();
    },
    catchUp,
    witnessKey: key.witnessKey,
    publicKeyPem: () => key.publicKeyPem,
    keyId: () => key.keyId,
    latestDigest: () => log.latestDigest(),
    async makeDigest(): Promise<SignedDigest> {
      await catchUp();
      return signNow();
    },
    inclusion(eventId: string, treeSize?: number) {
      const leaf = log.leafOfEvent(eventId);
      if (!leaf) throw notFound('audit.not_sealed', `event ${eventId} has no leaf in the audit tree`, { eventId });
      const sealed = log.treeSize();
      const size = treeSize ?? log.latestDigest()?.treeSize ?? sealed;
      if (!(size > leaf.index && size <= sealed)) {
        throw invalid('audit.tree_size', `treeSize must be above the event's leaf ${leaf.index} and at most ${sealed}`, { treeSize: size });
      }
      return {
        eventId,
        streamId: leaf.streamId,
        revision: leaf.revision,
        position: leaf.position.toString(),
        leafIndex: leaf.index,
        treeSize: size,
        leafHash: hex(leaf.hash),
        rootHash: hex(rootHash(log, size)),
        proof: inclusionProof(log, leaf.index, size).map(hex),
        digest: log.digestAt(size) ?? null,
      };
    },
    consistency(from: number, to: number) {
      const sealed = log.treeSize();
      if (!(from > 0 && from <= to && to <= sealed)) {
        throw invalid('audit.tree_size', `need 0 < from <= to <= ${sealed}`, { from, to });
      }
      return {
        from,
        to,
        fromRoot: hex(rootHash(log, from)),
        toRoot: hex(rootHash(log, to)),
        proof: consistencyProof(log, from, to).map(hex),
      };
    },
    verify,
    /** One stream against its leaves (for its history). */
    async verifyStream(streamId: string, events: readonly RecordedEvent[]) {
      const breaks: AuditBreak[] = [];
      const refusedAt = new Map(log.refused().filter((r) => r.streamId === streamId).map((r) => [r.position.toString(), r]));
      let given = false;
      const sorted = [...events].sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
      const totals = await compare(sorted, () => (given ? [] : ((given = true), log.leavesOfStream(streamId))), refusedAt, (b) => breaks.push(b), () => {}, () => {});
      return { ok: breaks.length === 0, ...totals, breaks };
    },
    /** This service's own sealer state (a sealer thread posts it to the service that answers the API). */
    sealerState,
    status() {
      const refused = log.refused();
      const { lastWholeLog: _, ...state } = stateNow();
      return {
        treeSize: log.treeSize(),
        sealedThrough: log.sealedThrough().toString(),
        refused: refused.length,
        latestDigest: log.latestDigest() ?? null,
        ...state,
      };
    },
    /** For /health: rejects naming the first break the sealer or the background verifier found. */
    async health(): Promise<void> {
      const state = stateNow();
      if (state.treeBroken) throw new Error(state.treeBroken);
      const [refused] = log.refused();
      if (refused) throw new Error(`stream ${refused.streamId} revision ${refused.revision} position ${refused.position}: ${refused.reason}`);
      const last = state.lastWholeLog;
      const first = last?.firstBreak;
      if (last && !last.ok) {
        throw new Error(first ? `stream ${first.streamId} revision ${first.revision} position ${first.position}: ${first.reason}` : 'the audit tree does not match its signed digest');
      }
      if (state.sealerError) throw new Error(`audit sealer: ${state.sealerError}`);
    },
    /** The leaves and events for an export, in position order (whole log) or per stream (subtree). */
    log,
  };
}
export type AuditService = ReturnType<typeof createAuditService>;
