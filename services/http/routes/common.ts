import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireVisibleUnits } from '../../../events/access.js';
import type { Actor } from '../../../events/envelope.js';
import type { CommandMeta, CommandOutcome } from '../../commands/handler.js';
import type { UnitHierarchy } from '../../hierarchy.js';
import { IDEMPOTENCY_KEY_PATTERN } from '../plugins/idempotency.js';
import { commandErrorResponses, ifMatchErrorResponses } from '../problem-details.js';

export const actorOf = (request: FastifyRequest): Actor => ({
  userId: request.principal.userId,
  unitId: request.principal.unitId,
  role: request.principal.role,
});

/**
 * `If-Match: "3"` (or `W/"3"`, or a bare 3) pins the command to revision 3. A value that names no
 * revision can never match, so it is refused like any other stale ETag; `*` asks only that the item exist.
 */
export function ifMatchRevision(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"?(-?\d{1,15})"?\s*$/.exec(header);
  return match?.[1] !== undefined ? Number(match[1]) : Number.NaN;
}

export function commandMeta(request: FastifyRequest, options: { ifMatch?: boolean } = {}): CommandMeta {
  const expectedRevision = options.ifMatch ? ifMatchRevision(request) : undefined;
  return {
    actor: actorOf(request),
    correlationId: request.id,
    causationId: `http:${request.id}`,
    ...(expectedRevision !== undefined ? { expectedRevision } : {}),
    ...(request.eventIdSeed ? { eventIdSeed: request.eventIdSeed } : {}),
    ...(request.eventIdSeed && request.requestFingerprint ? { requestFingerprint: request.requestFingerprint } : {}),
  };
}

export const etag = (revision: number) => `"${revision}"`;

/**
 * Object-level authorization on the unit ids a request names: each must exist and lie in the caller's
 * subtree, or the answer is the same 404 (events/access.ts). The deciders then apply the finer role rules
 * (strictly below, separation of duty).
 */
export async function requireUnitsInScope(hierarchy: UnitHierarchy, actor: Actor, unitIds: readonly (string | null | undefined)[]) {
  const ids = unitIds.filter((id): id is string => typeof id === 'string');
  await hierarchy.ensure([...ids, actor.unitId]);
  requireVisibleUnits(actor, ids, hierarchy.view);
}

/** The subtree a read asks for (default: the caller's unit), checked against the caller's own. */
export async function readableUnit(hierarchy: UnitHierarchy, request: FastifyRequest, unitId: string | undefined): Promise<string> {
  const target = unitId ?? request.principal.unitId;
  await requireUnitsInScope(hierarchy, actorOf(request), [target]);
  return target;
}

export const commandResultSchema = z
  .object({
    id: z.string().describe('The id of the item the command acted on'),
    streamId: z.string(),
    revision: z.number().int().describe('Stream revision after the command; send it back in If-Match'),
    position: z.string().nullable().describe('Global position of the last event appended (null: nothing appended)'),
    events: z.array(z.object({ eventId: z.string(), type: z.string() })),
  })
  .meta({ id: 'CommandResult' });

/**
 * The command's answer, written here with JSON.stringify: every field is named from the typed outcome, so
 * the response schema's zod pass (which fastify-type-provider-zod runs before its own JSON.stringify) would
 * check what the compiler already did. The schema still documents it (OpenAPI) and tests check the two agree.
 */
export function sendOutcome(reply: FastifyReply, id: string, outcome: CommandOutcome, status: 200 | 201 = 200) {
  const result: z.input<typeof commandResultSchema> = {
    id,
    streamId: outcome.streamId,
    revision: outcome.revision,
    position: outcome.position,
    events: outcome.events.map((event) => ({ eventId: event.eventId, type: event.type })),
  };
  return reply.code(status).header('etag', etag(outcome.revision)).type('application/json; charset=utf-8').send(JSON.stringify(result));
}

export const commandResponses = { 200: commandResultSchema, ...commandErrorResponses };
export const createdResponses = { 201: commandResultSchema, ...commandErrorResponses };
/** A problem command: it may name the revision it applies to (If-Match). */
export const ifMatchCommandResponses = { 200: commandResultSchema, ...ifMatchErrorResponses };
export const ifMatchCreatedResponses = { 201: commandResultSchema, ...ifMatchErrorResponses };

/** Evidence as request examples show it. */
export const evidenceExample = { kind: 'photo', uri: 's3://duban-evidence/533423102201/house-1.jpg', sha256: 'a'.repeat(64) };

/** Commands that carry nothing but the path: an empty JSON object or no body at all. */
export const emptyBody = z.strictObject({}).nullish().meta({ examples: [{}] });

export const idempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(IDEMPOTENCY_KEY_PATTERN)
    .optional()
    .describe('Makes a retried POST safe: the same key and body return the original response; 1-255 visible ASCII characters'),
});
export const problemCommandHeaders = idempotencyHeaders.extend({
  'if-match': z.string().optional().describe('The ETag (stream revision) the command applies to; 412 when it moved on'),
});
