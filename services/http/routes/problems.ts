import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { actorRefSchema, evidenceSchema, idSchema } from '../../../events/common.js';
import { notFound } from '../../../events/errors.js';
import {
  measureAssignedSchema,
  type OpenProblem,
  problemCommandSchemas,
  problemFoundSchema,
  warningColourSchema,
} from '../../../events/problem/index.js';
import { canSeeProblem, outOfSight } from '../../../events/access.js';
import { newId } from '../../commands/problems.js';
import { errorResponses } from '../problem-details.js';
import { historyEventSchema } from './history.js';
import {
  actorOf,
  commandMeta,
  createdResponses,
  ifMatchCommandResponses,
  ifMatchCreatedResponses,
  emptyBody,
  etag,
  evidenceExample,
  problemCommandHeaders,
  requireUnitsInScope,
  sendOutcome,
} from './common.js';

const c = problemCommandSchemas;
const problemParams = z.strictObject({ id: idSchema });
const measureParams = z.strictObject({ id: idSchema, measureId: idSchema });

export const findProblemBody = c.findProblem
  .omit({ type: true, policy: true, problemId: true })
  .extend({ problemId: idSchema.optional().describe('Client-chosen id; generated when omitted') })
  .meta({
    id: 'FindProblem',
    examples: [
      { targetUnitId: '533423102201', responsibleUnitId: '533423102201', category: 'housing', source: 'inspection', description: '危房改造未完成', severity: 'high', deadline: '2099-06-30T18:00:00+08:00' },
    ],
  });
export const assignMeasureBody = c.assignMeasure
  .omit({ type: true, problemId: true, measureId: true })
  .extend({ measureId: idSchema.optional().describe('Client-chosen id; generated when omitted') })
  .meta({ examples: [{ description: '拆除重建', assigneeUnitId: '533423102201', deadline: '2099-05-31T18:00:00+08:00' }] });
export const completeMeasureBody = c.completeMeasure.omit({ type: true, problemId: true, measureId: true }).meta({ examples: [{ evidence: [evidenceExample] }] });
export const submitBody = c.submitRectification.omit({ type: true, problemId: true }).meta({ examples: [{ summary: '已完成改造', evidence: [evidenceExample] }] });
export const rejectBody = c.rejectRectification.omit({ type: true, problemId: true }).meta({ examples: [{ reason: '佐证材料不足' }] });
export const extendBody = c.extendDeadline.omit({ type: true, problemId: true }).meta({ examples: [{ deadline: '2099-12-31T18:00:00+08:00', reason: '雨季停工' }] });
export const reopenBody = c.reopenProblem.omit({ type: true, problemId: true }).meta({ examples: [{ reason: '回头看发现问题反弹', deadline: '2099-12-31T18:00:00+08:00' }] });

// Views are built from the domain's schemas (not strict: a view may carry what the state adds).
const evidence = z.object(evidenceSchema.shape);
const actorRef = z.object(actorRefSchema.shape);
export const problemViewSchema = z
  .object({
    ...problemFoundSchema.omit({ policy: true }).shape,
    revision: z.number().int(),
    status: z.enum(['open', 'acknowledged', 'submitted', 'cleared']),
    acknowledged: z.boolean(),
    colour: warningColourSchema,
    escalationLevel: z.number().int(),
    escalatedTo: z.string().nullable(),
    measures: z.array(
      z.object({ ...measureAssignedSchema.shape, completed: z.boolean(), evidence: z.array(evidence) }),
    ),
    measuresTotal: z.number().int(),
    measuresDone: z.number().int(),
    rectification: z
      .object({
        status: z.enum(['submitted', 'rejected']),
        summary: z.string(),
        evidence: z.array(evidence),
        submittedBy: actorRef,
        rejectionReason: z.string().optional(),
      })
      .nullable(),
    clearedBy: actorRef.nullable(),
    clearedAt: z.string().nullable(),
    reopenCount: z.number().int(),
    lateness: z.array(
      z.object({
        deadline: z.string(),
        endedBy: z.string(),
        escalationLevel: z.number().int(),
        colour: z.string(),
        clearedAt: z.string().nullable(),
        lateByMs: z.number().nullable(),
        late: z.boolean(),
      }),
    ),
    policy: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Problem' });

function viewOf(state: OpenProblem, revision: number): z.input<typeof problemViewSchema> {
  return {
    problemId: state.problemId,
    revision,
    status: state.status,
    targetUnitId: state.targetUnitId,
    responsibleUnitId: state.responsibleUnitId,
    category: state.category,
    source: state.source,
    description: state.description,
    severity: state.severity,
    deadline: state.deadline,
    acknowledged: state.acknowledged,
    colour: state.colour,
    escalationLevel: state.escalationLevel,
    escalatedTo: state.escalatedTo,
    measures: Object.values(state.measures),
    measuresTotal: state.measuresTotal,
    measuresDone: state.measuresDone,
    rectification: state.rectification,
    clearedBy: state.clearedBy,
    clearedAt: state.clearedAt,
    reopenCount: state.reopenCount,
    lateness: state.lateness,
    policy: state.policy as unknown as Record<string, unknown>,
  };
}

const historySchema = z
  .object({
    problemId: z.string(),
    events: z.array(historyEventSchema),
    verification: z.object({
      ok: z.boolean(),
      checked: z.number().int(),
      brokenAt: z
        .object({ streamId: z.string(), revision: z.number().int(), position: z.string(), reason: z.string() })
        .optional(),
    }),
  })
  .meta({ id: 'ProblemHistory' });

/** Problems (问题) from finding to clearing: every command appends through the problem decider. */
export const problemRoutes: FastifyPluginAsyncZod = async (app) => {
  const { problems, hierarchy } = app.duban;
  const tags = ['problems'];

  /** A problem outside the caller's subtree is answered exactly as one never found. */
  async function requireProblemInSight(state: OpenProblem, request: FastifyRequest) {
    await hierarchy.ensure([state.targetUnitId, state.responsibleUnitId, request.principal.unitId]);
    if (!canSeeProblem(actorOf(request), state, hierarchy.view)) {
      throw outOfSight('problem.not_found', `problem ${state.problemId} was never found`, { problemId: state.problemId });
    }
  }

  app.post(
    '/problems',
    {
      schema: {
        operationId: 'findProblem',
        responseDocs: { 201: { headers: { location: 'always' } } },
        summary: 'Find a problem (发现问题) and hand it to a responsible unit with a deadline',
        tags,
        headers: problemCommandHeaders.omit({ 'if-match': true }),
        body: findProblemBody,
        response: createdResponses,
      },
    },
    async (request, reply) => {
      const meta = commandMeta(request);
      await requireUnitsInScope(hierarchy, meta.actor, [request.body.targetUnitId, request.body.responsibleUnitId]);
      const problemId =
        request.body.problemId ??
        newId('p-', { actor: meta.actor, idempotencyKey: request.headers['idempotency-key'] as string | undefined }, randomUUID);
      const outcome = await problems.find({ ...request.body, problemId }, meta);
      void reply.header('location', `/v1/problems/${encodeURIComponent(problemId)}`);
      return sendOutcome(reply, problemId, outcome, 201);
    },
  );

  app.get(
    '/problems/:id',
    {
      schema: {
        operationId: 'getProblem',
        summary: 'A problem as it stands now; the ETag is its stream revision',
        responseDocs: { 200: { headers: { etag: 'always' } } },
        tags,
        params: problemParams,
        response: { 200: problemViewSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { state, revision } = await problems.get(request.params.id);
      if (state.status === 'none') throw notFound('problem.not_found', `problem ${request.params.id} was never found`);
      await requireProblemInSight(state, request);
      return reply.header('etag', etag(revision)).send(viewOf(state, revision));
    },
  );

  app.get(
    '/problems/:id/history',
    {
      schema: {
        operationId: 'getProblemHistory',
        summary: 'Every event of a problem with actor and times, and the audit-chain verification of its stream',
        tags,
        params: problemParams,
        response: { 200: historySchema, ...errorResponses },
      },
    },
    async (request) => {
      const { state } = await problems.get(request.params.id);
      if (state.status === 'none') throw notFound('problem.not_found', `problem ${request.params.id} was never found`);
      await requireProblemInSight(state, request);
      return app.duban.ledgers.itemHistory(request.params.id);
    },
  );

  const command = { tags, headers: problemCommandHeaders, response: ifMatchCommandResponses };

  app.post(
    '/problems/:id/acknowledge',
    { schema: { ...command, operationId: 'acknowledgeProblem', summary: 'Sign for a problem (签收)', params: problemParams, body: emptyBody } },
    async (request, reply) =>
      sendOutcome(reply, request.params.id, await problems.acknowledge(request.params.id, commandMeta(request, { ifMatch: true }))),
  );

  app.post(
    '/problems/:id/measures',
    {
      schema: {
        ...command,
        operationId: 'assignMeasure',
        summary: 'Assign a rectification measure (整改措施)',
        params: problemParams,
        body: assignMeasureBody,
        response: ifMatchCreatedResponses,
      },
    },
    async (request, reply) => {
      const meta = commandMeta(request, { ifMatch: true });
      await requireUnitsInScope(hierarchy, meta.actor, [request.body.assigneeUnitId]);
      const measureId =
        request.body.measureId ??
        newId('m-', { actor: meta.actor, idempotencyKey: request.headers['idempotency-key'] as string | undefined }, randomUUID);
      const outcome = await problems.assignMeasure(request.params.id, { ...request.body, measureId }, meta);
      return sendOutcome(reply, measureId, outcome, 201);
    },
  );

  app.post(
    '/problems/:id/measures/:measureId/complete',
    { schema: { ...command, operationId: 'completeMeasure', summary: 'Report a measure completed, with evidence references', params: measureParams, body: completeMeasureBody } },
    async (request, reply) =>
      sendOutcome(
        reply,
        request.params.id,
        await problems.completeMeasure(
          request.params.id,
          { measureId: request.params.measureId, ...request.body },
          commandMeta(request, { ifMatch: true }),
        ),
      ),
  );

  app.post(
    '/problems/:id/submit',
    { schema: { ...command, operationId: 'submitRectification', summary: 'Submit the rectification for verification', params: problemParams, body: submitBody } },
    async (request, reply) =>
      sendOutcome(reply, request.params.id, await problems.submit(request.params.id, request.body, commandMeta(request, { ifMatch: true }))),
  );

  app.post(
    '/problems/:id/reject',
    { schema: { ...command, operationId: 'rejectRectification', summary: 'Reject a submitted rectification, with a reason', params: problemParams, body: rejectBody } },
    async (request, reply) =>
      sendOutcome(reply, request.params.id, await problems.reject(request.params.id, request.body, commandMeta(request, { ifMatch: true }))),
  );

  app.post(
    '/problems/:id/clear',
    { schema: { ...command, operationId: 'clearProblem', summary: 'Verify and clear (销号) — by a unit strictly above the responsible unit', params: problemParams, body: emptyBody } },
    async (request, reply) =>
      sendOutcome(reply, request.params.id, await problems.clear(request.params.id, commandMeta(request, { ifMatch: true }))),
  );

  app.post(
    '/problems/:id/extend',
    { schema: { ...command, operationId: 'extendDeadline', summary: 'Extend the deadline forward, with a reason', params: problemParams, body: extendBody } },
    async (request, reply) =>
      sendOutcome(reply, request.params.id, await problems.extend(request.params.id, request.body, commandMeta(request, { ifMatch: true }))),
  );

  app.post(
    '/problems/:id/reopen',
    { schema: { ...command, operationId: 'reopenProblem', summary: 'Reopen a cleared problem after a look-back (回头看), with a new deadline', params: problemParams, body: reopenBody } },
    async (request, reply) =>
      sendOutcome(reply, request.params.id, await problems.reopen(request.params.id, request.body, commandMeta(request, { ifMatch: true }))),
  );
};
