import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, test } from 'vitest';

import { loadDotEnv } from '../../services/config.js';

const names = ['DUBAN_DOTENV_FROM_FILE', 'DUBAN_DOTENV_SET'];
afterEach(() => {
  for (const name of names) delete process.env[name];
});

test('given a .env file, then it fills in unset variables and never overrides a set one', () => {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'duban-dotenv-')), '.env');
  writeFileSync(file, 'DUBAN_DOTENV_FROM_FILE=from-file\nDUBAN_DOTENV_SET=from-file\n');
  process.env['DUBAN_DOTENV_SET'] = 'from-environment';

  expect(loadDotEnv(file)).toBe(true);

  expect(process.env['DUBAN_DOTENV_FROM_FILE']).toBe('from-file');
  expect(process.env['DUBAN_DOTENV_SET']).toBe('from-environment');
});

test('given no .env file, then nothing is loaded', () => {
  expect(loadDotEnv(path.join(tmpdir(), 'no-such-dir-duban', '.env'))).toBe(false);
});
