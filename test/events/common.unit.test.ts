import { describe, expect, it } from 'vitest';
import { ID_PATTERN, WRITTEN_TEXT_PATTERN } from '../../events/common.js';

/** The patterns as first written, with Unicode property escapes that JSON Schema tools do not read. */
const idAsWritten = /^[^\s\p{Cc}]+$/u;
const textAsWritten = /^(?:[^\p{Cc}]|[\t\n\r])*$/u;

/** Every code point on which the two regexes disagree, each tested alone and inside a longer string. */
function disagreements(spelt: RegExp, written: RegExp): string[] {
  const found: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    const c = String.fromCodePoint(cp); // lone surrogates (U+D800..U+DFFF) included
    for (const s of [c, `a${c}b`]) {
      if (spelt.test(s) !== written.test(s)) found.push(`U+${cp.toString(16).toUpperCase().padStart(4, '0')} in ${JSON.stringify(s)}`);
    }
  }
  return found;
}

describe('the id and text patterns spelt out as code point ranges', () => {
  it('accept exactly the code points the \\s and \\p{Cc} regexes accept', () => {
    expect(disagreements(ID_PATTERN, idAsWritten)).toEqual([]);
    expect(disagreements(WRITTEN_TEXT_PATTERN, textAsWritten)).toEqual([]);
  });

  it('agree on the empty string and on strings of several code points', () => {
    for (const s of ['', '533400', '云南省', '𠀋𠀌', 'a b', 'a\tb', 'a\nb', 'x\u0085y', '\u3000', 'é\u0301']) {
      expect(ID_PATTERN.test(s), JSON.stringify(s)).toBe(idAsWritten.test(s));
      expect(WRITTEN_TEXT_PATTERN.test(s), JSON.stringify(s)).toBe(textAsWritten.test(s));
    }
  });

  it('carry no Unicode property escape, so the OpenAPI document can be generated from', () => {
    for (const p of [ID_PATTERN, WRITTEN_TEXT_PATTERN]) expect(p.source).not.toMatch(/\\[pP]\{|\\s/);
  });
});
