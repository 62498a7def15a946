import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** Where infra/tools/setup.sh caches the tools it builds (git-ignored). */
export function toolsDir(): string {
  return process.env['DUBAN_TOOLS_DIR'] || path.join(repoRoot, '.tools');
}

/**
 * A tool installed by setup.sh, or undefined when it is not there. setup.sh links the pinned version into
 * `.tools/bin/`, so the version lives in one place only.
 */
export function installedTool(name: 'temporal' | 'temporal-test-server'): string | undefined {
  const file = path.join(toolsDir(), 'bin', name);
  return existsSync(file) ? file : undefined;
}
