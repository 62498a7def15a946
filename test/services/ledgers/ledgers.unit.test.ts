import { describe, expect, it } from 'vitest';
import type { DomainEvent, RecordedEvent } from '../../../events/envelope.js';
import { POLICY_V1 } from '../../../events/problem/policy.js';
import { currentVersion, type EventType } from '../../../events/registry.js';
import { decodeRecorded } from '../../../services/ledgers/decode.js';
import { memoryReader } from '../../../services/ledgers/memory-reader.js';
import { problemLateness } from '../../../services/ledgers/problem-ledger.js';
import {
  applyEvent,
  createLedgerState,
  deserializeState,
  type Dirty,
  type LedgerState,
  serializeState,
} from '../../../services/ledgers/state.js';
import { toRollup } from '../../../services/ledgers/unit-rollup.js';

// Given these events, when applied to the ledgers, then these rows. Events go through the registry's
// decoder first, exactly as the projection reads them from the store.
let position = 0n;
function recorded(streamId: string, event: DomainEvent, at = '2020-03-01T10:00:00+08:00'): RecordedEvent {
  position += 1n;
  return {
    streamId,
    revision: 0,
    position,
    type: event.type,
    data: event.data,
    metadata: {
      eventId: '00000000-0000-4000-8000-000000000000',
      occurredAt: at,
      recordedAt: at,
      actor: { userId: 'u', unitId: '533400', role: 'supervisor' },
      correlationId: 'c',
      causationId: 'c',
      schemaVersion: currentVersion(event.type as EventType),
      prevHash: null,
      hash: 'h',
    },
  };
}

function given(events: RecordedEvent[], dirty?: Dirty): LedgerState {
  const state = createLedgerState();
  for (const e of events) applyEvent(state, decodeRecorded(e), dirty);
  return state;
}

const unit = (unitId: string, level: string, parentId: string | null, name = unitId) =>
  recorded(`unit-${unitId}`, { type: 'UnitRegistered', data: { unitId, name, level, parentId } });
const tree = [
  unit('533400', 'prefecture', null, '迪庆藏族自治州'),
  unit('533423', 'county', '533400', '维西傈僳族自治县'),
  unit('533423101', 'township', '533423', '塔城镇'),
  unit('533423101201', 'village', '533423101'),
  unit('533423101202', 'village', '533423101'),
];
const by = { userId: 'sup', unitId: '533423' };
const found = (problemId: string, unitId: string, deadline = '2020-03-10T23:59:59.999+08:00') =>
  recorded(`problem-${problemId}`, {
    type: 'ProblemFound',
    data: {
      problemId,
      targetUnitId: unitId,
      responsibleUnitId: unitId,
      category: 'housing',
      source: 'inspection',
      description: '危房未改造',
      severity: 'medium',
      deadline,
      policy: POLICY_V1,
    },
  });
const onProblem = (problemId: string, type: string, data: unknown, at?: string) =>
  recorded(`problem-${problemId}`, { type, data }, at);
const household = (householdId: string, villageId: string) =>
  recorded(`household-${householdId}`, { type: 'HouseholdRegistered', data: { householdId, villageId, members: 4, category: 'registered' } });
const onHousehold = (householdId: string, type: string, data: unknown) => recorded(`household-${householdId}`, { type, data });
const assessed = (meets: boolean) => ({
  food: true,
  clothing: true,
  education: true,
  medical: true,
  housing: meets,
  water: true,
  meetsStandard: meets,
});
const evidence = [{ kind: 'photo', uri: 's3://e/1.jpg', sha256: 'a'.repeat(64) }];

describe('problem ledger', () => {
  it('given a found problem with two measures, one done, then the row shows 1/2 and it is open', () => {
    const state = given([
      ...tree,
      found('P1', '533423101201'),
      onProblem('P1', 'ProblemAcknowledged', { acknowledgedBy: { userId: 'c', unitId: '533423101201' } }),
      onProblem('P1', 'MeasureAssigned', { measureId: 'M1', description: '加固', assigneeUnitId: '533423101201', deadline: '2020-03-05T23:59:59.999+08:00' }),
      onProblem('P1', 'MeasureAssigned', { measureId: 'M2', description: '搬迁', assigneeUnitId: '533423101201', deadline: '2020-03-06T23:59:59.999+08:00' }),
      onProblem('P1', 'MeasureCompleted', { measureId: 'M1', evidence }),
    ]);
    const row = state.rows.problem.get('P1')!;
    expect(row).toMatchObject({
      unitId: '533423101201',
      responsibleUnitId: '533423101201',
      category: 'housing',
      status: 'acknowledged',
      open: true,
      colour: 'none',
      escalationLevel: 0,
      measuresTotal: 2,
      measuresDone: 1,
      ancestors: ['533400', '533423', '533423101', '533423101201'],
    });
  });

  it('days overdue are measured at the reading time, not stored', () => {
    const state = given([...tree, found('P1', '533423101201', '2020-03-10T23:59:59.999+08:00')]);
    const row = state.rows.problem.get('P1')!;
    expect(problemLateness(row, Date.parse('2020-03-10T23:59:59.999+08:00')).daysOverdue).toBe(0);
    expect(problemLateness(row, Date.parse('2020-03-11T00:00:00.000+08:00')).daysOverdue).toBe(1);
    expect(problemLateness(row, Date.parse('2020-03-13T12:00:00.000+08:00')).daysOverdue).toBe(3);
  });

  it('escalation sets level and colour; clearing closes the item, keeps the missed deadline and ends the notice', () => {
    const state = given([
      ...tree,
      found('P1', '533423101201'),
      onProblem('P1', 'ProblemEscalated', { level: 1, toUnitId: '533423101', reason: '逾期', colour: 'red' }, '2020-03-11T09:00:00+08:00'),
    ]);
    expect(state.rows.problem.get('P1')).toMatchObject({ escalationLevel: 1, colour: 'red' });
    expect(state.rows.escalation.get('P1')).toMatchObject({ level: 1, colour: 'red', toUnitId: '533423101' });

    for (const e of [
      onProblem('P1', 'RectificationSubmitted', { summary: '已改', evidence, submittedBy: { userId: 'c', unitId: '533423101201' } }),
      onProblem('P1', 'ProblemCleared', { verifiedBy: by, clearedAt: '2020-03-12T09:00:00+08:00' }, '2020-03-12T09:00:00+08:00'),
    ]) applyEvent(state, decodeRecorded(e));
    expect(state.rows.problem.get('P1')).toMatchObject({
      status: 'cleared',
      open: false,
      colour: 'none',
      missedDeadlines: ['2020-03-10T23:59:59.999+08:00'],
    });
    expect(state.rows.escalation.has('P1')).toBe(false);
  });

  it('a verification escalation is the verifier\'s: a rejection ends it and the responsible unit\'s notice is back', () => {
    const submitted = onProblem('P1', 'RectificationSubmitted', { summary: '已改', evidence, submittedBy: { userId: 'c', unitId: '533423101201' } });
    const verification = onProblem('P1', 'ProblemEscalated', { level: 1, toUnitId: '533400', reason: '核验超时', colour: 'yellow', stage: 'verification' }, '2020-03-13T09:00:00+08:00');
    const rejected = onProblem('P1', 'RectificationRejected', { reason: '证据不足', rejectedBy: by }, '2020-03-14T09:00:00+08:00');

    // Submitted in time, the verifier let the window lapse, then rejected: nothing left on the board.
    const onTime = given([...tree, found('P1', '533423101201'), submitted, verification]);
    expect(onTime.rows.escalation.get('P1')).toMatchObject({ level: 1, toUnitId: '533400', colour: 'yellow' });
    applyEvent(onTime, decodeRecorded(rejected));
    expect(onTime.rows.escalation.has('P1')).toBe(false);

    // Escalated for lateness first: after the rejection the responsible unit's escalation is what stands.
    const late = given([
      ...tree,
      found('P1', '533423101201'),
      onProblem('P1', 'ProblemEscalated', { level: 1, toUnitId: '533423101', reason: '逾期', colour: 'red' }, '2020-03-11T09:00:00+08:00'),
      submitted,
      verification,
      rejected,
    ]);
    expect(late.rows.escalation.get('P1')).toMatchObject({ level: 1, toUnitId: '533423101', colour: 'red', reason: '逾期' });
    expect(late.rows.problem.get('P1')).toMatchObject({ escalationLevel: 1, colour: 'red', status: 'open' });
  });

  it('a look-back reopens with a new deadline and a fresh clock', () => {
    const state = given([
      ...tree,
      found('P1', '533423101201'),
      onProblem('P1', 'RectificationSubmitted', { summary: '已改', evidence, submittedBy: { userId: 'c', unitId: '533423101201' } }),
      onProblem('P1', 'ProblemCleared', { verifiedBy: by, clearedAt: '2020-03-05T09:00:00+08:00' }),
      onProblem('P1', 'ProblemReopened', { reason: '回头看', deadline: '2020-04-30T23:59:59.999+08:00', reopenedBy: by }),
    ]);
    expect(state.rows.problem.get('P1')).toMatchObject({
      status: 'open',
      open: true,
      deadline: '2020-04-30T23:59:59.999+08:00',
      reopenCount: 1,
      clearedAt: null,
      acknowledged: false,
    });
  });
});

describe('household ledger', () => {
  it('given plan measures and an assessment, then done/total, latest assessment and the monitoring flag show', () => {
    const state = given([
      ...tree,
      household('H1', '533423101201'),
      onHousehold('H1', 'PlanMeasureAdded', { measureId: 'PM1', kind: 'industry', description: '养殖', responsibleUnitId: '533423101201', deadline: '2020-06-30T23:59:59.999+08:00' }),
      onHousehold('H1', 'PlanMeasureCompleted', { measureId: 'PM1', evidence }),
      onHousehold('H1', 'HouseholdAssessed', assessed(false)),
      onHousehold('H1', 'HouseholdAssessed', assessed(true)),
      onHousehold('H1', 'MonitoringFlagRaised', { reason: '因病' }),
    ]);
    expect(state.rows.household.get('H1')).toMatchObject({
      planTotal: 1,
      planDone: 1,
      meetsStandard: true,
      monitored: true,
      monitoringReason: '因病',
      assessment: { housing: true, meetsStandard: true },
    });
  });
});

describe('unit roll-up', () => {
  const history = [
    ...tree,
    household('H1', '533423101201'),
    household('H2', '533423101202'),
    onHousehold('H1', 'HouseholdAssessed', assessed(true)),
    found('P1', '533423101201'),
    found('P2', '533423101202', '2020-04-30T23:59:59.999+08:00'),
    recorded('listing-L1', {
      type: 'TargetListed',
      data: { listingId: 'L1', targetUnitId: '533423101', supervisingUnitId: '533423', leader: { name: '张三', position: '县长' }, reason: '贫困发生率高', metrics: { remainingPoorPeople: 120 } },
    }),
  ];

  it('counts every unit over its whole subtree', () => {
    const state = given(history);
    const at = Date.parse('2020-03-20T00:00:00+08:00');
    const village1 = toRollup(state.rows.unit.get('533423101201')!, 1);
    expect(village1).toMatchObject({ problemsOpen: 1, householdsTotal: 1, householdsMeetingStandard: 1, listingsActive: 0, clear: false, clearance: '户户清' });
    const county = state.rows.unit.get('533423')!;
    expect(county.counts).toMatchObject({ problemsOpen: 2, householdsTotal: 2, householdsMeetingStandard: 1, listingsActive: 1 });
    expect(county.children).toEqual(['533423101']);
    expect(state.rows.unit.get('533400')!.counts).toEqual(county.counts);
    return memoryReader(state)
      .countOpenDeadlinesBefore('533423', at)
      .then((overdue) => expect(overdue).toBe(1));
  });

  it('a unit is clear (户户清/村村清/县县清) once nothing is open beneath it, every household meets the standard and every listing is delisted', () => {
    const state = given([
      ...history,
      onHousehold('H2', 'HouseholdAssessed', assessed(true)),
      ...['P1', 'P2'].flatMap((id) => [
        onProblem(id, 'RectificationSubmitted', { summary: '已改', evidence, submittedBy: { userId: 'c', unitId: '533423101201' } }),
        onProblem(id, 'ProblemCleared', { verifiedBy: by, clearedAt: '2020-03-05T09:00:00+08:00' }),
      ]),
    ]);
    expect(toRollup(state.rows.unit.get('533423101')!, 0).clear).toBe(false);
    applyEvent(state, decodeRecorded(recorded('listing-L1', { type: 'TargetDelisted', data: { listingId: 'L1', verifiedBy: by } })));
    const township = toRollup(state.rows.unit.get('533423101')!, 0);
    expect(township).toMatchObject({ clear: true, clearance: '村村清', problemsOpen: 0, problemsCleared: 2, listingsActive: 0 });
    // The flag names the level all clear beneath the unit: a county's villages (村村清), the prefecture's counties (县县清).
    expect(toRollup(state.rows.unit.get('533423')!, 0)).toMatchObject({ clear: true, clearance: '村村清' });
    expect(toRollup(state.rows.unit.get('533400')!, 0)).toMatchObject({ clear: true, clearance: '县县清' });
  });
});

describe("a unit's problems (issue 9, observation 6)", () => {
  // Found in the township, handed to one of its villages: the village sees it, everything above counts it once.
  const handedDown = recorded('problem-P7', {
    type: 'ProblemFound',
    data: { ...decodeRecorded(found('P7', '533423101')).data, responsibleUnitId: '533423101201' },
  });

  it('counts a problem under its target, its responsible unit and every unit above either, once', () => {
    const state = given([...tree, handedDown]);
    const open = (unitId: string) => state.rows.unit.get(unitId)!.counts.problemsOpen;
    expect(['533423101201', '533423101202', '533423101', '533423', '533400'].map(open)).toEqual([1, 0, 1, 1, 1]);
    return Promise.all(
      ['533423101201', '533423101'].map(async (unitId) => {
        const rows = await memoryReader(state).listSubtree('problem', unitId, { limit: 10 });
        expect(rows.map((r) => r.problemId), unitId).toEqual(['P7']);
        expect(await memoryReader(state).countOpenDeadlinesBefore(unitId, Date.parse('2020-03-20T00:00:00+08:00'))).toBe(1);
      }),
    );
  });
});

describe('applying events', () => {
  it('an event that cannot be applied leaves every ledger as it was', () => {
    const dirty: Dirty = new Map();
    const state = given([...tree, found('P1', '533423101201')], dirty);
    const before = serializeState(state);
    dirty.clear();
    const bad = onProblem('P1', 'MeasureCompleted', { measureId: 'never-assigned', evidence });
    expect(() => applyEvent(state, decodeRecorded(bad), dirty)).toThrow(/unknown or already completed/);
    expect(dirty.size).toBe(0);
    expect(serializeState(state).equals(before)).toBe(true);
  });

  it('refuses a problem in an unknown unit and an event for a problem never found', () => {
    const state = given(tree);
    expect(() => applyEvent(state, decodeRecorded(found('P9', 'nowhere')))).toThrow(/unknown unit nowhere/);
    expect(() => applyEvent(state, decodeRecorded(onProblem('P8', 'ProblemAcknowledged', { acknowledgedBy: by })))).toThrow(/never found/);
  });

  it('records each changed row once per batch, with the open deadline for problems', () => {
    const dirty: Dirty = new Map();
    given([...tree, found('P1', '533423101201')], dirty);
    expect(dirty.get('problem/P1')).toMatchObject({ openDeadlineMs: Date.parse('2020-03-10T23:59:59.999+08:00') });
    expect([...dirty.keys()].filter((k) => k.startsWith('unit/'))).toHaveLength(5);
  });

  it('a snapshot restores exactly the state it was taken of', () => {
    const state = given([...tree, household('H1', '533423101201'), found('P1', '533423101201')]);
    const restored = deserializeState(serializeState(state));
    expect(restored.position).toBe(state.position);
    for (const c of ['unit', 'problem', 'household', 'listing', 'escalation'] as const) {
      expect(Object.fromEntries(restored.rows[c])).toEqual(Object.fromEntries(state.rows[c]));
    }
  });
});
