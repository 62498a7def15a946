import { afterEach, describe, expect, it, vi } from 'vitest';
import { memoryReader } from '../../../services/ledgers/memory-reader.js';
import { createLedgerState, createSnapshotWriter, deserializeState, serializeState } from '../../../services/ledgers/state.js';
import type { EscalationRow, HouseholdRow, ProblemRow } from '../../../services/ports/read-model.js';
import { problemRow, unitRow } from './rows.js';

// Snapshot rows are read as text and parsed the first time they are asked for; the state they give is the
// one the snapshot was taken of, and a snapshot written before rows were kept as text still reads.
const unit = (unitId: string, ancestors: string[]) => unitRow(unitId, ancestors, ancestors.length === 1 ? 'prefecture' : 'county');
const problem = (problemId: string, ancestors: string[], description = '危房未改造') => problemRow(problemId, ancestors, { description });

function sampleState() {
  const state = createLedgerState();
  state.rows.unit.set('P', unit('P', ['P']));
  state.rows.unit.set('A', unit('A', ['P', 'A']));
  state.rows.unit.set('B', unit('B', ['P', 'B']));
  for (let i = 0; i < 10; i++) state.rows.problem.set(`a${i}`, problem(`a${i}`, ['P', 'A']));
  // A problem handed from one county to another is in both parts; odd keys and texts survive the trip.
  state.rows.problem.set('b0', { ...problem('b0', ['P', 'B']), ancestors: ['P', 'B', 'A'] });
  state.rows.problem.set('q"\t\\\n1', problem('q"\t\\\n1', ['P', 'A'], 'a\ttab, a\nnewline and a " quote'));
  state.rows.household.set('h1', { householdId: 'h1', ancestors: ['P', 'A'] } as unknown as HouseholdRow);
  state.position = 41n;
  state.recordedAt = '2020-02-01T00:00:00.000Z';
  return state;
}

const plain = (state: ReturnType<typeof createLedgerState>) =>
  Object.fromEntries(Object.entries(state.rows).map(([c, rows]) => [c, [...(rows as Map<string, unknown>).entries()]]));

afterEach(() => {
  vi.restoreAllMocks();
});

describe('snapshot rows', () => {
  it('restore the state the snapshot was taken of, in the order it held them, for the whole tree and per county', () => {
    const state = sampleState();
    const bytes = serializeState(state);
    expect(plain(deserializeState(bytes))).toEqual(plain(state));
    const a = deserializeState(bytes, 'A');
    expect([...a.rows.problem.keys()]).toEqual([...state.rows.problem.keys()]);
    expect(a.rows.problem.get('q"\t\\\n1')).toEqual(state.rows.problem.get('q"\t\\\n1'));
    const b = deserializeState(bytes, 'B');
    expect([...b.rows.problem.keys()]).toEqual(['b0']);
    expect(b.rows.household.size).toBe(0);
  });

  it('are parsed only when asked for: loading a county parses none of its rows, and has() parses nothing', () => {
    const bytes = serializeState(sampleState());
    const parse = vi.spyOn(JSON, 'parse');
    const parsedRow = (problemId: string) => parse.mock.calls.filter(([text]) => String(text).includes(`"problemId":"${problemId}"`)).length;
    const state = deserializeState(bytes, 'A');
    expect(parsedRow('a7')).toBe(0);
    expect(state.rows.problem.has('a7')).toBe(true);
    expect(state.rows.problem.size).toBe(12);
    expect(parsedRow('a7')).toBe(0);
    const row = state.rows.problem.get('a7');
    expect(row?.problemId).toBe('a7');
    expect(state.rows.problem.get('a7')).toBe(row);
    expect(parsedRow('a7')).toBe(1);
    expect(parsedRow('a8')).toBe(0);
  });

  it('counting overdue problems parses only those whose deadline is due, and counts as the state it was taken of', async () => {
    const state = sampleState();
    state.rows.problem.set('a1', { ...problem('a1', ['P', 'A']), deadline: '2020-03-31T15:59:59.999Z' });
    state.rows.problem.set('a2', { ...problem('a2', ['P', 'A']), deadline: '2020-03-31T15:59:59.999Z', open: false, status: 'cleared' });
    state.rows.problem.set('a3', { ...problem('a3', ['P', 'A']), deadline: '2020-03-31T15:59:59.999Z', status: 'submitted', submittedAt: '2020-03-01T00:00:00.000Z' });
    state.rows.problem.set('a4', { ...problem('a4', ['P', 'A']), deadline: '2020-04-30T15:59:59.999Z', status: 'submitted', submittedAt: '2020-05-02T00:00:00.000Z' });
    const bytes = serializeState(state);
    for (const epochMs of [Date.parse('2020-01-01T00:00:00Z'), Date.parse('2020-04-10T00:00:00Z'), Date.parse('2020-05-10T00:00:00Z'), Date.parse('2020-08-01T00:00:00Z')]) {
      for (const unitId of ['P', 'A', 'B']) {
        const expected = await memoryReader(state).countOpenDeadlinesBefore(unitId, epochMs);
        expect(await memoryReader(deserializeState(bytes, unitId)).countOpenDeadlinesBefore(unitId, epochMs), `${unitId} ${epochMs}`).toBe(expected);
      }
    }
    const parse = vi.spyOn(JSON, 'parse');
    const parsed = () => parse.mock.calls.filter(([text]) => String(text).includes('"problemId"')).map(([text]) => (JSON.parse.call(JSON, String(text)) as ProblemRow).problemId);
    const a = deserializeState(bytes, 'A');
    expect(await memoryReader(a).countOpenDeadlinesBefore('A', Date.parse('2020-04-10T00:00:00Z'))).toBe(1);
    expect(parsed().sort()).toEqual(['a1']);
  });

  it('counting overdue problems for several units and moments from one reader answers each as a reader of its own', async () => {
    const state = sampleState();
    state.rows.problem.set('a1', { ...problem('a1', ['P', 'A']), deadline: '2020-03-31T15:59:59.999Z' });
    state.rows.problem.set('b0', { ...problem('b0', ['P', 'B']), ancestors: ['P', 'B', 'A'], deadline: '2020-04-30T15:59:59.999Z' });
    const early = Date.parse('2020-04-10T00:00:00Z');
    const late = Date.parse('2020-05-10T00:00:00Z');
    const asked: [string, number][] = [['P', early], ['A', early], ['B', early], ['B', late], ['A', late], ['P', late], ['A', early]];
    for (const taken of [state, deserializeState(serializeState(state), 'A')]) {
      const reader = memoryReader(taken);
      const answers = [];
      for (const [unitId, epochMs] of asked) answers.push(await reader.countOpenDeadlinesBefore(unitId, epochMs));
      expect(answers).toEqual([1, 1, 0, 1, 2, 2, 1]);
      for (const [i, [unitId, epochMs]] of asked.entries()) expect(await memoryReader(taken).countOpenDeadlinesBefore(unitId, epochMs)).toBe(answers[i]);
    }
    // A state that moved on is counted again.
    const reader = memoryReader(state);
    expect(await reader.countOpenDeadlinesBefore('A', late)).toBe(2);
    state.rows.problem.delete('a1');
    state.position++;
    expect(await reader.countOpenDeadlinesBefore('A', late)).toBe(1);
  });

  it('behave as a Map once loaded: set, delete, iteration and forEach see the rows parsed', () => {
    const state = deserializeState(serializeState(sampleState()), 'A');
    const rows = state.rows.problem;
    rows.set('a3', problem('a3', ['P', 'A'], 'changed'));
    expect(rows.delete('a4')).toBe(true);
    expect(rows.has('a4')).toBe(false);
    expect(rows.get('a4')).toBeUndefined();
    expect([...rows.values()].every((r) => typeof r.problemId === 'string')).toBe(true);
    expect(rows.get('a3')?.description).toBe('changed');
    const seen: string[] = [];
    rows.forEach((r, k) => seen.push(`${k}=${r.problemId}`));
    expect(seen).toContain('a0=a0');
    expect(seen).toHaveLength(11);
    expect(new Map(rows).get('a9')).toEqual(problem('a9', ['P', 'A']));
  });

  it('written again as the state moves on, copy the unchanged rows and give the bytes a first snapshot gives', () => {
    const state = sampleState();
    const writer = createSnapshotWriter();
    const same = () => {
      const bytes = writer.write(state);
      expect(bytes.equals(serializeState(state))).toBe(true);
      const restored = deserializeState(bytes);
      for (const c of ['unit', 'problem', 'household', 'listing', 'escalation'] as const) {
        expect(Object.fromEntries(restored.rows[c])).toEqual(Object.fromEntries(state.rows[c]));
      }
    };
    same();
    same();
    // Rows replaced (as the evolve functions do), a unit's counters changed in place, rows added and removed.
    state.rows.problem.set('a3', { ...state.rows.problem.get('a3')!, description: '饮水安全未保障', open: false, status: 'cleared' });
    state.rows.unit.get('A')!.counts.problemsOpen += 3;
    state.rows.problem.delete('a5');
    state.rows.problem.set('c1', problem('c1', ['P', 'B']));
    // A row whose JSON a commit wrote is taken from there; a unit's never is (its counters change in place).
    writer.textOf(state.rows.problem.get('c1')!);
    const a = state.rows.unit.get('A')!;
    writer.textOf(a);
    a.counts.problemsCleared += 1;
    const notice = { problemId: 'a1', unitId: 'A', responsibleUnitId: 'A', ancestors: ['P', 'A'], level: 2 } as unknown as EscalationRow;
    state.rows.escalation.set('a1', notice);
    state.position = 57n;
    same();
    state.rows.escalation.delete('a1');
    state.rows.unit.set('C', unit('C', ['P', 'C']));
    state.rows.problem.set('b0', { ...state.rows.problem.get('b0')!, ancestors: ['P', 'B', 'A', 'C'] });
    state.rows.problem.set('a2', { ...state.rows.problem.get('a2')!, deadline: '2020-07-31T15:59:59.999Z' });
    same();
    // The same row object under a second key is written under that key.
    state.rows.problem.set('a9 again', state.rows.problem.get('a9')!);
    same();
    same();
  });

  it('a snapshot written as whole JSON parts (version 2, before rows were kept as text) still reads', () => {
    const state = sampleState();
    const part = (rows: Record<string, [string, unknown][]>) => Buffer.from(JSON.stringify(rows));
    const units = part({ unit: [...state.rows.unit.entries()] });
    const a = part({
      problem: [...state.rows.problem.entries()].filter(([, r]) => r.ancestors.includes('A')),
      household: [...state.rows.household.entries()],
    });
    const b = part({ problem: [['b0', state.rows.problem.get('b0')!]] });
    const header = {
      v: 2,
      position: '41',
      recordedAt: state.recordedAt,
      parts: { units: [0, units.length], 'branch:A': [units.length, a.length], 'branch:B': [units.length + a.length, b.length] },
    };
    const bytes = Buffer.concat([Buffer.from(`${JSON.stringify(header)}\n`), units, a, b]);
    const whole = deserializeState(bytes);
    expect(whole.position).toBe(41n);
    expect(Object.fromEntries(whole.rows.problem)).toEqual(Object.fromEntries(state.rows.problem));
    expect([...deserializeState(bytes, 'B').rows.problem.keys()]).toEqual(['b0']);
  });
});
