import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Actor } from '../../events/envelope.js';
import type { ImportKind } from '../spreadsheets/fields.js';
import type { ImportOptions, ImportProgress, ImportReport } from './index.js';
import type { Charset, ReadSheet } from './read.js';

/** What a job was asked: enough to run it again after a restart. */
export interface JobRequest {
  userId: string;
  kind: ImportKind;
  actor: Actor;
  dryRun: boolean;
  charset?: Charset;
  correlationId: string;
}

export interface Job extends JobRequest, Partial<ImportProgress> {
  id: string;
  status: 'running' | 'done' | 'failed';
  createdAt: string;
  /** Times it was taken up again after a restart. */
  resumed: number;
  /** Rows in the file, known once they are all checked (a client that missed the checking phase can still show it). */
  rows?: number;
  report?: ImportReport;
  error?: string;
}

export interface JobRunner {
  read(file: Buffer, kind: ImportKind, charset?: Charset): Promise<ReadSheet>;
  run(read: ReadSheet, options: ImportOptions): Promise<ImportReport>;
}

/**
 * The id of a job's progress as a server-sent event: it only grows while the job runs, across a restart
 * too (a job taken up again checks its rows again, under a higher `resumed`), so a client that sends its
 * Last-Event-ID back is told only what is newer. The final event (done or failed) has the highest.
 */
export function progressEventId(job: Job): number {
  const rank = job.status !== 'running' ? 3 : job.phase === 'appending' ? 2 : job.phase === 'checking' ? 1 : 0;
  return (job.resumed * 4 + rank) * 1_000_000_000 + (rank === 3 ? 0 : (job.done ?? 0));
}

/** Jobs kept (with their files, for the annotated workbook); the oldest finished ones go first. */
const KEEP = 20;

/**
 * Import jobs. With a folder (DATA_DIR/imports), each job is `<id>.json` (its request and progress) beside
 * `<id>.upload` (the file as sent): a job still running when the process stopped is run again on start,
 * and because every event of an import is named by its row (eventIdSeed), the second run appends only
 * what the first did not. Without a folder they live in memory.
 */
export function createImportJobs(runner: JobRunner, dir?: string) {
  const jobs = new Map<string, Job>();
  const files = new Map<string, Buffer>();
  /** Who follows each job's progress (its server-sent events). */
  const watchers = new Map<string, Set<(job: Job) => void>>();
  const tell = (job: Job) => {
    for (const watcher of watchers.get(job.id) ?? []) watcher(job);
  };
  /** Once closing, a job cut short stays `running` on disk, to be taken up again on the next start. */
  let closing = false;
  if (dir) mkdirSync(dir, { recursive: true, mode: 0o700 });

  const jsonPath = (id: string) => path.join(dir!, `${id}.json`);
  const uploadPath = (id: string) => path.join(dir!, `${id}.upload`);
  function save(job: Job) {
    if (!dir) return;
    writeFileSync(`${jsonPath(job.id)}.tmp`, JSON.stringify(job), { mode: 0o600 });
    renameSync(`${jsonPath(job.id)}.tmp`, jsonPath(job.id));
  }
  function prune() {
    const finished = [...jobs.values()].filter((j) => j.status !== 'running').sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    for (const job of finished.slice(0, Math.max(0, jobs.size - KEEP))) {
      jobs.delete(job.id);
      files.delete(job.id);
      if (dir) for (const p of [jsonPath(job.id), uploadPath(job.id)]) rmSync(p, { force: true });
    }
  }

  function execute(job: Job, read: ReadSheet): Promise<Job> {
    let lastSaved = 0;
    const done = runner
      .run(read, {
        kind: job.kind,
        actor: job.actor,
        dryRun: job.dryRun,
        correlationId: job.correlationId,
        onProgress(progress) {
          Object.assign(job, progress);
          if (progress.phase === 'checking' && progress.done === progress.total) job.rows = progress.total;
          tell(job);
          if (Date.now() - lastSaved > 500) {
            lastSaved = Date.now();
            save(job);
          }
        },
      })
      .then(
        (report) => Object.assign(job, { status: 'done', report }),
        (err: unknown) => {
          if (!closing) Object.assign(job, { status: 'failed', error: err instanceof Error ? err.message : String(err) });
          throw err;
        },
      )
      .finally(() => {
        if (closing) return;
        save(job);
        tell(job);
        prune();
      });
    return done;
  }

  return {
    /** Starts a job on a read upload; `done` settles with the job when it finishes. */
    start(file: Buffer, read: ReadSheet, request: JobRequest): { job: Job; done: Promise<Job> } {
      const job: Job = { ...request, id: randomUUID(), status: 'running', createdAt: new Date().toISOString(), resumed: 0 };
      jobs.set(job.id, job);
      files.set(job.id, file);
      if (dir) writeFileSync(uploadPath(job.id), file, { mode: 0o600 });
      save(job);
      return { job, done: execute(job, read) };
    },
    get: (id: string): Job | undefined => jobs.get(id),
    /** Calls `watcher` with the job at every step of its progress and when it ends; returns the unwatch. */
    watch(id: string, watcher: (job: Job) => void): () => void {
      const set = watchers.get(id) ?? new Set();
      watchers.set(id, set.add(watcher));
      return () => {
        set.delete(watcher);
        if (set.size === 0) watchers.delete(id);
      };
    },
    /** The file a job was started with. */
    file(id: string): Buffer | undefined {
      if (files.has(id)) return files.get(id);
      if (!dir || !jobs.has(id)) return undefined;
      return readFileSync(uploadPath(id));
    },
    forget(id: string) {
      jobs.delete(id);
      files.delete(id);
      if (dir) for (const p of [jsonPath(id), uploadPath(id)]) rmSync(p, { force: true });
    },
    /** Loads the jobs kept in the folder and runs again those a stop interrupted. */
    async resume(log?: { warn(obj: object, msg: string): void }) {
      if (!dir) return;
      for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
        const job = JSON.parse(readFileSync(path.join(dir, name), 'utf8')) as Job;
        jobs.set(job.id, job);
        if (job.status !== 'running') continue;
        job.resumed++;
        try {
          const read = await runner.read(readFileSync(uploadPath(job.id)), job.kind, job.charset);
          await execute(job, read);
        } catch (err) {
          if (closing) return;
          if (job.status === 'running') save(Object.assign(job, { status: 'failed', error: err instanceof Error ? err.message : String(err) }));
          log?.warn({ err, importId: job.id }, 'an import taken up again after a restart failed');
        }
      }
      prune();
    },
    /** Stops recording: jobs in flight stay `running` in the folder and are taken up on the next start. */
    close() {
      closing = true;
    },
  };
}
export type ImportJobs = ReturnType<typeof createImportJobs>;
