import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Actor } from '../../events/envelope.js';
import { openSqliteEventStore } from '../../infra/sqlite/event-store.js';
import { createHouseholdCommands } from '../commands/households.js';
import { createListingCommands } from '../commands/listings.js';
import { createOrganisationCommands } from '../commands/organisation.js';
import { createProblemCommands } from '../commands/problems.js';
import { createCommandHandler, type CommandMeta } from '../commands/handler.js';
import { ConfigError, loadConfig, withJwtSecret } from '../config.js';
import { createUnitHierarchy } from '../hierarchy.js';
import { loadEscalationPolicy } from '../policy.js';
import { DEQIN, DIQING, SHANGRI_LA, TACHENG, WEIXI, demoUnits, figures, villagesOf } from './demo-prefecture.js';

/**
 * `npm run seed:demo` loads the demo prefecture into DATA_DIR through the command layer — the same
 * deciders, access rules and event store the API uses — so every demo event is one the service would
 * have accepted. Running it twice changes nothing: the prefecture is found and the seed stops.
 */

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  throw err;
}
if (config.esdbUrl) {
  console.error('seed:demo writes to the embedded event store in DATA_DIR; unset ESDB_URL');
  process.exit(1);
}
await mkdir(config.dataDir, { recursive: true });
// The development secret `npm start` would use, so the tokens suggested below work at once.
await withJwtSecret(config);
const store = openSqliteEventStore({ path: path.join(config.dataDir, 'events.db'), synchronous: config.sqliteSynchronous });
const hierarchy = createUnitHierarchy({ store });
await hierarchy.start();
if (hierarchy.view.levelOf(DIQING) !== undefined) {
  console.log(JSON.stringify({ seeded: false, reason: `unit ${DIQING} (迪庆州) already exists in ${config.dataDir}` }));
  await hierarchy.close();
  await store.close();
  process.exit(0);
}

const handler = createCommandHandler({ store, hierarchy, timeZone: config.defaultTimeZone });
const policy = await loadEscalationPolicy(config.escalationPolicyFile, config.defaultTimeZone);
const organisation = createOrganisationCommands({ handler });
const households = createHouseholdCommands({ handler });
const listings = createListingCommands({ handler });
const problems = createProblemCommands({ handler, policy });

const correlationId = `seed-demo-${randomUUID()}`;
const as = (role: Actor['role'], unitId: string): CommandMeta => ({
  actor: { userId: `demo.${role}.${unitId}`, unitId, role },
  correlationId,
});
const admin = as('admin', DIQING);
const inspector = as('inspector', DIQING);
const prefectureSupervisor = as('supervisor', DIQING);

/** Runs `work` over the items, `width` at a time, so the store can group commits. */
async function inPool<T>(items: readonly T[], width: number, work: (item: T, index: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

/** The next such date that is still ahead (deadlines must lie in the future). */
function nextDate(month: number, day: number): string {
  const now = new Date();
  let year = now.getUTCFullYear();
  if (Date.UTC(year, month - 1, day) <= now.getTime() + 86_400_000) year += 1;
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}
const april30 = nextDate(4, 30);
const june30 = nextDate(6, 30);
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
const evidence = (what: string) => [{ kind: 'record' as const, uri: `demo://evidence/${what}`, sha256: '0'.repeat(64) }];

const started = performance.now();
const counts = { units: 0, households: 0, planMeasures: 0, planMeasuresCompleted: 0, assessments: 0, monitored: 0, listings: 0, delisted: 0, problems: 0 };

// Units, level by level so every parent exists first.
const units = demoUnits();
for (const level of ['prefecture', 'county', 'township', 'village', 'relocation_site'] as const) {
  await inPool(units.filter((u) => u.level === level), 32, async (u) => {
    await organisation.registerUnit({ unitId: u.id, name: u.name, level: u.level, parentId: u.parentId }, admin);
    counts.units++;
  });
}

// Tacheng (塔城镇): 666 registered households, 630 of them out of poverty (assessed meeting the standard).
const tachengVillages = villagesOf(units, TACHENG);
const tacheng = Array.from({ length: figures.tacheng.registeredHouseholds }, (_, i) => ({
  id: `${tachengVillages[i % tachengVillages.length]}-${String(i + 1).padStart(4, '0')}`,
  villageId: tachengVillages[i % tachengVillages.length]!,
  meets: i < figures.tacheng.outOfPoverty,
}));
await inPool(tacheng, 32, async (h, i) => {
  await organisation.registerHousehold({ householdId: h.id, villageId: h.villageId, members: 2 + (i % 5), category: 'registered' }, admin);
  await households.assess(
    h.id,
    { food: true, clothing: true, education: true, medical: true, housing: h.meets, water: true },
    as('cadre', h.villageId),
  );
  counts.households++;
  counts.assessments++;
});

// The rest of Weixi: 352 households not yet out, with 1,696 plan measures (1,293 done); 188 have reached
// the standard, 164 still to go by 30 June; and 169 monitored households (监测户) under the flag.
const otherWeixiVillages = units.filter((u) => u.level === 'village' && u.id.startsWith(WEIXI) && !u.id.startsWith(TACHENG)).map((u) => u.id);
const notYetOut = Array.from({ length: figures.weixi.householdsNotYetOut }, (_, i) => ({
  id: `${otherWeixiVillages[i % otherWeixiVillages.length]}-p${String(i + 1).padStart(3, '0')}`,
  villageId: otherWeixiVillages[i % otherWeixiVillages.length]!,
}));
const measureKinds = ['industry', 'employment', 'education', 'medical', 'housing', 'water'] as const;
await inPool(notYetOut, 32, async (h, i) => {
  const cadre = as('cadre', h.villageId);
  await organisation.registerHousehold({ householdId: h.id, villageId: h.villageId, members: 3 + (i % 4), category: 'registered' }, admin);
  counts.households++;
  // 1,696 measures over 352 households: 288 households get 5, 64 get 4.
  const measures = i < 288 ? 5 : 4;
  for (let m = 0; m < measures; m++) {
    const measureId = `pm${m + 1}`;
    await households.addPlanMeasure(
      h.id,
      {
        measureId,
        kind: measureKinds[(i + m) % measureKinds.length]!,
        description: m === 1 ? '一户一人稳定就业（4月30日前）' : '按一户一方案落实帮扶措施',
        responsibleUnitId: h.villageId,
        deadline: m === 1 ? april30 : june30,
      },
      cadre,
    );
    counts.planMeasures++;
  }
  const reached = i < figures.weixi.reachedStandard;
  // Households that reached the standard completed every measure (188 × 5 = 940); of the 164 still to go,
  // 25 completed three and 139 two: 940 + 75 + 278 = 1,293 completed in the county.
  const completed = reached ? measures : i < figures.weixi.reachedStandard + 25 ? 3 : 2;
  for (let m = 0; m < completed; m++) {
    await households.completePlanMeasure(h.id, { measureId: `pm${m + 1}`, evidence: evidence(`${h.id}/pm${m + 1}`) }, cadre);
    counts.planMeasuresCompleted++;
  }
  await households.assess(h.id, { food: true, clothing: true, education: true, medical: true, housing: reached, water: reached || i % 3 !== 0 }, cadre);
  counts.assessments++;
});
await inPool(Array.from({ length: figures.weixi.monitoredHouseholds }, (_, i) => i), 32, async (i) => {
  const villageId = otherWeixiVillages[(i * 7) % otherWeixiVillages.length]!;
  const id = `${villageId}-m${String(i + 1).padStart(3, '0')}`;
  await organisation.registerHousehold({ householdId: id, villageId, members: 2 + (i % 4), category: 'monitored' }, admin);
  await households.raiseFlag(id, { reason: i % 2 === 0 ? '因病返贫风险' : '因学致贫风险' }, as('cadre', villageId));
  counts.households++;
  counts.monitored++;
});

// Listings (挂牌督战). The prefecture lists Weixi (more than 1,000 people still poor) and Deqin's three
// concentrated relocation sites; Weixi's leaders list its 10 townships and 41 villages over 0.83%.
const weixiSupervisor = as('supervisor', WEIXI);
const list = async (listingId: string, targetUnitId: string, supervisingUnitId: string, meta: CommandMeta, reason: string, metrics: Record<string, number>, leader: number) => {
  await listings.list(
    { listingId, targetUnitId, supervisingUnitId, leader: { name: `示例领导${leader}`, position: supervisingUnitId === DIQING ? '州级领导' : '县级领导' }, reason, metrics },
    meta,
  );
  counts.listings++;
};
await list('l-weixi', WEIXI, DIQING, prefectureSupervisor, '剩余贫困人口超过1000人', { remainingPoorHouseholds: 352, remainingPoorPeople: 1129 }, 1);
for (let i = 0; i < 3; i++) {
  await list(`l-deqin-site-${i + 1}`, `${DEQIN}90${i + 1}`, DIQING, prefectureSupervisor, '集中安置点后续扶持', { workTargets: [17, 17, 16][i]!, sitesUnderFollowUp: figures.deqin.sitesUnderFollowUp }, 2 + i);
}
const weixiTownshipIds = units.filter((u) => u.level === 'township' && u.parentId === WEIXI).map((u) => u.id);
await inPool(weixiTownshipIds, 16, (id, i) => list(`l-${id}`, id, WEIXI, weixiSupervisor, '贫困发生率高于0.83%', { povertyIncidencePercent: 0.9 + i / 10 }, 10 + i));
const listedVillages = units.filter((u) => u.level === 'village' && u.id.startsWith(WEIXI)).slice(0, figures.weixi.listedVillages);
await inPool(listedVillages, 16, (v, i) => list(`l-${v.id}`, v.id, WEIXI, weixiSupervisor, '贫困发生率高于0.83%', { povertyIncidencePercent: 0.84 + (i % 9) / 10 }, 30 + i));
for (const v of listedVillages.slice(0, 3)) {
  await listings.delist(`l-${v.id}`, weixiSupervisor);
  counts.delisted++;
}

// Shangri-La: 221 problems from earlier inspections, every one rectified and cleared by the city.
const shangriLaVillages = villagesOf(units, SHANGRI_LA);
const shangriLaSupervisor = as('supervisor', SHANGRI_LA);
const categories = ['income', 'housing', 'education', 'medical', 'water', 'employment', 'funds', 'work_style'] as const;
await inPool(Array.from({ length: figures.shangriLa.earlierProblemsAllRectified }, (_, i) => i), 32, async (i) => {
  const villageId = shangriLaVillages[i % shangriLaVillages.length]!;
  const problemId = `xgll-2020-${String(i + 1).padStart(3, '0')}`;
  const cadre = as('cadre', villageId);
  await problems.find(
    { problemId, targetUnitId: villageId, responsibleUnitId: villageId, category: categories[i % categories.length]!, source: 'inspection', description: '前期督查发现的问题', severity: i % 10 === 0 ? 'high' : 'medium', deadline: june30 },
    shangriLaSupervisor,
  );
  await problems.acknowledge(problemId, cadre);
  await problems.assignMeasure(problemId, { measureId: 'm1', description: '按督查意见整改', assigneeUnitId: villageId, deadline: june30 }, cadre);
  await problems.completeMeasure(problemId, { measureId: 'm1', evidence: evidence(`${problemId}/m1`) }, cadre);
  await problems.submit(problemId, { summary: '已整改到位', evidence: evidence(`${problemId}/summary`) }, cadre);
  await problems.clear(problemId, shangriLaSupervisor);
  counts.problems++;
});

// Weixi: problems in every state, so each ledger and board has something to show.
const [qibie, qizong, tachengVillage] = tachengVillages as [string, string, string];
const baohe = villagesOf(units, '533423101');
const weixiProblem = async (problemId: string, villageId: string, category: (typeof categories)[number], description: string, deadline: string, severity: 'low' | 'medium' | 'high' = 'medium') => {
  await problems.find({ problemId, targetUnitId: villageId, responsibleUnitId: villageId, category, source: 'inspection', description, severity, deadline }, weixiSupervisor);
  counts.problems++;
};
const work = async (problemId: string, villageId: string, steps: ('ack' | 'measure' | 'complete' | 'submit')[]) => {
  const cadre = as('cadre', villageId);
  for (const step of steps) {
    if (step === 'ack') await problems.acknowledge(problemId, cadre);
    if (step === 'measure') await problems.assignMeasure(problemId, { measureId: 'm1', description: '落实整改措施', assigneeUnitId: villageId, deadline: june30 }, cadre);
    if (step === 'complete') await problems.completeMeasure(problemId, { measureId: 'm1', evidence: evidence(`${problemId}/m1`) }, cadre);
    if (step === 'submit') await problems.submit(problemId, { summary: '整改完成，申请销号', evidence: evidence(`${problemId}/summary`) }, cadre);
  }
};
await weixiProblem('wx-2020-001', qibie, 'housing', '危房改造未完成', june30, 'high');
await weixiProblem('wx-2020-002', qizong, 'water', '部分农户饮水不稳定', june30);
await work('wx-2020-002', qizong, ['ack', 'measure']);
await weixiProblem('wx-2020-003', tachengVillage, 'employment', '一户一人就业未落实', april30);
await work('wx-2020-003', tachengVillage, ['ack', 'measure', 'complete', 'submit']);
await weixiProblem('wx-2020-004', baohe[0]!, 'education', '控辍保学台账不全', june30);
await work('wx-2020-004', baohe[0]!, ['ack', 'measure', 'complete', 'submit']);
await problems.reject('wx-2020-004', { reason: '缺少学生返校证明' }, weixiSupervisor);
await weixiProblem('wx-2020-005', baohe[1]!, 'medical', '家庭医生签约未覆盖', june30);
await work('wx-2020-005', baohe[1]!, ['ack', 'measure', 'complete', 'submit']);
await problems.clear('wx-2020-005', weixiSupervisor);
await weixiProblem('wx-2020-006', baohe[2]!, 'income', '产业帮扶收益未到户', june30);
await work('wx-2020-006', baohe[2]!, ['ack', 'measure', 'complete', 'submit']);
await problems.clear('wx-2020-006', weixiSupervisor);
await problems.reopen('wx-2020-006', { reason: '回头看：收益仍未发放到户', deadline: inDays(30) }, inspector);
await weixiProblem('wx-2020-007', qibie, 'funds', '扶贫资金拨付滞后', inDays(10));
await work('wx-2020-007', qibie, ['ack']);
await problems.extend('wx-2020-007', { deadline: inDays(40), reason: '跨年度项目，经县级批准延期' }, weixiSupervisor);
// Due in three minutes: with the service running, its clock reminds and escalates it up the ladder.
await problems.find(
  { problemId: 'wx-2020-008', targetUnitId: qizong, responsibleUnitId: qizong, category: 'work_style', source: 'self_check', description: '帮扶干部走访记录缺失', severity: 'high', deadline: new Date(Date.now() + 3 * 60_000).toISOString() },
  weixiSupervisor,
);
counts.problems++;
// Deqin: a relocation site's employment target still open.
await problems.find(
  { problemId: 'dq-2020-001', targetUnitId: `${DEQIN}901`, responsibleUnitId: DEQIN, category: 'relocation', source: 'inspection', description: '安置点就业目标未完成', severity: 'medium', deadline: june30 },
  prefectureSupervisor,
);
counts.problems++;

const head = await store.headPosition();
await hierarchy.close();
await store.close();
console.log(
  JSON.stringify({
    seeded: true,
    dataDir: config.dataDir,
    events: Number(head) + 1,
    seconds: Math.round((performance.now() - started) / 100) / 10,
    ...counts,
    try: [
      `JWT_SECRET=$(cat ${path.join(config.dataDir, 'dev-jwt-secret')}) npm run token -- --unit ${WEIXI} --role supervisor`,
      `curl -H "Authorization: Bearer $TOKEN" http://${config.host}:${config.port}/v1/ledgers/units/${WEIXI}`,
    ],
  }),
);
