import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { DubanError, invalid } from '../../events/errors.js';
import { kindSheets, type Field, type ImportKind } from '../spreadsheets/fields.js';

/** One data row of an uploaded sheet: its row number as the office sees it, and its cells by field. */
export interface SheetRow {
  row: number;
  cells: Record<string, string>;
}

export interface ReadSheet {
  sheet: string;
  /** Row number of the header row. */
  headerRow: number;
  /** field key -> column number (1-based), for annotating the workbook. */
  columns: Record<string, number>;
  rows: SheetRow[];
}

export type Charset = 'utf-8' | 'gb18030';

/** The upload is no spreadsheet at all (answered 415). */
export class NotASpreadsheet extends Error {}

const XLSX_MAGIC = Buffer.from('504b0304', 'hex');
export const isXlsx = (file: Buffer) => file.subarray(0, 4).equals(XLSX_MAGIC);

/** UTF-8 (with or without BOM) when it decodes as UTF-8, else GB18030 (a superset of GBK), unless told. */
export function decodeCsv(file: Buffer, charset?: Charset): string {
  if (file.subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf]))) return file.subarray(3).toString('utf8');
  if (charset === 'gb18030') return iconv.decode(file, 'gb18030');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(file);
  } catch {
    if (charset === 'utf-8') throw invalid('import.charset', 'the file is not valid UTF-8');
    return iconv.decode(file, 'gb18030');
  }
}

export const csvOptions = { relax_column_count: true, skip_empty_lines: false, bom: true } as const;

/**
 * What csv-parse gives with `csvOptions` for a text with no quote character, a few times faster: the
 * line break is the first one found (CRLF, LF or CR, as csv-parse discovers it; the other kinds are then
 * text), a line is its cells between commas, a last line left empty is none.
 * test/services/imports/csv-grid.unit.test.ts holds it to csv-parse.
 */
function unquotedGrid(text: string): string[][] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const cr = text.indexOf('\r');
  const lf = text.indexOf('\n');
  const lineBreak = cr !== -1 && (lf === -1 || cr < lf) ? (lf === cr + 1 ? '\r\n' : '\r') : '\n';
  const lines = text.split(lineBreak);
  if (lines.at(-1) === '') lines.pop();
  return lines.map((line) => line.split(','));
}

/** The lines of a CSV upload, decoded. */
export function csvGrid(file: Buffer, charset?: Charset): string[][] {
  if (file.includes(0)) throw new NotASpreadsheet('the file is neither an .xlsx workbook nor CSV text');
  const text = decodeCsv(file, charset);
  if (!text.includes('"')) return unquotedGrid(text);
  try {
    return parse(text, csvOptions) as string[][];
  } catch (err) {
    if (err instanceof DubanError) throw err;
    throw invalid('import.csv', `the CSV cannot be read: ${(err as Error).message.split('\n')[0]}`);
  }
}

const normalise = (header: string) => header.replace(/\s+/g, '').replace(/[（(]必填[)）]$/, '').toLowerCase();

function fieldOf(fields: readonly Field[], header: string): Field | undefined {
  const h = normalise(header);
  return fields.find((f) => normalise(f.zh) === h || normalise(f.en) === h);
}

/** The first row (of the first 20) naming every required field is the header row. */
function locate(grid: string[][], kind: ImportKind): { headerAt: number; columns: Record<string, number> } | undefined {
  const fields = kindSheets[kind].fields;
  for (let i = 0; i < Math.min(grid.length, 20); i++) {
    const columns: Record<string, number> = {};
    grid[i]!.forEach((cell, c) => {
      const field = fieldOf(fields, cell);
      if (field && columns[field.key] === undefined) columns[field.key] = c + 1;
    });
    if (fields.every((f) => !f.required || columns[f.key] !== undefined)) return { headerAt: i, columns };
  }
  return undefined;
}

function cellText(value: ExcelJS.CellValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  if (typeof value === 'object') {
    if ('richText' in value) return value.richText.map((r) => r.text).join('');
    if ('text' in value) return String(value.text);
    if ('result' in value) return cellText(value.result as ExcelJS.CellValue);
    return '';
  }
  return String(value);
}

function fromGrid(sheet: string, grid: string[][], kind: ImportKind): ReadSheet | undefined {
  const found = locate(grid, kind);
  if (!found) return undefined;
  const rows: SheetRow[] = [];
  const columns = Object.entries(found.columns);
  for (let i = found.headerAt + 1; i < grid.length; i++) {
    const line = grid[i]!;
    const cells: Record<string, string> = {};
    let empty = true;
    for (const [key, column] of columns) {
      const text = (line[column - 1] ?? '').trim();
      cells[key] = text;
      if (text !== '') empty = false;
    }
    if (!empty) rows.push({ row: i + 1, cells });
  }
  return { sheet, headerRow: found.headerAt + 1, columns: found.columns, rows };
}

/**
 * Reads the sheet of an upload that holds `kind`: in a workbook, the first sheet whose header row names
 * every required column (so an exported households workbook gives households, plan measures or
 * assessments); in a CSV, its one table. Lines above the header (an export's heading) are skipped.
 */
export async function readUpload(file: Buffer, kind: ImportKind, charset?: Charset): Promise<ReadSheet> {
  const sheets: { name: string; grid: string[][] }[] = [];
  if (isXlsx(file)) {
    const workbook = new ExcelJS.Workbook();
    try {
      await workbook.xlsx.load(file as unknown as ExcelJS.Buffer);
    } catch {
      throw new NotASpreadsheet('the file is not a readable .xlsx workbook');
    }
    for (const ws of workbook.worksheets) {
      const grid: string[][] = [];
      ws.eachRow({ includeEmpty: true }, (row, n) => {
        grid[n - 1] = (row.values as ExcelJS.CellValue[]).slice(1).map(cellText);
      });
      sheets.push({ name: ws.name, grid: Array.from(grid, (r) => r ?? []) });
    }
  } else {
    sheets.push({ name: 'csv', grid: csvGrid(file, charset) });
  }
  for (const s of sheets) {
    const read = fromGrid(s.name, s.grid, kind);
    if (read) return read;
  }
  const required = kindSheets[kind].fields.filter((f) => f.required).map((f) => f.zh);
  throw invalid('import.header_missing', `no sheet has a header row naming ${required.join('、')}`, { field: required.join(',') });
}
