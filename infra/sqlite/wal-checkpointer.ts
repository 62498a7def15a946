import { Worker } from 'node:worker_threads';

/**
 * Copies a SQLite file's WAL into the file from a thread of its own, so the connection that appends never
 * stops for it. A checkpoint copies every page written since the last one and fsyncs the file; run by the
 * appending connection (SQLite's autocheckpoint), it blocked the event loop for 10–30 ms every few thousand
 * events, and every request waited behind it (docs/event-store.md). Here the appending connection tells the
 * thread how much it has written; past `everyBytes`, the thread runs a PASSIVE checkpoint on its own
 * connection, which waits for no reader or writer. At most one is asked for at a time.
 *
 * The appending connection keeps its autocheckpoint as a backstop: if this thread cannot open the file or
 * stops, or falls behind, the WAL is still checkpointed as before, on the appending thread.
 */
export interface WalCheckpointer {
  /** About this many bytes were committed. */
  written(bytes: number): void;
  /** Stops the thread; the file's last connection to close copies what is left. */
  close(): Promise<void>;
}

export interface WalCheckpointerOptions {
  synchronous: 'FULL' | 'NORMAL';
  /** Bytes committed between two checkpoints. */
  everyBytes?: number;
  /** Called once if the thread cannot open the file or stops before `close()`; checkpoints then run on the backstop. */
  onFailure?: (error: Error) => void;
}

export function startWalCheckpointer(path: string, options: WalCheckpointerOptions): WalCheckpointer {
  // A database in memory has no WAL, and another connection would open another database.
  if (path === ':memory:' || path === '') return { written() {}, close: async () => {} };
  const { synchronous, everyBytes = 1 << 20, onFailure } = options;
  let worker: Worker | undefined;
  /** No thread any more: it failed, or close() was called. */
  let stopped = false;
  let asked = false;
  let sinceAsked = 0;

  // An optimisation only: without the thread, the backstop checkpoints on the appending connection.
  const fail = (error: Error) => {
    if (stopped) return;
    stopped = true;
    onFailure?.(error);
  };
  const start = (): Worker => {
    const started = new Worker(new URL('./wal-checkpointer.worker.mjs', import.meta.url), { workerData: { path, synchronous } });
    started.unref();
    started.on('message', () => {
      asked = false;
    });
    started.once('error', fail);
    started.once('exit', (code) => {
      if (worker === started) worker = undefined;
      fail(new Error(`the WAL checkpoint thread of ${path} exited (code ${code})`));
    });
    return started;
  };

  return {
    written(bytes) {
      sinceAsked += bytes;
      if (sinceAsked < everyBytes || asked || stopped) return;
      worker ??= start();
      sinceAsked = 0;
      asked = true;
      worker.postMessage('checkpoint');
    },
    async close() {
      const running = worker;
      worker = undefined;
      stopped = true;
      if (!running) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.postMessage('close');
      // A checkpoint in progress finishes first; one stuck on the disk is not waited for forever.
      const timer = setTimeout(() => void running.terminate(), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
