import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

describe('imports of the offices’ workbooks', () => {
  let source: TestService;
  let target: TestService;

  const download = async (svc: TestService, path: string) => {
    const res = await fetch(svc.baseUrl + path, { headers: { authorization: `Bearer ${await svc.token(U.diqing, 'inspector')}` } });
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };
  const upload = async (svc: TestService, token: string, query: string, body: Buffer | string, type = XLSX) => {
    const res = await fetch(`${svc.baseUrl}/v1/imports?${query}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read the report as JSON
    return { status: res.status, body: (await res.json()) as any };
  };
  /** A ledger's rows without the times an import cannot reproduce. */
  const ledger = async (svc: TestService, path: string) => {
    const res = await client(svc.baseUrl, await svc.token(U.diqing, 'inspector')).get(path);
    const body = JSON.parse(JSON.stringify(res.body.items ?? res.body, (k, v) => (/At$|^position$|^at$/.test(k) ? undefined : v)));
    // Children come in registration order; an import registers them in key order.
    body.children?.sort((a: { unitId: string }, b: { unitId: string }) => a.unitId.localeCompare(b.unitId));
    return body;
  };

  beforeAll(async () => {
    source = await startTestService();
    target = await startTestService();
    const admin = client(source.baseUrl, await source.token(U.diqing, 'admin'));
    await registerPrefecture(admin);
    expect((await admin.post(`/v1/units/${U.qibie}/population`, { population: 300 })).status).toBe(200);
    expect((await admin.post('/v1/households/hh-1/measures', { measureId: 'm1', kind: 'employment', description: '安排公益性岗位', responsibleUnitId: U.qibie, deadline: '2027-06-30' })).status).toBe(201);
    const supervisor = client(source.baseUrl, await source.token(U.weixi, 'supervisor'));
    expect((await supervisor.post('/v1/problems', { problemId: 'p-1', targetUnitId: U.qibie, responsibleUnitId: U.qibie, category: 'housing', source: 'inspection', description: '危房改造未完成', severity: 'high', deadline: '2027-06-30' })).status).toBe(201);
    await source.ledgersCaughtUp();
  });
  afterAll(async () => {
    await source?.stop();
    await target?.stop();
  });

  it('export → import into an empty service gives the same ledgers key for key; a re-import appends nothing', async () => {
    const admin = await target.token(U.diqing, 'admin');
    const supervisor = await target.token(U.diqing, 'supervisor');
    const units = await download(source, `/v1/ledgers/units/${U.diqing}?format=xlsx`);
    const households = await download(source, `/v1/ledgers/households?unitId=${U.diqing}&format=xlsx`);
    const problems = await download(source, `/v1/ledgers/problems?unitId=${U.diqing}&format=xlsx`);

    const dry = await upload(target, admin, 'kind=units', units);
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, valid: true, rows: 8, rowsToAppend: 8, appended: false });
    expect(await target.head()).toBe(-1n);

    expect((await upload(target, admin, 'kind=units&dryRun=false', units)).body).toMatchObject({ valid: true, appended: true });
    expect((await upload(target, admin, 'kind=households&dryRun=false', households)).body).toMatchObject({ valid: true, rows: 3 });
    expect((await upload(target, admin, 'kind=plan_measures&dryRun=false', households)).body).toMatchObject({ valid: true, rows: 1 });
    expect((await upload(target, supervisor, 'kind=problems&dryRun=false', problems)).body).toMatchObject({ valid: true, rows: 1 });
    await target.ledgersCaughtUp();

    for (const path of [`/v1/ledgers/units/${U.diqing}`, `/v1/ledgers/units/${U.qibie}`, `/v1/ledgers/households?unitId=${U.diqing}`, `/v1/ledgers/problems?unitId=${U.diqing}`]) {
      expect(await ledger(target, path), path).toEqual(await ledger(source, path));
    }

    const head = await target.head();
    for (const [kind, file, token] of [['units', units, admin], ['households', households, admin], ['plan_measures', households, admin], ['problems', problems, supervisor]] as const) {
      const again = await upload(target, token, `kind=${kind}&dryRun=false`, file);
      expect(again.body, kind).toMatchObject({ valid: true, rowsToAppend: 0, appended: false });
    }
    expect(await target.head()).toBe(head);
  });

  it('round-trips Chinese names exactly through a GB18030 CSV (as Excel on Chinese Windows saves it)', async () => {
    const csv = '单位代码,单位名称,层级,上级单位代码\n533423103,保和镇,乡（镇）,533423\n533423103201,𠮷祥村·傈僳,行政村,533423103\n';
    const file = iconv.encode(csv, 'gb18030');
    const res = await upload(target, await target.token(U.weixi, 'admin'), 'kind=units&dryRun=false', file, 'text/csv');
    expect(res.body).toMatchObject({ valid: true, rows: 2, appended: true });
    await target.ledgersCaughtUp();
    const rollup = await ledger(target, '/v1/ledgers/units/533423103');
    expect(rollup.children.map((c: { name: string }) => c.name)).toEqual(['𠮷祥村·傈僳']);
  });

  it('refuses a file with bad rows whole, naming each row, column and rule, and appends nothing', async () => {
    const head = await target.head();
    const csv = ['户编号,所属村代码,家庭人口,户类别', 'hh-20,533423102201,4,建档立卡户', 'hh-21,533423102201,四,边缘户', 'hh-22,533423102201,3,贫困户', 'hh-23,nowhere,3,边缘户'].join('\n');
    const res = await upload(target, await target.token(U.diqing, 'admin'), 'kind=households&dryRun=false', Buffer.from(csv), 'text/csv');
    expect(res.status).toBe(422);
    expect(res.body.issues.map((i: { row: number; column: string | null; rule: string }) => [i.row, i.column, i.rule])).toEqual([
      [3, '家庭人口', 'import.int'],
      [4, '户类别', 'import.enum'],
      [5, null, 'household.register.unknown_village'],
    ]);
    expect(res.body.issues[0].message_zh).toBe('应为整数');
    expect(await target.head()).toBe(head);
  });

  it('refuses a row outside the importer’s county', async () => {
    const csv = '户编号,所属村代码,家庭人口,户类别\nhh-30,533423102201,4,建档立卡户\nhh-31,533422101201,2,边缘户\n';
    const res = await upload(target, await target.token(U.weixi, 'admin'), 'kind=households&dryRun=false', Buffer.from(csv), 'text/csv');
    expect(res.status).toBe(422);
    expect(res.body.issues).toEqual([expect.objectContaining({ row: 3, rule: 'access.scope' })]);
  });

  it('takes the file as a multipart/form-data part too', async () => {
    const form = new FormData();
    form.append('file', new Blob(['户编号,所属村代码,家庭人口,户类别\nhh-40,533423102201,2,监测户\n'], { type: 'text/csv' }), 'households.csv');
    const res = await fetch(`${target.baseUrl}/v1/imports?kind=households&dryRun=false`, { method: 'POST', headers: { authorization: `Bearer ${await target.token(U.diqing, 'admin')}` }, body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ valid: true, rows: 1, appended: true });
    const big = new FormData();
    big.append('file', new Blob([Buffer.alloc(65 * 1024 * 1024, 0x41)]), 'big.csv');
    const tooBig = await fetch(`${target.baseUrl}/v1/imports?kind=households`, { method: 'POST', headers: { authorization: `Bearer ${await target.token(U.diqing, 'admin')}` }, body: big });
    expect(tooBig.status).toBe(413);
    const notAFile = new FormData();
    notAFile.append('file', new Blob([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0])]), 'x.png');
    expect((await fetch(`${target.baseUrl}/v1/imports?kind=households`, { method: 'POST', headers: { authorization: `Bearer ${await target.token(U.diqing, 'admin')}` }, body: notAFile })).status).toBe(415);
  });

  it('gives the upload back annotated: refused cells filled and commented, a 导入错误 column per row', async () => {
    const token = await target.token(U.diqing, 'admin');
    const workbook = new ExcelJS.Workbook();
    const sheet = workbook.addWorksheet('农户');
    sheet.addRows([['户编号', '所属村代码', '家庭人口', '户类别'], ['hh-50', '533423102201', '四', '边缘户'], ['hh-51', 'nowhere', 3, '边缘户'], ['hh-52', '533423102201', 3, '监测户']]);
    const file = Buffer.from(await workbook.xlsx.writeBuffer());
    const res = await upload(target, token, 'kind=households', file);
    expect(res.status).toBe(422);
    const annotated = await fetch(`${target.baseUrl}/v1/imports/${res.body.id}/annotated.xlsx`, { headers: { authorization: `Bearer ${token}` } });
    expect(annotated.status).toBe(200);
    expect(annotated.headers.get('content-type')).toBe(XLSX);
    const back = new ExcelJS.Workbook();
    await back.xlsx.load(Buffer.from(await annotated.arrayBuffer()) as unknown as ExcelJS.Buffer);
    const ws = back.getWorksheet('农户')!;
    expect(ws.getCell('E1').value).toBe('导入错误（import errors）');
    expect(ws.getCell('C2').value).toBe('四');
    expect((ws.getCell('C2').fill as ExcelJS.FillPattern).fgColor?.argb).toBe('FFFFC7CE');
    expect(String(ws.getCell('C2').note)).toContain('import.int');
    expect(ws.getCell('E2').value).toBe('家庭人口：应为整数（import.int）members: 四 is not a whole number');
    expect(String(ws.getCell('E3').value)).toContain('household.register.unknown_village');
    expect((ws.getCell('A3').fill as ExcelJS.FillPattern).fgColor?.argb).toBe('FFFFEBEE');
    expect(ws.getCell('E4').value).toBeNull();
    // Someone else's import is not theirs to read.
    const other = await fetch(`${target.baseUrl}/v1/imports/${res.body.id}/annotated.xlsx`, { headers: { authorization: `Bearer ${await target.token(U.weixi, 'admin')}` } });
    expect(other.status).toBe(404);
  });

  it('answers 413 for an oversized upload and 415 for something that is no spreadsheet', async () => {
    const token = await target.token(U.diqing, 'admin');
    expect((await upload(target, token, 'kind=units', Buffer.alloc(65 * 1024 * 1024, 0x41), 'text/csv')).status).toBe(413);
    expect((await upload(target, token, 'kind=units', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]), 'application/octet-stream')).status).toBe(415);
    expect((await upload(target, token, 'kind=units', Buffer.from('x'), 'image/png')).status).toBe(415);
  });

  it('serves the template of every kind with Chinese headers and an example row', async () => {
    const res = await fetch(`${target.baseUrl}/v1/imports/templates/households.xlsx`, { headers: { authorization: `Bearer ${await target.token(U.diqing, 'admin')}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(XLSX);
  });
});
