import type { NewEvent } from '../../events/envelope.js';
import { actorSchema, newEventMetadataSchema } from '../../events/envelope.js';
import { invalid } from '../../events/errors.js';
import { type ExpectedRevision, WrongExpectedVersionError } from '../../services/ports/event-store.js';
import { assertDistinctEventIds } from './idempotency.js';

/** Rules every adapter applies to an append before touching its store. */

export function checkExpected(streamId: string, expected: ExpectedRevision, current: number): void {
  const ok =
    expected.kind === 'any' ||
    (expected.kind === 'noStream' && current === -1) ||
    (expected.kind === 'streamExists' && current >= 0) ||
    (expected.kind === 'exact' && expected.revision === current);
  if (!ok) throw new WrongExpectedVersionError(streamId, expected, current);
}

export function validateNewEvents(streamId: string, events: readonly NewEvent[]): void {
  if (typeof streamId !== 'string' || streamId.length === 0) throw invalid('store.stream_id', 'stream id must be a non-empty string');
  if (events.length === 0) throw invalid('store.empty_append', `append to ${streamId} carries no events`);
  for (const event of events) {
    if (typeof event.type !== 'string' || event.type.length === 0) throw invalid('store.event_type', 'event type must be a non-empty string');
    if (metadataHolds(event.metadata)) continue;
    const parsed = newEventMetadataSchema.safeParse(event.metadata);
    if (!parsed.success) {
      throw invalid('store.event_metadata', `event ${event.type} has invalid metadata`, { issues: parsed.error.issues });
    }
  }
  assertDistinctEventIds(events);
}

// The schema's own patterns, so the quick check and the schema agree on what a UUID and a time are.
const patternOf = (schema: unknown) => (schema as { _zod: { pattern: RegExp } })._zod.pattern;
const UUID = patternOf(newEventMetadataSchema.shape.eventId);
const ISO_TIME = patternOf(newEventMetadataSchema.shape.occurredAt);
const ROLES: ReadonlySet<unknown> = new Set(actorSchema.shape.role.options);
const METADATA_KEYS = ['eventId', 'occurredAt', 'actor', 'correlationId', 'causationId', 'schemaVersion'];
const ACTOR_KEYS = ['userId', 'unitId', 'role'];

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const hasExactly = (record: Record<string, unknown>, keys: readonly string[]) =>
  Object.keys(record).length === keys.length && keys.every((key) => Object.hasOwn(record, key));
const text = (value: unknown, max: number) => typeof value === 'string' && value.length >= 1 && value.length <= max;

/**
 * newEventMetadataSchema's verdict for metadata of the envelope's exact shape, written out because every
 * appended event pays for it: true only when the schema accepts (test/infra/append-rules.unit.test.ts
 * checks the two agree on generated metadata). False sends the metadata through the schema, which then
 * gives the reason.
 */
export function metadataHolds(metadata: unknown): boolean {
  if (!isRecord(metadata) || !hasExactly(metadata, METADATA_KEYS)) return false;
  const { actor, schemaVersion } = metadata;
  return (
    typeof metadata['eventId'] === 'string' &&
    UUID.test(metadata['eventId']) &&
    typeof metadata['occurredAt'] === 'string' &&
    ISO_TIME.test(metadata['occurredAt']) &&
    text(metadata['correlationId'], 200) &&
    text(metadata['causationId'], 200) &&
    typeof schemaVersion === 'number' &&
    Number.isSafeInteger(schemaVersion) &&
    schemaVersion > 0 &&
    isRecord(actor) &&
    hasExactly(actor, ACTOR_KEYS) &&
    text(actor['userId'], 200) &&
    text(actor['unitId'], 100) &&
    ROLES.has(actor['role'])
  );
}
