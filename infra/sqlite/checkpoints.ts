import Database from 'better-sqlite3';
import type { CheckpointStore } from '../../services/ports/checkpoints.js';

/**
 * Checkpoints in a SQLite file (the embedded deployment). It may be the event store's own file: the
 * table name is ours alone. Positions are stored as decimal text because they are 64-bit.
 */
export function createSqliteCheckpointStore(options: { path: string }): CheckpointStore {
  const db = new Database(options.path);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS subscriber_checkpoints (
    subscriber_id TEXT PRIMARY KEY,
    position TEXT NOT NULL,
    updated_at TEXT NOT NULL
  )`);
  const select = db.prepare<[string], { position: string }>(
    'SELECT position FROM subscriber_checkpoints WHERE subscriber_id = ?',
  );
  const upsert = db.prepare<[string, string, string]>(
    `INSERT INTO subscriber_checkpoints (subscriber_id, position, updated_at) VALUES (?, ?, ?)
     ON CONFLICT(subscriber_id) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`,
  );
  return {
    async load(subscriberId) {
      const row = select.get(subscriberId);
      return row ? BigInt(row.position) : undefined;
    },
    async save(subscriberId, position) {
      upsert.run(subscriberId, position.toString(), new Date().toISOString());
    },
    async close() {
      db.close();
    },
  };
}
