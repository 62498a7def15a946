import { randomUUID } from 'node:crypto';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { importKinds } from '../../spreadsheets/fields.js';
import { contentTypes } from '../../spreadsheets/write.js';
import { NotASpreadsheet } from '../../imports/read.js';
import type { ImportReport } from '../../imports/index.js';
import { templateWorkbook } from '../../imports/template.js';
import { sendProblem } from '../plugins/errors.js';
import { problem, errorResponses } from '../problem-details.js';
import { actorOf } from './common.js';

/** Largest upload: a prefecture's plan measures as CSV fit several times over. */
export const IMPORT_BODY_LIMIT = 64 * 1024 * 1024;

const issue = z.object({ row: z.number().int(), column: z.string().nullable(), rule: z.string(), message: z.string(), message_zh: z.string() });
const report = z
  .looseObject({
    id: z.string(),
    kind: z.string(),
    dryRun: z.boolean(),
    rows: z.number().int(),
    valid: z.boolean().describe('Every row passed; otherwise nothing was appended'),
    rowsToAppend: z.number().int(),
    rowsUnchanged: z.number().int().describe('Rows imported before: they append nothing'),
    issues: z.array(issue).describe('Row, column, rule and message (zh/en) of each refusal'),
    appended: z.boolean(),
  })
  .meta({ id: 'ImportReport' });
const { 422: _unprocessable, ...refusals } = errorResponses;

interface Job {
  id: string;
  userId: string;
  status: 'running' | 'done' | 'failed';
  done: number;
  total: number;
  report?: ImportReport;
  error?: string;
}

/** Imports (POST /v1/imports) and their templates. */
export const importRoutes: FastifyPluginAsyncZod = async (app) => {
  const { imports } = app.duban;
  const jobs = new Map<string, Job>();
  for (const type of [contentTypes.xlsx, 'text/csv', 'application/octet-stream']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));
  }

  app.post(
    '/imports',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        summary: 'Import a workbook or CSV (units, households, plan measures, assessments, problems, listings); dry run first',
        tags: ['data'],
        querystring: z.strictObject({
          kind: z.enum(importKinds),
          dryRun: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
          charset: z.enum(['utf-8', 'gb18030']).optional().describe('CSV encoding; default: UTF-8 when it decodes, else GB18030/GBK'),
          async: z.enum(['true', 'false']).default('false').transform((v) => v === 'true').describe('Answer 202 at once; follow GET /v1/imports/:id'),
        }),
        response: { 200: report, 202: z.object({ id: z.string(), status: z.string() }), 422: report, ...refusals },
      },
    },
    async (request, reply) => {
      const file = request.body;
      if (!Buffer.isBuffer(file)) {
        return sendProblem(request, reply, problem('unsupported_media_type', { detail: 'send the file as the body (xlsx, text/csv or application/octet-stream)', rule: 'import.content_type' }));
      }
      const q = request.query;
      const job: Job = { id: randomUUID(), userId: request.principal.userId, status: 'running', done: 0, total: 0 };
      jobs.set(job.id, job);
      const running = imports
        .run(file, {
          kind: q.kind,
          actor: actorOf(request),
          dryRun: q.dryRun,
          ...(q.charset ? { charset: q.charset } : {}),
          correlationId: request.id,
          onProgress: (done, total) => Object.assign(job, { done, total }),
        })
        .then((report) => Object.assign(job, { status: 'done', report }));
      if (q.async) {
        running.catch((err: unknown) => Object.assign(job, { status: 'failed', error: err instanceof Error ? err.message : String(err) }));
        return reply.code(202).header('location', `/v1/imports/${job.id}`).send({ id: job.id, status: job.status });
      }
      try {
        const { report } = await running;
        return reply.code(report!.valid ? 200 : 422).send({ id: job.id, ...report });
      } catch (err) {
        jobs.delete(job.id);
        if (err instanceof NotASpreadsheet) return sendProblem(request, reply, problem('unsupported_media_type', { detail: err.message, rule: 'import.not_a_spreadsheet' }));
        throw err;
      }
    },
  );

  app.get(
    '/imports/:id',
    { schema: { summary: 'An import job: progress, then its report', tags: ['data'], params: z.strictObject({ id: z.uuid() }), response: { 200: z.looseObject({ id: z.string(), status: z.string() }), ...errorResponses } } },
    async (request, reply) => {
      const job = jobs.get(request.params.id);
      if (!job || job.userId !== request.principal.userId) {
        return sendProblem(request, reply, problem('not_found', { detail: 'no such import', rule: 'import.not_found' }));
      }
      return reply.send({ ...job });
    },
  );

  app.get(
    '/imports/templates/:file',
    {
      schema: {
        summary: 'Template workbook of an import kind: Chinese headers, an example row, lists for enums',
        tags: ['data'],
        params: z.strictObject({ file: z.enum(importKinds.map((k) => `${k}.xlsx`) as [string, ...string[]]) }),
        response: { 200: z.any(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const kind = request.params.file.replace(/\.xlsx$/, '') as (typeof importKinds)[number];
      return reply.type(contentTypes.xlsx).header('content-disposition', `attachment; filename="${kind}.xlsx"`).send(await templateWorkbook(kind));
    },
  );
};
