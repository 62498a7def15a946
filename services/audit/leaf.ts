import { createHmac } from 'node:crypto';
import type { NewEvent, RecordedEvent } from '../../events/envelope.js';
import { canonicalJson } from '../../infra/event-store/audit-chain.js';
import { type Hash, leafHash } from './merkle.js';

/**
 * What one leaf of the audit tree commits to: everything that identifies the event and everything it
 * says — stream, revision, position, type, data and the stored metadata (recordedAt and the hash link
 * included). Positions are written as decimal text so any store's positions fit.
 */
export function leafEntry(event: Pick<RecordedEvent, 'streamId' | 'revision' | 'position' | 'type' | 'data' | 'metadata'>): string {
  return canonicalJson({
    data: event.data,
    metadata: event.metadata,
    position: event.position.toString(),
    revision: event.revision,
    streamId: event.streamId,
    type: event.type,
  });
}

export function eventLeafHash(event: Parameters<typeof leafEntry>[0]): Hash {
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
  const text = canonicalJson({ data: event.data, metadata: event.metadata, revision, streamId, type: event.type });
  return createHmac('sha256', key).update(text).digest();
}

/** The writer's metadata of a recorded event: the stored one without what the store added. */
export function writerMetadata(event: RecordedEvent): NewEvent['metadata'] {
  const { recordedAt: _r, prevHash: _p, hash: _h, ...metadata } = event.metadata;
  return metadata;
}
