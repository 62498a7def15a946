import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isAuthorized } from '../../../events/access.js';
import { forbid, notFound } from '../../../events/errors.js';
import type { RecordedEvent } from '../../../events/envelope.js';
import type { AuditService } from '../../audit/service.js';
import { exportLines } from '../../audit/export.js';
import { readsWholeLog, unitsOpenedBy } from '../../audit/scope.js';
import { StreamNotFoundError, type Subscription } from '../../ports/event-store.js';
import { commandErrorResponses, errorResponses } from '../problem-details.js';
import { eventStreams } from '../sse.js';
import { actorOf, emptyBody } from './common.js';

const digestSchema = z
  .object({
    treeSize: z.number().int().describe('Events covered: the first treeSize events of the log, in position order'),
    rootHash: z.string().describe('Hex RFC 9162 Merkle tree hash of those events'),
    time: z.string().describe('When it was signed'),
    signature: z.string().describe('Base64 Ed25519 signature over "duban-audit-digest/v1\\n" + canonical JSON of {rootHash, time, treeSize}'),
    keyId: z.string().describe('Hex SHA-256 of the signing public key (SPKI DER)'),
  })
  .meta({ id: 'AuditDigest' });

const breakSchema = z.object({
  streamId: z.string(),
  revision: z.number().int(),
  position: z.string(),
  eventId: z.string().nullable(),
  problem: z.enum(['changed', 'missing', 'unsealed']),
  reason: z.string(),
});

export const auditVerificationSchema = z
  .object({
    ok: z.boolean(),
    scope: z.enum(['log', 'subtree']),
    checked: z.number().int().describe('Events compared with their leaves in the audit tree'),
    pending: z.number().int().describe('Events newer than the audit tree (sealed within moments)'),
    breaks: z.array(breakSchema).describe('Every event that does not fit the record, up to the limit'),
    truncated: z.boolean(),
    digest: digestSchema
      .extend({ signatureHolds: z.boolean(), rootMatches: z.boolean().nullable().describe('The tree still hashes to the signed root (whole-log only)') })
      .nullable(),
    startedAt: z.string(),
    finishedAt: z.string(),
  })
  .meta({ id: 'AuditVerification' });

const hexHash = z.string().regex(/^[0-9a-f]{64}$/);
const count = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

const SCOPE_CACHE_LIMIT = 100_000;

/** Signed digests, proofs, verification and export of the record; live events for dashboards. */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  const { store, hierarchy } = app.duban;
  const tags = ['audit'];
  const openEventStream = eventStreams(app);

  const audit = (): AuditService => {
    if (!app.duban.audit) throw notFound('audit.not_configured', 'this service keeps no audit tree');
    return app.duban.audit;
  };
  /** Admins and inspectors; whole-log answers only for those of a top-level unit. */
  const inspectorScope = async (request: Parameters<typeof actorOf>[0]) => {
    const actor = actorOf(request);
    if (actor.role !== 'admin' && actor.role !== 'inspector') {
      throw forbid('access.role', `a ${actor.role} may not inspect the audit record`, { role: actor.role });
    }
    await hierarchy.ensure([actor.unitId]);
    return { actor, wholeLog: readsWholeLog(actor, hierarchy.view) };
  };

  app.get(
    '/audit/public-key',
    {
      schema: {
        operationId: 'getAuditPublicKey',
        summary: 'The Ed25519 public key that signs the audit digests (keep it with the digests you take away)',
        tags,
        response: { 200: z.object({ algorithm: z.literal('Ed25519'), keyId: z.string(), publicKey: z.string().describe('PEM (SPKI)') }), ...errorResponses },
      },
    },
    async () => ({ algorithm: 'Ed25519' as const, keyId: audit().keyId(), publicKey: audit().publicKeyPem() }),
  );

  app.get(
    '/audit/digests/latest',
    { schema: { operationId: 'getLatestAuditDigest', summary: 'The newest signed digest of the log (take it away: file, print, e-mail)', tags, response: { 200: digestSchema, ...errorResponses } } },
    async () => {
      const digest = audit().latestDigest();
      if (!digest) throw notFound('audit.no_digest', 'no digest has been signed yet');
      return digest;
    },
  );

  app.post(
    '/audit/digests',
    {
      schema: {
        operationId: 'signAuditDigest',
        summary: 'Seal everything stored so far and sign a digest now (admins and inspectors)',
        tags,
        body: emptyBody,
        response: { 201: digestSchema, ...commandErrorResponses },
      },
    },
    async (request, reply) => {
      await inspectorScope(request);
      return reply.code(201).send(await audit().makeDigest());
    },
  );

  app.get(
    '/audit/proofs/inclusion',
    {
      schema: {
        operationId: 'getInclusionProof',
        summary: 'RFC 9162 inclusion proof: this event is leaf i of the tree of treeSize events',
        tags,
        querystring: z.strictObject({
          eventId: z.uuid(),
          treeSize: count.optional().describe('Default: the latest digest'),
        }),
        response: {
          200: z.object({
            eventId: z.string(),
            streamId: z.string(),
            revision: z.number().int(),
            position: z.string(),
            leafIndex: z.number().int(),
            treeSize: z.number().int(),
            leafHash: hexHash,
            rootHash: hexHash,
            proof: z.array(hexHash).describe('Audit path, bottom up'),
            digest: digestSchema.nullable().describe('The signed digest of this tree size, when one was signed'),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { actor, wholeLog } = await inspectorScope(request);
      const proof = audit().inclusion(request.query.eventId, request.query.treeSize);
      if (!wholeLog) {
        const units = audit().log.unitsOfStream(proof.streamId) ?? [];
        await hierarchy.ensure(units);
        if (!units.some((unitId) => isAuthorized(actor, 'read', [unitId], hierarchy.view))) {
          throw forbid('access.scope', `event ${request.query.eventId} is outside your subtree`);
        }
      }
      return proof;
    },
  );

  app.get(
    '/audit/proofs/consistency',
    {
      schema: {
        operationId: 'getConsistencyProof',
        summary: 'RFC 9162 consistency proof: the tree of `from` events is a prefix of the tree of `to` events',
        tags,
        querystring: z.strictObject({ from: count, to: count }),
        response: {
          200: z.object({ from: z.number().int(), to: z.number().int(), fromRoot: hexHash, toRoot: hexHash, proof: z.array(hexHash) }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      await inspectorScope(request);
      return audit().consistency(request.query.from, request.query.to);
    },
  );

  app.get(
    '/audit/verify',
    {
      schema: {
        operationId: 'verifyAudit',
        summary: "Verify the store against the audit tree and its latest signed digest: the whole log for a top-level admin or inspector, the caller's subtree otherwise",
        tags,
        querystring: z.strictObject({ limit: z.coerce.number().int().min(1).max(10_000).optional().describe('Breaks reported at most (default 100)') }),
        response: { 200: auditVerificationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { actor, wholeLog } = await inspectorScope(request);
      const units = wholeLog ? [] : audit().log.streams().flatMap((s) => s.units);
      await hierarchy.ensure(new Set(units));
      return audit().verify({
        wholeLog,
        actor,
        hierarchy: hierarchy.view,
        ...(request.query.limit !== undefined ? { limit: request.query.limit } : {}),
      });
    },
  );

  app.get(
    '/audit/status',
    {
      schema: {
        operationId: 'getAuditStatus',
        summary: 'The audit tree: size, sealed position, refusals, latest digest, background verification progress',
        tags,
        response: { 200: z.record(z.string(), z.unknown()), ...errorResponses },
      },
    },
    async (request) => {
      await inspectorScope(request);
      return audit().status();
    },
  );

  app.get(
    '/audit/export',
    {
      schema: {
        operationId: 'exportAudit',
        responseDocs: { 200: { mediaTypes: ['application/x-ndjson'] } },
        summary: 'NDJSON export for the offline verifier: the digest, then every leaf with its event (whole log), or the events of your subtree with inclusion proofs',
        tags,
        querystring: z.strictObject({ treeSize: count.optional().describe('Export against the digest of this size (default: the latest)') }),
        response: { 200: z.string().describe('One JSON object a line: the digest, then the leaves'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const { actor, wholeLog } = await inspectorScope(request);
      const service = audit();
      const digest = request.query.treeSize !== undefined ? service.log.digestAt(request.query.treeSize) : service.latestDigest();
      if (!digest) throw notFound('audit.no_digest', 'no digest of that size has been signed; POST /v1/audit/digests first');
      if (!wholeLog) await hierarchy.ensure(new Set(service.log.streams().flatMap((s) => s.units)));
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { ...(reply.getHeaders() as Record<string, string>), 'content-type': 'application/x-ndjson; charset=utf-8' });
      try {
        for await (const line of exportLines({ store, log: service.log, digest, scope: wholeLog ? null : { actor, hierarchy: hierarchy.view } })) {
          if (!raw.write(line)) await new Promise((resolve) => raw.once('drain', resolve));
        }
      } catch (err) {
        request.log.error({ err }, 'audit export ended by an error');
      } finally {
        raw.end();
      }
    },
  );

  // Stream id -> the units it belongs to; filled from the events that open streams, or by reading one.
  const scopeOfStream = new Map<string, string[]>();
  async function unitsOf(event: RecordedEvent): Promise<string[]> {
    const opened = event.revision === 0 ? unitsOpenedBy(event) : undefined;
    if (opened) {
      if (scopeOfStream.size >= SCOPE_CACHE_LIMIT) scopeOfStream.clear();
      scopeOfStream.set(event.streamId, opened);
      return opened;
    }
    const known = scopeOfStream.get(event.streamId);
    if (known) return known;
    try {
      const [first] = await store.readStream(event.streamId, { from: 0, limit: 1 });
      const units = (first && unitsOpenedBy(first)) ?? [];
      scopeOfStream.set(event.streamId, units);
      return units;
    } catch (err) {
      if (err instanceof StreamNotFoundError) return [];
      throw err;
    }
  }

  app.get(
    '/events/stream',
    {
      schema: {
        operationId: 'streamEvents',
        responseDocs: {
          200: {
            mediaTypes: ['text/event-stream'],
            example:
              ': connected\n\n' +
              'id: 42\nevent: ProblemFound\ndata: {"streamId":"problem-p1","revision":0,"position":"42","type":"ProblemFound","data":{"problemId":"p1"},' +
              '"occurredAt":"2026-06-30T10:00:00.000+08:00","correlationId":"c1","actor":{"unitId":"533423","role":"officer"}}\n\n' +
              ': ping\n\n',
          },
        },
        summary: "Server-sent events: every new event in the caller's subtree, for live dashboards",
        description:
          'text/event-stream. Each message has `id` (the global position; send it back as Last-Event-ID to resume), ' +
          '`event` (the event type) and `data` (JSON: streamId, revision, position, type, data, occurredAt, correlationId, actor unit and role).',
        tags,
        querystring: z.strictObject({
          from: z.string().regex(/^\d{1,19}$/).optional().describe('Resume after this position (default: only new events)'),
        }),
        headers: z.object({ 'last-event-id': z.string().regex(/^\d{1,19}$/).optional() }),
        response: { 200: z.string().describe('Server-sent events: id, event and data lines, and comment heartbeats'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      await hierarchy.ensure([actor.unitId]);
      const resumeFrom = request.query.from ?? request.headers['last-event-id'];
      const fromCheckpoint = resumeFrom !== undefined ? BigInt(resumeFrom) : await store.headPosition();
      const subscription: Subscription = store.subscribeToAll({ fromCheckpoint });

      const stream = openEventStream(request, reply, () => void subscription.close());

      try {
        for await (const event of subscription) {
          if (stream.closed) break;
          const units = await unitsOf(event);
          await hierarchy.ensure(units);
          if (!units.some((unitId) => isAuthorized(actor, 'read', [unitId], hierarchy.view))) continue;
          const message = {
            streamId: event.streamId,
            revision: event.revision,
            position: event.position.toString(),
            type: event.type,
            data: event.data,
            occurredAt: event.metadata.occurredAt,
            correlationId: event.metadata.correlationId,
            actor: { unitId: event.metadata.actor.unitId, role: event.metadata.actor.role },
          };
          stream.send(message.position, event.type, message);
        }
      } catch (err) {
        request.log.warn({ err }, 'event stream ended by an error');
      } finally {
        stream.close();
      }
    },
  );
};
