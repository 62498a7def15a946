import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify';
import ExcelJS from 'exceljs';
import { colourFills } from './labels.js';

export type SheetFormat = 'xlsx' | 'csv';
export const contentTypes: Record<SheetFormat, string> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  csv: 'text/csv; charset=utf-8',
};

export type Cell = string | number | boolean | null;

export interface Column<T> {
  /** Chinese header, as offices write it. */
  header: string;
  width?: number;
  value(row: T): Cell;
  /** A warning colour (red, yellow, blue) to fill the cell with. */
  fill?(row: T): string | undefined;
}

export interface Sheet<T> {
  name: string;
  columns: readonly Column<T>[];
  rows: AsyncIterable<T>;
}

/** What every exported sheet says above its table: which ledger, unit, moment and position. */
export interface SheetHeading {
  title: string;
  lines: string[];
}

const headerFill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFD9D9D9' } } as const;

/**
 * Streams sheets into `out` as an .xlsx workbook (exceljs' streaming writer: each row is committed as it
 * is written, so memory stays flat however many rows follow) or as CSV (UTF-8 with a BOM, so Excel reads
 * the Chinese; one sheet only). Returns the number of data rows written.
 */
export async function writeSheets(out: Writable, format: SheetFormat, heading: SheetHeading, sheets: readonly Sheet<never>[]): Promise<number> {
  return format === 'xlsx' ? writeXlsx(out, heading, sheets) : writeCsv(out, heading, sheets[0]!);
}

async function drained(out: Writable) {
  if (out.writableNeedDrain) await once(out, 'drain');
}

async function writeXlsx(out: Writable, heading: SheetHeading, sheets: readonly Sheet<never>[]): Promise<number> {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false });
  // exceljs gives every cell a style object of its own and turns each into XML to find its style id, unless
  // it has seen that very object before: the data cells share one object per fill, so that is done once a fill.
  const plain: Partial<ExcelJS.Style> = {};
  const filled = new Map<string, Partial<ExcelJS.Style>>();
  const styleOf = (argb: string | undefined): Partial<ExcelJS.Style> => {
    if (!argb) return plain;
    let style = filled.get(argb);
    if (!style) filled.set(argb, (style = { fill: { type: 'pattern', pattern: 'solid', fgColor: { argb } } }));
    return style;
  };
  let count = 0;
  for (const sheet of sheets) {
    const headerRow = heading.lines.length + 2;
    const worksheet = workbook.addWorksheet(sheet.name, { views: [{ state: 'frozen', ySplit: headerRow }] });
    worksheet.columns = sheet.columns.map((c) => ({ width: c.width ?? 14 }));
    const title = worksheet.addRow([heading.title]);
    title.font = { bold: true, size: 14 };
    title.commit();
    for (const line of heading.lines) worksheet.addRow([line]).commit();
    const header = worksheet.addRow(sheet.columns.map((c) => c.header));
    header.font = { bold: true };
    header.eachCell((cell) => (cell.fill = headerFill));
    header.commit();
    let n = 0;
    for await (const row of sheet.rows) {
      const written = worksheet.addRow(sheet.columns.map((c) => c.value(row)));
      sheet.columns.forEach((c, i) => (written.getCell(i + 1).style = styleOf(colourFills[c.fill?.(row) ?? ''])));
      written.commit();
      if (++n % 1000 === 0) await drained(out);
    }
    count += n;
    worksheet.commit();
  }
  await workbook.commit();
  return count;
}

async function writeCsv(out: Writable, heading: SheetHeading, sheet: Sheet<never>): Promise<number> {
  const csv = stringify({ bom: true });
  csv.pipe(out);
  const write = async (cells: Cell[]) => {
    if (!csv.write(cells.map((c) => (typeof c === 'boolean' ? (c ? '是' : '否') : c)))) await once(csv, 'drain');
  };
  await write([heading.title]);
  for (const line of heading.lines) await write([line]);
  await write(sheet.columns.map((c) => c.header));
  let n = 0;
  for await (const row of sheet.rows) {
    await write(sheet.columns.map((c) => c.value(row)));
    n++;
  }
  csv.end();
  await once(out, 'finish');
  return n;
}
