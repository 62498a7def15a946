// JavaScript, not TypeScript: worker threads load it before any loader (tsx) is registered in them.
/**
 * Samples the memory of every thread of a process, for the figures in docs/workflows.md: loaded with
 * `--import`, in each thread Node starts with it (the main thread and the worker threads, such as the Temporal
 * SDK's workflow thread), it appends one line every 2 s to `<THREAD_MEMORY_DIR>/<pid>.log`:
 * seconds since start, thread id, the process's RSS, and this thread's V8 heap (total and used) in MB.
 *
 *   THREAD_MEMORY_DIR=/tmp/mem NODE_OPTIONS="--import tsx --import ./bench/thread-memory.mjs" node bench/escalation-start.ts
 *   THREAD_MEMORY_DIR=/tmp/mem NODE_OPTIONS="--import tsx --import ./bench/thread-memory.mjs" node bench/soak.ts
 *
 * Run node itself, not npm or npx, which would load it too. Every Node process under NODE_OPTIONS samples
 * itself (with bench:soak: the bench, the service and the load generator); the service's file is the one with
 * a second thread id.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { threadId } from 'node:worker_threads';

const dir = process.env['THREAD_MEMORY_DIR'];
if (dir) {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${process.pid}.log`);
  const started = Date.now();
  const mb = (bytes) => Math.round(bytes / 1_048_576);
  setInterval(() => {
    const heap = getHeapStatistics();
    const line = [
      ((Date.now() - started) / 1000).toFixed(0),
      `thread=${threadId}`,
      `rss=${mb(process.memoryUsage.rss())}`,
      `heap_total=${mb(heap.total_heap_size)}`,
      `heap_used=${mb(heap.used_heap_size)}`,
    ].join(' ');
    appendFileSync(file, `${line}\n`);
  }, 2000).unref();
}
