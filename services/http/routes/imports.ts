import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { importKinds } from '../../spreadsheets/fields.js';
import { contentTypes } from '../../spreadsheets/write.js';
import multipart from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { annotatedWorkbook } from '../../imports/annotate.js';
import { progressEventId, type Job } from '../../imports/jobs.js';
import { NotASpreadsheet } from '../../imports/read.js';
import { templateWorkbook } from '../../imports/template.js';
import { sendProblem } from '../plugins/errors.js';
import { problem, commandErrorResponses, errorResponses } from '../problem-details.js';
import { eventStreams } from '../sse.js';
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
const { 422: _unprocessable, ...refusals } = commandErrorResponses;

/** What a file may be sent as, besides a multipart form. */
const fileTypes = [contentTypes.xlsx, 'text/csv', 'application/octet-stream'];

/** A job as its owner reads it (not the actor or correlation it runs under). */
const jobView = ({ actor: _a, userId: _u, correlationId: _c, charset: _s, ...view }: Job) => view;

/** Imports (POST /v1/imports, the file as the body or as multipart), their jobs and templates. */
export const importRoutes: FastifyPluginAsyncZod = async (app) => {
  const { imports } = app.duban;
  for (const type of fileTypes) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));
  }
  // multipart/form-data with one file part (any field name), as a browser form sends it.
  await app.register(multipart, { limits: { fileSize: IMPORT_BODY_LIMIT, files: 1, fields: 0, parts: 1 } });

  /** The owner's job, or a 404 sent. */
  const ownJob = (request: FastifyRequest, id: string) => {
    const job = imports.jobs.get(id);
    return job && job.userId === request.principal.userId ? job : undefined;
  };
  const noSuchImport = { detail: 'no such import', rule: 'import.not_found' };

  app.post(
    '/imports',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        operationId: 'runImport',
        responseDocs: { 202: { headers: { location: 'always' } } },
        requestBodyDocs: {
          description: 'The workbook or CSV file as the body, or as the one file part of a multipart/form-data form',
          content: {
            ...Object.fromEntries(
              fileTypes.map((type) => [type, { schema: { type: 'string', contentMediaType: type } }]),
            ),
            'multipart/form-data': {
              schema: {
                type: 'object',
                properties: { file: { type: 'string', contentMediaType: 'application/octet-stream', description: 'The file (any field name); no other part' } },
                required: ['file'],
              },
            },
          },
        },
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
      let file: unknown = request.body;
      if (request.isMultipart()) {
        try {
          file = await (await request.file())?.toBuffer();
        } catch (err) {
          // A file over the limit stays a 413; anything else is a body that is not one file part (no boundary,
          // cut short, a field instead of a file), which busboy reports as a plain Error.
          if ((err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw err;
          const detail = `the multipart body is not one file part: ${(err as Error).message}`;
          return sendProblem(request, reply, problem('validation', { detail, rule: 'import.multipart' }));
        }
      }
      if (!Buffer.isBuffer(file)) {
        return sendProblem(request, reply, problem('unsupported_media_type', { detail: 'send the file as the body (xlsx, text/csv or application/octet-stream) or as a multipart/form-data file part', rule: 'import.content_type' }));
      }
      const q = request.query;
      let read;
      try {
        read = await imports.read(file, q.kind, q.charset);
      } catch (err) {
        if (err instanceof NotASpreadsheet) return sendProblem(request, reply, problem('unsupported_media_type', { detail: err.message, rule: 'import.not_a_spreadsheet' }));
        throw err;
      }
      const { job, done } = imports.jobs.start(file, read, {
        userId: request.principal.userId,
        kind: q.kind,
        actor: actorOf(request),
        dryRun: q.dryRun,
        ...(q.charset ? { charset: q.charset } : {}),
        correlationId: request.id,
      });
      if (q.async) {
        done.catch((err: unknown) => request.log.error({ err, importId: job.id }, 'import job failed'));
        return reply.code(202).header('location', `/v1/imports/${job.id}`).send({ id: job.id, status: job.status });
      }
      try {
        const { report } = await done;
        return reply.code(report!.valid ? 200 : 422).send({ id: job.id, ...report! });
      } catch (err) {
        imports.jobs.forget(job.id);
        throw err;
      }
    },
  );

  app.get(
    '/imports/:id',
    { schema: { operationId: 'getImport', summary: 'An import job: phase and progress, then its report', tags: ['data'], params: z.strictObject({ id: z.uuid() }), response: { 200: z.looseObject({ id: z.string(), status: z.string() }), ...errorResponses } } },
    async (request, reply) => {
      const job = ownJob(request, request.params.id);
      if (!job) return sendProblem(request, reply, problem('not_found', noSuchImport));
      return reply.send(jobView(job));
    },
  );

  // Progress streams end with their job; those still open when the server closes are ended first.
  const openEventStream = eventStreams(app);

  app.get(
    '/imports/:id/events',
    {
      schema: {
        operationId: 'streamImportProgress',
        responseDocs: { 200: { mediaTypes: ['text/event-stream'] } },
        summary: 'An import job’s progress as server-sent events, ending with its report',
        description:
          'text/event-stream. `event: progress` while the job runs (data: id, status, phase, done, total, resumed), at once and then ' +
          'every 200 rows; then one final `event: done` (data: the job with its report) or `event: failed` (with error), and the stream ends. ' +
          'Each message has an `id` that only grows; send the last one back as Last-Event-ID to resume: only newer progress comes. ' +
          'A job whose final event was already received answers 204 (an EventSource then stops reconnecting). Only the job’s owner sees it.',
        tags: ['data'],
        params: z.strictObject({ id: z.uuid() }),
        headers: z.object({ 'last-event-id': z.string().regex(/^\d{1,19}$/).optional() }),
        response: { 200: z.string().describe('Server-sent events: id, event and data lines, and comment heartbeats'), 204: z.null().describe('The final event was already received'), ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = ownJob(request, request.params.id);
      if (!job) return sendProblem(request, reply, problem('not_found', noSuchImport));
      let lastSent = Number(request.headers['last-event-id'] ?? -1);
      if (job.status !== 'running' && progressEventId(job) <= lastSent) return reply.code(204).send(null);

      let unwatch = () => {};
      const stream = openEventStream(request, reply, () => unwatch());
      const send = (current: Job) => {
        const id = progressEventId(current);
        if (stream.closed || id <= lastSent) return;
        lastSent = id;
        const running = current.status === 'running';
        const { id: jobId, status, phase, done, total, resumed } = current;
        const data = running ? { id: jobId, status, phase: phase ?? null, done: done ?? 0, total: total ?? null, resumed } : jobView(current);
        stream.send(id, running ? 'progress' : current.status, data);
        if (!running) stream.close();
      };
      unwatch = imports.jobs.watch(job.id, send);
      if (stream.closed) unwatch();
      send(job);
    },
  );

  app.get(
    '/imports/:id/annotated.xlsx',
    {
      schema: {
        operationId: 'getAnnotatedImport',
        responseDocs: { 200: { mediaTypes: [contentTypes.xlsx], headers: { 'content-disposition': 'always' } } },
        summary: 'The uploaded file as a workbook with the refusals marked: cells filled and commented, and a 导入错误 column',
        tags: ['data'],
        params: z.strictObject({ id: z.uuid() }),
        response: { 200: z.any(), ...errorResponses },
      },
    },
    async (request, reply) => {
      const job = ownJob(request, request.params.id);
      const file = job && imports.jobs.file(job.id);
      if (!job || !file) return sendProblem(request, reply, problem('not_found', noSuchImport));
      if (!job.report) return sendProblem(request, reply, problem('conflict', { detail: 'the import has not finished yet', rule: 'import.running' }));
      const read = await imports.read(file, job.kind, job.charset);
      const workbook = await annotatedWorkbook(file, job.kind, read, job.report.issues, job.charset);
      return reply.type(contentTypes.xlsx).header('content-disposition', `attachment; filename="import-${job.id}.xlsx"`).send(workbook);
    },
  );

  app.get(
    '/imports/templates/:file',
    {
      schema: {
        operationId: 'getImportTemplate',
        responseDocs: { 200: { mediaTypes: [contentTypes.xlsx], headers: { 'content-disposition': 'always' } } },
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
