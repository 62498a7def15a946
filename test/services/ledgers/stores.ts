import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import { createRedisClient } from '../../../infra/redis/client.js';
import { createRedisReadModel } from '../../../infra/redis/read-model.js';
import { createSqliteReadModel } from '../../../infra/sqlite/read-model.js';
import type { ReadModelStore } from '../../../services/ports/read-model.js';

/** Both read-model stores behind one shape, so every suite runs against each. */
export interface StoreFixture {
  /** Opens the store on this fixture's data; call again after close() for a "restarted process". */
  open(faults?: { midCommit?: (c: { disconnect(): void }) => void }): ReadModelStore;
  /**
   * Every stored entry of a keyspace, read behind the store's back and named without the keyspace, so two
   * keyspaces (or two stores of the same kind) compare key for key. Snapshots are left out: they are a cache
   * whose positions depend on batching.
   */
  dump(keyspace: number): Promise<Map<string, unknown>>;
  dispose(): Promise<void>;
}

const parse = (text: string): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
};

export interface StoreAdapter {
  name: 'sqlite' | 'redis';
  fixture(): Promise<StoreFixture>;
}

export const sqliteAdapter: StoreAdapter = {
  name: 'sqlite',
  async fixture() {
    const dir = await mkdtemp(join(tmpdir(), 'duban-rm-'));
    const path = join(dir, 'read-model.db');
    const opened: ReadModelStore[] = [];
    return {
      open(faults) {
        const store = createSqliteReadModel({ path, faults: faults && { midCommit: () => faults.midCommit?.({ disconnect() {} }) } });
        opened.push(store);
        return store;
      },
      async dump(ks) {
        const db = new Database(path, { readonly: true });
        try {
          const out = new Map<string, unknown>();
          for (const r of db.prepare<[number], { coll: string; key: string; doc: string }>('SELECT coll, key, doc FROM rm_row WHERE ks = ?').all(ks)) {
            out.set(`row:${r.coll}|${r.key}`, parse(r.doc));
          }
          for (const r of db.prepare<[number], { coll: string; ancestor: string; key: string }>('SELECT coll, ancestor, key FROM rm_subtree WHERE ks = ?').all(ks)) {
            out.set(`sub:${r.coll}:${r.ancestor}|${r.key}`, 0);
          }
          for (const r of db.prepare<[number], { ancestor: string; key: string; deadline_ms: number }>('SELECT ancestor, key, deadline_ms FROM rm_deadline WHERE ks = ?').all(ks)) {
            out.set(`dl:${r.ancestor}|${r.key}`, r.deadline_ms);
          }
          for (const r of db.prepare<[number], { position: number; doc: string }>('SELECT position, doc FROM rm_parked WHERE ks = ?').all(ks)) {
            out.set(`parked|${r.position}`, parse(r.doc));
          }
          const checkpoint = db.prepare<[number], { checkpoint: number }>('SELECT checkpoint FROM rm_keyspace WHERE ks = ?').get(ks);
          if (checkpoint) out.set('checkpoint', String(checkpoint.checkpoint));
          return out;
        } finally {
          db.close();
        }
      },
      async dispose() {
        await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
};

export function redisAdapter(url: string): StoreAdapter {
  return {
    name: 'redis',
    async fixture() {
      const prefix = `test:rm:${randomUUID()}`;
      const opened: ReadModelStore[] = [];
      const clients: Redis[] = [];
      return {
        open(faults) {
          // A client per store, as each process has its own: a crash test may cut this one.
          const redis = createRedisClient(url, { name: 'read-model-test' });
          clients.push(redis);
          const store = createRedisReadModel({ redis, prefix, faults });
          opened.push(store);
          return store;
        },
        async dump(ks) {
          const redis = new Redis(url);
          const base = `${prefix}:${ks}:`;
          const out = new Map<string, unknown>();
          try {
            let cursor = '0';
            do {
              const [next, keys] = await redis.scan(cursor, 'MATCH', `${base}*`, 'COUNT', 1000);
              cursor = next;
              for (const key of keys) {
                const name = key.slice(base.length);
                if (name.startsWith('snap:')) continue;
                const type = await redis.type(key);
                if (type === 'hash') {
                  for (const [field, value] of Object.entries(await redis.hgetall(key))) out.set(`${name}|${field}`, parse(value));
                } else if (type === 'zset') {
                  const flat = await redis.zrange(key, 0, -1, 'WITHSCORES');
                  for (let i = 0; i + 1 < flat.length; i += 2) out.set(`${name}|${flat[i]}`, Number(flat[i + 1]));
                } else {
                  out.set(name, await redis.get(key));
                }
              }
            } while (cursor !== '0');
            return out;
          } finally {
            await redis.quit();
          }
        },
        async dispose() {
          await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
          await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
          const redis = new Redis(url);
          let cursor = '0';
          do {
            const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
            cursor = next;
            if (keys.length > 0) await redis.unlink(...keys);
          } while (cursor !== '0');
          await redis.quit();
        },
      };
    },
  };
}
