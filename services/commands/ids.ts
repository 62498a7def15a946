import { createHash } from 'node:crypto';

// Fixed namespace for Duban's name-based ids (a random v4 chosen once; never change it, or retried
// steps would stop matching the events they already wrote).
const DUBAN_NAMESPACE = Buffer.from('6f1c2d0e9a8b4c7d8e5f40312a7b9c1d', 'hex');

/**
 * A UUID version 5 (RFC 9562: SHA-1 of namespace + name): the same name always yields the same id, so an
 * activity that runs twice appends an event the store already has, and the store keeps one copy.
 */
export function nameBasedUuid(name: string): string {
  const hash = createHash('sha1').update(DUBAN_NAMESPACE).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x50;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
