import { mkdirSync } from 'node:fs';
import { inject } from 'vitest';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContext, Page } from 'playwright-core';
import { endpoints } from '../../web/src/api/endpoints.js';
import { client, type Client } from '../e2e/support/client.js';
import { registerPrefecture, U } from '../e2e/support/prefecture.js';
import { startTestService, type TestService } from '../e2e/support/service.js';
import { describeWithService } from '../setup/services.js';
import { CHROMIUM, hasChromium, launchBrowser, openSignedIn, type TestBrowser } from './support/browser.js';

const SHOTS = 'test-results/console';
const allStandards = { food: true, clothing: true, education: true, medical: true, housing: true, water: true };
const P1 = 'p-web-1';
const P2 = 'p-web-2';
// Evaluated in the page: how far it scrolls sideways (anything above 0 overflows the window).
const sidewaysOverflow = 'document.documentElement.scrollWidth - document.documentElement.clientWidth';

/** The moment in the console's own terms: Asia/Shanghai, as the date-time picker shows it. */
const shanghai = (at: Date) => new Date(at.getTime() + 8 * 3600_000).toISOString().replace('T', ' ').slice(0, 19);

async function signInThroughPage(page: Page, baseUrl: string, unitName: string, roleName: string) {
  await page.goto(`${baseUrl}/`);
  await page.getByRole('combobox', { name: '单位' }).click();
  await page.keyboard.type(unitName);
  await page.keyboard.press('Enter');
  await page.getByRole('combobox', { name: '角色' }).click();
  // Ant Design lists options twice: hidden ones for screen readers, and the visible ones to click.
  await page.locator('.ant-select-item-option').filter({ hasText: roleName }).click();
  await page.getByRole('button', { name: '登录' }).click();
}

// In CI a missing browser fails the run (setup installs it); elsewhere the suite is skipped, saying why.
if (!hasChromium && ['true', '1'].includes(process.env['CI'] ?? '')) throw new Error(`no chromium at ${CHROMIUM}: run npm run setup as root`);
const suite = hasChromium ? describeWithService : (_: 'temporal', title: string, body: (a: string) => void) => describe.skip(`${title} [skipped: no chromium]`, () => body(''));

suite('temporal', '督战作战图: the console in a real browser against the running service', (temporalAddress) => {
  let svc: TestService;
  let browser: TestBrowser;
  let townshipSupervisor: Client;
  let villageCadre: Client;
  let neighbourCadre: Client;
  let countySupervisor: Client;
  let cadreContext: BrowserContext;
  let cadrePage: Page;
  let beforeClear: Date;
  const contexts: BrowserContext[] = [];
  const newContext = async (options?: Parameters<TestBrowser['context']>[0]) => {
    const context = await browser.context(options);
    context.setDefaultTimeout(15_000);
    contexts.push(context);
    return context;
  };

  beforeAll(async () => {
    if (!hasChromium) return;
    mkdirSync(SHOTS, { recursive: true });
    [svc, browser] = await Promise.all([
      startTestService({ temporalAddress, temporalNamespace: inject('temporalNamespace'), console: true }),
      launchBrowser(),
    ]);
    const admin = client(svc.baseUrl, await svc.token(U.diqing, 'admin'));
    townshipSupervisor = client(svc.baseUrl, await svc.token(U.tacheng, 'supervisor', 'wang.fang'));
    countySupervisor = client(svc.baseUrl, await svc.token(U.weixi, 'supervisor', 'zhang.wei'));
    villageCadre = client(svc.baseUrl, await svc.token(U.qibie, 'cadre', 'li.na'));
    neighbourCadre = client(svc.baseUrl, await svc.token(U.qizong, 'cadre', 'he.yun'));
    await registerPrefecture(admin);
    for (const household of ['hh-1', 'hh-2']) {
      expect((await villageCadre.post(`/v1/households/${household}/assessments`, allStandards)).status).toBe(200);
    }
    const find = (problemId: string, description: string, unitId: string) =>
      townshipSupervisor.post('/v1/problems', {
        problemId,
        targetUnitId: unitId,
        responsibleUnitId: unitId,
        category: 'housing',
        source: 'inspection',
        description,
        severity: 'high',
        deadline: '2027-06-30',
      });
    expect((await find(P1, '危房改造未完成', U.qibie)).status).toBe(201);
    // In the neighbouring village, so that 启别村 can turn clear on P1 alone.
    expect((await find(P2, '饮水管网未通到户', U.qizong)).status).toBe(201);
    expect((await countySupervisor.post('/v1/listings', {
      listingId: 'l-qizong',
      targetUnitId: U.qizong,
      supervisingUnitId: U.weixi,
      leader: { name: '和建华', position: '县委副书记' },
      reason: '贫困发生率高于 1.3%',
      metrics: { remainingPoorHouseholds: 12 },
    })).status).toBe(201);
  });
  // A failure leaves a picture of every open page (test-results/console/failed-…), so a run that failed once
  // can be read afterwards: a refusal shown in a dialog, a dialog still open, a page still loading.
  afterEach(async (context) => {
    if (context.task.result?.state !== 'fail') return;
    const pages = contexts.flatMap((c) => c.pages());
    const name = context.task.name.replace(/[^\w]+/g, '-').slice(0, 40);
    for (const [i, page] of pages.entries()) await page.screenshot({ path: `${SHOTS}/failed-${name}-${i}.png`, fullPage: true }).catch(() => undefined);
  });
  afterAll(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await svc?.stop();
  });

  it('calls only paths and methods the OpenAPI document describes', async () => {
    const doc = (await (await fetch(`${svc.baseUrl}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [name, { method, path }] of Object.entries(endpoints)) {
      expect(doc.paths[path]?.[method.toLowerCase()], `${name}: ${method} ${path}`).toBeDefined();
    }
  });

  it('serves the console at / without a token, while the API still wants one', async () => {
    const page = await fetch(`${svc.baseUrl}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="root">');
    expect((await fetch(`${svc.baseUrl}/v1/ledgers/problems`)).status).toBe(401);
  });

  it('1) a village cadre signs in, sees only their village, and works the problem through the page', async () => {
    cadreContext = await newContext();
    cadrePage = await cadreContext.newPage();
    await signInThroughPage(cadrePage, svc.baseUrl, '启别村', '作战');
    await expect.poll(() => cadrePage.getByTestId('overview-unit').textContent()).toBe('启别村');
    const text = await cadrePage.locator('body').innerText();
    expect(text).not.toContain('其宗村');
    expect(text).not.toContain('塔城镇');

    await cadrePage.getByRole('menuitem', { name: '问题台账' }).click();
    await cadrePage.getByRole('link', { name: '危房改造未完成' }).click();
    const status = cadrePage.getByTestId('problem-status');
    await expect.poll(() => status.textContent()).toBe('待签收');
    // 4) a cadre is never offered what only a supervisor may do.
    expect(await cadrePage.getByRole('button', { name: '销号' }).count()).toBe(0);
    expect(await cadrePage.getByRole('button', { name: '退回' }).count()).toBe(0);

    await cadrePage.getByRole('button', { name: '签收' }).click();
    await expect.poll(() => status.textContent()).toBe('整改中');

    await cadrePage.getByRole('button', { name: '添加整改措施' }).click();
    const dialog = cadrePage.getByRole('dialog');
    await dialog.getByLabel('描述').fill('完成危房改造并验收');
    await dialog.getByLabel('整改期限').click();
    await dialog.getByLabel('整改期限').fill('2027-06-15');
    await dialog.getByLabel('整改期限').press('Enter');
    await dialog.getByRole('button', { name: '确定' }).click();
    await cadrePage.getByRole('cell', { name: '完成危房改造并验收' }).waitFor();
    await cadrePage.getByRole('button', { name: '完成', exact: true }).click();
    await cadrePage.getByRole('cell', { name: '已完成' }).waitFor();

    await cadrePage.getByRole('button', { name: '提交整改' }).click();
    await dialog.getByLabel('整改情况').fill('已完成危房改造，经村民小组验收');
    await dialog.getByRole('button', { name: '确定' }).click();
    await expect.poll(() => status.textContent()).toBe('待核验');
    expect(await cadrePage.getByRole('button', { name: '销号' }).count()).toBe(0);

    const history = (await villageCadre.get(`/v1/problems/${P1}/history`)).body as { events: { type: string; actor: { userId: string } }[] };
    expect(history.events.map((e) => e.type)).toEqual(
      expect.arrayContaining(['ProblemAcknowledged', 'MeasureAssigned', 'MeasureCompleted', 'RectificationSubmitted']),
    );
    expect(history.events.filter((e) => e.type !== 'ProblemFound' && e.type !== 'WarningColourChanged').every((e) => e.actor.userId === 'cadre@533423102201')).toBe(true);
  });

  it('2) a township supervisor clears it, and the cadre’s open overview turns 户户清 without a reload', async () => {
    await cadrePage.getByRole('menuitem', { name: '作战图' }).click();
    await expect.poll(() => cadrePage.getByTestId('overview-clear').textContent()).toBe('未清零');
    await cadrePage.evaluate('window.notReloaded = true');

    await new Promise((r) => setTimeout(r, 1100));
    beforeClear = new Date();
    await new Promise((r) => setTimeout(r, 1100));
    const supervisor = await openSignedIn(await newContext(), svc.baseUrl, await svc.token(U.tacheng, 'supervisor', 'wang.fang'), `#/problems/${P1}`);
    expect(await supervisor.getByRole('button', { name: '签收' }).count()).toBe(0);
    await supervisor.getByRole('button', { name: '销号' }).click();
    await expect.poll(() => supervisor.getByTestId('problem-status').textContent()).toBe('已销号');

    await expect.poll(() => cadrePage.getByTestId('overview-clear').textContent(), { timeout: 15_000 }).toBe('户户清');
    expect(await cadrePage.evaluate('window.notReloaded')).toBe(true);
  });

  it('3) an inspector in inspection mode sees the ledger as it stood before the clearance', async () => {
    const inspector = await openSignedIn(await newContext(), svc.baseUrl, await svc.token(U.weixi, 'inspector'), `#/overview?unit=${U.qibie}`);
    await expect.poll(() => inspector.getByTestId('overview-clear').textContent()).toBe('户户清');

    const picker = inspector.getByPlaceholder('选择检查时刻');
    await picker.click();
    await picker.fill(shanghai(beforeClear));
    await picker.press('Enter');
    await inspector.getByTestId('inspection-banner').waitFor();
    expect(await inspector.getByTestId('inspection-banner').innerText()).toContain(shanghai(beforeClear));
    await expect.poll(() => inspector.getByTestId('overview-clear').textContent()).toBe('未清零');
    await inspector.screenshot({ path: `${SHOTS}/inspection-overview.png` });

    await inspector.goto(`${svc.baseUrl}/#/problems/${P1}`);
    // The inspection moment survives moving between pages (it lives in the page's state, not the URL).
    await inspector.getByTestId('inspection-banner').waitFor();
    await expect.poll(() => inspector.getByTestId('problem-status').textContent()).toBe('待核验');
    expect(await inspector.getByTestId('timeline').innerText()).not.toContain('销号');
    await inspector.screenshot({ path: `${SHOTS}/inspection-problem.png`, fullPage: true });

    await inspector.getByRole('button', { name: '返回实时' }).click();
    await expect.poll(() => inspector.getByTestId('problem-status').textContent()).toBe('已销号');
  });

  it('4) a stale page that offers 销号 shows the refusal with the decider’s rule in Chinese', async () => {
    expect((await neighbourCadre.post(`/v1/problems/${P2}/acknowledge`)).status).toBe(200);
    expect((await neighbourCadre.post(`/v1/problems/${P2}/submit`, { summary: '管网已通', evidence: [] })).status).toBe(200);
    await svc.ledgersCaughtUp();
    const context = await newContext();
    // A page that hears nothing new: the live stream is cut.
    await context.route('**/v1/events/stream', (route) => route.abort());
    const stale = await openSignedIn(context, svc.baseUrl, await svc.token(U.tacheng, 'supervisor', 'wang.fang'), `#/problems/${P2}`);
    await expect.poll(() => stale.getByTestId('problem-status').textContent()).toBe('待核验');
    expect(await stale.getByRole('button', { name: '签收' }).count()).toBe(0);

    expect((await countySupervisor.post(`/v1/problems/${P2}/reject`, { reason: '入户核查：两户未通水' })).status).toBe(200);
    await stale.getByRole('button', { name: '销号' }).click();
    const refusal = stale.getByTestId('refusal');
    await refusal.waitFor();
    expect(await refusal.innerText()).toContain('整改尚未提交或已被退回，不能销号');
    await stale.screenshot({ path: `${SHOTS}/refusal.png` });
  });

  it('5) every page at 1366×768, and the overview on a phone', async () => {
    const signIn = await (await newContext()).newPage();
    await signIn.goto(`${svc.baseUrl}/`);
    await signIn.getByRole('button', { name: '登录' }).waitFor();
    await signIn.screenshot({ path: `${SHOTS}/sign-in.png` });

    const page = await openSignedIn(await newContext(), svc.baseUrl, await svc.token(U.weixi, 'supervisor', 'zhang.wei'));
    const shots: [string, string, string][] = [
      ['overview', '#/overview', '塔城镇'],
      ['overview-township', `#/overview?unit=${U.tacheng}`, '启别村'],
      ['problems', '#/problems', '危房改造未完成'],
      ['problem', `#/problems/${P1}`, '事件时间线'],
      ['escalations', '#/escalations', '督办单'],
      ['listings', '#/listings', '和建华'],
      ['households', '#/households', 'hh-1'],
    ];
    for (const [name, hash, waitFor] of shots) {
      await page.goto(`${svc.baseUrl}/${hash}`);
      await page.getByText(waitFor).first().waitFor();
      await page.waitForTimeout(400); // let Ant Design's fade-in finish
      const overflow = await page.evaluate<number>(sidewaysOverflow);
      expect(overflow, `${name} overflows sideways`).toBeLessThanOrEqual(0);
      await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
    }

    // English is one switch away, and the switch is reachable from the keyboard.
    await page.goto(`${svc.baseUrl}/#/overview`);
    await page.getByText('塔城镇').first().waitFor();
    await page.getByRole('button', { name: 'English' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('menuitem', { name: 'Problem ledger' }).waitFor();
    expect(await page.getByRole('columnheader', { name: 'Worst colour' }).count()).toBe(1);
    await page.screenshot({ path: `${SHOTS}/overview-english.png` });

    const phone = await openSignedIn(await newContext({ viewport: { width: 390, height: 844 } }), svc.baseUrl, await svc.token(U.weixi, 'supervisor'));
    await phone.getByText('塔城镇').first().waitFor();
    expect(await phone.evaluate<number>(sidewaysOverflow)).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: `${SHOTS}/overview-phone.png`, fullPage: true });
  });
});
