import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { StoreConfig } from '../stores.js';
import type { SealerState } from './service.js';

/** What the sealer's thread is started with (structured-cloned into it). */
export interface SealerThreadData {
  /** The store's configuration, as services/stores.ts opens it. */
  store: StoreConfig;
  auditDbFile: string;
  signingKeyPem: string;
  digestEvery: number;
  digestIntervalMs: number;
  logLevel: string;
  /** Named on every line the thread logs. */
  role: string;
  /** For benchmarks and tests: the sealer's pause when idle, the background verification's interval (0: none). */
  pollMs?: number;
  verifyIntervalMs?: number;
}

/** Messages between the two sides. */
export type ToSealer = { kind: 'appended' } | { kind: 'catchUp'; id: number } | { kind: 'stop' };
export type FromSealer =
  | { kind: 'state'; state: SealerState }
  | { kind: 'caughtUp'; id: number; error?: string };

export interface SealerThread {
  /** After each append: seal soon (one message per turn of the event loop, however many appends). */
  appended(): void;
  /** The thread's latest state (undefined until it has reported once); an exited thread reports its exit as the sealer's error. */
  state(): SealerState | undefined;
  /** Resolves once the sealer reached the store's head as it was when asked. */
  catchUp(): Promise<void>;
  stop(): Promise<void>;
}

const RESTART_MS = 1_000;
const NOTHING_YET: SealerState = {
  awaitingWitness: 0,
  sealerError: null,
  treeBroken: null,
  background: { running: false, checked: 0, startedAt: null, lastOk: null, lastFinishedAt: null },
  lastWholeLog: null,
};
const STOP_TIMEOUT_MS = 15_000;

/**
 * The audit sealer in a worker thread of its own, with its own connections to the store and the audit file:
 * sealing a chunk (reading it back, checking every witness, hashing every leaf, committing the tree) costs
 * about as much CPU as the appends it follows, and on the writers' thread it took that time from them. A
 * thread that exits unexpectedly is started again after a second; until then health() reports it.
 */
export function startSealerThread(data: SealerThreadData, logger: Logger): SealerThread {
  let worker: Worker;
  let latest: SealerState | undefined;
  let exited: string | null = null;
  let stopping = false;
  let wakePosted = false;
  let nextId = 0;
  const waiting = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();
  let gone: Promise<void> = Promise.resolve();
  let running = false;
  let restart: NodeJS.Timeout | undefined;

  function spawn(): void {
    worker = new Worker(new URL('../sealer-worker.mjs', import.meta.url), { workerData: data });
    running = true;
    gone = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (message: FromSealer) => {
      if (message.kind === 'state') {
        latest = message.state;
        exited = null;
      } else if (message.kind === 'caughtUp') {
        const pending = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.error === undefined) pending?.resolve();
        else pending?.reject(new Error(message.error));
      }
    });
    worker.on('error', (error) => logger.error({ err: error }, 'audit sealer thread failed'));
    worker.on('exit', (code) => {
      running = false;
      for (const pending of waiting.values()) pending.reject(new Error('the audit sealer thread exited'));
      waiting.clear();
      if (stopping) return;
      exited = `the sealer thread exited (code ${code}); starting it again`;
      logger.error({ code }, 'audit sealer thread exited; starting it again');
      restart = setTimeout(spawn, RESTART_MS);
    });
  }
  spawn();
  const post = (message: ToSealer) => worker.postMessage(message);

  return {
    appended() {
      if (wakePosted) return;
      wakePosted = true;
      setImmediate(() => {
        wakePosted = false;
        post({ kind: 'appended' });
      });
    },
    state: () => (exited ? { ...(latest ?? NOTHING_YET), sealerError: exited } : latest),
    catchUp() {
      const id = nextId++;
      if (!running) return Promise.reject(new Error('the audit sealer thread is not running'));
      return new Promise<void>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        post({ kind: 'catchUp', id });
      });
    },
    /** Lets the sealer finish its chunk and close its connections (terminated if it takes longer than 15 s). */
    async stop() {
      stopping = true;
      clearTimeout(restart);
      if (!running) return;
      post({ kind: 'stop' });
      const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
      await gone;
      clearTimeout(timer);
    },
  };
}
