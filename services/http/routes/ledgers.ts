import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { idSchema, isoTime } from '../../../events/common.js';
import { standardsSchema } from '../../../events/household/events.js';
import { warningColourSchema } from '../../../events/problem/events.js';
import type { AsOf } from '../../ports/read-model.js';
import { errorResponses } from '../problem-details.js';
import { formatOf, formatQuery, sendWorkbook } from '../sheets.js';
import { readableUnit } from './common.js';

const colour = warningColourSchema;
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** Positions are signed 64-bit integers in every store. */
const MAX_POSITION = 2n ** 63n - 1n;

/** Every ledger read can be replayed for an inspection: as of a time, or as of an event position. */
export const asOfQuery = {
  asOf: isoTime.optional().describe('The ledger as it stood at this time (ISO 8601 with offset); lateness is measured against it'),
  position: z
    .string()
    .regex(/^\d{1,19}$/)
    .refine((p) => !/^\d+$/.test(p) || BigInt(p) <= MAX_POSITION, `a position is at most ${MAX_POSITION}`)
    .optional()
    .describe('The ledger as it stood after the event at this global position'),
};
const pagingQuery = {
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().max(400).optional().describe('nextCursor of the previous page'),
};
const scopeQuery = { unitId: idSchema.optional().describe("Subtree to read; default: the caller's unit") };

export function asOfOf(query: { asOf?: string | undefined; position?: string | undefined }): AsOf {
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
  daysOverdue: z.number().describe('Calendar days past the deadline in the policy time zone, up to a submission awaiting verification'),
  overdue: z.boolean(),
  overdueSince: z.string().nullable().describe('The deadline that was missed, when overdue'),
});
const householdItem = z.object({
  householdId: z.string(),
  villageId: z.string(),
  category: z.string(),
  members: z.number().int(),
  planTotal: z.number().int(),
  planDone: z.number().int(),
  assessment: standardsSchema.extend({ meetsStandard: z.boolean(), assessedAt: z.string() }).nullable(),
  meetsStandard: z.boolean(),
  monitored: z.boolean(),
  monitoringReason: z.string().nullable(),
  lastEventAt: z.string(),
});
/** One unit's counts over its subtree; the review figures (routes/data.ts) extend it. */
export const unitRollupSchema = z.object({
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
  population: z.number().int().nullable().optional().describe('Registered population, null when none was given'),
  clear: z.boolean().describe('Nothing open beneath it, every household meets the standard, every listing delisted'),
  clearance: z
    .enum(['户户清', '村村清', '县县清'])
    .nullable()
    .describe('The level all clear beneath the unit: 户户清 (village), 村村清 (township, county), 县县清 (prefecture)'),
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

const ANSWER_TTL_MS = 1000;
const ANSWER_CACHE_SIZE = 2000;

const problemPage = z.object({ items: z.array(problemItem), ...pageMeta }).meta({ id: 'ProblemLedgerPage' });
const householdPage = z.object({ items: z.array(householdItem), ...pageMeta }).meta({ id: 'HouseholdLedgerPage' });
const rollupAnswer = z.object({ unit: unitRollupSchema, children: z.array(unitRollupSchema), position: z.string(), at: z.string() }).meta({ id: 'UnitRollup' });
const escalationAnswer = z
  .object({ items: z.array(escalationItem), byLevelAndColour: z.record(z.string(), z.record(z.string(), z.number())), ...pageMeta })
  .meta({ id: 'EscalationBoard' });
const listingPage = z.object({ items: z.array(listingItem), ...pageMeta }).meta({ id: 'ListingBoard' });

/** Ledgers (台账) read from the projections, each limited to the caller's subtree. */
export const ledgerRoutes: FastifyPluginAsyncZod = async (app) => {
  const { ledgers, hierarchy, ledgerPosition, exports } = app.duban;
  const tags = ['ledgers'];

  // Live answers (no asOf) by route, subtree and query. One is served again only while the ledgers have
  // applied no new event and for at most a second, since lateness moves with the clock. Authorization
  // runs before the lookup, so the cache never answers a caller the route would refuse.
  const answers = new Map<string, { body: string; position: bigint; at: number }>();
  async function answer<T>(
    request: FastifyRequest,
    reply: FastifyReply,
    unitId: string,
    schema: z.ZodType<T>,
    compute: () => Promise<T>,
  ): Promise<FastifyReply> {
    const query = request.query as Record<string, unknown>;
    const live = ledgerPosition !== undefined && query['asOf'] === undefined && query['position'] === undefined;
    const key = `${request.routeOptions.url}|${unitId}|${JSON.stringify(query)}`;
    const position = live ? await ledgerPosition() : undefined;
    if (position !== undefined) {
      const hit = answers.get(key);
      if (hit && hit.position === position && Date.now() - hit.at < ANSWER_TTL_MS) {
        return reply.type('application/json; charset=utf-8').send(hit.body);
      }
    }
    const body = JSON.stringify(schema.parse(await compute()));
    if (position !== undefined) {
      answers.delete(key);
      if (answers.size >= ANSWER_CACHE_SIZE) answers.delete(answers.keys().next().value as string);
      answers.set(key, { body, position, at: Date.now() });
    }
    return reply.type('application/json; charset=utf-8').send(body);
  }

  const scopedUnit = (request: FastifyRequest, unitId: string | undefined) => readableUnit(hierarchy, request, unitId);

  app.get(
    '/ledgers/problems',
    {
      schema: {
        operationId: 'getProblemLedger',
        summary: 'Problem ledger: one row per problem in a subtree, filterable by responsible unit, status, colour and lateness',
        tags,
        querystring: z.strictObject({
          ...scopeQuery,
          responsibleUnitId: idSchema.optional().describe('Only the problems this unit is responsible for'),
          status: z.enum(['open', 'acknowledged', 'submitted', 'cleared']).optional(),
          colour: colour.optional(),
          overdue: flag.optional(),
          open: flag.optional(),
          ...asOfQuery,
          ...pagingQuery,
          ...formatQuery,
        }),
        response: { 200: problemPage, ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const unitId = await scopedUnit(request, q.unitId);
      if (q.responsibleUnitId !== undefined) await scopedUnit(request, q.responsibleUnitId);
      const filters = {
        unitId,
        ...(q.responsibleUnitId !== undefined ? { responsibleUnitId: q.responsibleUnitId } : {}),
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.colour !== undefined ? { colour: q.colour } : {}),
        ...(q.overdue !== undefined ? { overdue: q.overdue } : {}),
        ...(q.open !== undefined ? { open: q.open } : {}),
        ...asOfOf(q),
      };
      const format = formatOf(request);
      if (format !== 'json') return sendWorkbook(request, reply, format, await exports.problems(filters));
      return answer(request, reply, unitId, problemPage, () => ledgers.problems({ ...filters, ...pagingOf(q) }));
    },
  );

  app.get(
    '/ledgers/households',
    {
      schema: {
        operationId: 'getHouseholdLedger',
        summary: 'Household ledger: plan progress, latest assessment and monitoring flag per household',
        tags,
        querystring: z.strictObject({ ...scopeQuery, ...asOfQuery, ...pagingQuery, ...formatQuery }),
        response: { 200: householdPage, ...errorResponses },
      },
    },
    async (request, reply) => {
      const unitId = await scopedUnit(request, request.query.unitId);
      const format = formatOf(request);
      if (format !== 'json') {
        const book = await exports.households({ unitId, ...asOfOf(request.query) }, { withMeasures: format === 'xlsx' });
        return sendWorkbook(request, reply, format, book);
      }
      return answer(request, reply, unitId, householdPage, () =>
        ledgers.households({ unitId, ...asOfOf(request.query), ...pagingOf(request.query) }),
      );
    },
  );

  app.get(
    '/ledgers/units/:id',
    {
      schema: {
        operationId: 'getUnitRollup',
        summary: 'Unit roll-up with its children: counts over the whole subtree and whether it is clear (户户清/村村清/县县清)',
        tags,
        params: z.strictObject({ id: idSchema }),
        querystring: z.strictObject({ ...asOfQuery, ...formatQuery }),
        response: { 200: rollupAnswer, ...errorResponses },
      },
    },
    async (request, reply) => {
      const unitId = await scopedUnit(request, request.params.id);
      const format = formatOf(request);
      if (format !== 'json') return sendWorkbook(request, reply, format, await exports.units({ unitId, ...asOfOf(request.query) }));
      return answer(request, reply, unitId, rollupAnswer, () => ledgers.rollup({ unitId, ...asOfOf(request.query) }));
    },
  );

  app.get(
    '/escalations',
    {
      schema: {
        operationId: 'getEscalationBoard',
        summary: 'Escalation board (督办单): active notices by level and colour',
        tags,
        querystring: z.strictObject({
          ...scopeQuery,
          level: z.coerce.number().int().min(1).max(10).optional(),
          colour: colour.optional(),
          ...asOfQuery,
          ...pagingQuery,
          ...formatQuery,
        }),
        response: { 200: escalationAnswer, ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const unitId = await scopedUnit(request, q.unitId);
      const format = formatOf(request);
      if (format !== 'json') {
        const book = await exports.escalations({
          unitId,
          ...(q.level !== undefined ? { level: q.level } : {}),
          ...(q.colour !== undefined ? { colour: q.colour } : {}),
          ...asOfOf(q),
        });
        return sendWorkbook(request, reply, format, book);
      }
      return answer(request, reply, unitId, escalationAnswer, () =>
        ledgers.escalationBoard({
          unitId,
          ...(q.level !== undefined ? { level: q.level } : {}),
          ...(q.colour !== undefined ? { colour: q.colour } : {}),
          ...asOfOf(q),
          ...pagingOf(q),
        }),
      );
    },
  );

  app.get(
    '/listings',
    {
      schema: {
        operationId: 'getListingBoard',
        summary: 'Listing board (挂牌督战): listed targets in a subtree, active or delisted',
        tags: ['listings', ...tags],
        querystring: z.strictObject({ ...scopeQuery, active: flag.optional(), ...asOfQuery, ...pagingQuery, ...formatQuery }),
        response: { 200: listingPage, ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const unitId = await scopedUnit(request, q.unitId);
      const format = formatOf(request);
      if (format !== 'json') {
        const book = await exports.listings({ unitId, active: q.active ?? true, ...asOfOf(q) });
        return sendWorkbook(request, reply, format, book);
      }
      return answer(request, reply, unitId, listingPage, () =>
        ledgers.listingBoard({ unitId, ...(q.active !== undefined ? { active: q.active } : {}), ...asOfOf(q), ...pagingOf(q) }),
      );
    },
  );
};
