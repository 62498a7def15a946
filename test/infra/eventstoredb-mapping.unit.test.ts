import { EVENT_TYPE, START, STREAM_NAME, StreamDeletedError as EsdbStreamDeletedError, StreamNotFoundError as EsdbStreamNotFoundError } from '@eventstore/db-client';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  comparePositions,
  decodePosition,
  encodePosition,
  ID_INDEX_TYPE,
  idIndexStream,
  matches,
  resumeFrom,
  serverFilter,
  softDeleted,
  translateReadError,
} from '../../infra/eventstoredb/mapping.js';
import { StreamDeletedError, StreamNotFoundError } from '../../services/ports/event-store.js';

/** Pairs as $all holds them: commit anywhere in a 1 TiB log, prepare within an append's bytes of it. */
const pair = fc
  .record({ commit: fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }), delta: fc.bigInt({ min: -(1n << 22n), max: (1n << 22n) - 1n }) })
  .filter(({ commit, delta }) => commit + delta >= 0n)
  .map(({ commit, delta }) => ({ commit, prepare: commit + delta }));

describe('EventStoreDB mapping: positions', () => {
  it('gives back the exact {commit, prepare} of an event, never {commit: p, prepare: p}', () => {
    fc.assert(
      fc.property(pair, (p) => {
        expect(decodePosition(encodePosition(p))).toEqual(p);
      }),
    );
    // The events of one append share a commit position and differ in prepare: each resumes after itself.
    const append = [0n, 180n, 360n].map((d) => ({ commit: 4096n, prepare: 4096n + d }));
    expect(append.map((p) => resumeFrom(encodePosition(p)))).toEqual(append);
  });

  it("keeps $all's order (commit, then prepare) and fits a signed 64-bit checkpoint", () => {
    fc.assert(
      fc.property(pair, pair, (a, b) => {
        const [x, y] = [encodePosition(a), encodePosition(b)];
        expect(Math.sign(Number(x - y))).toBe(comparePositions(a, b));
        expect(x >= 0n && x < 1n << 63n).toBe(true);
      }),
    );
  });

  it('refuses a pair it cannot hold instead of folding it onto another position', () => {
    expect(() => encodePosition({ commit: 1n << 40n, prepare: 1n << 40n })).toThrow(/outside what a Duban position can hold/);
    expect(() => encodePosition({ commit: 0n, prepare: 1n << 23n })).toThrow(/outside/);
    expect(() => encodePosition({ commit: 18446744073709551615n, prepare: 18446744073709551615n })).toThrow(/outside/);
    expect(() => decodePosition(-1n)).toThrow();
  });

  it('starts from the beginning without a checkpoint or at -1', () => {
    expect(resumeFrom(undefined)).toBe(START);
    expect(resumeFrom(-1n)).toBe(START);
  });
});

describe('EventStoreDB mapping: filters', () => {
  it('filters on stream prefixes on the server when there are any, else on the exact types, else drops system events', () => {
    expect(serverFilter({ streamPrefixes: ['problem-', '问题-'], types: ['ProblemFound'] })).toMatchObject({
      filterOn: STREAM_NAME,
      prefixes: ['problem-', '问题-'],
    });
    const byType = serverFilter({ types: ['ProblemFound', 'A.B+C'] });
    expect(byType).toMatchObject({ filterOn: EVENT_TYPE, regex: '^(?:ProblemFound|A\\.B\\+C)$' });
    const regex = new RegExp((byType as { regex: string }).regex);
    expect(['ProblemFound', 'A.B+C'].every((t) => regex.test(t))).toBe(true);
    expect(['ProblemFoundX', 'AxB+C', '$duban-id', 'XProblemFound'].some((t) => regex.test(t))).toBe(false);
    const none = serverFilter(undefined) as { filterOn: string; regex: string };
    expect(none.filterOn).toBe(EVENT_TYPE);
    expect(new RegExp(none.regex).test(ID_INDEX_TYPE)).toBe(false);
    expect(new RegExp(none.regex).test('ProblemFound')).toBe(true);
    expect(serverFilter({ streamPrefixes: [], types: [] })).toMatchObject({ filterOn: EVENT_TYPE });
  });

  it('keeps system events and the id index out on our side, and applies the half the server did not', () => {
    const filter = { streamPrefixes: ['problem-'], types: ['ProblemFound'] };
    expect(matches({ streamId: 'problem-1', type: 'ProblemFound' }, filter)).toBe(true);
    expect(matches({ streamId: 'problem-1', type: 'ProblemCleared' }, filter)).toBe(false);
    expect(matches({ streamId: 'household-1', type: 'ProblemFound' }, filter)).toBe(false);
    expect(matches({ streamId: '$stats-127.0.0.1:2113', type: '$statsCollected' }, undefined)).toBe(false);
    expect(matches({ streamId: 'problem-1', type: '$metadata' }, undefined)).toBe(false);
    expect(matches({ streamId: idIndexStream('7b0c6a62-7e7a-4e5e-9f0e-1d2c3b4a5968'), type: ID_INDEX_TYPE }, undefined)).toBe(false);
    expect(matches({ streamId: idIndexStream('x'), type: 'Forged' }, { streamPrefixes: ['duban-'] })).toBe(false);
  });
});

describe('EventStoreDB mapping: errors', () => {
  it('maps a tombstoned stream to StreamDeletedError (still a missing stream to readers) and a missing one to StreamNotFoundError', () => {
    const deleted = translateReadError(EsdbStreamDeletedError.fromStreamName('problem-1'), 'problem-1');
    expect(deleted).toBeInstanceOf(StreamDeletedError);
    expect(deleted).toBeInstanceOf(StreamNotFoundError);
    expect(deleted).toMatchObject({ code: 'not_found', rule: 'store.stream_deleted', streamId: 'problem-1', deletion: 'tombstoned' });
    const missing = translateReadError(new EsdbStreamNotFoundError(undefined, 'problem-2'), 'problem-2');
    expect(missing).toBeInstanceOf(StreamNotFoundError);
    expect(missing).not.toBeInstanceOf(StreamDeletedError);
    expect(missing).toMatchObject({ rule: 'store.stream_not_found' });
    const other = new Error('unavailable');
    expect(translateReadError(other, 'x')).toBe(other);
  });

  it('recognises a soft-deleted stream by its truncateBefore', () => {
    expect(softDeleted({ truncateBefore: 12 })).toBe(true);
    expect(softDeleted({})).toBe(false);
    expect(softDeleted(undefined)).toBe(false);
  });
});
