import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';

const pinoLevel = { TRACE: 'trace', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' } as const;

/**
 * The SDK's logger interface over a pino logger: its message and metadata become one structured line
 * (`sdkComponent` says whether the worker, an activity, a workflow or the Rust core wrote it).
 */
export function temporalLoggerFor(logger: Logger): TemporalLogger {
  const write = (level: LogLevel, message: string, meta?: LogMetadata): void => {
    // Core's forwarded lines carry their own timestamp in nanoseconds; pino stamps the line itself. The
    // SDK's `error` becomes pino's `err`, so its serializer keeps the stack.
    const { timestampNanos: _timestamp, error, ...fields } = (meta ?? {}) as LogMetadata & { timestampNanos?: unknown; error?: unknown };
    logger[pinoLevel[level]](error === undefined ? fields : { ...fields, err: error }, message);
  };
  return {
    log: write,
    trace: (message, meta) => write('TRACE', message, meta),
    debug: (message, meta) => write('DEBUG', message, meta),
    info: (message, meta) => write('INFO', message, meta),
    warn: (message, meta) => write('WARN', message, meta),
    error: (message, meta) => write('ERROR', message, meta),
  };
}

export interface TemporalRuntimeOptions {
  /** The service's logger; the SDK's own lines (TypeScript and Rust core) go through it. */
  logger: Logger;
  /** host:port for the SDK's Prometheus endpoint (`temporal_*` metrics of the worker and its connection). */
  metricsAddress?: string | undefined;
}

/**
 * Installs the SDK runtime, once per process and before any NativeConnection or Worker exists (the SDK
 * creates a default one on first use, and a second install throws).
 *
 * `shutdownSignals: []`: the SDK would otherwise shut the worker down itself on SIGTERM, at once and in
 * parallel with everything else; the process's own shutdown (services/lifecycle.ts) stops it in its turn,
 * after HTTP and the reactor, with the worker's grace time.
 */
export function installTemporalRuntime(options: TemporalRuntimeOptions): Runtime {
  const level = options.logger.levelVal;
  // The Rust core's INFO lines are its internals; they come through from LOG_LEVEL=debug on.
  const coreLevel = level <= 10 ? 'TRACE' : level <= 20 ? 'DEBUG' : level <= 40 ? 'WARN' : 'ERROR';
  return Runtime.install({
    logger: temporalLoggerFor(options.logger.child({ component: 'temporal' })),
    shutdownSignals: [],
    telemetryOptions: {
      logging: { filter: { core: coreLevel, other: 'ERROR' }, forward: {} },
      ...(options.metricsAddress ? { metrics: { prometheus: { bindAddress: options.metricsAddress } } } : {}),
    },
  });
}
