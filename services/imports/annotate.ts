import ExcelJS from 'exceljs';
import { kindSheets, type ImportKind } from '../spreadsheets/fields.js';
import { csvGrid, isXlsx, type Charset, type ReadSheet } from './read.js';
import type { RowIssue } from './rows.js';

const RED: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFC7CE' } };
const PINK: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFEBEE' } };
const ERRORS_HEADER = '导入错误（import errors）';

const line = (i: RowIssue) => `${i.column ? `${i.column}：` : ''}${i.message_zh}（${i.rule}）${i.message}`;

/**
 * The uploaded file, as a workbook, with the report's refusals on it: each refused cell filled red with a
 * comment (rule, Chinese and English message), a row refused as a whole filled pink, and one more column
 * 导入错误 listing every refusal of the row. A CSV upload comes back as a workbook of its lines.
 */
export async function annotatedWorkbook(file: Buffer, kind: ImportKind, read: ReadSheet, issues: readonly RowIssue[], charset?: Charset): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  let ws: ExcelJS.Worksheet;
  if (isXlsx(file)) {
    await workbook.xlsx.load(file as unknown as ExcelJS.Buffer);
    ws = workbook.getWorksheet(read.sheet)!;
  } else {
    ws = workbook.addWorksheet(kindSheets[kind].sheet);
    for (const cells of csvGrid(file, charset)) ws.addRow(cells);
  }
  const columnOf = new Map(kindSheets[kind].fields.map((f) => [f.zh, read.columns[f.key]]));
  const errorsColumn = Math.max(ws.columnCount, ...Object.values(read.columns)) + 1;
  const header = ws.getCell(read.headerRow, errorsColumn);
  header.value = ERRORS_HEADER;
  header.font = { bold: true, color: { argb: 'FFC00000' } };
  ws.getColumn(errorsColumn).width = 60;

  const byRow = new Map<number, RowIssue[]>();
  for (const i of issues) byRow.set(i.row, [...(byRow.get(i.row) ?? []), i]);
  for (const [row, rowIssues] of byRow) {
    for (const i of rowIssues) {
      const column = i.column === null ? undefined : columnOf.get(i.column);
      if (column === undefined) {
        ws.getRow(row).eachCell({ includeEmpty: false }, (cell) => void (cell.fill = PINK));
        continue;
      }
      const cell = ws.getCell(row, column);
      cell.fill = RED;
      cell.note = `${i.rule}\n${i.message_zh}\n${i.message}`;
    }
    const errors = ws.getCell(row, errorsColumn);
    errors.value = rowIssues.map(line).join('\n');
    errors.alignment = { wrapText: true, vertical: 'top' };
    errors.font = { color: { argb: 'FFC00000' } };
  }
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
