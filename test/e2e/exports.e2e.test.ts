import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dateIn } from '../../events/time.js';
import { client, type Client } from './support/client.js';
import { registerPrefecture, U } from './support/prefecture.js';
import { startTestService, type TestService } from './support/service.js';

const XLSX = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';

/** The sheet's table as objects keyed by header, and the lines above it. */
function table(sheet: ExcelJS.Worksheet) {
  const rows: unknown[][] = [];
  sheet.eachRow({ includeEmpty: true }, (row) => rows.push((row.values as unknown[]).slice(1)));
  const at = rows.findIndex((r) => r[0] === '序号');
  const headers = rows[at] as string[];
  return {
    heading: rows.slice(0, at).map((r) => String(r[0])),
    headers,
    items: rows.slice(at + 1).map((r) => Object.fromEntries(headers.map((h, i) => [h, r[i] ?? null]))),
  };
}

describe('ledger exports and review figures', () => {
  let svc: TestService;
  let inspector: Client;
  let token: string;
  let problemId: string;
  let problemPosition: bigint;
  const today = () => dateIn(new Date().toISOString(), 'Asia/Shanghai');

  const download = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(svc.baseUrl + path, { headers: { authorization: `Bearer ${token}`, ...headers } });
    return { res, body: Buffer.from(await res.arrayBuffer()) };
  };
  const workbook = async (path: string, headers: Record<string, string> = {}) => {
    const { res, body } = await download(path, headers);
    expect(res.status, body.toString()).toBe(200);
    expect(res.headers.get('content-type')).toBe(XLSX);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(body as unknown as ExcelJS.Buffer);
    return { wb, position: res.headers.get('x-ledger-position') };
  };

  beforeAll(async () => {
    svc = await startTestService();
    const admin = client(svc.baseUrl, await svc.token(U.diqing, 'admin'));
    await registerPrefecture(admin);
    const supervisor = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor'));
    const found = await supervisor.post('/v1/problems', {
      targetUnitId: U.qibie,
      responsibleUnitId: U.qibie,
      category: 'housing',
      source: 'inspection',
      description: '危房改造未完成',
      severity: 'high',
      deadline: '2027-06-30',
    });
    expect(found.status).toBe(201);
    problemId = found.body.id;
    problemPosition = BigInt(found.body.position);
    expect((await admin.post('/v1/households/hh-1/measures', { measureId: 'm1', kind: 'employment', description: '安排公益性岗位', responsibleUnitId: U.qibie, deadline: '2027-06-30' })).status).toBe(201);
    expect((await admin.post(`/v1/units/${U.qibie}/population`, { population: 300 })).status).toBe(200);
    expect((await admin.post(`/v1/units/${U.tacheng}/population`, { population: 2000 })).status).toBe(200);
    await svc.ledgersCaughtUp();
    token = await svc.token(U.diqing, 'inspector');
    inspector = client(svc.baseUrl, token);
  });
  afterAll(async () => {
    await svc?.stop();
  });

  it('exports the problem ledger as a workbook with the offices’ Chinese columns, a frozen header and a heading naming unit, moment and position', async () => {
    const { wb, position } = await workbook(`/v1/ledgers/problems?unitId=${U.weixi}&format=xlsx`);
    const sheet = wb.getWorksheet('问题台账')!;
    const { heading, headers, items } = table(sheet);
    for (const h of ['序号', '问题来源', '问题描述', '责任单位', '整改时限', '整改进展', '预警颜色', '督办层级', '是否销号']) expect(headers).toContain(h);
    expect(heading[0]).toBe('问题台账');
    expect(heading).toContain('单位：维西傈僳族自治县（533423）');
    expect(heading.some((l) => l.startsWith('时点：实时'))).toBe(true);
    expect(heading.some((l) => l.startsWith(`读取位置：${position}；`))).toBe(true);
    expect(sheet.views[0]).toMatchObject({ state: 'frozen', ySplit: heading.length + 1 });
    expect(items).toEqual([
      expect.objectContaining({ 序号: 1, 问题编号: problemId, 责任单位: '启别村', 问题来源: '督查巡查', 问题类别: '住房安全', 问题描述: '危房改造未完成', 整改时限: '2027-06-30', 整改进展: '未签收', 预警颜色: '无', 督办层级: 0, 是否销号: '否' }),
    ]);
  });

  it('answers Accept: text/csv with UTF-8 CSV and a BOM, with the same filters as the JSON route', async () => {
    const { res, body } = await download(`/v1/ledgers/problems?unitId=${U.weixi}&status=open`, { accept: 'text/csv' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect([...body.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(body.toString('utf8')).toContain('危房改造未完成');
    const none = await download(`/v1/ledgers/problems?unitId=${U.weixi}&status=cleared&format=csv`);
    expect(none.body.toString('utf8')).not.toContain('危房改造未完成');
  });

  it('exports as of a past moment, saying so in the heading', async () => {
    const before = problemPosition - 1n;
    const { wb } = await workbook(`/v1/ledgers/problems?unitId=${U.weixi}&format=xlsx&position=${before}`);
    const { heading, items } = table(wb.worksheets[0]!);
    expect(heading).toContain(`时点：截至事件位置 ${before}（as of position）`);
    expect(items).toEqual([]);
  });

  it('exports households with their plan measures, units with their counts, the escalation board and the listing board', async () => {
    const households = await workbook(`/v1/ledgers/households?unitId=${U.diqing}&format=xlsx`);
    expect(households.wb.worksheets.map((w) => w.name)).toEqual(['农户台账', '帮扶措施']);
    expect(table(households.wb.getWorksheet('农户台账')!).items.map((i) => i['户编号'])).toEqual(['hh-1', 'hh-2', 'hh-9']);
    expect(table(households.wb.getWorksheet('帮扶措施')!).items).toEqual([
      expect.objectContaining({ 户编号: 'hh-1', 措施编号: 'm1', 措施类型: '就业', 措施内容: '安排公益性岗位', 完成时限: '2027-06-30', 是否完成: '否' }),
    ]);
    const units = table((await workbook(`/v1/ledgers/units/${U.weixi}?format=xlsx`)).wb.worksheets[0]!).items;
    expect(units.map((u) => u['单位代码'])).toEqual([U.weixi, U.tacheng, U.qibie, U.qizong]);
    expect(units[2]).toMatchObject({ 单位名称: '启别村', 层级: '行政村', 人口: 300, 未销号问题: 1, 农户数: 2 });
    expect(table((await workbook(`/v1/escalations?unitId=${U.diqing}&format=xlsx`)).wb.worksheets[0]!).items).toEqual([]);
    expect(table((await workbook(`/v1/listings?unitId=${U.diqing}&format=xlsx`)).wb.worksheets[0]!).items).toEqual([]);
    const measures = await download(`/v1/ledgers/plan-measures?unitId=${U.diqing}&format=csv`);
    expect(measures.body.toString('utf8')).toContain('安排公益性岗位');
  });

  it('refuses an export outside the caller’s subtree, before anything is streamed', async () => {
    token = await svc.token(U.deqin, 'inspector');
    const { res, body } = await download(`/v1/ledgers/problems?unitId=${U.weixi}&format=xlsx`);
    token = await svc.token(U.diqing, 'inspector');
    // Out of sight reads exactly like never registered (issue 9).
    expect(res.status).toBe(404);
    expect(JSON.parse(body.toString()).rule).toBe('unit.not_found');
  });

  it('reads the monthly review: remaining poor people, incidence against the registered population, and listing candidates', async () => {
    const month = today().slice(0, 7);
    const res = await inspector.get(`/v1/reviews/monthly?unitId=${U.weixi}&month=${month}`);
    expect(res.status).toBe(200);
    expect(res.body.unit).toMatchObject({ unitId: U.weixi, remainingPoorPeople: 7, remainingPoorHouseholds: 2, problemsOpen: 1 });
    const qibie = res.body.units.find((u: { unitId: string }) => u.unitId === U.qibie);
    expect(qibie).toMatchObject({ population: 300, remainingPoorPeople: 7, povertyIncidencePercent: 2.3333 });
    // 启别村: 7 of 300 (2.33% > 1.3%); 塔城镇: 7 remaining poor is not above 50.
    expect(res.body.candidates).toEqual([
      expect.objectContaining({ unitId: U.qibie, listedBy: 'county', rule: 'listing.threshold.village_incidence', value: 2.3333, threshold: 1.3, listed: false }),
    ]);
    expect(res.body.thresholdsVersion).toBe(1);
    const { wb } = await workbook(`/v1/reviews/monthly?unitId=${U.weixi}&month=${month}&format=xlsx`);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['研判汇总', '挂牌候选']);
    expect(table(wb.getWorksheet('挂牌候选')!).items).toEqual([expect.objectContaining({ 单位名称: '启别村', 是否已挂牌: '否' })]);
  });

  it('documents the export formats and review routes in the OpenAPI document', async () => {
    const doc = (await client(svc.baseUrl).get('/openapi.json')).body;
    expect(doc.paths['/v1/reviews/monthly'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['unitId', 'month', 'format']));
    expect(doc.paths['/v1/reviews/daily'].get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['day']));
    expect(doc.paths['/v1/ledgers/problems'].get.parameters.map((p: { name: string }) => p.name)).toContain('format');
  });

  it('reads today’s daily report, and refuses a day not begun', async () => {
    const day = today();
    const report = await inspector.get(`/v1/reviews/daily?unitId=${U.diqing}&day=${day}`);
    expect(report.status).toBe(200);
    expect(report.body.unit.householdsTotal).toBe(3);
    const future = await inspector.get(`/v1/reviews/daily?unitId=${U.diqing}&day=2999-01-01`);
    expect(future.status).toBe(400);
    expect(future.body.rule).toBe('review.future_period');
  });
});
