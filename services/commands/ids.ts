import { hash } from 'node:crypto';

// Fixed namespace for Duban's name-based ids (a random v4 chosen once; never change it, or retried
// steps would stop matching the events they already wrote).
const DUBAN_NAMESPACE = Buffer.from('6f1c2d0e9a8b4c7d8e5f40312a7b9c1d', 'hex');
const SCRATCH = Buffer.alloc(1024);
DUBAN_NAMESPACE.copy(SCRATCH, 0);
/** The variant's hex digit (10xx) for each value of the digit it replaces. */
const VARIANT_DIGIT = '89ab89ab89ab89ab';

/**
 * A UUID version 5 (RFC 9562: SHA-1 of namespace + name): the same name always yields the same id, so an
 * activity that runs twice appends an event the store already has, and the store keeps one copy. One
 * one-shot hash into hex (an import names hundreds of thousands of events: a Hash object per id was most
 * of the cost).
 */
export function nameBasedUuid(name: string): string {
  // The name is written after the namespace in one buffer kept for the purpose. `write` stops before a
  // character that does not fit (at most 4 bytes): with 4 bytes still free, the whole name was written.
  // A name that might have been cut gets a buffer of its own size.
  const end = DUBAN_NAMESPACE.length + SCRATCH.write(name, DUBAN_NAMESPACE.length, 'utf8');
  let input: Buffer;
  if (end + 4 <= SCRATCH.length) input = SCRATCH.subarray(0, end);
  else {
    input = Buffer.allocUnsafe(DUBAN_NAMESPACE.length + Buffer.byteLength(name, 'utf8'));
    DUBAN_NAMESPACE.copy(input, 0);
    input.write(name, DUBAN_NAMESPACE.length, 'utf8');
  }
  const hex = hash('sha1', input);
  const variant = VARIANT_DIGIT[Number.parseInt(hex[16]!, 16)]!;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
