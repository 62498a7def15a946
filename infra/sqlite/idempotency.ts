import Database from 'better-sqlite3';
import {
  IDEMPOTENCY_CLAIM_LEASE_SECONDS,
  IDEMPOTENCY_TTL_SECONDS,
  type ClaimResult,
  type IdempotencyStore,
  type StoredResponse,
} from '../../services/ports/idempotency.js';

interface Row {
  fingerprint: string;
  response: string | null;
  created_at: number;
}

/** The embedded store: one SQLite file next to the event store, for a single API process. */
export function createSqliteIdempotencyStore(file: string, now: () => number = Date.now): IdempotencyStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  // Several API processes may share the file: wait for a writer instead of failing at once.
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS idempotency_keys (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    response TEXT,
    created_at INTEGER NOT NULL
  )`);
  const select = db.prepare<[string], Row>('SELECT fingerprint, response, created_at FROM idempotency_keys WHERE key = ?');
  const insert = db.prepare('INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, response, created_at) VALUES (?, ?, NULL, ?)');
  const finish = db.prepare('UPDATE idempotency_keys SET response = ? WHERE key = ? AND fingerprint = ?');
  const extend = db.prepare('UPDATE idempotency_keys SET created_at = ? WHERE key = ? AND fingerprint = ? AND response IS NULL');
  const remove = db.prepare('DELETE FROM idempotency_keys WHERE key = ? AND response IS NULL');
  const purge = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');

  // better-sqlite3 is synchronous, so a read-then-write inside one transaction cannot interleave in-process.
  const claim = db.transaction((key: string, fingerprint: string): ClaimResult => {
    const t = now();
    const row = select.get(key);
    const expired = row && row.created_at < t - IDEMPOTENCY_TTL_SECONDS * 1000;
    const abandoned = row && row.response === null && row.created_at < t - IDEMPOTENCY_CLAIM_LEASE_SECONDS * 1000;
    if (!row || expired || abandoned) {
      insert.run(key, fingerprint, t);
      return { kind: 'claimed' };
    }
    if (row.fingerprint !== fingerprint) return { kind: 'mismatch' };
    if (row.response === null) return { kind: 'in_progress' };
    return { kind: 'replay', response: JSON.parse(row.response) as StoredResponse };
  });

  const purgeTimer = setInterval(() => purge.run(now() - IDEMPOTENCY_TTL_SECONDS * 1000), 60 * 60 * 1000);
  purgeTimer.unref();
  purge.run(now() - IDEMPOTENCY_TTL_SECONDS * 1000);

  return {
    async claim(key, fingerprint) {
      // IMMEDIATE takes the write lock before reading, so two processes cannot both see the key free.
      return claim.immediate(key, fingerprint);
    },
    async renew(key, fingerprint) {
      extend.run(now(), key, fingerprint);
    },
    async complete(key, fingerprint, response) {
      finish.run(JSON.stringify(response), key, fingerprint);
    },
    async release(key) {
      remove.run(key);
    },
    async close() {
      clearInterval(purgeTimer);
      db.close();
    },
  };
}
