import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { dateSchema, idSchema, monthSchema } from '../../../events/common.js';
import { errorResponses } from '../problem-details.js';
import { formatOf, formatQuery, sendWorkbook, sheetMediaTypes } from '../sheets.js';
import { commandMeta, commandResponses, idempotencyHeaders, readableUnit, sendOutcome } from './common.js';
import { importRoutes } from './imports.js';
import { asOfOf, asOfQuery, unitRollupSchema } from './ledgers.js';

const reviewFigures = unitRollupSchema
  .extend({
    population: z.number().int().nullable(),
    remainingPoorHouseholds: z.number().int(),
    remainingPoorPeople: z.number().int().describe('Members of households beneath it not meeting the standard'),
    povertyIncidencePercent: z.number().nullable().describe('remainingPoorPeople per 100 of the registered population'),
  })
  .meta({ id: 'UnitReviewFigures' });
const reviewAnswer = z
  .object({
    period: z.union([z.object({ kind: z.literal('monthly'), month: z.string() }), z.object({ kind: z.literal('daily'), day: z.string() })]),
    unitId: z.string(),
    at: z.string().describe('The moment the figures describe: the end of the period, or now while it runs'),
    position: z.string(),
    live: z.boolean(),
    unit: reviewFigures,
    units: z.array(reviewFigures).describe('Every unit beneath it, each over its own subtree'),
    candidates: z
      .array(
        z.object({
          unitId: z.string(),
          name: z.string(),
          level: z.string(),
          listedBy: z.enum(['prefecture', 'county']),
          rule: z.string(),
          value: z.number(),
          threshold: z.number(),
          listed: z.boolean(),
          listingIds: z.array(z.string()),
        }),
      )
      .describe('Units meeting the listing thresholds, and whether an active listing targets them'),
    thresholdsVersion: z.number().int(),
    compiled: z.object({ figures: z.record(z.string(), z.number()), recordedAt: z.string() }).nullable(),
  })
  .meta({ id: 'ReviewFigures' });

/** Offices' data in and out: the plan-measure ledger as a workbook, review figures, populations. */
export const dataRoutes: FastifyPluginAsyncZod = async (app) => {
  const { hierarchy, exports, reviews, organisation } = app.duban;

  await app.register(importRoutes);

  const readable = (request: FastifyRequest, unitId: string | undefined) => readableUnit(hierarchy, request, unitId);

  app.get(
    '/ledgers/plan-measures',
    {
      schema: {
        operationId: 'exportPlanMeasures',
        responseDocs: {
          200: { mediaTypes: sheetMediaTypes, headers: { 'content-disposition': 'always', 'x-ledger-position': 'always' }, description: 'The ledger as a workbook or CSV file' },
        },
        summary: 'Plan-measure ledger (一户一方案 帮扶措施): every household plan measure in a subtree, as xlsx or CSV',
        tags: ['ledgers', 'data'],
        querystring: z.strictObject({
          unitId: idSchema.optional(),
          format: z.enum(['xlsx', 'csv']).default('xlsx'),
          ...asOfQuery,
        }),
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const unitId = await readable(request, q.unitId);
      const book = await exports.planMeasures({ unitId, ...asOfOf(q) });
      return sendWorkbook(request, reply, q.format, book);
    },
  );

  const periods = [
    { kind: 'monthly', operationId: 'getMonthlyReview', param: 'month', schema: monthSchema, summary: 'Monthly review (一月一研判): figures per unit over its subtree at the end of the month, with listing candidates' },
    { kind: 'daily', operationId: 'getDailyReport', param: 'day', schema: dateSchema, summary: 'Daily report (每日一报): figures per unit over its subtree at the end of the day, with listing candidates' },
  ] as const;
  for (const period of periods) {
    app.get(
      `/reviews/${period.kind}`,
      {
        schema: {
          operationId: period.operationId,
          summary: period.summary,
          tags: ['reviews'],
          querystring: z.strictObject({ unitId: idSchema.optional(), [period.param]: period.schema, format: formatQuery.format }),
          response: { 200: reviewAnswer, ...errorResponses },
        },
      },
      async (request, reply) => {
        const query = request.query as { unitId?: string } & Record<string, string>;
        const unitId = await readable(request, query.unitId);
        const answer = await reviews[period.kind](unitId, query[period.param]!);
        const format = formatOf(request);
        return format === 'json' ? reply.send(answer) : sendWorkbook(request, reply, format, exports.review(answer));
      },
    );
  }

  app.post(
    '/units/:id/population',
    {
      schema: {
        operationId: 'updatePopulation',
        summary: 'Register or update the population of a unit (poverty incidence is measured against it)',
        tags: ['organisation'],
        params: z.strictObject({ id: idSchema }),
        headers: idempotencyHeaders,
        body: z.strictObject({ population: z.number().int().min(0).max(100_000_000) }).meta({ examples: [{ population: 1250 }] }),
        response: commandResponses,
      },
    },
    async (request, reply) => {
      const outcome = await organisation.updatePopulation({ unitId: request.params.id, population: request.body.population }, commandMeta(request));
      return sendOutcome(reply, request.params.id, outcome);
    },
  );
};
