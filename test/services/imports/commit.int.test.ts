import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Actor } from '../../../events/envelope.js';
import { householdStreamId } from '../../../events/household/index.js';
import { DEFAULT_POLICY } from '../../../events/problem/index.js';
import { openSqliteEventStore } from '../../../infra/sqlite/event-store.js';
import { createCommandHandler, type CommandHandler } from '../../../services/commands/handler.js';
import { householdStream } from '../../../services/commands/organisation.js';
import { createUnitHierarchy } from '../../../services/hierarchy.js';
import { createImports } from '../../../services/imports/index.js';
import type { ImportKind } from '../../../services/spreadsheets/fields.js';

/**
 * The commit sends the dry run's decisions with the revision each stream was read at: a stream another
 * writer changed in between is caught by that revision and decided again, so nothing is lost or doubled.
 */
const [PREFECTURE, WEIXI, TACHENG, QIBIE] = ['533400', '533423', '533423101', '533423101201'];
const admin: Actor = { userId: 'admin-zhou', unitId: PREFECTURE, role: 'admin' };

describe('an import whose streams change between the dry run and the commit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'duban-import-commit-'));
  const store = openSqliteEventStore({ path: join(dir, 'events.db') });
  const hierarchy = createUnitHierarchy({ store });
  const handler = createCommandHandler({ store, hierarchy });
  /** Before the commit's first call for household h-2, another writer adds a measure of its own to it. */
  let armed = false;
  let rivalWrote = false;
  const racing: CommandHandler = {
    ...handler,
    async runAll(kind, streamId, items, checked) {
      if (armed && streamId === householdStreamId('h-2') && !rivalWrote) {
        rivalWrote = true;
        const rival = createCommandHandler({ store, hierarchy: createUnitHierarchy({ store }) });
        await rival.run(householdStream, streamId, { type: 'addPlanMeasure', householdId: 'h-2', measureId: 'm-rival', kind: 'employment', description: '公益性岗位', responsibleUnitId: QIBIE, deadline: '2099-06-30' }, { actor: admin, correlationId: 'rival' });
      }
      return handler.runAll(kind, streamId, items, checked);
    },
  };
  const imports = createImports({ handler: racing, hierarchy, store, policy: DEFAULT_POLICY });
  const run = async (kind: ImportKind, lines: string[]) =>
    imports.run(await imports.read(Buffer.from(lines.join('\n')), kind), { kind, actor: admin, dryRun: false, correlationId: `test-${kind}` });

  beforeAll(async () => {
    await hierarchy.start();
    const units = ['单位代码,单位名称,层级,上级单位代码', `${PREFECTURE},迪庆藏族自治州,州（市）,`, `${WEIXI},维西傈僳族自治县,县（市）,${PREFECTURE}`, `${TACHENG},塔城镇,乡（镇）,${WEIXI}`, `${QIBIE},启别村,行政村,${TACHENG}`];
    expect(await run('units', units)).toMatchObject({ valid: true, appended: true });
    expect(await run('households', ['户编号,所属村代码,家庭人口,户类别', `h-1,${QIBIE},3,监测户`, `h-2,${QIBIE},4,边缘户`])).toMatchObject({ valid: true, appended: true });
  });
  afterAll(async () => {
    await hierarchy.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('then every row lands once, decided again on the changed stream, at the dry run\'s moment', async () => {
    const header = '户编号,措施编号,措施类型,措施内容,责任单位代码,完成时限,是否完成';
    const rows = [header, `h-1,m-1,产业,发展产业,${QIBIE},2099-06-30,否`, `h-2,m-2,就业,转移就业,${QIBIE},2099-06-30,否`, `h-2,m-3,教育,控辍保学,${QIBIE},2099-06-30,否`];
    armed = true;
    const report = await run('plan_measures', rows);
    expect(report.issues).toEqual([]);
    expect(report).toMatchObject({ valid: true, appended: true, rowsToAppend: 3 });
    expect(rivalWrote).toBe(true);

    const h2 = await store.readStream(householdStreamId('h-2'));
    expect(h2.map((e) => [e.type, (e.data as { measureId?: string }).measureId])).toEqual([
      ['HouseholdRegistered', undefined],
      ['PlanMeasureAdded', 'm-rival'],
      ['PlanMeasureAdded', 'm-2'],
      ['PlanMeasureAdded', 'm-3'],
    ]);
    const imported = [...h2.slice(2), ...(await store.readStream(householdStreamId('h-1'))).slice(1)];
    expect(new Set(imported.map((e) => e.metadata.occurredAt)).size).toBe(1);
    expect(new Set(imported.map((e) => e.metadata.correlationId))).toEqual(new Set(['test-plan_measures']));

    // Imported again: nothing appended, every row unchanged.
    const again = await run('plan_measures', rows);
    expect(again).toMatchObject({ valid: true, appended: false, rowsUnchanged: 3 });
    expect(await store.readStream(householdStreamId('h-2'))).toHaveLength(4);
  });
});
