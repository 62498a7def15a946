import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

const ci = ['true', '1'].includes(process.env['CI'] ?? '');

// Real servers, started once per run for both projects that talk to them (see the file for the rules).
const services = ['test/setup/services.global.ts'];
// Two cores and shared servers: test files of these levels run one at a time, with room for slow starts.
const withServices = {
  globalSetup: services,
  setupFiles: ['test/setup/temporal-logging.ts'],
  fileParallelism: false,
  testTimeout: 120_000,
  hookTimeout: 180_000,
};

export default defineConfig({
  test: {
    // In CI, .ci/run counts results from the JSON report; people read the default one.
    reporters: ci ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-results/vitest.json' },
    projects: [
      { test: { name: 'unit', include: ['test/**/*.unit.test.ts'] } },
      { test: { name: 'int', include: ['test/**/*.int.test.ts'], ...withServices } },
      { test: { name: 'e2e', include: ['test/**/*.e2e.test.ts'], ...withServices } },
      // The console's components (web/), rendered in jsdom; Ant Design's first render is slow on a busy machine.
      { plugins: [react()], test: { name: 'web', include: ['web/src/**/*.test.tsx'], environment: 'jsdom', setupFiles: ['web/src/test-setup.ts'], testTimeout: 20_000 } },
    ],
  },
});
