/**
 * A PostgreSQL database of a benchmark's own on whatever server the provider gives (DATABASE_URL, Docker,
 * or Debian's postgresql started for the run), dropped afterwards with the server stopped.
 */
import pg from 'pg';

import { providePostgres } from '../infra/postgres/provider.js';
import { isUnavailable } from '../infra/tools/service.js';

export interface ScratchDatabase {
  readonly url: string;
  /** Where the server came from (the provider's source). */
  readonly source: string;
  /** The server's version, fsync and synchronous_commit, for the bench's JSON. */
  readonly settings: () => Promise<Record<string, string>>;
}

export async function withScratchPostgres<T>(
  prefix: string,
  run: (db: ScratchDatabase) => Promise<T>,
): Promise<T | { skipped: string }> {
  const server = await providePostgres({ url: process.env['DATABASE_URL'] });
  if (isUnavailable(server)) return { skipped: server.unavailable };
  const database = `${prefix}_${process.pid}`;
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  const target = new URL(server.url);
  target.pathname = `/${database}`;
  const settings = async () => {
    const rows = await admin.query<{ name: string; setting: string }>(
      "SELECT name, setting FROM pg_settings WHERE name IN ('server_version', 'fsync', 'synchronous_commit')",
    );
    return Object.fromEntries(rows.rows.map((s) => [s.name, s.setting]));
  };
  try {
    return await run({ url: target.toString(), source: server.source, settings });
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => {});
    await admin.end();
    await server.stop();
  }
}
