import { describe, expect, it } from 'vitest';
import type { EscalationPolicy } from '../../events/problem/policy.js';
import {
  applyEvent,
  markStepDone,
  nextStep,
  pendingSteps,
  type ClockEvent,
  type ClockState,
} from '../../workflows/clock.js';

const policy: EscalationPolicy = {
  version: 1,
  timeZone: 'Asia/Shanghai',
  acknowledgeWithin: 'P2D',
  reminderOffsets: ['P1D', 'P3D'],
  escalationInterval: 'P3D',
  repeatReminderEvery: 'P1D',
  topLevel: 'prefecture',
  severityOverrides: { high: { escalationInterval: 'P1D' } },
};

let revision = 0;
// Only the fields the clock reads: the data of these events is otherwise what the decider would write.
const event = (type: ClockEvent['type'], data: object, occurredAt: string, eventId = `e${revision}`): ClockEvent =>
  ({ eventId, revision: revision++, type, data, occurredAt }) as ClockEvent;
const given = (...events: ClockEvent[]): ClockState => {
  let state: ClockState | undefined;
  for (const e of events) state = applyEvent(state, e);
  if (!state) throw new Error('no ProblemFound');
  return state;
};
const found = (occurredAt: string, deadline: string, severity = 'medium') => {
  revision = 0;
  return event(
    'ProblemFound',
    { problemId: 'p1', responsibleUnitId: 'v1', targetUnitId: 'v1', severity, deadline, policy },
    occurredAt,
    'found',
  );
};
const acknowledged = (at: string) => event('ProblemAcknowledged', {}, at);

describe('rectification clock', () => {
  it('given a problem found two days before its deadline: the 3-day reminder is not sent late, the 1-day one is next', () => {
    const state = given(found('2020-06-28T10:00:00+08:00', '2020-06-30T23:59:59.999+08:00'), acknowledged('2020-06-28T11:00:00+08:00'));
    expect(nextStep(state)).toMatchObject({ kind: 'blue_reminder', name: 'blue-1', at: '2020-06-29T23:59:59.999+08:00', colour: 'blue' });
  });

  it('given an unacknowledged item: the acknowledge reminder comes first, at the end of the window, and turns it yellow', () => {
    const state = given(found('2020-06-01T09:00:00+08:00', '2020-06-30T23:59:59.999+08:00'));
    expect(nextStep(state)).toMatchObject({ kind: 'acknowledge_reminder', at: '2020-06-03T09:00:00.000+08:00', colour: 'yellow' });
  });

  it('given an imported item that says when it was found: the acknowledge window runs from then, not from the import', () => {
    const imported = (ackFromFoundAt?: boolean) => {
      revision = 0;
      const e = event(
        'ProblemFound',
        { problemId: 'p1', responsibleUnitId: 'v1', targetUnitId: 'v1', severity: 'medium', deadline: '2020-07-30T23:59:59.999+08:00', policy, foundAt: '2020-06-20T00:00:00.000+08:00' },
        '2020-07-05T10:00:00.000+08:00',
        'found',
      );
      return applyEvent(undefined, e, ackFromFoundAt === undefined ? undefined : { ackFromFoundAt })!;
    };
    expect(nextStep(imported(true))).toMatchObject({ kind: 'acknowledge_reminder', at: '2020-06-22T00:00:00.000+08:00', since: '2020-06-20T00:00:00.000+08:00', colour: 'yellow' });
    // Runs recorded before the rule (the workflow's patch is off while they replay) keep the window from the recording.
    expect(nextStep(imported(false))).toMatchObject({ kind: 'acknowledge_reminder', at: '2020-07-07T10:00:00.000+08:00', since: '2020-07-05T10:00:00.000+08:00' });
  });

  it('given an item escalated once: reminders repeat daily at that level, and the one falling on the next escalation gives way', () => {
    let state = given(found('2020-06-01T09:00:00+08:00', '2020-06-30T23:59:59.999+08:00'), acknowledged('2020-06-01T10:00:00+08:00'));
    state = markStepDone(state, { anchor: 'found', name: 'blue-1' }, { recorded: true });
    state = markStepDone(state, { anchor: 'found', name: 'esc-1' }, { recorded: true, toUnitId: 't1', atTop: false });
    const times: string[] = [];
    for (let i = 0; i < 3; i++) {
      const step = nextStep(state)!;
      times.push(`${step.name}@${step.at}`);
      state = markStepDone(state, step, { recorded: true, toUnitId: 'c1', atTop: false });
    }
    expect(times).toEqual([
      'repeat-1-1@2020-07-01T23:59:59.999+08:00',
      'repeat-1-2@2020-07-02T23:59:59.999+08:00',
      'esc-2@2020-07-03T23:59:59.999+08:00',
    ]);
    expect(state).toMatchObject({ level: 2, currentUnitId: 'c1', repeats: 0 });
  });

  it('given a high-severity item: its override (escalate daily) applies', () => {
    let state = given(found('2020-06-01T09:00:00+08:00', '2020-06-30T23:59:59.999+08:00', 'high'), acknowledged('2020-06-01T10:00:00+08:00'));
    state = markStepDone(state, { anchor: 'found', name: 'blue-1' }, { recorded: true });
    state = markStepDone(state, { anchor: 'found', name: 'esc-1' }, { recorded: true, toUnitId: 't1' });
    expect(pendingSteps(state).find((s) => s.kind === 'escalation')?.at).toBe('2020-07-01T23:59:59.999+08:00');
  });

  it('given an event delivered twice: the second delivery changes nothing', () => {
    const f = found('2020-06-01T09:00:00+08:00', '2020-06-30T23:59:59.999+08:00');
    const ack = acknowledged('2020-06-01T10:00:00+08:00');
    const once = given(f, ack);
    expect(applyEvent(applyEvent(once, f), ack)).toEqual(once);
  });

  it('given an escalated item, when the deadline is extended: level and colour reset, the lateness stays on record', () => {
    let state = given(found('2020-06-01T09:00:00+08:00', '2020-06-30T23:59:59.999+08:00'), acknowledged('2020-06-01T10:00:00+08:00'));
    state = markStepDone(state, { anchor: 'found', name: 'esc-1' }, { recorded: true, toUnitId: 't1' });
    state = { ...state, colour: 'red' };
    const extended = applyEvent(
      state,
      event('DeadlineExtended', { deadline: '2020-07-15T23:59:59.999+08:00' }, '2020-07-02T09:00:00+08:00', 'ext'),
    )!;
    expect(extended).toMatchObject({ level: 0, colour: 'none', cycleId: 'ext', currentUnitId: 'v1' });
    expect(extended.lateness).toEqual([
      {
        cycleId: 'found',
        deadline: '2020-06-30T23:59:59.999+08:00',
        level: 1,
        overdueMs: Date.parse('2020-07-02T09:00:00+08:00') - Date.parse('2020-06-30T23:59:59.999+08:00'),
        endedBy: 'DeadlineExtended',
      },
    ]);
    expect(nextStep(extended)).toMatchObject({ anchor: 'ext', name: 'blue-0', at: '2020-07-12T23:59:59.999+08:00' });
  });

  it('given a cleared item: nothing is pending', () => {
    const state = given(
      found('2020-06-01T09:00:00+08:00', '2020-06-30T23:59:59.999+08:00'),
      event('ProblemCleared', {}, '2020-06-20T09:00:00+08:00'),
    );
    expect(pendingSteps(state)).toEqual([]);
  });
});
