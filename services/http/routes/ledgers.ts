import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authorize } from '../../../events/access.js';
import { idSchema, isoTime } from '../../../events/common.js';
import type { AsOf } from '../../ports/read-model.js';
import { errorResponses } from '../problem-details.js';
import { actorOf } from './common.js';

const colour = z.enum(['none', 'blue', 'yellow', 'red']);
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** Every ledger read can be replayed for an inspection: as of a time, or as of an event position. */
const asOfQuery = {
  asOf: isoTime.optional().describe('The ledger as it stood at this time (ISO 8601 with offset); lateness is measured against it'),
  position: z
    .string()
    .regex(/^\d{1,19}$/)
    .optional()
    .describe('The ledger as it stood after the event at this global position'),
};
const pagingQuery = {
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(400).optional().describe('nextCursor of the previous page'),
};
const scopeQuery = { unitId: idSchema.optional().describe("Subtree to read; default: the caller's unit") };

function asOfOf(query: { asOf?: string | undefined; position?: string | undefined }): AsOf {
  return {
    ...(query.asOf !== undefined ? { asOf: query.asOf } : {}),
    ...(query.position !== undefined ? { position: BigInt(query.position) } : {}),
  };
}
function pagingOf(query: { limit?: number | undefined; cursor?: string | undefined }) {
  return { ...(query.limit !== undefined ? { limit: query.limit } : {}), ...(query.cursor !== undefined ? { cursor: query.cursor } : {}) };
}

const pageMeta = {
  nextCursor: z.string().optional(),
  position: z.string().describe('The event position the answer reflects'),
  at: z.string().describe('The time lateness was measured against'),
};

const problemItem = z.object({
  problemId: z.string(),
  unitId: z.string(),
  responsibleUnitId: z.string(),
  category: z.string(),
  source: z.string(),
  severity: z.string(),
  description: z.string(),
  deadline: z.string(),
  status: z.string(),
  open: z.boolean(),
  colour,
  escalationLevel: z.number().int(),
  measuresTotal: z.number().int(),
  measuresDone: z.number().int(),
  foundAt: z.string(),
  clearedAt: z.string().nullable(),
  reopenCount: z.number().int(),
  missedDeadlines: z.array(z.string()),
  lastEventAt: z.string(),
  daysOverdue: z.number(),
  overdue: z.boolean(),
});
const householdItem = z.object({
  householdId: z.string(),
  villageId: z.string(),
  category: z.string(),
  members: z.number().int(),
  planTotal: z.number().int(),
  planDone: z.number().int(),
  assessment: z
    .object({
      food: z.boolean(),
      clothing: z.boolean(),
      education: z.boolean(),
      medical: z.boolean(),
      housing: z.boolean(),
      water: z.boolean(),
      meetsStandard: z.boolean(),
      assessedAt: z.string(),
    })
    .nullable(),
  meetsStandard: z.boolean(),
  monitored: z.boolean(),
  monitoringReason: z.string().nullable(),
  lastEventAt: z.string(),
});
const rollup = z.object({
  unitId: z.string(),
  name: z.string(),
  level: z.string(),
  parentId: z.string().nullable(),
  problemsOpen: z.number().int(),
  problemsOverdue: z.number().int(),
  problemsCleared: z.number().int(),
  householdsTotal: z.number().int(),
  householdsMeetingStandard: z.number().int(),
  householdsMonitored: z.number().int(),
  measuresTotal: z.number().int(),
  measuresCompleted: z.number().int(),
  problemMeasuresTotal: z.number().int(),
  problemMeasuresCompleted: z.number().int(),
  planMeasuresTotal: z.number().int(),
  planMeasuresCompleted: z.number().int(),
  listingsActive: z.number().int(),
  clear: z.boolean().describe('Nothing open beneath it, every household meets the standard, every listing delisted'),
  clearance: z.string().nullable().describe('户户清 (village), 村村清 (township), 县县清 (county)'),
});
const escalationItem = z.object({
  problemId: z.string(),
  unitId: z.string(),
  responsibleUnitId: z.string(),
  level: z.number().int(),
  toUnitId: z.string(),
  colour,
  reason: z.string(),
  escalatedAt: z.string(),
  deadline: z.string(),
});
const listingItem = z.object({
  listingId: z.string(),
  targetUnitId: z.string(),
  supervisingUnitId: z.string(),
  leader: z.unknown(),
  reason: z.string(),
  metrics: z.record(z.string(), z.unknown()),
  active: z.boolean(),
  listedAt: z.string(),
  delistedAt: z.string().nullable(),
  verifiedBy: z.unknown(),
});

/** Ledgers (台账) read from the projections, each limited to the caller's subtree. */
export const ledgerRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ledgers, hierarchy } = app.duban;
  const tags = ['ledgers'];

  /** The subtree a read asks for, checked against the caller's own. */
  async function scopedUnit(request: FastifyRequest, unitId: string | undefined): Promise<string> {
    const target = unitId ?? request.principal.unitId;
    await hierarchy.ensure([target, request.principal.unitId]);
    authorize(actorOf(request), 'read', [target], hierarchy.view);
    return target;
  }

  app.get(
    '/ledgers/problems',
    {
      schema: {
        summary: 'Problem ledger: one row per problem in a subtree, filterable by status, colour and lateness',
        tags,
        querystring: z.strictObject({
          ...scopeQuery,
          status: z.enum(['open', 'acknowledged', 'submitted', 'cleared']).optional(),
          colour: colour.optional(),
          overdue: flag.optional(),
          open: flag.optional(),
          ...asOfQuery,
          ...pagingQuery,
        }),
        response: { 200: z.object({ items: z.array(problemItem), ...pageMeta }), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      return ledgers.problems({
        unitId: await scopedUnit(request, q.unitId),
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.colour !== undefined ? { colour: q.colour } : {}),
        ...(q.overdue !== undefined ? { overdue: q.overdue } : {}),
        ...(q.open !== undefined ? { open: q.open } : {}),
        ...asOfOf(q),
        ...pagingOf(q),
      });
    },
  );

  app.get(
    '/ledgers/households',
    {
      schema: {
        summary: 'Household ledger: plan progress, latest assessment and monitoring flag per household',
        tags,
        querystring: z.strictObject({ ...scopeQuery, ...asOfQuery, ...pagingQuery }),
        response: { 200: z.object({ items: z.array(householdItem), ...pageMeta }), ...errorResponses },
      },
    },
    async (request) =>
      ledgers.households({ unitId: await scopedUnit(request, request.query.unitId), ...asOfOf(request.query), ...pagingOf(request.query) }),
  );

  app.get(
    '/ledgers/units/:id',
    {
      schema: {
        summary: 'Unit roll-up with its children: counts over the whole subtree and whether it is clear (户户清/村村清/县县清)',
        tags,
        params: z.strictObject({ id: idSchema }),
        querystring: z.strictObject({ ...asOfQuery }),
        response: { 200: z.object({ unit: rollup, children: z.array(rollup), position: z.string(), at: z.string() }), ...errorResponses },
      },
    },
    async (request) => ledgers.rollup({ unitId: await scopedUnit(request, request.params.id), ...asOfOf(request.query) }),
  );

  app.get(
    '/escalations',
    {
      schema: {
        summary: 'Escalation board (督办单): active notices by level and colour',
        tags,
        querystring: z.strictObject({
          ...scopeQuery,
          level: z.coerce.number().int().min(1).max(10).optional(),
          colour: colour.optional(),
          ...asOfQuery,
          ...pagingQuery,
        }),
        response: {
          200: z.object({
            items: z.array(escalationItem),
            byLevelAndColour: z.record(z.string(), z.record(z.string(), z.number())),
            ...pageMeta,
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return ledgers.escalationBoard({
        unitId: await scopedUnit(request, q.unitId),
        ...(q.level !== undefined ? { level: q.level } : {}),
        ...(q.colour !== undefined ? { colour: q.colour } : {}),
        ...asOfOf(q),
        ...pagingOf(q),
      });
    },
  );

  app.get(
    '/listings',
    {
      schema: {
        summary: 'Listing board (挂牌督战): listed targets in a subtree, active or delisted',
        tags: ['listings', ...tags],
        querystring: z.strictObject({ ...scopeQuery, active: flag.optional(), ...asOfQuery, ...pagingQuery }),
        response: { 200: z.object({ items: z.array(listingItem), ...pageMeta }), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      return ledgers.listingBoard({
        unitId: await scopedUnit(request, q.unitId),
        ...(q.active !== undefined ? { active: q.active } : {}),
        ...asOfOf(q),
        ...pagingOf(q),
      });
    },
  );
};
