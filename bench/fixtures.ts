/**
 * Realistic events for the benchmarks: problem lifecycles and household plans, with Chinese text, valid
 * for the registry. Deterministic apart from ids (a fixed seed), so every run writes the same shapes.
 */
import { randomUUID } from 'node:crypto';
import type { NewEvent } from '../events/envelope.js';
import { POLICY_V1 } from '../events/problem/policy.js';

let seed = 42;

/** The body of `POST /v1/problems` the load benchmarks send: a housing problem of a village, due far ahead. */
export const loadProblemBody = (problemId: string, village: string) => ({
  problemId,
  targetUnitId: village,
  responsibleUnitId: village,
  category: 'housing',
  source: 'inspection',
  description: '持续负载测试问题',
  severity: 'medium',
  deadline: '2099-06-30',
});
export const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
export const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const hex64 = () => randomUUID().replaceAll('-', '') + randomUUID().replaceAll('-', '');
const villages = ['533423101201', '533423101202', '533423102203', '533422103204', '533401104205'];
export const townships = ['533423101', '533423102', '533422103', '533401104'];
const descriptions = [
  '部分建档立卡户饮水安全保障不稳定，需落实供水管网维修',
  '易地扶贫搬迁安置点就业帮扶措施未落实到户',
  '义务教育阶段控辍保学台账不完整',
  '危房改造验收资料缺失，住房安全有保障认定依据不足',
  '产业扶持资金拨付滞后，合作社分红未按期兑现',
];

export function metadata(): NewEvent['metadata'] {
  return {
    eventId: randomUUID(),
    occurredAt: '2026-04-30T10:15:00+08:00',
    actor: { userId: `cadre-${Math.floor(random() * 500)}`, unitId: pick(townships), role: 'cadre' },
    correlationId: randomUUID(),
    causationId: randomUUID(),
    schemaVersion: 1,
  };
}

export const event = (type: string, data: unknown, schemaVersion = 1): NewEvent => ({
  type,
  data,
  metadata: { ...metadata(), schemaVersion },
});

export function problemLife(id: number): NewEvent[] {
  const problemId = `P${id}`;
  const responsibleUnitId = pick(townships);
  const measures = 1 + Math.floor(random() * 3);
  const evidence = () => [{ kind: 'photo' as const, uri: `s3://evidence/${problemId}/${randomUUID()}.jpg`, sha256: hex64() }];
  const events: NewEvent[] = [
    event(
      'ProblemFound',
      {
        problemId,
        targetUnitId: pick(villages),
        responsibleUnitId,
        category: pick(['water', 'employment', 'education', 'housing', 'funds'] as const),
        source: pick(['inspection', 'audit', 'self_check'] as const),
        description: pick(descriptions),
        severity: pick(['low', 'medium', 'high'] as const),
        deadline: '2026-06-30T23:59:59+08:00',
        policy: POLICY_V1,
      },
      2,
    ),
    event('ProblemAcknowledged', { acknowledgedBy: { userId: 'cadre-1', unitId: responsibleUnitId } }),
  ];
  for (let m = 0; m < measures; m++) {
    events.push(
      event('MeasureAssigned', {
        measureId: `${problemId}-M${m}`,
        description: '落实村级供水管网维修，明确责任人和完成时限',
        assigneeUnitId: responsibleUnitId,
        deadline: '2026-06-15T23:59:59+08:00',
      }),
    );
  }
  for (let m = 0; m < measures; m++) {
    events.push(event('MeasureCompleted', { measureId: `${problemId}-M${m}`, evidence: evidence() }));
  }
  events.push(
    event('RectificationSubmitted', {
      summary: '整改措施已全部落实，群众满意度回访完成',
      evidence: evidence(),
      submittedBy: { userId: 'cadre-1', unitId: responsibleUnitId },
    }),
    event('ProblemCleared', { verifiedBy: { userId: 'supervisor-1', unitId: '533423' }, clearedAt: '2026-06-20T16:00:00+08:00' }),
  );
  return events;
}

export function householdLife(id: number): NewEvent[] {
  const householdId = `H${id}`;
  const events: NewEvent[] = [
    event('HouseholdRegistered', { householdId, villageId: pick(villages), members: 1 + Math.floor(random() * 7), category: 'registered' }),
  ];
  for (let m = 0; m < 2; m++) {
    events.push(
      event('PlanMeasureAdded', {
        measureId: `${householdId}-PM${m}`,
        kind: pick(['industry', 'employment', 'education', 'housing'] as const),
        description: '发展核桃种植并提供劳务输出就业岗位',
        responsibleUnitId: pick(townships),
        deadline: '2026-06-30T23:59:59+08:00',
      }),
    );
    events.push(
      event('PlanMeasureCompleted', {
        measureId: `${householdId}-PM${m}`,
        evidence: [{ kind: 'record', uri: `s3://evidence/${householdId}/${m}.pdf`, sha256: hex64() }],
      }),
    );
  }
  events.push(
    event('HouseholdAssessed', { food: true, clothing: true, education: true, medical: true, housing: true, water: true, meetsStandard: true }),
  );
  return events;
}

/** Streams with their whole life, about 8 events each, until `total` events. */
export function* lives(total: number): Generator<[string, NewEvent[]]> {
  let produced = 0;
  for (let i = 0; produced < total; i++) {
    const [streamId, events] = i % 3 === 2 ? [`household-H${i}`, householdLife(i)] : [`problem-P${i}`, problemLife(i)];
    const take = events.slice(0, total - produced);
    produced += take.length;
    yield [streamId, take];
  }
}

