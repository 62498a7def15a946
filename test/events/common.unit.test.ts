import { describe, expect, it } from 'vitest';
import { ID_PATTERN, WRITTEN_TEXT_PATTERN } from '../../events/common.js';

/** The patterns as first written, with Unicode property escapes that JSON Schema tools do not read. */
const idAsWritten = /^[^\s\p{Cc}]+$/u;
const textAsWritten = /^(?:[^\p{Cc}]|[\t\n\r])*$/u;

/** Every code point on which the two regexes disagree (both are one character class repeated). */
function disagreements(spelt: RegExp, written: RegExp): string[] {
  const found: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    const c = String.fromCodePoint(cp); // lone surrogates (U+D800..U+DFFF) included
    if (spelt.test(c) !== written.test(c)) found.push(`U+${cp.toString(16).toUpperCase().padStart(4, '0')}`);
  }
  return found;
}

describe('the id and text patterns spelt out as code point ranges', () => {
  // 1.1 million code points, twice: seconds on a busy machine.
  it('accept exactly the code points the \\s and \\p{Cc} regexes accept', { timeout: 60_000 }, () => {
    expect(disagreements(ID_PATTERN, idAsWritten)).toEqual([]);
    expect(disagreements(WRITTEN_TEXT_PATTERN, textAsWritten)).toEqual([]);
  });

  it('agree on the empty string and on strings of several code points', () => {
    for (const s of ['', '533400', '云南省', '𠀋𠀌', 'a b', 'a\tb', 'a\nb', 'x\u0085y', '\u3000', 'é\u0301', 'a\u0000b', '\ud800x', 'x\udfff']) {
      expect(ID_PATTERN.test(s), JSON.stringify(s)).toBe(idAsWritten.test(s));
      expect(WRITTEN_TEXT_PATTERN.test(s), JSON.stringify(s)).toBe(textAsWritten.test(s));
    }
  });

  it('carry no Unicode property escape, so the OpenAPI document can be generated from', () => {
    for (const p of [ID_PATTERN, WRITTEN_TEXT_PATTERN]) expect(p.source).not.toMatch(/\\[pP]\{|\\s/);
  });
});
