import fc from 'fast-check';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvGrid, csvOptions, decodeCsv } from '../../../services/imports/read.js';

/**
 * An upload without a quote character is split by hand (services/imports/read.ts); it must give exactly
 * the rows csv-parse gives with the same options, whatever the cells (CJK, empty, blanks), the line
 * breaks (CRLF, LF, CR, mixed, stray ones inside a line), the BOM and the last line break.
 */
const piece = fc.constantFrom('a', 'Z', '7', ' ', '\t', '', '户', '帮扶措施', '迪庆藏族自治州', '（', '）', '，', '😀', '\uFEFF', '\r', '\n', "'");
const cell = fc.array(piece, { maxLength: 4 }).map((parts) => parts.join(''));
const row = fc.array(cell, { minLength: 1, maxLength: 6 }).map((cells) => cells.join(','));
const lineBreak = fc.constantFrom('\r\n', '\n', '\r');
const file = fc
  .record({
    rows: fc.array(row, { maxLength: 12 }),
    breaks: fc.array(lineBreak, { minLength: 12, maxLength: 12 }),
    mixed: fc.boolean(),
    trailing: fc.boolean(),
    boms: fc.integer({ min: 0, max: 2 }),
  })
  .map(({ rows, breaks, mixed, trailing, boms }) => {
    const after = (i: number) => breaks[mixed ? i : 0]!;
    let text = '\uFEFF'.repeat(boms);
    rows.forEach((r, i) => (text += (i > 0 ? after(i - 1) : '') + r));
    if (trailing && rows.length > 0) text += after(rows.length - 1);
    return Buffer.from(text, 'utf8');
  });

describe('csvGrid', () => {
  it('splits a file with no quote character into the rows csv-parse gives', () => {
    fc.assert(
      fc.property(file, (bytes) => {
        expect(csvGrid(bytes)).toEqual(parse(decodeCsv(bytes), csvOptions));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves a file with a quote to csv-parse', () => {
    expect(csvGrid(Buffer.from('\uFEFF户编号,措施内容\r\nh-1,"产业,就业"\r\nh-2,"说""好"""\r\n'))).toEqual([
      ['户编号', '措施内容'],
      ['h-1', '产业,就业'],
      ['h-2', '说"好"'],
    ]);
  });
});
