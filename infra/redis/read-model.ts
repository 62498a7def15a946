import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { translateFailures } from '../../services/ports/unavailable.js';
import { redisOutage } from './client.js';
import type {
  AnyRow,
  Collection,
  CommitBatch,
  KeyspaceWriter,
  ParkedEvent,
  ReadModelReader,
  ReadModelStore,
  RowOf,
  RowWrite,
  Snapshot,
  SnapshotPieces,
  SubtreePage,
} from '../../services/ports/read-model.js';
import { collections } from '../../services/ports/read-model.js';

/**
 * The production read-model store: Redis, shared by every API instance.
 *
 * Layout under `${prefix}:${ks}:` (ks = keyspace number):
 *   row:<coll>              hash   key -> row JSON
 *   sub:<coll>:<unitId>     zset   keys of rows in the unit's subtree, all score 0 (ordered by key, for paging)
 *   dl:<unitId>             zset   open problems in the subtree, scored by deadline (epoch ms): overdue = ZCOUNT
 *   checkpoint              string position of the last applied event, written by the same script as the rows
 *   parked                  hash   position -> parked poison event
 *   snap:index              zset   snapshot positions; snap:meta hash position -> recordedAt; snap:<position> blob
 *   staged:<uuid>           list   a large commit's row commands, until its script applies them (COMMIT_STAGED)
 * and `${prefix}:active` (keyspace readers read), `${prefix}:next` (keyspace counter).
 */
export interface RedisReadModelOptions {
  /** The process's Redis client (infra/redis/client.ts); it stays open when the store closes... */
  redis: Redis;
  /** ...unless the store was given a client of its own to close. */
  closeClient?: boolean;
  /** Key prefix, so tests and several deployments can share one Redis. */
  prefix?: string;
  /**
   * Crash simulation for the consistency tests: called as a commit is sent, before its script runs (for a
   * staged commit, once its first slice is on Redis). `disconnect` drops the connection the way a dying
   * process would.
   */
  faults?: { midCommit?: (connection: { disconnect(): void }) => void };
}

/**
 * A commit, atomic as a script is: refused (writing nothing) unless the keyspace's checkpoint is the one
 * the writer expects (ARGV[1], '' = no check), then the row commands (ARGV[3..], each as its argument
 * count and the command) and the new checkpoint (ARGV[2]). A Redis that restarted empty has no
 * checkpoint, so a writer that committed before never writes its changed rows into an emptied keyspace.
 */
const CHECKED = `
local current = redis.call('GET', KEYS[1]) or '-1'
if ARGV[1] ~= '' and current ~= ARGV[1] then
  return redis.error_reply('KEYSPACE_LOST checkpoint ' .. current .. ', expected ' .. ARGV[1])
end
local function run(ops, i)
  while i <= #ops do
    local n = tonumber(ops[i])
    redis.call(unpack(ops, i + 1, i + n))
    i = i + n + 1
  end
end
`;
const COMMIT = `${CHECKED}
run(ARGV, 3)
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

/**
 * The same commit for a batch too large to send as one command (a rebuild's one batch: 127,441 rows and a
 * million arguments at 1M events, which ioredis first joins into one string, 400 MB at its peak): its row
 * commands were pushed beforehand onto a list of their own (KEYS[2]) in slices of whole commands, whose
 * lengths are ARGV[3..]. Until this script runs, the keyspace has not changed; the list goes with it, or
 * expires if the writer died before it ran.
 */
const COMMIT_STAGED = `${CHECKED}
local at = 0
for s = 3, #ARGV do
  local n = tonumber(ARGV[s])
  run(redis.call('LRANGE', KEYS[2], at, at + n - 1), 1)
  at = at + n
end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

/** Row-command arguments above which a commit is staged, and about how many are pushed at a time. */
const STAGE_ABOVE = 50_000;
const STAGE_SLICE = 20_000;
const STAGED_TTL_MS = 3_600_000;

/** A row command's argument: a row whose JSON is written as it is sent. */
type Op = string | number | AnyRow;
const argument = (op: Op): string | number => (typeof op === 'object' ? JSON.stringify(op) : op);

export function createRedisReadModel(options: RedisReadModelOptions): ReadModelStore {
  const { redis } = options;
  const prefix = options.prefix ?? 'duban:rm';
  const ksPrefix = (ks: number) => `${prefix}:${ks}:`;

  async function activeId(): Promise<number> {
    const active = await redis.get(`${prefix}:active`);
    if (active !== null) return Number(active);
    // A fresh Redis: keyspace 1 becomes active unless another instance got there first.
    const id = await redis.incr(`${prefix}:next`);
    const won = await redis.set(`${prefix}:active`, String(id), 'NX');
    return won === 'OK' ? id : Number(await redis.get(`${prefix}:active`));
  }

  /**
   * One batch of row changes as few variadic commands: one HSET/HDEL per collection and one ZADD/ZREM per
   * index key, instead of one command per row and per unit above it (ioredis pays per command). Each is
   * added to `ops` as its argument count and then the command, for the COMMIT script; a row without its
   * `doc` as the row itself, written as JSON when its part of the commit is sent (`argument`).
   */
  function queueWrites(ops: Op[], p: string, writes: readonly RowWrite[]): void {
    const puts = new Map<string, Op[]>();
    const deletes = new Map<string, string[]>();
    const adds = new Map<string, (string | number)[]>();
    const removes = new Map<string, string[]>();
    // Plain loops and one list per target key: this runs for every row of every batch of a rebuild.
    const listOf = <T>(map: Map<string, T[]>, key: string): T[] => {
      let list = map.get(key);
      if (!list) map.set(key, (list = []));
      return list;
    };
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const { collection, key, ancestors } = write;
      if (write.row === null) {
        listOf(deletes, `${p}row:${collection}`).push(key);
        for (const a of ancestors) listOf(removes, `${p}sub:${collection}:${a}`).push(key);
      } else {
        const list = listOf(puts, `${p}row:${collection}`);
        list.push(key, write.doc ?? write.row);
        if (write.isNew !== false) {
          for (const a of ancestors) {
            const members = listOf(adds, `${p}sub:${collection}:${a}`);
            members.push(0, key);
          }
        }
      }
      const deadline = write.openDeadlineMs;
      if (deadline !== undefined) {
        for (const a of ancestors) {
          if (deadline === null || write.row === null) listOf(removes, `${p}dl:${a}`).push(key);
          else listOf(adds, `${p}dl:${a}`).push(deadline, key);
        }
      }
    }
    // The script unpacks a command's arguments onto Lua's stack (8,000 slots): at most 2,000 items each.
    const variadic = (command: string, target: string, items: readonly Op[]) => {
      for (let i = 0; i < items.length; i += 2000) {
        const end = Math.min(items.length, i + 2000);
        ops.push(end - i + 2, command, target);
        for (let j = i; j < end; j++) ops.push(items[j]!);
      }
    };
    for (const [hash, fields] of deletes) variadic('HDEL', hash, fields);
    for (const [hash, pairs] of puts) variadic('HSET', hash, pairs);
    for (const [zset, members] of removes) variadic('ZREM', zset, members);
    for (const [zset, pairs] of adds) variadic('ZADD', zset, pairs);
  }

  function reader(ks: () => Promise<number>): ReadModelReader {
    return {
      async get<C extends Collection>(collection: C, key: string) {
        const doc = await redis.hget(`${ksPrefix(await ks())}row:${collection}`, key);
        return doc === null ? undefined : (JSON.parse(doc) as RowOf[C]);
      },
      async getMany<C extends Collection>(collection: C, keys: readonly string[]) {
        if (keys.length === 0) return [];
        const docs = await redis.hmget(`${ksPrefix(await ks())}row:${collection}`, ...keys);
        return docs.map((doc) => (doc === null ? undefined : (JSON.parse(doc) as RowOf[C])));
      },
      async listSubtree<C extends Collection>(collection: C, unitId: string, page: SubtreePage) {
        const p = ksPrefix(await ks());
        const min = page.afterKey === undefined ? '-' : `(${page.afterKey}`;
        const keys = await redis.zrangebylex(`${p}sub:${collection}:${unitId}`, min, '+', 'LIMIT', 0, page.limit);
        if (keys.length === 0) return [];
        const docs = await redis.hmget(`${p}row:${collection}`, ...keys);
        // A key indexed but without a row cannot happen inside one commit; skip rather than crash if it does.
        return docs.filter((d): d is string => d !== null).map((d) => JSON.parse(d) as RowOf[C]);
      },
      async countOpenDeadlinesBefore(unitId: string, epochMs: number) {
        return redis.zcount(`${ksPrefix(await ks())}dl:${unitId}`, '-inf', `(${epochMs}`);
      },
      async checkpoint() {
        const value = await redis.get(`${ksPrefix(await ks())}checkpoint`);
        return value === null ? -1n : BigInt(value);
      },
    };
  }

  function writer(id: number): KeyspaceWriter {
    const p = ksPrefix(id);
  async function findSnapshotPieces(at: { position?: bigint; time?: string }): Promise<SnapshotPieces | undefined> {
      const max = at.position === undefined ? '+inf' : at.position.toString();
      // Few snapshots exist (one per many thousand events), so walking them newest first is cheap.
      const positions = await redis.zrevrangebyscore(`${p}snap:index`, max, '-inf');
      if (positions.length === 0) return undefined;
      const times = await redis.hmget(`${p}snap:meta`, ...positions);
      for (let i = 0; i < positions.length; i++) {
        const time = times[i];
        if (time === null || time === undefined) continue;
        if (at.time !== undefined && time > at.time) continue;
        const key = `${p}snap:${positions[i]}`;
        if ((await redis.exists(key)) === 0) continue;
        return {
          position: BigInt(positions[i]!),
          recordedAt: time,
          // GETRANGE's end is inclusive, and -1 is the last byte.
          read: (start, end) => (end !== undefined && end <= start ? Promise.resolve(Buffer.alloc(0)) : redis.getrangeBuffer(key, start, end === undefined ? -1 : end - 1)),
        };
      }
      return undefined;
    }

    return {
      id,
      ...reader(async () => id),
      async commit(batch: CommitBatch) {
        const previous = batch.previous === undefined ? '' : batch.previous.toString();
        const checkpoint = batch.checkpoint.toString();
        // The row commands, each as its argument count and the command (a batch may hold more arguments
        // than a function call takes: they are never spread into one).
        const ops: Op[] = [];
        queueWrites(ops, p, batch.writes);
        const midway = () => options.faults?.midCommit?.({ disconnect: () => redis.disconnect() });
        for (const parked of batch.parked) ops.push(4, 'HSET', `${p}parked`, parked.position, JSON.stringify(parked));
        const staged = ops.length > STAGE_ABOVE ? `${p}staged:${randomUUID()}` : null;
        try {
          if (staged === null) {
            midway();
            await redis.call('EVAL', [COMMIT, 1, `${p}checkpoint`, previous, checkpoint, ...ops.map(argument)]);
          } else {
            const slices: string[] = [];
            for (let i = 0; i < ops.length; ) {
              if (slices.length === 1) midway();
              let end = i;
              while (end < ops.length && end - i < STAGE_SLICE) end += Number(ops[end]) + 1;
              await redis.rpush(staged, ...ops.slice(i, end).map(argument));
              if (slices.length === 0) await redis.pexpire(staged, STAGED_TTL_MS);
              slices.push(String(end - i));
              i = end;
            }
            await redis.call('EVAL', [COMMIT_STAGED, 2, `${p}checkpoint`, staged, previous, checkpoint, ...slices]);
          }
        } catch (error) {
          if (staged !== null) await redis.del(staged).catch(() => undefined);
          const lost = error instanceof Error && /^KEYSPACE_LOST/.test(error.message);
          throw lost ? new Error(`read-model keyspace ${id} changed behind its writer (Redis restarted empty?): ${error.message}`) : error;
        }
      },
      async *scanAll(): AsyncIterable<RowWrite> {
        for (const collection of collections) {
          let cursor = '0';
          do {
            const [next, flat] = await redis.hscan(`${p}row:${collection}`, cursor, 'COUNT', 2000);
            cursor = next;
            for (let i = 0; i + 1 < flat.length; i += 2) {
              const row = JSON.parse(flat[i + 1]!) as RowOf[Collection] & { ancestors: string[] };
              yield { collection, key: flat[i]!, row, ancestors: row.ancestors };
            }
          } while (cursor !== '0');
        }
      },
      async parked() {
        const all = await redis.hvals(`${p}parked`);
        return all.map((d) => JSON.parse(d) as ParkedEvent).sort((a, b) => (BigInt(a.position) < BigInt(b.position) ? -1 : 1));
      },
      async dismissParked(position: string) {
        return (await redis.hdel(`${p}parked`, position)) > 0;
      },
      async saveSnapshot(snapshot: Snapshot) {
        const pos = snapshot.position.toString();
        await redis
          .multi()
          .set(`${p}snap:${pos}`, snapshot.state)
          .hset(`${p}snap:meta`, pos, snapshot.recordedAt)
          .zadd(`${p}snap:index`, pos, pos)
          .exec();
      },
      async findSnapshot(at: { position?: bigint; time?: string }) {
        const found = await findSnapshotPieces(at);
        return found && { position: found.position, recordedAt: found.recordedAt, state: await found.read(0) };
      },
      findSnapshotPieces,
    };
  }

  return {
    kind: 'redis',
    // Ledger reads while Redis is down answer 503, not 500.
    active: translateFailures(reader(activeId), redisOutage),
    activeKeyspace: activeId,
    keyspace: writer,
    async createKeyspace() {
      await activeId();
      return writer(await redis.incr(`${prefix}:next`));
    },
    async activate(id: number) {
      await redis.set(`${prefix}:active`, String(id));
    },
    async dropKeyspace(id: number) {
      if (id === (await activeId())) throw new Error(`keyspace ${id} is active and cannot be dropped`);
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${ksPrefix(id)}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== '0');
    },
    async ping() {
      await redis.ping();
    },
    async close() {
      if (options.closeClient) await redis.quit();
    },
  };
}
