import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isAuthorized } from '../../../events/access.js';
import { forbid } from '../../../events/errors.js';
import type { RecordedEvent } from '../../../events/envelope.js';
import { StreamNotFoundError, type Subscription } from '../../ports/event-store.js';
import { errorResponses } from '../problem-details.js';
import { actorOf } from './common.js';

const verificationSchema = z
  .object({
    ok: z.boolean(),
    checked: z.number().int().describe('Events whose hash link was checked'),
    brokenAt: z
      .object({ streamId: z.string(), revision: z.number().int(), position: z.string(), reason: z.string() })
      .optional()
      .describe('The first event whose hash does not match its content or its predecessor'),
  })
  .meta({ id: 'AuditVerification' });

/** Units an event belongs to, read from the event that opens its stream. */
function unitsOpenedBy(event: { type: string; data: unknown }): string[] | undefined {
  const data = event.data as Record<string, unknown>;
  const pick = (...keys: string[]) => keys.map((k) => data[k]).filter((v): v is string => typeof v === 'string');
  switch (event.type) {
    case 'UnitRegistered':
      return pick('unitId');
    case 'HouseholdRegistered':
      return pick('villageId');
    case 'TargetListed':
      return pick('targetUnitId', 'supervisingUnitId');
    case 'ProblemFound':
      return pick('targetUnitId', 'responsibleUnitId');
    case 'MonthlyReviewCompiled':
    case 'DailyReportCompiled':
      return pick('unitId');
    default:
      return undefined;
  }
}

const HEARTBEAT_MS = 15_000;
const SCOPE_CACHE_LIMIT = 100_000;

/** The audit chain, and live events for dashboards. */
export const auditRoutes: FastifyPluginAsyncZod = async (app) => {
  const { store, hierarchy } = app.duban;
  const openStreams = new Set<() => void>();

  app.get(
    '/audit/verify',
    {
      schema: {
        summary: 'Verify the tamper-evident hash chain of every stream (admins and inspectors)',
        tags: ['audit'],
        response: { 200: verificationSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { role } = request.principal;
      if (role !== 'admin' && role !== 'inspector') {
        throw forbid('access.role', `a ${role} may not verify the audit chain`, { role });
      }
      const result = await store.verifyAll();
      return result.ok
        ? { ok: true, checked: result.checked }
        : { ok: false, checked: result.checked, brokenAt: { ...result.brokenAt, position: result.brokenAt.position.toString() } };
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
        summary: "Server-sent events: every new event in the caller's subtree, for live dashboards",
        description:
          'text/event-stream. Each message has `id` (the global position; send it back as Last-Event-ID to resume), ' +
          '`event` (the event type) and `data` (JSON: streamId, revision, position, type, data, occurredAt, correlationId, actor unit and role).',
        tags: ['audit'],
        querystring: z.strictObject({
          from: z.string().regex(/^\d{1,19}$/).optional().describe('Resume after this position (default: only new events)'),
        }),
        headers: z.object({ 'last-event-id': z.string().regex(/^\d{1,19}$/).optional() }),
        response: { 200: z.string().describe('text/event-stream'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const actor = actorOf(request);
      await hierarchy.ensure([actor.unitId]);
      const resumeFrom = request.query.from ?? request.headers['last-event-id'];
      const fromCheckpoint = resumeFrom !== undefined ? BigInt(resumeFrom) : await store.headPosition();
      const subscription: Subscription = store.subscribeToAll({ fromCheckpoint });

      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(': connected\n\n');

      let closed = false;
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), HEARTBEAT_MS);
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(heartbeat);
        openStreams.delete(close);
        void subscription.close();
        raw.end();
      };
      openStreams.add(close);
      request.raw.on('close', close);

      try {
        for await (const event of subscription) {
          if (closed) break;
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
          raw.write(`id: ${message.position}\nevent: ${event.type}\ndata: ${JSON.stringify(message)}\n\n`);
        }
      } catch (err) {
        request.log.warn({ err }, 'event stream ended by an error');
      } finally {
        close();
      }
    },
  );

  // Live streams never end by themselves: end them before the server waits for its connections to close.
  app.addHook('preClose', async () => {
    for (const close of [...openStreams]) close();
  });
};
