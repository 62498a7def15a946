import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes, runImport } from '../../services/cli/import.js';
import { client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

/** `npm run import` against a running service, as an office would use it. */
describe('the import command line', () => {
  let svc: TestService;
  let dir: string;
  let admin: string;

  /** Runs the command in this process, capturing what it prints. */
  async function cli(...argv: string[]) {
    let out = '';
    let err = '';
    const stderr = new Writable({ write: (chunk, _enc, next) => void ((err += String(chunk)), next()) });
    const code = await runImport(argv, { env: { DUBAN_URL: svc.baseUrl, DUBAN_TOKEN: admin }, stdout: (t) => void (out += t), stderr, pollMs: 20 });
    return { code, out, err };
  }
  const file = (name: string, content: string | Buffer) => {
    const p = join(dir, name);
    writeFileSync(p, content);
    return p;
  };

  beforeAll(async () => {
    svc = await startTestService();
    dir = mkdtempSync(join(tmpdir(), 'duban-import-cli-'));
    admin = await svc.token(U.diqing, 'admin');
    await registerPrefecture(client(svc.baseUrl, admin));
  });
  afterAll(async () => {
    await svc?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('imports a GB18030 CSV of households with a progress bar; the second run appends nothing', async () => {
    const lines = ['户编号,所属村代码,家庭人口,户类别', ...Array.from({ length: 450 }, (_, i) => `hh-c${i},${U.qizong},${(i % 6) + 1},边缘户`)];
    const csv = file('households.csv', iconv.encode(lines.join('\r\n'), 'gb18030'));
    const head = await svc.head();
    const dry = await cli(csv, '--kind', 'households', '--dry-run');
    expect(dry.code).toBe(exitCodes.ok);
    expect(dry.err).toContain('dry run');
    expect(dry.err).toContain('450 rows, 450 would append');
    expect(await svc.head()).toBe(head);

    const run = await cli(csv, '--kind', 'households', '--report', join(dir, 'report.json'));
    expect(run.code).toBe(exitCodes.ok);
    expect(run.err).toMatch(/checking .*\| \d+\/450 rows/);
    expect(run.err).toMatch(/appending .*\| 450\/450 rows/);
    expect(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'))).toMatchObject({ valid: true, rows: 450, rowsToAppend: 450, appended: true });
    const events = await svc.events();
    expect(events.filter((e) => e.type === 'HouseholdRegistered' && String((e.data as { householdId?: string }).householdId).startsWith('hh-c'))).toHaveLength(450);

    const afterFirst = await svc.head();
    const again = await cli(csv, '--kind', 'households', '--json');
    expect(again.code).toBe(exitCodes.ok);
    expect(JSON.parse(again.out)).toMatchObject({ valid: true, rowsToAppend: 0, rowsUnchanged: 450, appended: false });
    expect(await svc.head()).toBe(afterFirst);
  });

  it('exits 3 when rows are refused, names them, and saves the annotated workbook', async () => {
    const head = await svc.head();
    const csv = file('bad.csv', `户编号,所属村代码,家庭人口,户类别\nhh-d1,${U.qizong},2,边缘户\nhh-d2,${U.qizong},两,边缘户\n`);
    const annotated = join(dir, 'bad.annotated.xlsx');
    const res = await cli(csv, '--kind', 'households', '--annotated', annotated, '--no-progress');
    expect(res.code).toBe(exitCodes.rowsRefused);
    expect(res.err).toContain('row 3 家庭人口: import.int — 应为整数');
    expect(res.err).toContain('nothing appended');
    expect(await svc.head()).toBe(head);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.readFile(annotated);
    expect(String(wb.worksheets[0]!.getCell('E3').value)).toContain('import.int');
  });

  it('scope comes from the token: a county admin cannot import into another county', async () => {
    const csv = file('deqin.csv', `户编号,所属村代码,家庭人口,户类别\nhh-e1,${U.adong},2,边缘户\n`);
    const res = await cli(csv, '--kind', 'households', '--json', '--token', await svc.token(U.weixi, 'admin'));
    expect(res.code).toBe(exitCodes.rowsRefused);
    expect(JSON.parse(res.out).issues).toEqual([expect.objectContaining({ row: 2, rule: 'access.scope' })]);
  });

  it('exit codes: usage 2, upload refused 4, service unreachable 1; --help 0', async () => {
    expect((await cli('--help')).code).toBe(exitCodes.ok);
    expect((await cli(file('x.csv', 'a'), '--kind', 'nothing')).code).toBe(exitCodes.usage);
    expect((await cli('--kind', 'units')).code).toBe(exitCodes.usage);
    expect((await cli(join(dir, 'missing.csv'), '--kind', 'units')).code).toBe(exitCodes.usage);
    const png = file('x.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0]));
    const notSheet = await cli(png, '--kind', 'units');
    expect(notSheet.code).toBe(exitCodes.uploadRefused);
    expect(notSheet.err).toContain('415');
    const noHeader = await cli(file('h.csv', 'a,b\n1,2\n'), '--kind', 'units');
    expect(noHeader.code).toBe(exitCodes.uploadRefused);
    expect(noHeader.err).toContain('import.header_missing');
    expect((await cli(png, '--kind', 'units', '--token', 'not-a-token')).code).toBe(exitCodes.uploadRefused);
    const down = await cli(png, '--kind', 'units', '--url', 'http://127.0.0.1:1');
    expect(down.code).toBe(exitCodes.failed);
    expect(down.err).toContain('cannot reach');
  });

  it('runs as `npm run import` in its own process', async () => {
    const csv = file('units.csv', `单位代码,单位名称,层级,上级单位代码\n533423103,保和镇,乡（镇）,${U.weixi}\n`);
    // Not spawnSync: the service answering it runs in this process.
    const res = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile('npm', ['run', '--silent', 'import', '--', csv, '--kind', 'units', '--json'], { env: { ...process.env, DUBAN_URL: svc.baseUrl, DUBAN_TOKEN: admin }, timeout: 90_000 }, (_err, stdout, stderr) =>
        resolve({ code: child.exitCode, stdout, stderr }),
      );
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ valid: true, rows: 1, appended: true });
  });
});
