import { existsSync } from 'node:fs';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The web console (督战作战图, `web/`) as built by the set-up step, served at `/` from the same origin as the
 * API. Only the files of the build get routes (no wildcard), so every other path keeps answering like the
 * API does. The console routes by `#/…`, so no path needs a fallback to index.html.
 */
export async function consolePlugin(app: FastifyInstance, options: { dir: string }): Promise<void> {
  if (!existsSync(path.join(options.dir, 'index.html'))) {
    app.log.warn({ dir: options.dir }, 'the console is not built (npm run setup builds it): / is not served');
    return;
  }
  // The build is public like /docs: it holds no data, every call it makes carries the user's token. Its
  // pages and scripts are documents: they get helmet's headers, not the JSON answers' (plugins/hardening.ts).
  app.addHook('onRoute', (route) => {
    route.config = { ...(route.config as object), public: true, document: true } as typeof route.config;
  });
  await app.register(fastifyStatic, {
    root: options.dir,
    wildcard: false,
    index: ['index.html'],
    // Hashed asset names never change content; the page itself must always be revalidated. @fastify/static's
    // own Cache-Control (public, max-age=0) is off: set on the reply, it replaced these.
    cacheControl: false,
    setHeaders: (res, file) => {
      res.setHeader('cache-control', file.includes(`${path.sep}assets${path.sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
}
