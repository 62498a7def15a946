import { createHmac } from 'node:crypto';
import type { NewEvent, RecordedEvent } from '../../events/envelope.js';
import { canonicalJson, eventHash, hashHolds } from '../../infra/event-store/audit-chain.js';
import type { Witness } from '../ports/audit-log.js';
import { type Hash, leafHash } from './merkle.js';

type StoredEvent = Pick<RecordedEvent, 'streamId' | 'revision' | 'position' | 'type' | 'data' | 'metadata'>;

/**
 * The canonical text of one member value, or undefined where canonicalJson drops the member (an
 * undefined, a function or a symbol).
 */
function memberText(value: unknown): string | undefined {
  if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return undefined;
  return canonicalJson(value);
}

/** `{` + the members present, in the order given (callers give them sorted) + `}`: canonicalJson's object form. */
function objectText(members: ReadonlyArray<readonly [quotedName: string, text: string | undefined]>): string {
  let out = '{';
  for (const [name, text] of members) {
    if (text === undefined) continue;
    if (out.length > 1) out += ',';
    out += name + ':' + text;
  }
  return out + '}';
}

/** Metadata of a plain object, its members written once each, sorted as canonicalJson sorts them. */
type MetadataMembers = ReadonlyArray<readonly [key: string, quotedName: string, text: string | undefined]>;
function metadataMembers(metadata: object): MetadataMembers | undefined {
  const prototype = Object.getPrototypeOf(metadata) as unknown;
  if (Array.isArray(metadata) || (prototype !== Object.prototype && prototype !== null)) return undefined;
  if (typeof (metadata as { toJSON?: unknown }).toJSON === 'function') return undefined;
  const record = metadata as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  const members = new Array<readonly [string, string, string | undefined]>(keys.length);
  for (let i = 0; i < keys.length; i++) members[i] = [keys[i]!, JSON.stringify(keys[i]), memberText(record[keys[i]!])];
  return members;
}

function metadataText(members: MetadataMembers, leaveOut?: ReadonlySet<string>): string {
  let out = '{';
  for (const [key, name, text] of members) {
    if (text === undefined || leaveOut?.has(key)) continue;
    if (out.length > 1) out += ',';
    out += name + ':' + text;
  }
  return out + '}';
}

const STORE_ADDED = new Set(['recordedAt', 'prevHash', 'hash']);
const HASH_ONLY = new Set(['hash']);

/** The writer's text of an event (what witnessMac authenticates), from canonical texts already written. */
function witnessText(streamId: string, revision: number, type: unknown, dataText: string | undefined, writerMetadataText: string | undefined): string {
  return objectText([
    ['"data"', dataText],
    ['"metadata"', writerMetadataText],
    ['"revision"', memberText(revision)],
    ['"streamId"', memberText(streamId)],
    ['"type"', memberText(type)],
  ]);
}

function leafText(event: StoredEvent, dataText: string | undefined, storedMetadataText: string | undefined): string {
  return objectText([
    ['"data"', dataText],
    ['"metadata"', storedMetadataText],
    ['"position"', JSON.stringify(event.position.toString())],
    ['"revision"', memberText(event.revision)],
    ['"streamId"', memberText(event.streamId)],
    ['"type"', memberText(event.type)],
  ]);
}

/**
 * What one leaf of the audit tree commits to: everything that identifies the event and everything it
 * says — stream, revision, position, type, data and the stored metadata (recordedAt and the hash link
 * included). Positions are written as decimal text so any store's positions fit. The text is
 * canonicalJson of `{data, metadata, position, revision, streamId, type}`, written member by member.
 */
export function leafEntry(event: StoredEvent): string {
  const metadata: unknown = event.metadata;
  const members = typeof metadata === 'object' && metadata !== null ? metadataMembers(metadata) : undefined;
  return leafText(event, memberText(event.data), members ? metadataText(members) : memberText(metadata));
}

export function eventLeafHash(event: StoredEvent): Hash {
  return leafHash(leafEntry(event));
}

/**
 * The writer's witness of an event: an HMAC, under a key derived from the signing key, over what the
 * writer handed to the store (stream, revision, type, data and its own metadata). The store adds
 * recordedAt and the link afterwards, so those are left out; the leaf covers them once sealed. An event
 * written to the store by anything but Duban's append path has no witness, and is never sealed.
 */
export function witnessMac(
  key: Buffer,
  streamId: string,
  revision: number,
  event: { type: string; data: unknown; metadata: NewEvent['metadata'] },
): Buffer {
  return macOf(key, witnessText(streamId, revision, event.type, memberText(event.data), memberText(event.metadata)));
}

const macOf = (key: Buffer, text: string): Buffer => createHmac('sha256', key).update(text).digest();

/**
 * The writer's witness of an event, as appends write it: an HMAC of the event's hash link as the store answered
 * the append. Once the sealer has seen the link hold, this binds everything the link covers — stream, revision,
 * type, data, the writer's metadata, and recordedAt and prevHash too — at the cost of one HMAC of 64 characters
 * instead of a canonical text of the whole event and its HMAC.
 */
export const linkWitnessMac = (key: Buffer, hash: string): Buffer => macOf(key, hash);

/** The writer's metadata of a recorded event: the stored one without what the store added. */
export function writerMetadata(event: RecordedEvent): NewEvent['metadata'] {
  const { recordedAt: _r, prevHash: _p, hash: _h, ...metadata } = event.metadata;
  return metadata;
}

/** What the sealer checks of a stored event and the leaf it gives it. */
export interface SealingChecks {
  /** The event's witness, as its writer would have made it (over its link or over its text, as asked). */
  mac: Buffer;
  /** Does its stored hash link match its content (hashHolds)? */
  linkHolds: boolean;
  /** Its leaf hash (eventLeafHash). */
  leafHash: Hash;
}

/**
 * The sealer's three passes over one stored event — its witness, its hash link and its leaf — from one
 * canonical text of its data and one of each metadata member, instead of three canonical writes of the
 * whole event. Each text is byte for byte what witnessMac, hashHolds and leafEntry write. `over` says
 * which witness the writer made: of the stored link (`linkWitnessMac`) or of its text (`witnessMac`).
 */
export function sealingChecks(key: Buffer, event: RecordedEvent, over: Witness['over']): SealingChecks {
  const storedHash = (event.metadata as { hash?: unknown } | undefined)?.hash;
  const linkMac = () => (typeof storedHash === 'string' ? linkWitnessMac(key, storedHash) : Buffer.alloc(0));
  const metadata: unknown = event.metadata;
  const members = typeof metadata === 'object' && metadata !== null ? metadataMembers(metadata) : undefined;
  if (!members) {
    // Not a plain object: the general path (the witness check then fails on its own).
    return {
      mac: over === 'link' ? linkMac() : witnessMac(key, event.streamId, event.revision, { ...event, metadata: writerMetadata(event) }),
      linkHolds: hashHolds(event),
      leafHash: eventLeafHash(event),
    };
  }
  const dataText = memberText(event.data);
  const mac = over === 'link' ? linkMac() : macOf(key, witnessText(event.streamId, event.revision, event.type, dataText, metadataText(members, STORE_ADDED)));
  let linkHolds = false;
  if (typeof storedHash === 'string' && dataText !== undefined) {
    linkHolds = eventHash(event.streamId, event.revision, event.type, dataText, metadataText(members, HASH_ONLY)) === storedHash;
  }
  return { mac, linkHolds, leafHash: leafHash(leafText(event, dataText, metadataText(members))) };
}
