import ExcelJS from 'exceljs';
import { kindSheets, type ImportKind } from '../spreadsheets/fields.js';
import { labels } from '../spreadsheets/labels.js';

/** The template workbook of a kind: Chinese headers, an example row, drop-down lists for the enums. */
export async function templateWorkbook(kind: ImportKind): Promise<Buffer> {
  const workbook = new ExcelJS.Workbook();
  const { sheet, fields } = kindSheets[kind];
  const ws = workbook.addWorksheet(sheet, { views: [{ state: 'frozen', ySplit: 1 }] });
  ws.columns = fields.map((f) => ({ header: f.required ? `${f.zh}(必填)` : f.zh, width: Math.max(14, f.zh.length * 3) }));
  ws.getRow(1).font = { bold: true };
  ws.addRow(fields.map((f) => f.example));
  fields.forEach((f, i) => {
    const choices = typeof f.type === 'object' ? Object.values(labels[f.type.enum]) : f.type === 'bool' ? ['是', '否'] : undefined;
    if (!choices) return;
    for (let row = 2; row <= 1000; row++) {
      ws.getCell(row, i + 1).dataValidation = { type: 'list', allowBlank: !f.required, formulae: [`"${choices.join(',')}"`] };
    }
  });
  return Buffer.from(await workbook.xlsx.writeBuffer());
}
