/**
 * Records keyed by ids (a problem's measures, a household's plan) with one entry more or one replaced.
 *
 * Each such record has keys no other record has. V8 gives an object built by `{ ...record, [id]: value }`
 * a hidden class of its own once a few thousand distinct keys have been seen, so every update allocated
 * a new hidden class in the old generation, garbage as soon as the next update replaced the record: a
 * replay of 137k streams left about half of what it promoted as such garbage. A record built here is an
 * ordinary object (Object.prototype, own enumerable keys in insertion order, as JSON and spreading see
 * it) kept in dictionary mode, whose table is an ordinary young allocation.
 */
export function recordWith<V>(record: Readonly<Record<string, V>>, key: string, value: V): Record<string, V> {
  const out = dictionary<V>();
  for (const existing of Object.keys(record)) out[existing] = record[existing]!;
  out[key] = value;
  return out;
}

function dictionary<V>(): Record<string, V> {
  // Deleting a property other than the last one moves an object to dictionary mode for good.
  const out: Record<string, unknown> = { a: undefined, b: undefined };
  delete out['a'];
  delete out['b'];
  return out as Record<string, V>;
}
