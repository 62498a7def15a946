import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { createWebhookNotifier } from '../../infra/notifier/webhook.js';
import { describeWithService } from '../setup/services.js';
import { useClockHarness } from './harness.js';
import { cadre, DAY, eventually, HOUR, readProblem, runCommand } from './world.js';

/**
 * The webhook notifier under the real workflow: a transient failure (503) is retried by Temporal with
 * backoff until it gets through; a refusal (400) is tried once and the ladder goes on regardless.
 */
describeWithService('redis', 'webhook notifications from the rectification workflow', (redisUrl) => {
  const h = useClockHarness(redisUrl, { inProcessWorker: false });
  let server: Server;
  let url: string;
  const attempts = new Map<string, number>();
  let answer: (attempt: number) => number = () => 200;

  beforeEach(async () => {
    attempts.clear();
    server = createServer((req, res) => {
      const key = String(req.headers['idempotency-key']);
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      req.resume();
      req.on('end', () => {
        res.statusCode = answer(attempt);
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    h.world.notifier = createWebhookNotifier({ url, timeoutMs: 2_000 }) as typeof h.world.notifier;
    await h.startWorker();
  });
  afterEach(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  async function ladderWithNotifications(problemId: string) {
    const deadline = h.t0 + 30 * DAY;
    await h.findProblem(problemId, deadline);
    await runCommand(h.world.store, { type: 'acknowledgeProblem', problemId }, cadre, h.iso(h.t0 + HOUR));
    await h.until(problemId, (v) => v.acknowledged);
    await h.sleep(37 * DAY);
    await h.until(problemId, (v) => v.level === 3);
    return (await readProblem(h.world.store, problemId)).filter((e) => e.type === 'ProblemEscalated');
  }

  it('given a receiver that answers 503 twice, then 200: each escalation is delivered on the third attempt', async () => {
    answer = (attempt) => (attempt <= 2 ? 503 : 200);
    const escalations = await ladderWithNotifications('p-hook-retry');
    expect(escalations).toHaveLength(3);
    for (const e of escalations) {
      await eventually(() => ((attempts.get(e.metadata.eventId) ?? 0) >= 3 ? true : undefined), 30_000);
      expect(attempts.get(e.metadata.eventId)).toBe(3);
    }
  });

  it('given a receiver that answers 400: each notification is tried once, and the ladder still climbs to the top', async () => {
    answer = () => 400;
    const escalations = await ladderWithNotifications('p-hook-refused');
    expect(escalations.map((e) => (e.data as { level: number }).level)).toEqual([1, 2, 3]);
    await eventually(() => (escalations.every((e) => attempts.has(e.metadata.eventId)) ? true : undefined));
    await new Promise((r) => setTimeout(r, 500));
    expect(escalations.map((e) => attempts.get(e.metadata.eventId))).toEqual([1, 1, 1]);
  });
});
