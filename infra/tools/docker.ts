import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { errorMessage, type ProviderStep } from './service.js';

let answer: Promise<true | string> | undefined;

/**
 * Whether a Docker engine answers, so providers can start services through testcontainers: `true`, or why
 * not. Looks for a socket before loading testcontainers, so machines without Docker pay almost nothing.
 * The answer is remembered for the life of the process.
 */
export function dockerAnswers(timeoutMs = 5_000): Promise<true | string> {
  answer ??= probe(timeoutMs);
  return answer;
}

async function probe(timeoutMs: number): Promise<true | string> {
  if (process.env['DUBAN_NO_DOCKER'] === '1') return 'DUBAN_NO_DOCKER=1';
  const home = os.homedir();
  const hints = [
    process.env['DOCKER_HOST'],
    process.env['TESTCONTAINERS_HOST_OVERRIDE'],
    ...[
      '/var/run/docker.sock',
      path.join(process.env['XDG_RUNTIME_DIR'] ?? `/run/user/${process.getuid?.() ?? 0}`, 'docker.sock'),
      path.join(home, '.docker', 'run', 'docker.sock'),
      path.join(home, '.docker', 'desktop', 'docker.sock'),
      path.join(home, '.testcontainers.properties'),
    ].filter((file) => existsSync(file)),
  ].filter(Boolean);
  if (hints.length === 0) return 'no Docker engine (no DOCKER_HOST and no docker socket)';

  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer from Docker within ${timeoutMs} ms`), timeoutMs);
  });
  const check = import('testcontainers')
    .then(({ getContainerRuntimeClient }) => getContainerRuntimeClient())
    .then(
      () => true as const,
      (error: unknown) => `Docker did not answer: ${errorMessage(error)}`,
    );
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The provider step that starts a container through testcontainers when a Docker engine answers. */
export function containerStep<T>(start: () => Promise<T>): ProviderStep<T> {
  return {
    name: 'testcontainers',
    start: async () => {
      const docker = await dockerAnswers();
      return docker === true ? start() : docker;
    },
  };
}
