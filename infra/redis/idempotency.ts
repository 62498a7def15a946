import type { Redis } from 'ioredis';
import {
  IDEMPOTENCY_CLAIM_LEASE_SECONDS,
  IDEMPOTENCY_TTL_SECONDS,
  type IdempotencyStore,
  type StoredResponse,
} from '../../services/ports/idempotency.js';

interface Entry {
  fingerprint: string;
  response: StoredResponse | null;
}

/**
 * The shared store for several API instances. A claim is `SET NX` with the lease as its expiry, renewed
 * while the request runs, so a request that dies mid-way frees its key within a lease; completing replaces
 * it with the response for the full TTL, but only if the key still holds this request's claim (checked and
 * written atomically in Lua, as is a renewal).
 */
const COMPLETE = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local entry = cjson.decode(current)
if entry.fingerprint ~= ARGV[1] or entry.response ~= cjson.null then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

const RENEW = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local entry = cjson.decode(current)
if entry.fingerprint ~= ARGV[1] or entry.response ~= cjson.null then return 0 end
return redis.call('EXPIRE', KEYS[1], ARGV[2])`;

const RELEASE = `
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local entry = cjson.decode(current)
if entry.response ~= cjson.null then return 0 end
return redis.call('DEL', KEYS[1])`;

export function createRedisIdempotencyStore(redis: Redis, prefix = 'duban:idem:'): IdempotencyStore {
  return {
    async claim(key, fingerprint) {
      const entry: Entry = { fingerprint, response: null };
      const set = await redis.set(prefix + key, JSON.stringify(entry), 'EX', IDEMPOTENCY_CLAIM_LEASE_SECONDS, 'NX');
      if (set === 'OK') return { kind: 'claimed' };
      const current = await redis.get(prefix + key);
      // Expired between SET and GET: try once more rather than report a phantom conflict.
      if (current === null) return this.claim(key, fingerprint);
      const stored = JSON.parse(current) as Entry;
      if (stored.fingerprint !== fingerprint) return { kind: 'mismatch' };
      if (stored.response === null) return { kind: 'in_progress' };
      return { kind: 'replay', response: stored.response };
    },
    async renew(key, fingerprint) {
      await redis.eval(RENEW, 1, prefix + key, fingerprint, IDEMPOTENCY_CLAIM_LEASE_SECONDS);
    },
    async complete(key, fingerprint, response) {
      const entry: Entry = { fingerprint, response };
      await redis.eval(COMPLETE, 1, prefix + key, fingerprint, JSON.stringify(entry), IDEMPOTENCY_TTL_SECONDS);
    },
    async release(key) {
      await redis.eval(RELEASE, 1, prefix + key);
    },
    async close() {
      // The connection belongs to whoever created it.
    },
  };
}
