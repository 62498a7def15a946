import pg from 'pg';
import type { RecordedEvent } from '../../events/envelope.js';
import {
  type AppendResult,
  type EventFilter,
  type EventStore,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
  StreamNotFoundError,
} from '../../services/ports/event-store.js';
import { DependencyUnavailableError } from '../../services/ports/unavailable.js';
import { checkExpected, validateNewEvents } from '../event-store/append-rules.js';
import { linkEvent } from '../event-store/audit-chain.js';
import { resolveRepeatedAppend, type StoredEventRef } from '../event-store/idempotency.js';
import {
  EVENT_COLUMNS,
  eventFromRow,
  type PendingAppend,
  pollingSubscription,
  readInBatches,
  streamInBatches,
  verifyEvents,
} from '../event-store/reading.js';

export interface PostgresEventStoreOptions {
  /** postgres://user@host:port/database */
  connectionString: string;
  /** Schema holding the tables (created when missing); default: the connection's search_path. */
  schema?: string;
  /** Connections in the pool (reads, and one for the appends in flight). */
  poolSize?: number;
  /** Events fetched per query by readAll, subscriptions and verification. */
  readBatchSize?: number;
  /** Most appends committed together in one transaction. */
  maxGroupSize?: number;
  /**
   * A waiting subscription is woken by NOTIFY from any process; it also looks again at this interval,
   * so a notification lost while the listening connection was down delays it by no more than this.
   */
  pollMs?: number;
  /** Source of `recordedAt`. */
  now?: () => Date;
}

/** The channel appends NOTIFY on commit; the payload is the new head position. */
export const EVENTS_CHANNEL = 'duban_events';

/**
 * `events_head` is one row holding the position of the newest event. Every append transaction locks it
 * first (SELECT … FOR UPDATE) and writes it last, so appends from every process commit one after
 * another and positions are handed out in commit order: when a transaction takes the lock, the one
 * before it is already committed and visible. A reader that sees position p therefore sees every
 * position below p, and reading "after the last position seen" can never skip a late commit (the
 * sequence-gap problem of identity columns, whose values are drawn before commit).
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS events (
  position  bigint  PRIMARY KEY,
  stream_id text    NOT NULL,
  revision  integer NOT NULL,
  event_id  text    NOT NULL,
  type      text    NOT NULL,
  data      text    NOT NULL,
  metadata  text    NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS events_stream_revision ON events (stream_id, revision);
CREATE UNIQUE INDEX IF NOT EXISTS events_event_id ON events (event_id);
CREATE TABLE IF NOT EXISTS events_head (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  position bigint  NOT NULL
);
INSERT INTO events_head (only_row, position) VALUES (true, 0) ON CONFLICT DO NOTHING;
`;

/**
 * The append in one round trip, for the common case: the adapter guesses each stream's head (from its
 * own last append or read, or "no stream" for an append that expects none), computes the chain links on
 * that guess, and this function, called as one statement in its own transaction, takes the events_head
 * lock, checks under it that every guessed head is the stored head and that none of the event ids is
 * stored yet, and only then writes the events at the positions after the head, moves the head and
 * NOTIFYs. Positions stay in commit order with no gaps for the reason given above (the lock is held to
 * the commit). Any other answer (a guess that missed, an id already stored) writes nothing and returns
 * NULL; the adapter then takes the general path (lock, read heads and ids, decide, write, commit), which
 * decides expected revisions and repeated appends exactly as before. Plain PL/pgSQL, PostgreSQL 13+.
 *
 * Its statements are planned on every call (plan_cache_mode = force_custom_plan): PL/pgSQL otherwise keeps a
 * generic plan chosen while the table was small, and the event-id check on it made every append more than
 * twice as slow as Emmett's on a growing table (bench:peers, docs/event-store.md); planning costs less.
 */
export const APPEND_FUNCTION_SQL = `
CREATE OR REPLACE FUNCTION duban_append(
  p_guess_streams text[], p_guess_revisions integer[], p_guess_hashes text[],
  p_stream_ids text[], p_revisions integer[], p_event_ids text[], p_types text[], p_data text[], p_metadata text[]
) RETURNS bigint LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $fn$
DECLARE
  v_head bigint;
BEGIN
  SELECT position INTO v_head FROM events_head FOR UPDATE;
  -- Each statement below takes its snapshot after the lock: it sees the commit of the append before.
  IF EXISTS (
       SELECT 1
         FROM unnest(p_guess_streams, p_guess_revisions, p_guess_hashes) AS g(stream_id, revision, hash)
         LEFT JOIN LATERAL (
           SELECT e.revision, e.metadata FROM events e WHERE e.stream_id = g.stream_id ORDER BY e.revision DESC LIMIT 1
         ) h ON true
        WHERE coalesce(h.revision, -1) <> g.revision
           OR (h.revision IS NOT NULL AND (h.metadata::json->>'hash') IS DISTINCT FROM g.hash))
     OR EXISTS (SELECT 1 FROM events WHERE event_id = ANY (p_event_ids)) THEN
    RETURN NULL;
  END IF;
  INSERT INTO events (position, stream_id, revision, event_id, type, data, metadata)
  SELECT v_head + t.n, t.stream_id, t.revision, t.event_id, t.type, t.data, t.metadata
    FROM unnest(p_stream_ids, p_revisions, p_event_ids, p_types, p_data, p_metadata)
         WITH ORDINALITY AS t(stream_id, revision, event_id, type, data, metadata, n);
  UPDATE events_head SET position = v_head + cardinality(p_event_ids);
  PERFORM pg_notify('${EVENTS_CHANNEL}', (v_head + cardinality(p_event_ids))::text);
  RETURN v_head;
END
$fn$;
`;

type Row = [position: string, streamId: string, revision: number, type: string, data: string, metadata: string];

const OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03']);

/**
 * The server is gone or going (refused, reset, shut down, cannot connect now: SQLSTATE class 08 and
 * 57P0x) as the port's DependencyUnavailableError; any other error as it is.
 */
export function postgresOutage(error: unknown): unknown {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const outage =
    (typeof code === 'string' && (OUTAGE_CODES.has(code) || code.startsWith('08'))) ||
    (typeof message === 'string' && /Connection terminated|connection error|timeout exceeded when trying to connect/i.test(message));
  return outage ? new DependencyUnavailableError('postgres', error) : error;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
// Any constant: it only keeps two processes from creating the tables at the same moment.
const SCHEMA_LOCK = 4_711_011;

/** `prefix%` for LIKE, with LIKE's own characters escaped (backslash is the default escape). */
const likePrefix = (prefix: string) => `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The event store on PostgreSQL (13 or newer, plain SQL). Concurrent appends through one store are
 * grouped into one transaction (group commit), one group in flight at a time: the next group forms
 * while the current one commits. Subscriptions are woken by LISTEN/NOTIFY from any process.
 */
export async function openPostgresEventStore(options: PostgresEventStoreOptions): Promise<EventStore> {
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`invalid schema name ${JSON.stringify(schema)}`);
  const connection = {
    connectionString: options.connectionString,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  };
  const pool = new pg.Pool({ ...connection, max: options.poolSize ?? 10 });
  // An idle connection that breaks (server restarted) is dropped by the pool; the next query reports it.
  pool.on('error', () => {});
  const batchSize = options.readBatchSize ?? 1000;
  const maxGroupSize = options.maxGroupSize ?? 512;
  const pollMs = options.pollMs ?? 1000;
  const now = options.now ?? (() => new Date());

  try {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await client.query(SCHEMA_SQL);
      await client.query(APPEND_FUNCTION_SQL);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end();
    throw error;
  }

  const query = async <R extends unknown[]>(config: pg.QueryConfig): Promise<R[]> => {
    try {
      return (await pool.query<R>({ ...config, rowMode: 'array' })).rows;
    } catch (error) {
      throw postgresOutage(error);
    }
  };
  const rows = (text: string, values: unknown[], name?: string): Promise<Row[]> => query<Row>({ text, values, ...(name ? { name } : {}) });

  async function readBatch(after: bigint, filter: EventFilter | undefined, to: bigint | undefined): Promise<RecordedEvent[]> {
    const conditions = ['position > $1'];
    const values: unknown[] = [after.toString()];
    if (to !== undefined) {
      values.push(to.toString());
      conditions.push(`position <= $${values.length}`);
    }
    if (filter?.streamPrefixes?.length) {
      values.push(filter.streamPrefixes.map(likePrefix));
      conditions.push(`stream_id LIKE ANY ($${values.length}::text[])`);
    }
    if (filter?.types?.length) {
      values.push(filter.types);
      conditions.push(`type = ANY ($${values.length}::text[])`);
    }
    values.push(batchSize);
    const text = `SELECT ${EVENT_COLUMNS} FROM events WHERE ${conditions.join(' AND ')} ORDER BY position LIMIT $${values.length}`;
    // The statement's text is its shape, so each shape is prepared once per connection.
    const name = `read_${to === undefined ? 0 : 1}_${filter?.streamPrefixes?.length ? 1 : 0}_${filter?.types?.length ? 1 : 0}`;
    return (await rows(text, values, name)).map(eventFromRow);
  }

  async function committedHead(): Promise<bigint> {
    const result = await query<[string]>({ text: 'SELECT position FROM events_head', name: 'head' });
    return BigInt(result[0]?.[0] ?? 0);
  }

  // ---- appends: group commit ----------------------------------------------------------------------

  let queue: PendingAppend[] = [];
  let inFlight: Promise<void> | undefined;
  let closed = false;

  function schedule(): void {
    if (inFlight || queue.length === 0) return;
    const group = queue.slice(0, maxGroupSize);
    queue = queue.slice(group.length);
    inFlight = commitGroup(group).finally(() => {
      inFlight = undefined;
      schedule();
    });
  }

  /**
   * Each stream's head as this store last wrote or read it: the guess of the one-round-trip append
   * (APPEND_FUNCTION_SQL), checked under the lock, so a stale guess costs a second try and nothing else.
   */
  const knownHeads = new Map<string, { revision: number; hash: string }>();
  function rememberHead(streamId: string, revision: number, hash: string): void {
    if (knownHeads.size >= 100_000 && !knownHeads.has(streamId)) knownHeads.clear();
    knownHeads.set(streamId, { revision, hash });
  }

  type Outcome = { ok: true; result: AppendResult } | { ok: false; error: unknown };

  /**
   * The group as one call of duban_append when every stream's head can be guessed and every request
   * holds on the guesses; true when that call wrote the group and its promises are settled.
   */
  async function appendInOneRoundTrip(group: PendingAppend[]): Promise<boolean> {
    const guesses = new Map<string, { revision: number; hash: string | null }>();
    for (const request of group) {
      if (guesses.has(request.streamId)) continue;
      const known = knownHeads.get(request.streamId);
      if (known) guesses.set(request.streamId, known);
      else if (request.expectedRevision.kind === 'noStream') guesses.set(request.streamId, { revision: -1, hash: null });
      else return false;
    }
    const recordedAt = now().toISOString();
    const heads = new Map(guesses);
    const columns: [string[], number[], string[], string[], string[], string[]] = [[], [], [], [], [], []];
    const offsets: Array<{ nextRevision: number; offset: number; hashes: string[] }> = [];
    const written: Array<[string, number, string]> = [];
    try {
      for (const request of group) {
        const { streamId, events } = request;
        const current = heads.get(streamId)!;
        // A conflict on the guess may be a repeat or a stale guess: only the general path can tell.
        checkExpected(streamId, request.expectedRevision, current.revision);
        let revision = current.revision;
        let prevHash = current.hash;
        const hashes: string[] = [];
        for (const event of events) {
          revision++;
          const linked = linkEvent(streamId, revision, event, recordedAt, prevHash);
          hashes.push(linked.hash);
          columns[0].push(streamId);
          columns[1].push(revision);
          columns[2].push(event.metadata.eventId);
          columns[3].push(event.type);
          columns[4].push(linked.dataText);
          columns[5].push(linked.metadataText);
          prevHash = linked.hash;
        }
        heads.set(streamId, { revision, hash: prevHash });
        offsets.push({ nextRevision: revision, offset: columns[0].length, hashes });
        written.push([streamId, revision, prevHash!]);
      }
    } catch {
      return false;
    }
    const guessed = [...guesses.entries()];
    let head: string | null;
    try {
      const result = await query<[string | null]>({
        text: 'SELECT duban_append($1::text[], $2::integer[], $3::text[], $4::text[], $5::integer[], $6::text[], $7::text[], $8::text[], $9::text[])',
        values: [guessed.map(([id]) => id), guessed.map(([, g]) => g.revision), guessed.map(([, g]) => g.hash), ...columns],
        name: 'append_one_round_trip',
      });
      head = result[0]?.[0] ?? null;
    } catch (error) {
      const outage = postgresOutage(error);
      if (outage === error) return false; // refused as a whole, nothing written: the general path decides
      // The connection broke: the commit may or may not have landed (a retry with the same ids says which).
      for (const request of group) request.reject(outage);
      return true;
    }
    if (head === null) {
      for (const [streamId] of guessed) knownHeads.delete(streamId);
      return false;
    }
    const base = BigInt(head);
    for (const [streamId, revision, hash] of written) rememberHead(streamId, revision, hash);
    group.forEach((request, i) => {
      const { nextRevision, offset, hashes } = offsets[i]!;
      request.resolve({ nextRevision, position: base + BigInt(offset), hashes });
    });
    return true;
  }

  async function commitGroup(group: PendingAppend[]): Promise<void> {
    if (await appendInOneRoundTrip(group)) return;
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      for (const request of group) request.reject(postgresOutage(error));
      return;
    }
    let outcomes: Outcome[];
    let committedHeads = new Map<string, { revision: number; hash: string }>();
    let broken = false;
    try {
      // One round trip: BEGIN and the lock (simple protocol, no parameters).
      const [, locked] = (await client.query('BEGIN; SELECT position FROM events_head FOR UPDATE')) as unknown as [
        pg.QueryResult,
        pg.QueryResult<{ position: string }>,
      ];
      let position = BigInt(locked.rows[0]!.position);
      const recordedAt = now().toISOString();
      // After the lock, in a statement of its own so that it sees the commit of the transaction before.
      const found = await client.query<[Array<[string, number, string]> | null, Array<[string, string, string, number, string, string, string]> | null]>({
        text: `SELECT
                 (SELECT json_agg(json_build_array(s.id, h.revision, h.metadata::json->>'hash'))
                    FROM unnest($1::text[]) AS s(id)
                    CROSS JOIN LATERAL (SELECT revision, metadata FROM events WHERE stream_id = s.id ORDER BY revision DESC LIMIT 1) h),
                 (SELECT json_agg(json_build_array(event_id, position::text, stream_id, revision, type, data, metadata::json->>'hash'))
                    FROM events WHERE event_id = ANY ($2::text[]))`,
        values: [[...new Set(group.map((r) => r.streamId))], group.flatMap((r) => r.events.map((e) => e.metadata.eventId))],
        rowMode: 'array',
        name: 'heads_and_stored_ids',
      });
      const [headRows, storedRows] = found.rows[0]!;
      const heads = new Map<string, { revision: number; hash: string }>();
      for (const [streamId, revision, hash] of headRows ?? []) heads.set(streamId, { revision, hash });
      const stored = new Map<string, StoredEventRef>();
      for (const [eventId, pos, streamId, revision, type, dataText, hash] of storedRows ?? []) {
        stored.set(eventId, { position: BigInt(pos), streamId, revision, type, dataText, hash });
      }

      // Under the lock nothing else can write, so every decision is made here and written in one INSERT.
      const columns: [string[], string[], number[], string[], string[], string[], string[]] = [[], [], [], [], [], [], []];
      outcomes = group.map((request) => {
        try {
          return { ok: true as const, result: decide(request) };
        } catch (error) {
          return { ok: false as const, error };
        }
      });
      function decide(request: PendingAppend): AppendResult {
        const { streamId, events } = request;
        const ours = new Map<string, StoredEventRef>();
        for (const event of events) {
          const ref = stored.get(event.metadata.eventId);
          if (ref) ours.set(event.metadata.eventId, ref);
        }
        const repeat = resolveRepeatedAppend(streamId, events, ours);
        if (repeat) return repeat;
        const current = heads.get(streamId);
        checkExpected(streamId, request.expectedRevision, current?.revision ?? -1);
        let revision = current?.revision ?? -1;
        let prevHash = current?.hash ?? null;
        const hashes: string[] = [];
        for (const event of events) {
          revision++;
          position++;
          const linked = linkEvent(streamId, revision, event, recordedAt, prevHash);
          hashes.push(linked.hash);
          columns[0].push(position.toString());
          columns[1].push(streamId);
          columns[2].push(revision);
          columns[3].push(event.metadata.eventId);
          columns[4].push(event.type);
          columns[5].push(linked.dataText);
          columns[6].push(linked.metadataText);
          stored.set(event.metadata.eventId, { position, streamId, revision, type: event.type, dataText: linked.dataText, hash: linked.hash });
          prevHash = linked.hash;
        }
        heads.set(streamId, { revision, hash: prevHash! });
        return { nextRevision: revision, position, hashes };
      }

      if (columns[0].length > 0) {
        await client.query({
          text: `WITH written AS (
                   INSERT INTO events (position, stream_id, revision, event_id, type, data, metadata)
                   SELECT * FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::text[], $6::text[], $7::text[])
                 ), head AS (UPDATE events_head SET position = $8 RETURNING position)
                 SELECT pg_notify('${EVENTS_CHANNEL}', position::text) FROM head`,
          values: [...columns, position.toString()],
          name: 'write_group',
        });
      }
      await client.query('COMMIT');
      committedHeads = heads;
    } catch (error) {
      // Nothing of the group is known to be durable (a COMMIT that lost its connection may still have
      // landed: a retry with the same event ids then gets the original result).
      broken = true;
      await client.query('ROLLBACK').catch(() => {});
      for (const request of group) request.reject(postgresOutage(error));
      return;
    } finally {
      client.release(broken);
    }
    group.forEach((request, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) request.resolve(outcome.result);
      else request.reject(outcome.error);
    });
    for (const [streamId, head] of committedHeads) rememberHead(streamId, head.revision, head.hash);
  }

  // ---- waking subscriptions -----------------------------------------------------------------------

  const waiters = new Set<() => void>();
  let listener: Promise<pg.Client> | undefined;

  function wakeAll(): void {
    for (const wake of waiters) wake();
    waiters.clear();
  }

  function listen(): void {
    if (listener || closed) return;
    const client = new pg.Client(connection);
    const forget = () => {
      listener = undefined;
      void client.end().catch(() => {});
    };
    client.on('notification', wakeAll);
    client.on('error', forget);
    client.on('end', () => {
      if (listener) listener = undefined;
    });
    listener = client.connect().then(async () => {
      await client.query(`LISTEN ${EVENTS_CHANNEL}`);
      return client;
    });
    listener.catch(forget);
  }

  /** Resolves on a NOTIFY of any process, after `pollMs`, or on close. */
  function waitForAppend(): Promise<void> {
    listen();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, pollMs);
      waiters.add(done);
    });
  }

  function assertOpen(): void {
    if (closed) throw new Error('event store is closed');
  }

  async function streamRows(streamId: string, from: number, limit: number | null, backwards: boolean): Promise<Row[]> {
    return backwards
      ? rows(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND revision <= $2 ORDER BY revision DESC LIMIT $3`,
          [streamId, from, limit],
          'stream_backwards',
        )
      : rows(
          `SELECT ${EVENT_COLUMNS} FROM events WHERE stream_id = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
          [streamId, from, limit],
          'stream_forwards',
        );
  }

  async function streamExists(streamId: string): Promise<boolean> {
    return (await rows('SELECT 1 FROM events WHERE stream_id = $1 LIMIT 1', [streamId], 'stream_exists')).length > 0;
  }

  return {
    append(streamId, events, expectedRevision) {
      try {
        assertOpen();
        validateNewEvents(streamId, events);
      } catch (error) {
        return Promise.reject(error);
      }
      return new Promise<AppendResult>((resolve, reject) => {
        queue.push({ streamId, events, expectedRevision, resolve, reject });
        // Appends arriving in the same turn of the event loop, or while a group commits, go together.
        if (!inFlight) setImmediate(schedule);
      });
    },

    async readStream(streamId, options?: ReadStreamOptions) {
      assertOpen();
      const backwards = options?.direction === 'backwards';
      const found = await streamRows(streamId, options?.from ?? (backwards ? 2 ** 31 - 1 : 0), options?.limit ?? null, backwards);
      if (found.length === 0 && !(await streamExists(streamId))) throw new StreamNotFoundError(streamId);
      const events = found.map(eventFromRow);
      // A whole-stream read ends (or, backwards, starts) at the head: the guess for the append that usually follows.
      const head = backwards ? (options?.from === undefined ? events[0] : undefined) : options?.limit === undefined && !options?.from ? events.at(-1) : undefined;
      if (head && typeof head.metadata.hash === 'string') rememberHead(streamId, head.revision, head.metadata.hash);
      return events;
    },

    readAll(options) {
      return readInBatches(readBatch, batchSize, {
        from: options?.fromPosition,
        filter: options?.filter,
        to: options?.toPosition,
        assertOpen,
      });
    },

    subscribeToAll(subscribe?: SubscribeOptions): Subscription {
      return pollingSubscription({
        subscribe,
        readBatch,
        batchSize,
        head: committedHead,
        waitForAppend,
        storeClosed: () => closed,
      });
    },

    async headPosition() {
      assertOpen();
      const head = await committedHead();
      return head === 0n ? -1n : head;
    },

    async verifyStream(streamId) {
      assertOpen();
      return verifyEvents(
        streamInBatches((from) => streamRows(streamId, from, batchSize, false), batchSize, () => new StreamNotFoundError(streamId)),
      );
    },

    async verifyAll() {
      return verifyEvents(readInBatches(readBatch, batchSize, { assertOpen }));
    },

    async ping() {
      assertOpen();
      await query({ text: 'SELECT 1' });
    },

    async close() {
      if (closed) return;
      // Appends already accepted are committed before the pool is closed.
      while (inFlight || queue.length > 0) {
        schedule();
        await inFlight;
      }
      closed = true;
      wakeAll();
      const listening = listener;
      listener = undefined;
      await listening?.then((client) => client.end()).catch(() => {});
      await pool.end();
    },
  };
}
