import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';

import { devServerDynamicConfig } from '../../infra/temporal/provider.js';
import { configVariables, loadConfig } from '../../services/config.js';
import { searchAttributeCliTypes } from '../../workflows/search-attributes.js';

// No Docker engine runs here, so the deployment files are checked for what can go wrong without one: a
// missing service, a variable Duban does not read (a typo is silently ignored by the service), a
// production configuration that would refuse to start, search attributes out of step with the workflow.

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | null>;
  depends_on?: Record<string, { condition: string }>;
  configs?: { source: string; target: string }[];
}
const compose = parse(readFileSync('infra/deploy/compose.yaml', 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
  configs: Record<string, { file: string }>;
};
const services = compose.services;
const roles = ['api', 'worker', 'projector'] as const;
const dockerfile = readFileSync('infra/deploy/Dockerfile', 'utf8');
const packageJson = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };

// Compose interpolation, as `docker compose config` would do it with the given variables.
const interpolate = (value: string, vars: Record<string, string>): string =>
  value.replace(/\$\{(\w+)(?::?[-?][^}]*)?\}/g, (whole, name: string) => vars[name] ?? (/:-([^}]*)/.exec(whole)?.[1] ?? ''));

describe('infra/deploy/compose.yaml', () => {
  test('runs EventStoreDB, PostgreSQL, Temporal, Redis and the three roles, each role from the Dockerfile', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['eventstoredb', 'postgres', 'temporal', 'redis', ...roles]));
    for (const role of roles) {
      expect(services[role]?.command, role).toEqual(['--role', role]);
      expect(services[role]?.build, role).toEqual({ context: '../..', dockerfile: 'infra/deploy/Dockerfile' });
      expect(Object.keys(services[role]?.depends_on ?? {}), role).toEqual(expect.arrayContaining(['eventstoredb', 'redis', 'temporal-setup']));
    }
  });

  test('gives each role only variables Duban reads, and a configuration that starts in production', () => {
    for (const role of roles) {
      const environment = services[role]?.environment ?? {};
      expect(Object.keys(environment).filter((name) => !configVariables.includes(name)), role).toEqual([]);
      const env = Object.fromEntries(
        Object.entries(environment).map(([name, value]) => [name, interpolate(String(value ?? ''), { JWT_SECRET: 'x'.repeat(32) })]),
      );
      const config = loadConfig(env);
      expect(config, role).toMatchObject({ nodeEnv: 'production', esdbUrl: 'esdb://eventstoredb:2113?tls=false', redisUrl: 'redis://redis:6379' });
      expect(config.temporalAddress, role).toBe('temporal:7233');
    }
  });

  test('without JWT_SECRET or JWT_PUBLIC_KEY a role refuses to start', () => {
    const environment = services.api?.environment ?? {};
    const env = Object.fromEntries(Object.entries(environment).map(([name, value]) => [name, interpolate(String(value ?? ''), {})]));
    expect(() => loadConfig(env)).toThrow(/JWT_SECRET/);
  });

  test('gives Temporal the dynamic config of the dev server the project starts', () => {
    const temporal = services.temporal;
    const mounted = temporal?.configs?.find((config) => config.target === temporal.environment?.DYNAMIC_CONFIG_FILE_PATH);
    const file = compose.configs[mounted?.source ?? '']?.file ?? '';
    const values = parse(readFileSync(path.join('infra/deploy', file), 'utf8')) as Record<string, { value: unknown }[]>;
    expect(Object.fromEntries(Object.entries(values).map(([key, [only]]) => [key, only?.value]))).toEqual(devServerDynamicConfig);
  });

  test('registers exactly the search attributes the workflow sets', () => {
    const args = services['temporal-setup']?.command ?? [];
    const registered = args.flatMap((arg, i) => (arg.startsWith('--name=') ? [{ name: arg.slice(7), type: args[i + 1]?.replace('--type=', '') }] : []));
    expect(registered).toEqual(searchAttributeCliTypes);
  });
});

describe('infra/deploy/Dockerfile', () => {
  test('starts node directly with the command of npm run start:prod, never a set-up hook', () => {
    const entrypoint = /^ENTRYPOINT (.+)$/m.exec(dockerfile)?.[1];
    expect(JSON.parse(entrypoint ?? 'null')).toEqual(packageJson.scripts['start:prod']?.split(' '));
    expect(packageJson.scripts['prestart:prod']).toBeUndefined();
    const instructions = dockerfile.split('\n').filter((line) => /^(RUN|CMD|ENTRYPOINT) /.test(line));
    expect(instructions.join('\n')).not.toMatch(/setup\.sh|npm (run )?start\b/);
  });

  test('is multi-stage, runs as an unprivileged user, and starts the worker from the prebuilt workflow bundle', () => {
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER node$/m);
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/WORKFLOW_BUNDLE=\/app\/dist\/workflow-bundle\.js/);
  });
});
