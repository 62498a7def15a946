import type { Hash, NodeSource } from '../audit/merkle.js';

/**
 * Where the audit tree lives, beside the event store and never inside it: the sealed leaves with the
 * identity of the event each one seals, every completed perfect subtree (for proofs), the writers'
 * witnesses, the events refused a leaf, and the signed digests. Synchronous: it is a local file.
 */
export interface SealedLeaf {
  index: number;
  position: bigint;
  streamId: string;
  revision: number;
  eventId: string;
  hash: Hash;
}

export interface RefusedEvent {
  position: bigint;
  streamId: string;
  revision: number;
  eventId: string | null;
  reason: string;
  seenAt: string;
}

export interface SignedDigest {
  treeSize: number;
  /** Hex. */
  rootHash: string;
  time: string;
  /** Base64 Ed25519 signature over `digestMessage`. */
  signature: string;
  /** Hex SHA-256 of the public key (SPKI DER): which key signed. */
  keyId: string;
}

/** One append's witnesses: the writer's MAC of each of its events, in order, from `firstRevision` of `streamId`. */
export interface AppendWitness {
  /** Position of the append's last event (what the store's append answers). */
  lastPosition: bigint;
  streamId: string;
  firstRevision: number;
  /** The MAC of each event's hash link, as the store answered it (`linkWitnessMac`). */
  macs: readonly Buffer[];
}

/** One event's witness, and what its MAC was computed over. */
export interface Witness {
  mac: Buffer;
  /** `link`: the event's hash link (`linkWitnessMac`); `text`: the writer's text of the event (`witnessMac`), as files written before 2026-12-07 afternoon hold. */
  over: 'link' | 'text';
}

/** An event as the witnesses are looked up by. */
export interface WitnessedEvent {
  eventId: string;
  streamId: string;
  revision: number;
  position: bigint;
}

export interface AuditLog extends NodeSource {
  treeSize(): number;
  /** Position of the newest event the sealer has examined (sealed or refused); -1n before any. */
  sealedThrough(): bigint;
  /** Leaves, subtrees completed by them and refusals, committed together with the new sealedThrough. */
  commit(batch: {
    leaves: readonly SealedLeaf[];
    nodes: ReadonlyArray<{ level: number; index: number; hash: Hash }>;
    refused: readonly RefusedEvent[];
    streams: ReadonlyArray<{ streamId: string; units: readonly string[] }>;
    /**
     * Event ids whose witnesses were used by this batch (its events are sealed or refused): dropped with it, as is
     * every append's witness that ends at or before `sealedThrough`.
     */
    spentWitnesses: readonly string[];
    sealedThrough: bigint;
    /** The sealedThrough this batch started from; the commit is refused when it moved meanwhile. */
    expectedThrough: bigint;
  }): void;
  leaves(fromIndex: number, limit: number): SealedLeaf[];
  leavesOfStream(streamId: string): SealedLeaf[];
  leafOfEvent(eventId: string): SealedLeaf | undefined;
  /** The newest sealed leaf of a stream (for the revision and link checks while sealing). */
  lastLeafOfStream(streamId: string): SealedLeaf | undefined;
  refused(): RefusedEvent[];
  /** Streams the sealer has seen, with the units they belong to. */
  streams(): Array<{ streamId: string; units: string[] }>;
  unitsOfStream(streamId: string): string[] | undefined;
  /** The witnesses of appends the store acknowledged, one record per append. */
  addWitnesses(appends: readonly AppendWitness[]): void;
  /**
   * The witnesses held for these events, given in log order, by event id (events without one are left out). An
   * append's events lie together in the log, so an event's witness is in the first append's record that ends at or
   * after its position, if it covers the event's stream and revision.
   */
  witnessesOf(events: readonly WitnessedEvent[]): Map<string, Witness>;
  addDigest(digest: SignedDigest): void;
  latestDigest(): SignedDigest | undefined;
  digestAt(treeSize: number): SignedDigest | undefined;
  close(): void;
}

/** Another sealer committed first; the caller starts again from the stored position. */
export class SealRaceError extends Error {
  constructor() {
    super('another process sealed these events first');
  }
}
