import fp from 'fastify-plugin';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { VerifyToken } from '../auth/tokens.js';
import type { IdempotencyStore } from '../ports/idempotency.js';
import type { Metrics } from '../metrics.js';
import { authPlugin } from './plugins/auth.js';
import { correlationIdOptions, correlationPlugin } from './plugins/correlation.js';
import { errorsPlugin, frameworkErrors } from './plugins/errors.js';
import { clientErrorAsProblem, hardeningPlugin, rateLimitPlugin, type HardeningOptions, type RateLimitOptions } from './plugins/hardening.js';
import { idempotencyPlugin } from './plugins/idempotency.js';
import { metricsPlugin } from './plugins/metrics.js';
import { openapiPlugin } from './plugins/openapi.js';
import { servicesPlugin, type ApiServices } from './plugins/services.js';
import { auditRoutes } from './routes/audit.js';
import { historyRoutes } from './routes/history.js';
import { dataRoutes } from './routes/data.js';
import { devSignInRoutes, type DevSignInOptions } from './routes/dev-sign-in.js';
import { householdRoutes } from './routes/households.js';
import { ledgerRoutes } from './routes/ledgers.js';
import { listingRoutes } from './routes/listings.js';
import { organisationRoutes } from './routes/organisation.js';
import { problemRoutes } from './routes/problems.js';

/** Options for `Fastify(...)` that the API relies on: correlation ids, problem details for bad URLs. */
export const apiFastifyOptions = {
  ...correlationIdOptions,
  frameworkErrors,
  clientErrorHandler: clientErrorAsProblem,
  // Ids may be up to 100 characters of Chinese text (900 once percent-encoded): let the schemas judge them.
  routerOptions: { maxParamLength: 1000 },
};

export interface HttpApiOptions {
  services: ApiServices;
  verifyToken: VerifyToken;
  idempotency: IdempotencyStore;
  metrics: Metrics;
  /** METRICS_TOKEN, the scraper's credential for GET /metrics. */
  metricsToken?: string | undefined;
  /** The console's development sign-in (/v1/dev/…); leave it out in production. */
  devSignIn?: DevSignInOptions;
  /** Load shedding (MAX_EVENT_LOOP_DELAY_MS); absent: off. */
  hardening?: HardeningOptions;
  /** Requests per user per minute (RATE_LIMIT_PER_MINUTE); absent: no limit. */
  rateLimit?: RateLimitOptions | undefined;
}

/**
 * The Duban API: the edge (errors, correlation, auth, idempotency, metrics, OpenAPI) and the /v1 routes.
 * Registered by the app factory; create the Fastify instance with `apiFastifyOptions` so request ids
 * are correlation ids and malformed URLs get problem details too.
 */
export const httpApi = fp<HttpApiOptions>(
  async (app, options) => {
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(errorsPlugin);
    await app.register(correlationPlugin);
    await app.register(hardeningPlugin, options.hardening ?? { maxEventLoopDelayMs: 0 });
    await app.register(authPlugin, { verifyToken: options.verifyToken });
    if (options.rateLimit) await app.register(rateLimitPlugin, options.rateLimit);
    await app.register(idempotencyPlugin, { store: options.idempotency });
    await app.register(metricsPlugin, { metrics: options.metrics, scrapeToken: options.metricsToken, verifyToken: options.verifyToken });
    await app.register(openapiPlugin);
    await app.register(servicesPlugin, { services: options.services });
    await app.register(
      async (v1) => {
        await v1.register(organisationRoutes);
        await v1.register(householdRoutes);
        await v1.register(listingRoutes);
        await v1.register(problemRoutes);
        await v1.register(ledgerRoutes);
        await v1.register(auditRoutes);
        await v1.register(historyRoutes);
        await v1.register(dataRoutes);
        if (options.devSignIn) await v1.register(devSignInRoutes, options.devSignIn);
      },
      { prefix: '/v1' },
    );
  },
  { name: 'duban-api', fastify: '5.x' },
);
