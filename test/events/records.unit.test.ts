import { describe, expect, it } from 'vitest';
import { recordWith } from '../../events/records.js';

describe('recordWith', () => {
  it('gives what spreading gives: the same keys in the same order, a replaced entry in its place, the input untouched', () => {
    let record: Record<string, number> = {};
    let spread: Record<string, number> = {};
    const keys = ['P1-M0', 'P1-M1', 'P1-M0', 'P1-M2', 'P1-M1', '10', 'x'];
    keys.forEach((key, i) => {
      const before = { ...record };
      const next = recordWith(record, key, i);
      expect(record).toStrictEqual(before);
      record = next;
      spread = { ...spread, [key]: i };
      expect(record).toStrictEqual(spread);
      expect(Object.keys(record)).toEqual(Object.keys(spread));
      expect(JSON.stringify(record)).toBe(JSON.stringify(spread));
      expect(Object.getPrototypeOf(record)).toBe(Object.prototype);
    });
    expect({ ...record }).toStrictEqual(spread);
    expect(Object.hasOwn(record, 'a') || Object.hasOwn(record, 'b')).toBe(false);
  });
});
