import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

/** The folder BENCH_CPU_PROF names: where a benchmark writes the CPU profiles of what it measures. */
export const PROFILE_DIR = process.env['BENCH_CPU_PROF'];

/**
 * Starts this process's CPU profiler when BENCH_CPU_PROF is set (else does nothing); `stop` writes
 * `<name>.cpuprofile` into that folder (summarise it with `tsx bench/profile-top.ts`).
 */
export async function startProfile(): Promise<{ stop(name: string): Promise<void> }> {
  if (!PROFILE_DIR) return { stop: async () => undefined };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(name: string) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(PROFILE_DIR, { recursive: true });
      writeFileSync(join(PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
      session.disconnect();
    },
  };
}
