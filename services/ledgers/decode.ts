import type { RecordedEvent } from '../../events/envelope.js';
import { decodeEvent } from '../../events/registry.js';
import type { LedgerEvent } from './state.js';

/** Reads a stored event as the current version of its type (throws DubanError `event.decode` when it cannot). */
export function decodeRecorded(raw: RecordedEvent): LedgerEvent {
  const { type, data } = decodeEvent(raw.type, raw.metadata.schemaVersion, raw.data);
  return { ...raw, type, data } as LedgerEvent;
}
