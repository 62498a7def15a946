// @ts-check
import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
/** Vendor clients: only infra/ and the composition roots talk to them. */
const vendorClients = ['@temporalio/client', '@temporalio/worker', 'ioredis', 'better-sqlite3', 'pg', '@eventstore/db-client'];

/**
 * Every file a workflow bundle pulls in: the modules its entry imports, transitively (type-only imports
 * are erased and pull nothing in). Computed here so a new import cannot slip past the ban.
 */
function workflowBundleFiles(entries) {
  const seen = new Set();
  const pending = [...entries];
  while (pending.length > 0) {
    const file = /** @type {string} */ (pending.pop());
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    for (const match of source.matchAll(/^\s*(?:import|export)\s+(?!type\b)[^;]*?from\s+'(\.[^']+)'/gms)) {
      const target = path.posix.join(path.posix.dirname(file), /** @type {string} */ (match[1])).replace(/\.js$/, '.ts');
      if (existsSync(target)) pending.push(target);
    }
  }
  return [...seen];
}

/**
 * The folder table of STYLE.md as import bans (no-restricted-imports; one config object per group of files,
 * since a later object replaces the rule's options for the files it matches):
 *   events/     imports nothing outside events/, no Node built-ins, no vendor package
 *   workflows/  events/ and services/ports/; the activity files, which run in the worker and not in the
 *               sandbox, also the application's one command handler (services/commands/, services/hierarchy.ts)
 *   services/   events/, services/ports/ and itself, never infra/ or a vendor client; exceptions: the
 *               composition roots (services/main.ts, services/sealer-worker.ts, services/stores.ts) and the command-line entry points
 *               (services/cli/), which build the adapters, and infra/event-store/audit-chain.ts (the pure
 *               hashing of the audit chain, shared with the stores)
 *   infra/      events/ and the ports it implements (services/ports/); infra/temporal/ also the workflow
 *               contracts it drives (workflows/)
 * and every file of the workflow bundle: no Node built-ins.
 */
/** An import of `folder` (by a relative path) unless it is one of the `allowed` paths under it. */
const into = (folder, ...allowed) => `^(\\.\\./)+${folder}/${allowed.length ? `(?!(${allowed.join('|')}))` : ''}`;
const restrict = (files, { regex, paths = [], message }) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { paths, patterns: regex ? [{ regex, message }] : [] }] },
});

const folderRules = {
  events: { regex: '^(\\.\\./)+(services|infra|workflows|test|bench)/', message: 'events/ imports nothing outside events/' },
  workflows: { regex: `${into('infra')}|${into('services', 'ports/')}`, message: 'workflows/ imports events/ and services/ports/ only' },
  activities: {
    regex: `${into('infra')}|${into('services', 'ports/', 'commands/', 'hierarchy\\.js')}`,
    message: 'activities import events/, services/ports/ and the command handler only',
  },
  services: {
    regex: into('infra', 'event-store/audit-chain\\.js'),
    message: 'services/ reaches vendors through services/ports/; only the composition roots build adapters',
  },
  infra: { regex: `${into('workflows')}|${into('services', 'ports/')}`, message: 'infra/ imports events/ and the ports it implements' },
  temporal: { regex: into('services', 'ports/'), message: 'infra/ imports events/ and the ports it implements' },
};
// The service's bundle, the benchmark's and the Temporal test fixture's.
const bundle = workflowBundleFiles(['workflows/all.workflow.ts', 'bench/escalation.workflows.ts', 'test/infra/fixtures/proof.workflow.ts']);
const compositionRoots = ['services/main.ts', 'services/sealer-worker.ts', 'services/stores.ts', 'services/cli/**'];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'data/**', 'coverage/**', 'web/dist/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  // The domain is pure: nothing outside events/, no Node built-ins, no vendor.
  restrict(['events/**/*.ts'], { ...folderRules.events, paths: [...nodeBuiltins, ...vendorClients, 'pino', 'fastify'] }),
  restrict(['workflows/**/*.ts'], folderRules.workflows),
  restrict(['workflows/*activities.ts'], folderRules.activities),
  { ...restrict(['services/**/*.ts'], { ...folderRules.services, paths: vendorClients }), ignores: compositionRoots },
  restrict(['infra/**/*.ts'], folderRules.infra),
  restrict(['infra/temporal/**/*.ts'], folderRules.temporal),
  // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins in anything a bundle pulls in.
  restrict(
    bundle.filter((f) => f.startsWith('workflows/')),
    { ...folderRules.workflows, paths: nodeBuiltins, message: `${folderRules.workflows.message}; no Node built-ins in the workflow bundle` },
  ),
  restrict(
    bundle.filter((f) => !f.startsWith('workflows/') && !f.startsWith('events/')),
    { paths: nodeBuiltins },
  ),
);
