import { PassThrough } from 'node:stream';
import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import { writeSheets, type Sheet } from '../../../services/spreadsheets/write.js';

interface Item {
  id: string;
  colour: string;
}

async function written(format: 'xlsx' | 'csv', items: Item[]): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const sheet: Sheet<Item> = {
    name: '问题台账',
    columns: [
      { header: '问题编号', value: (r) => r.id },
      { header: '预警颜色', value: (r) => r.colour, fill: (r) => r.colour },
    ],
    rows: (async function* () {
      yield* items;
    })(),
  };
  const n = await writeSheets(out, format, { title: '问题台账', lines: ['单位：维西县（533423）', '读取位置：7'] }, [sheet as unknown as Sheet<never>]);
  expect(n).toBe(items.length);
  return Buffer.concat(chunks);
}

describe('spreadsheet writer', () => {
  it('writes a workbook with the heading above a frozen header row and 红黄蓝 fills', async () => {
    const buffer = await written('xlsx', [
      { id: 'p1', colour: 'red' },
      { id: 'p2', colour: 'yellow' },
      { id: 'p3', colour: 'blue' },
      { id: 'p4', colour: 'none' },
    ]);
    const workbook = new ExcelJS.Workbook();
    await workbook.xlsx.load(buffer as unknown as ExcelJS.Buffer);
    const sheet = workbook.getWorksheet('问题台账')!;
    expect(sheet.getRow(1).getCell(1).value).toBe('问题台账');
    expect(sheet.getRow(2).getCell(1).value).toBe('单位：维西县（533423）');
    expect(sheet.getRow(4).values).toEqual([undefined, '问题编号', '预警颜色']);
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: 4 });
    const fill = (row: number) => (sheet.getRow(row).getCell(2).fill as ExcelJS.FillPattern | undefined)?.fgColor?.argb;
    expect([fill(5), fill(6), fill(7), fill(8)]).toEqual(['FFFF4D4F', 'FFFFD666', 'FF69B1FF', undefined]);
  });

  it('writes CSV as UTF-8 with a BOM, so Excel shows the Chinese', async () => {
    const buffer = await written('csv', [{ id: '启别村-1', colour: 'red' }]);
    expect([...buffer.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(buffer.subarray(3).toString('utf8')).toBe('问题台账\n单位：维西县（533423）\n读取位置：7\n问题编号,预警颜色\n启别村-1,red\n');
  });
});
