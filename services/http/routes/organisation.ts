import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema } from '../../../events/common.js';
import { householdCommandSchemas } from '../../../events/household/index.js';
import { unitLevelSchema } from '../../../events/unit/index.js';
import { nameSchema } from '../../../events/common.js';
import { commandMeta, createdResponses, idempotencyHeaders, requireUnitsInScope, sendOutcome } from './common.js';

export const registerUnitBody = z
  .strictObject({
    id: idSchema.describe('Client-chosen id, e.g. the administrative division code (533423 for Weixi)'),
    name: nameSchema.describe('Chinese name, kept exactly as sent'),
    level: unitLevelSchema,
    parentId: idSchema.nullable().describe('null only for the top unit (a prefecture)'),
  })
  .meta({ id: 'RegisterUnit', examples: [{ id: '533423102201', name: '启别村', level: 'village', parentId: '533423102' }] });

export const registerHouseholdBody = householdCommandSchemas.registerHousehold
  .omit({ type: true, householdId: true })
  .extend({ id: idSchema })
  .meta({ id: 'RegisterHousehold', examples: [{ id: 'hh-1', villageId: '533423102201', members: 4, category: 'registered' }] });

/** Organisation: the unit tree (州 > 县/市 > 乡/镇 > 行政村, 安置点) and households. Admins only. */
export const organisationRoutes: FastifyPluginAsyncZod = async (app) => {
  const { organisation, hierarchy } = app.duban;
  const tags = ['organisation'];

  app.post(
    '/units',
    {
      schema: {
        operationId: 'registerUnit',
        summary: 'Register a unit under its parent',
        tags,
        responseDocs: { 201: { headers: { location: 'always' } } }, headers: idempotencyHeaders,
        body: registerUnitBody,
        response: createdResponses,
      },
    },
    async (request, reply) => {
      const meta = commandMeta(request);
      const { id, name, level, parentId } = request.body;
      await requireUnitsInScope(hierarchy, meta.actor, [parentId]);
      const outcome = await organisation.registerUnit({ unitId: id, name, level, parentId }, meta);
      void reply.header('location', `/v1/ledgers/units/${encodeURIComponent(id)}`);
      return sendOutcome(reply, id, outcome, 201);
    },
  );

  app.post(
    '/households',
    { schema: { operationId: 'registerHousehold', summary: 'Register a household of a village (members counted, no names kept)', tags, headers: idempotencyHeaders, body: registerHouseholdBody, response: createdResponses } },
    async (request, reply) => {
      const meta = commandMeta(request);
      const { id, ...rest } = request.body;
      await requireUnitsInScope(hierarchy, meta.actor, [rest.villageId]);
      return sendOutcome(reply, id, await organisation.registerHousehold({ householdId: id, ...rest }, meta), 201);
    },
  );
};
