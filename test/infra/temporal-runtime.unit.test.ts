import { pino } from 'pino';
import { Writable } from 'node:stream';
import { describe, expect, test } from 'vitest';

import { temporalLoggerFor } from '../../infra/temporal/runtime.js';

function capture(level: pino.Level) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe("the SDK's logs through pino", () => {
  test('given SDK lines at each level, then pino writes them at its matching level with their metadata as fields, below its level dropped', () => {
    const { logger, lines } = capture('debug');
    const sdk = temporalLoggerFor(logger);
    sdk.trace('dropped');
    sdk.debug('Activity started', { sdkComponent: 'worker', activityType: 'notify', taskQueue: 'duban-rectification' });
    sdk.info('Worker state changed', { state: 'DRAINING' });
    sdk.warn('slow poll');
    sdk.log('ERROR', 'Activity failed', { error: new Error('webhook 503'), timestampNanos: 1_700_000_000_000_000_000n });

    expect(lines.map((line) => [line['level'], line['msg']])).toEqual([
      [20, 'Activity started'],
      [30, 'Worker state changed'],
      [40, 'slow poll'],
      [50, 'Activity failed'],
    ]);
    expect(lines[0]).toMatchObject({ sdkComponent: 'worker', activityType: 'notify', taskQueue: 'duban-rectification' });
    expect(lines[1]).toMatchObject({ state: 'DRAINING' });
    // The error keeps its stack under pino's `err`; core's own timestamp is not repeated.
    expect(lines[3]).toMatchObject({ err: { type: 'Error', message: 'webhook 503', stack: expect.stringContaining('webhook 503') } });
    expect(lines[3]).not.toHaveProperty('timestampNanos');
    expect(lines[3]).not.toHaveProperty('error');
  });
});
