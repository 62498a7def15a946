import { PassThrough } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { LedgerWorkbook } from '../exports/index.js';
import { contentTypes, writeSheets, type SheetFormat } from '../spreadsheets/write.js';

/** The media types of a ledger sent as a workbook or as CSV (the `format` query parameter), as documented. */
export const sheetMediaTypes = [contentTypes.xlsx, 'text/csv'] as const;

export const formatQuery = {
  format: z
    .enum(['json', 'xlsx', 'csv'])
    .optional()
    .describe('json (default), xlsx (a workbook with the whole ledger) or csv (UTF-8 with BOM); or ask with Accept'),
};

/** `format=` wins; otherwise an Accept naming a workbook or CSV (and not JSON first) asks for it. */
export function formatOf(request: FastifyRequest): 'json' | SheetFormat {
  const asked = (request.query as { format?: string }).format;
  if (asked === 'xlsx' || asked === 'csv' || asked === 'json') return asked;
  const accept = request.headers.accept ?? '';
  if (accept.includes(contentTypes.xlsx)) return 'xlsx';
  if (/\btext\/csv\b/.test(accept)) return 'csv';
  return 'json';
}

/**
 * Streams the workbook as the response body. Everything that can refuse the request (scope, unknown
 * unit, bad asOf) has run before this, so a failure past this point is the store's, and it ends the body.
 */
export function sendWorkbook(request: FastifyRequest, reply: FastifyReply, format: SheetFormat, book: LedgerWorkbook) {
  const body = new PassThrough();
  writeSheets(body, format, book.heading, book.sheets).catch((err: unknown) => {
    request.log.error({ err }, 'export failed while streaming');
    body.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  return reply
    .type(contentTypes[format])
    .header('content-disposition', `attachment; filename="${book.name}.${format}"`)
    .header('x-ledger-position', book.position)
    .send(body);
}
