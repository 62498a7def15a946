import { z } from 'zod';

/** Who did it. Every event carries the acting user, their unit and role. */
export const actorSchema = z.strictObject({
  userId: z.string().min(1).max(200),
  unitId: z.string().min(1).max(100),
  role: z.enum(['admin', 'supervisor', 'cadre', 'inspector', 'system']),
});
export type Actor = z.infer<typeof actorSchema>;

export const isoTime = z.iso.datetime({ offset: true });

/** Metadata supplied by whoever creates the event (command handler, workflow activity). */
export const newEventMetadataSchema = z.strictObject({
  eventId: z.uuid(),
  occurredAt: isoTime,
  actor: actorSchema,
  correlationId: z.string().min(1).max(200),
  causationId: z.string().min(1).max(200),
  schemaVersion: z.number().int().positive(),
  /**
   * Set on the events of a request that carried an Idempotency-Key: what the request asked (method, path
   * and body, hashed). Stored with the events in their own transaction, so a retry under the same key can
   * be told from a different request under it even after the key store has forgotten the key.
   */
  requestFingerprint: z.string().min(1).max(200).optional(),
});
export type NewEventMetadata = z.infer<typeof newEventMetadataSchema>;

/**
 * Metadata as stored: the store adds `recordedAt` and the audit-chain link (`prevHash`, `hash`), which
 * covers the event's canonical content and the previous event's hash in the same stream.
 */
export const recordedEventMetadataSchema = newEventMetadataSchema.extend({
  recordedAt: isoTime,
  prevHash: z.string().nullable(),
  hash: z.string(),
});
export type RecordedEventMetadata = z.infer<typeof recordedEventMetadataSchema>;

/** An event as a decider emits it: type and data only. Metadata is added by the caller. */
export interface DomainEvent<Type extends string = string, Data = unknown> {
  type: Type;
  data: Data;
}

/** An event ready to append. */
export interface NewEvent<E extends DomainEvent = DomainEvent> {
  type: E['type'];
  data: E['data'];
  metadata: NewEventMetadata;
}

/** An event as read back from a store. `position` orders every event of the store ($all). */
export interface RecordedEvent<E extends DomainEvent = DomainEvent> {
  streamId: string;
  revision: number;
  position: bigint;
  type: E['type'];
  data: E['data'];
  metadata: RecordedEventMetadata;
}
