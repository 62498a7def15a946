import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { idSchema } from '../../../events/common.js';
import { householdCommandSchemas } from '../../../events/household/index.js';
import { newId } from '../../commands/problems.js';
import { commandMeta, commandResponses, createdResponses, evidenceExample, idempotencyHeaders, requireUnitsInScope, sendOutcome } from './common.js';

const h = householdCommandSchemas;
const householdParams = z.strictObject({ id: idSchema });

export const addPlanMeasureBody = h.addPlanMeasure
  .omit({ type: true, householdId: true, measureId: true })
  .extend({ measureId: idSchema.optional().describe('Client-chosen id; generated when omitted') })
  .meta({ examples: [{ kind: 'housing', description: '危房改造', responsibleUnitId: '533423102201', deadline: '2099-06-30T18:00:00+08:00' }] });
export const completePlanMeasureBody = h.completePlanMeasure
  .omit({ type: true, householdId: true, measureId: true })
  .meta({ examples: [{ evidence: [evidenceExample] }] });
export const assessBody = h.assessHousehold
  .omit({ type: true, householdId: true })
  .meta({ examples: [{ food: true, clothing: true, education: true, medical: true, housing: false, water: true }] });
export const monitoringBody = z
  .strictObject({
    flag: z.enum(['raise', 'clear']).describe('raise: put the household under monitoring (监测); clear: lift it'),
    reason: z.string().max(2000),
  })
  .meta({ examples: [{ flag: 'raise', reason: '因病返贫风险' }] });

/** Household plans (一户一方案): measures per household, assessments against 两不愁三保障, monitoring. */
export const householdRoutes: FastifyPluginAsyncZod = async (app) => {
  const { households, hierarchy } = app.duban;
  const tags = ['households'];
  const headers = idempotencyHeaders;

  app.post(
    '/households/:id/measures',
    { schema: { operationId: 'addPlanMeasure', summary: 'Add a plan measure (帮扶措施) to a household', tags, headers, params: householdParams, body: addPlanMeasureBody, response: createdResponses } },
    async (request, reply) => {
      const meta = commandMeta(request);
      await requireUnitsInScope(hierarchy, meta.actor, [request.body.responsibleUnitId]);
      const measureId =
        request.body.measureId ??
        newId('hm-', { actor: meta.actor, idempotencyKey: request.headers['idempotency-key'] as string | undefined }, randomUUID);
      return sendOutcome(reply, measureId, await households.addPlanMeasure(request.params.id, { ...request.body, measureId }, meta), 201);
    },
  );

  app.post(
    '/households/:id/measures/:measureId/complete',
    {
      schema: {
        operationId: 'completePlanMeasure',
        summary: 'Report a plan measure completed',
        tags,
        headers,
        params: z.strictObject({ id: idSchema, measureId: idSchema }),
        body: completePlanMeasureBody,
        response: commandResponses,
      },
    },
    async (request, reply) =>
      sendOutcome(
        reply,
        request.params.id,
        await households.completePlanMeasure(request.params.id, { measureId: request.params.measureId, ...request.body }, commandMeta(request)),
      ),
  );

  app.post(
    '/households/:id/assessments',
    { schema: { operationId: 'assessHousehold', summary: 'Assess a household against 两不愁三保障 and safe water', tags, headers, params: householdParams, body: assessBody, response: commandResponses } },
    async (request, reply) =>
      sendOutcome(reply, request.params.id, await households.assess(request.params.id, request.body, commandMeta(request))),
  );

  app.post(
    '/households/:id/monitoring',
    { schema: { operationId: 'setHouseholdMonitoring', summary: 'Raise or clear the monitoring flag (监测户)', tags, headers, params: householdParams, body: monitoringBody, response: commandResponses } },
    async (request, reply) => {
      const meta = commandMeta(request);
      const { flag, reason } = request.body;
      const outcome =
        flag === 'raise'
          ? await households.raiseFlag(request.params.id, { reason }, meta)
          : await households.clearFlag(request.params.id, { reason }, meta);
      return sendOutcome(reply, request.params.id, outcome);
    },
  );
};
