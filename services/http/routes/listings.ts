import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema } from '../../../events/common.js';
import { listingCommandSchemas } from '../../../events/listing/index.js';
import { newId } from '../../commands/problems.js';
import { commandMeta, commandResponses, createdResponses, emptyBody, idempotencyHeaders, requireUnitsInScope, sendOutcome } from './common.js';

export const listTargetBody = listingCommandSchemas.listTarget
  .omit({ type: true, listingId: true })
  .extend({ listingId: idSchema.optional().describe('Client-chosen id; generated when omitted') })
  .meta({
    id: 'ListTarget',
    examples: [{ targetUnitId: '533423102', supervisingUnitId: '533423', leader: { name: '王伟', position: '县委书记' }, reason: '未脱贫人口较多', metrics: { remainingPoorPeople: 60 } }],
  });

/** Listed supervision (挂牌督战): a higher level lists a target with a named leader, and delists it once verified. */
export const listingRoutes: FastifyPluginAsyncZod = async (app) => {
  const { listings, hierarchy } = app.duban;
  const tags = ['listings'];

  app.post(
    '/listings',
    { schema: { operationId: 'listTarget', summary: 'List a target unit for supervision', tags, headers: idempotencyHeaders, body: listTargetBody, response: createdResponses } },
    async (request, reply) => {
      const meta = commandMeta(request);
      await requireUnitsInScope(hierarchy, meta.actor, [request.body.targetUnitId, request.body.supervisingUnitId]);
      const listingId =
        request.body.listingId ??
        newId('l-', { actor: meta.actor, idempotencyKey: request.headers['idempotency-key'] as string | undefined }, randomUUID);
      return sendOutcome(reply, listingId, await listings.list({ ...request.body, listingId }, meta), 201);
    },
  );

  app.post(
    '/listings/:id/delist',
    {
      schema: {
        operationId: 'delistTarget',
        summary: 'Delist (摘牌) a verified target — by a unit strictly above it',
        tags,
        headers: idempotencyHeaders,
        params: z.strictObject({ id: idSchema }),
        body: emptyBody,
        response: commandResponses,
      },
    },
    async (request, reply) => sendOutcome(reply, request.params.id, await listings.delist(request.params.id, commandMeta(request))),
  );
};
