import { describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../workflows/worker.js';

/**
 * The workflow sandbox evaluates the workflow files' modules again for each workflow it starts or replays
 * out of cache, and each cached workflow keeps its own copy of them. Building zod schemas there was most of
 * a workflow task's CPU when thousands of clocks fell due at once (bench:escalation's profile): the bundle
 * carries the clock's rules, no schemas. The rules themselves (and the time-zone formatters they memoise)
 * are loaded once per worker and shared by its workflows.
 */
describe('workflow bundle', async () => {
  const { code } = await bundleWorkflows();
  const modules = [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"$/gm)].map((m) => m[1] ?? '');

  it('carries no schema library and no event registry', () => {
    expect(modules).toContain('./workflows/clock.ts');
    expect(modules.filter((m) => m.includes('node_modules/zod/') || m.startsWith('./events/registry'))).toEqual([]);
  });

  it('loads what the workflow files import once per worker, not once per workflow', () => {
    const preload = /preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
    const shared = [...preload.matchAll(/"(\.\/[^"]+)"\);/g)].map((m) => m[1]);
    expect(shared.sort()).toEqual(
      ['./workflows/clock.ts', './workflows/periods.ts', './workflows/rectification.contract.ts', './workflows/search-attributes.ts'],
    );
  });
}, 60_000);
