import { hash as digest } from 'node:crypto';
import type { NewEvent, RecordedEvent, RecordedEventMetadata } from '../../events/envelope.js';
import { invalid } from '../../events/errors.js';
import type { VerificationResult } from '../../services/ports/event-store.js';

/**
 * Canonical JSON: object keys sorted by code unit, no whitespace, `undefined` members dropped and
 * `toJSON` honoured exactly as JSON.stringify does, so the text of a value is a function of the value
 * alone and its hash survives a round trip through any store. A bigint is written as its digits; one
 * outside the safe-integer range is refused because it would not read back as the same number.
 */
export function canonicalJson(value: unknown): string {
  // Plain data (every event's) in sorted key order is what the native writer then writes: events read back
  // from a store were parsed from canonical text and are in order already; a decider's new data is copied
  // into order (one small object, where writing it member by member made a string piece per member).
  const plain = inKeyOrder(value);
  if (plain !== UNUSUAL) {
    const text = JSON.stringify(plain);
    if (text !== undefined) return text;
  }
  const text = write(value);
  if (text === undefined) throw invalid('store.unserialisable', 'value has no JSON form');
  return text;
}

const UNUSUAL: unique symbol = Symbol('not plain data');
/** Array-index keys, which objects list first in numeric order whatever order they are set in. */
const INDEX_KEY = /^(?:0|[1-9]\d*)$/;

/**
 * The value itself when it is plain data (objects of Object.prototype or none, arrays, primitives other
 * than bigint, no toJSON) whose keys are sorted at every depth; a copy with its keys sorted when it is plain
 * data in another order; UNUSUAL for anything else (bigint, toJSON, class instances, index-like or
 * `__proto__` keys out of order), which `write` handles.
 */
function inKeyOrder(value: unknown): unknown {
  if (typeof value === 'bigint') return UNUSUAL;
  if (typeof value !== 'object' || value === null) return value;
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return UNUSUAL;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item = inKeyOrder(value[i]);
      if (item === UNUSUAL) return UNUSUAL;
      if (!Object.is(item, value[i])) (copy ??= value.slice())[i] = item;
    }
    return copy ?? value;
  }
  const prototype = Object.getPrototypeOf(value) as unknown;
  if (prototype !== Object.prototype && prototype !== null) return UNUSUAL;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  let sorted = true;
  let members: Map<string, unknown> | undefined;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (i > 0 && !(keys[i - 1]! < key)) sorted = false;
    const member = inKeyOrder(record[key]);
    if (member === UNUSUAL) return UNUSUAL;
    if (!Object.is(member, record[key])) (members ??= new Map()).set(key, member);
  }
  if (sorted && !members) return value;
  if (!sorted) sortKeys(keys);
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    if (key === '__proto__' || INDEX_KEY.test(key)) return UNUSUAL;
    out[key] = members?.has(key) ? members.get(key) : record[key];
  }
  return out;
}

/**
 * `keys.sort()` for the few keys of an event's data: an insertion sort in place by code unit (the default
 * order), where Array.prototype.sort allocated a work copy per call (870 bytes a decided event).
 */
function sortKeys(keys: string[]): void {
  if (keys.length > 32) {
    keys.sort();
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    for (; j >= 0 && keys[j]! > key; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = key;
  }
}

function write(value: unknown): string | undefined {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
        throw invalid('store.unsafe_bigint', `bigint ${value} cannot round-trip through JSON`);
      }
      return value.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (value === null) return 'null';
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return write(withToJson.toJSON());
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += write(value[i]) ?? 'null';
    }
    return out + ']';
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  // Most objects of a kind are built the same way: sort only when they are not in order already.
  for (let i = 1; i < keys.length; i++) {
    if (keys[i - 1]! > keys[i]!) {
      sortKeys(keys);
      break;
    }
  }
  let out = '{';
  let first = true;
  for (const key of keys) {
    const member = write(record[key]);
    if (member === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += memberName(key) + member;
  }
  return out + '}';
}

// The same few member names come back in every event: each is quoted once (a bounded cache).
const memberNames = new Map<string, string>();
function memberName(key: string): string {
  let name = memberNames.get(key);
  if (name === undefined) {
    name = JSON.stringify(key) + ':';
    if (memberNames.size < 10_000) memberNames.set(key, name);
  }
  return name;
}

/** Metadata as hashed: everything the store records except the hash itself (prevHash included). */
export type UnhashedMetadata = Omit<RecordedEventMetadata, 'hash'>;

/**
 * The link of one event: sha256 over the canonical form of `{data, metadata, revision, streamId, type}`,
 * where `metadata` carries `prevHash`, so each hash covers the one before it in the same stream.
 * The keys are listed in sorted order, so concatenating canonical parts gives the canonical whole;
 * callers pass the canonical texts they already hold (the SQLite adapter stores exactly those texts).
 */
export function eventHash(
  streamId: string,
  revision: number,
  type: string,
  canonicalData: string,
  canonicalMetadata: string,
): string {
  const text =
    '{"data":' +
    canonicalData +
    ',"metadata":' +
    canonicalMetadata +
    ',"revision":' +
    revision +
    ',"streamId":' +
    JSON.stringify(streamId) +
    ',"type":' +
    JSON.stringify(type) +
    '}';
  return digest('sha256', text, 'hex');
}

/** The length of the hash member that ends a stored metadata text, with the closing brace. */
export const HASH_MEMBER_LENGTH = ',"hash":""}'.length + 64;

/**
 * An event read from a store that keeps the JSON text its data and metadata were stored as (the SQL stores):
 * its hash is checked on that text as it stands (`storedHashHolds`) instead of writing the parsed values out
 * again. The texts are private fields, so the event compares, spreads and serialises as the plain
 * RecordedEvent it is.
 */
class StoredEvent implements RecordedEvent {
  // In the order the plain events have always had their members (JSON answers list them so).
  streamId: string;
  revision: number;
  position: bigint;
  type: string;
  data: unknown;
  metadata: RecordedEvent['metadata'];
  readonly #dataText: string;
  readonly #metadataText: string;

  constructor(streamId: string, revision: number, position: bigint, type: string, dataText: string, metadataText: string) {
    this.streamId = streamId;
    this.revision = revision;
    this.position = position;
    this.type = type;
    this.data = JSON.parse(dataText) as unknown;
    this.metadata = JSON.parse(metadataText) as RecordedEvent['metadata'];
    this.#dataText = dataText;
    this.#metadataText = metadataText;
  }

  /** `storedHashHolds`, here because only the class reads its private texts. */
  static hashHolds(event: RecordedEvent, hash: unknown): boolean {
    if (!(event instanceof StoredEvent) || typeof hash !== 'string' || hash.length !== 64) return false;
    const text = event.#metadataText;
    const at = text.length - HASH_MEMBER_LENGTH;
    if (at < 1 || !text.startsWith(',"hash":"', at) || !text.endsWith(`${hash}"}`)) return false;
    return eventHash(event.streamId, event.revision, event.type, event.#dataText, `${text.slice(0, at)}}`) === hash;
  }
}

/** An event parsed from the texts a store keeps it as, which it carries for `storedHashHolds`. */
export const storedEvent = (streamId: string, revision: number, position: bigint, type: string, dataText: string, metadataText: string): RecordedEvent =>
  new StoredEvent(streamId, revision, position, type, dataText, metadataText);

/**
 * Does the hash hold over the texts an event read by `storedEvent` was stored as? Their metadata text ends
 * with its hash member as `linkEvent` writes it, cut off here: if the texts then hash to the hash the parsed
 * metadata holds, they are the texts hashed when the event was appended, and the values parsed from them are
 * the event's. False for any other event, or texts of another form (a store that rewrote them): those are
 * checked on their values (`hashHolds`).
 */
export const storedHashHolds = (event: RecordedEvent, hash: unknown): boolean => StoredEvent.hashHolds(event, hash);

/** Does the stored hash of an event match its content (and the prevHash it carries)? */
export function hashHolds(event: RecordedEvent): boolean {
  const metadata = event.metadata as Partial<RecordedEventMetadata> | undefined;
  if (!metadata || typeof metadata.hash !== 'string') return false;
  if (storedHashHolds(event, metadata.hash)) return true;
  const { hash, ...unhashed } = metadata as RecordedEventMetadata;
  try {
    return eventHash(event.streamId, event.revision, event.type, canonicalJson(event.data), canonicalJson(unhashed)) === hash;
  } catch {
    return false;
  }
}

/**
 * Why an event's link does not hold, or undefined when it does: its hash against its content, and its
 * prevHash against the hash of the event before it in the stream when that one is known.
 */
export function linkBreak(event: RecordedEvent, previousHash: string | undefined): string | undefined {
  if (!hashHolds(event)) return 'audit chain: the hash does not match the event content';
  const prevHash = event.metadata?.prevHash ?? null;
  if (event.revision === 0 ? prevHash !== null : previousHash !== undefined && prevHash !== previousHash) {
    return 'audit chain: prevHash does not match the hash of the previous event in the stream';
  }
  return undefined;
}

/** Recomputes links in stream order and reports the first that does not hold. */
export class ChainVerifier {
  private readonly heads = new Map<string, { revision: number; hash: string }>();
  private checkedCount = 0;

  get checked(): number {
    return this.checkedCount;
  }

  /** Returns the failure for this event, or undefined when its link holds. Events must arrive in stream order. */
  check(event: RecordedEvent): Extract<VerificationResult, { ok: false }> | undefined {
    const previous = this.heads.get(event.streamId);
    const expectedRevision = previous ? previous.revision + 1 : 0;
    const fail = (reason: string) => ({
      ok: false as const,
      checked: this.checkedCount,
      brokenAt: { streamId: event.streamId, revision: event.revision, position: event.position, reason },
    });
    if (event.revision !== expectedRevision) {
      return fail(`revision ${event.revision} follows ${expectedRevision - 1}: an event is missing or out of place`);
    }
    const expectedPrev = previous ? previous.hash : null;
    const metadata = event.metadata as Partial<RecordedEventMetadata> | undefined;
    if (!metadata || typeof metadata.hash !== 'string') return fail('event carries no hash');
    if ((metadata.prevHash ?? null) !== expectedPrev) {
      return fail('prevHash does not match the hash of the previous event in the stream');
    }
    if (!hashHolds(event)) return fail('hash does not match the event content');
    this.heads.set(event.streamId, { revision: event.revision, hash: metadata.hash });
    this.checkedCount++;
    return undefined;
  }
}

const METADATA_KEYS = 6; // eventId, occurredAt, actor, correlationId, causationId, schemaVersion
const ACTOR_KEYS = 3; // userId, unitId, role

/**
 * canonicalJson of the stored metadata without its hash, written out for the envelope's known shape
 * because every append pays for it; metadata of any other shape takes the general path. Callers pass
 * metadata validated by newEventMetadataSchema.
 */
export function canonicalMetadata(metadata: NewEvent['metadata'], recordedAt: string, prevHash: string | null): string {
  const { actor } = metadata;
  if (
    Object.keys(metadata).length !== METADATA_KEYS ||
    Object.keys(actor).length !== ACTOR_KEYS ||
    typeof metadata.schemaVersion !== 'number' ||
    !Number.isFinite(metadata.schemaVersion)
  ) {
    return canonicalJson({ ...metadata, recordedAt, prevHash });
  }
  const q = JSON.stringify;
  // eventId (a UUID), occurredAt and recordedAt (ISO times) and role (an enum) were validated by the
  // envelope schema and contain nothing JSON escapes, so they are quoted without JSON.stringify.
  return (
    `{"actor":{"role":"${actor.role}","unitId":${q(actor.unitId)},"userId":${q(actor.userId)}},` +
    `"causationId":${q(metadata.causationId)},"correlationId":${q(metadata.correlationId)},` +
    `"eventId":"${metadata.eventId}","occurredAt":"${metadata.occurredAt}",` +
    `"prevHash":${prevHash === null ? 'null' : q(prevHash)},"recordedAt":"${recordedAt}",` +
    `"schemaVersion":${metadata.schemaVersion}}`
  );
}

/** An event ready to store: its canonical texts and its place in the chain. */
export interface LinkedEvent {
  dataText: string;
  /** Stored metadata as JSON text, hash included. */
  metadataText: string;
  hash: string;
}

/** Adds `recordedAt` and the chain link to a new event's metadata and computes its hash. */
export function linkEvent(
  streamId: string,
  revision: number,
  event: NewEvent,
  recordedAt: string,
  prevHash: string | null,
): LinkedEvent {
  const dataText = canonicalJson(event.data);
  const unhashedText = canonicalMetadata(event.metadata, recordedAt, prevHash);
  const hash = eventHash(streamId, revision, event.type, dataText, unhashedText);
  // The canonical text always ends with the object's closing brace; the hash is appended as its last member.
  return { dataText, metadataText: `${unhashedText.slice(0, -1)},"hash":"${hash}"}`, hash };
}
