import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSources {
  /** Events the projections still have to apply (head position minus their checkpoint). */
  projectionLag?: () => Promise<number>;
  /** Rectification workflows currently running. */
  openWorkflows?: () => Promise<number>;
  /** Events the projections parked (could not apply) in the live ledgers. */
  parkedEvents?: () => Promise<number>;
  /** Events the reactor has still to signal to their workflows (head position minus its checkpoint). */
  reactorLag?: () => Promise<number>;
}

/**
 * One registry per process (no global default), so tests and several apps in one process never share
 * counters. Sources are callbacks read at scrape time: a scrape costs nothing between scrapes.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const sources: MetricsSources = {};

  const httpRequests = new Counter({
    name: 'duban_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'duban_http_request_duration_seconds',
    help: 'HTTP request duration, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const appendDuration = new Histogram({
    name: 'duban_event_append_duration_seconds',
    help: 'Time to decide and append one command to the event store, by stream kind',
    labelNames: ['stream'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const eventsAppended = new Counter({
    name: 'duban_events_appended_total',
    help: 'Events appended by commands, by stream kind',
    labelNames: ['stream'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'duban_projection_lag_events',
    help: 'Events appended but not yet applied to the ledgers',
    registers: [registry],
    async collect() {
      if (sources.projectionLag) this.set(await sources.projectionLag());
    },
  });
  new Gauge({
    name: 'duban_projection_parked_events',
    help: 'Events the projections could not apply and parked (npm run admin -- status lists them)',
    registers: [registry],
    async collect() {
      if (sources.parkedEvents) this.set(await sources.parkedEvents());
    },
  });
  new Gauge({
    name: 'duban_reactor_lag_events',
    help: 'Problem events not yet signalled to their rectification workflows',
    registers: [registry],
    async collect() {
      if (sources.reactorLag) this.set(await sources.reactorLag().catch(() => Number.NaN));
    },
  });
  const reactorDelivery = new Histogram({
    name: 'duban_reactor_delivery_duration_seconds',
    help: 'Time the workflow engine took to accept one clock start or signal (long ones: its writes are queued)',
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  new Gauge({
    name: 'duban_open_workflows',
    help: 'Rectification workflows currently running',
    registers: [registry],
    async collect() {
      if (sources.openWorkflows) this.set(await sources.openWorkflows().catch(() => Number.NaN));
    },
  });

  return {
    registry,
    httpRequests,
    httpDuration,
    appendDuration,
    eventsAppended,
    reactorDelivery,
    /** Plug in the sources once the parts that know them are running. */
    setSources(next: MetricsSources) {
      Object.assign(sources, next);
    },
  };
}
export type Metrics = ReturnType<typeof createMetrics>;
