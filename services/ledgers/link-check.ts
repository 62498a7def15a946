import { canonicalJson, eventHash, HASH_MEMBER_LENGTH, linkBreak, storedHashHolds } from '../../infra/event-store/audit-chain.js';
import type { RecordedEvent } from '../../events/envelope.js';

// The stored metadata's members in canonical order, the hash appended last (audit-chain.ts, linkEvent).
const STORED_ORDER = ['actor', 'causationId', 'correlationId', 'eventId', 'occurredAt', 'prevHash', 'recordedAt', 'schemaVersion', 'hash'];
const ACTOR_ORDER = ['role', 'unitId', 'userId'];

function keysAre(value: object, expected: readonly string[]): boolean {
  let i = 0;
  for (const key in value) if (key !== expected[i++]) return false;
  return i === expected.length;
}

/**
 * The canonical text of an event's metadata without its hash, when the metadata has exactly the shape Duban
 * stores (every member a plain string or number where the envelope has one): then JSON.stringify writes its
 * members in canonical order and the hash last, and cutting the hash off gives the text that was hashed. Any
 * other shape returns undefined, and the caller takes the general path.
 */
function unhashedMetadataText(metadata: RecordedEvent['metadata']): string | undefined {
  const actor = metadata.actor as unknown;
  if (
    typeof metadata.hash !== 'string' ||
    metadata.hash.length !== 64 ||
    !keysAre(metadata, STORED_ORDER) ||
    typeof actor !== 'object' ||
    actor === null ||
    !keysAre(actor, ACTOR_ORDER) ||
    Object.getPrototypeOf(metadata) !== Object.prototype
  ) {
    return undefined;
  }
  for (const key of STORED_ORDER) {
    const member = (metadata as unknown as Record<string, unknown>)[key];
    if (key === 'actor') {
      for (const a of ACTOR_ORDER) if (typeof (actor as Record<string, unknown>)[a] !== 'string') return undefined;
    } else if (key === 'prevHash') {
      if (member !== null && typeof member !== 'string') return undefined;
    } else if (key === 'schemaVersion') {
      if (typeof member !== 'number' || !Number.isFinite(member)) return undefined;
    } else if (typeof member !== 'string') {
      return undefined;
    }
  }
  const text = JSON.stringify(metadata);
  return `${text.slice(0, -HASH_MEMBER_LENGTH)}}`;
}

/**
 * Why an event's audit link does not hold, or undefined when it does: exactly `linkBreak`'s verdict, for
 * less. The projection checks every event it applies; `linkBreak` copies the metadata without its hash and
 * walks it for key order before writing it out, on every event. Here an event read from a SQL store is
 * checked on the texts it was stored as (its hash member cut off the metadata's end); any other event's
 * metadata of the stored shape is written once as it stands and the hash member cut off its end (the same
 * text, since its keys are checked to be in canonical order), and its data goes through `canonicalJson`. Only
 * an event whose hash does not match is handed to `linkBreak`, which gives the reason.
 */
export function auditLinkBreak(event: RecordedEvent, previousHash: string | undefined): string | undefined {
  const metadata = event.metadata as RecordedEvent['metadata'] | undefined;
  if (metadata === undefined) return linkBreak(event, previousHash);
  let holds = storedHashHolds(event, metadata.hash);
  if (!holds) {
    const unhashed = unhashedMetadataText(metadata);
    if (unhashed === undefined) return linkBreak(event, previousHash);
    try {
      holds = eventHash(event.streamId, event.revision, event.type, canonicalJson(event.data), unhashed) === metadata.hash;
    } catch {
      holds = false;
    }
  }
  if (!holds) return linkBreak(event, previousHash);
  const prevHash = metadata.prevHash ?? null;
  if (event.revision === 0 ? prevHash !== null : previousHash !== undefined && prevHash !== previousHash) {
    return 'audit chain: prevHash does not match the hash of the previous event in the stream';
  }
  return undefined;
}
