import type { Logger } from 'pino';

/**
 * What the process started, closed in reverse order on shutdown: the HTTP server first, the servers it
 * depends on last. A failing close is logged and does not keep the others open.
 */
export class Running {
  private readonly closers: { name: string; close: () => Promise<unknown> }[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly log: Logger) {}

  add(name: string, close: () => Promise<unknown>): void {
    this.closers.push({ name, close });
  }

  closeAll(): Promise<void> {
    this.closing ??= (async () => {
      for (const { name, close } of this.closers.reverse()) {
        try {
          await close();
          this.log.info({ name }, 'closed');
        } catch (error) {
          this.log.error({ name, err: error }, 'close failed');
        }
      }
    })();
    return this.closing;
  }

  /**
   * SIGINT and SIGTERM close everything and exit (1 after `timeoutMs` if closing hangs); another signal a
   * second or more later exits at once.
   * (Ctrl-C under `npm start` delivers SIGINT twice at once: from the terminal and forwarded by npm.)
   */
  closeOnSignals(timeoutMs = 30_000): void {
    let firstAt = 0;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (this.closing) {
        if (Date.now() - firstAt < 1_000) return;
        this.log.warn({ signal }, 'second signal: exiting without waiting');
        process.exit(130);
      }
      firstAt = Date.now();
      this.log.info({ signal }, 'shutting down');
      // Whatever hangs (a peer that never answers), the process is gone before an orchestrator's SIGKILL.
      setTimeout(() => {
        this.log.error({ timeoutMs }, 'shutdown timed out: exiting without waiting for the rest');
        process.exit(1);
      }, timeoutMs).unref();
      void this.closeAll().then(() => process.exit(0));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
}
