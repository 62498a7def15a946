import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workflows/worker.js';

/**
 * The workflow sandbox evaluates every module of the bundle again for each workflow it starts or
 * replays out of cache. Building zod schemas there was most of a workflow task's CPU when thousands of
 * clocks fell due at once (bench:escalation's profile): the bundle carries the clock's rules, no schemas.
 */
describe('workflow bundle', () => {
  it('carries no schema library and no event registry', async () => {
    const { code } = await bundleWorkflows();
    const modules = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"$/gm)].map((m) => m[1] ?? '');
    expect(modules).toContain('./workflows/clock.ts');
    expect(modules.filter((m) => m.includes('node_modules/zod/') || m.startsWith('./events/registry'))).toEqual([]);
  }, 60_000);
});
