import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisReadModel } from '../../../infra/redis/read-model.js';
import { createSqliteReadModel } from '../../../infra/sqlite/read-model.js';
import type { ReadModelStore } from '../../../services/ports/read-model.js';

/** Both read-model stores behind one shape, so every suite runs against each. */
export interface StoreFixture {
  /** Opens the store on this fixture's data; call again after close() for a "restarted process". */
  open(faults?: { midCommit?: (c: { disconnect(): void }) => void }): ReadModelStore;
  dispose(): Promise<void>;
}

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
      return {
        open(faults) {
          const store = createRedisReadModel({ url, prefix, faults });
          opened.push(store);
          return store;
        },
        async dispose() {
          await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
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
