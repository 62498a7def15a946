import autocannon from 'autocannon';

/**
 * The load generator for bench/http.ts, run in its own process so it does not share the event loop or
 * the core of the service it measures. Reads one job from argv (JSON), prints autocannon's summary.
 *
 * Job kinds: `get` (one URL), and `complete` (POST …/problems/{p}/measures/m{k}/complete, each request
 * completing a measure no other request touches: consecutive requests go to different problems).
 */
interface Job {
  kind: 'get' | 'complete';
  url: string;
  connections: number;
  duration?: number;
  amount?: number;
  /** The first request's number (complete): a later share of the measures. */
  offset?: number;
  token?: string;
  problems?: number;
  problemPrefix?: string;
  idempotencyKeys?: boolean;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const headers: Record<string, string> = job.token ? { authorization: `Bearer ${job.token}` } : {};
let next = job.offset ?? 0;
const body = JSON.stringify({ evidence: [{ kind: 'record', uri: 'bench://evidence', sha256: '0'.repeat(64) }] });

const result = await autocannon({
  url: job.url,
  connections: job.connections,
  ...(job.duration !== undefined ? { duration: job.duration } : {}),
  ...(job.amount !== undefined ? { amount: job.amount } : {}),
  headers,
  ...(job.kind === 'complete'
    ? {
        method: 'POST' as const,
        requests: [
          {
            setupRequest: (request) => {
              const i = next++;
              const problem = i % job.problems!;
              const measure = Math.floor(i / job.problems!);
              return {
                ...request,
                method: 'POST',
                path: `/v1/problems/${job.problemPrefix}${problem}/measures/m${measure}/complete`,
                headers: {
                  ...headers,
                  'content-type': 'application/json',
                  ...(job.idempotencyKeys ? { 'idempotency-key': `bench-${i}` } : {}),
                },
                body,
              };
            },
          },
        ],
      }
    : {}),
});

process.stdout.write(
  JSON.stringify({
    requests: result.requests.total,
    p50_ms: result.latency.p50,
    p99_ms: result.latency.p99,
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes: (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
    durationSeconds: result.duration,
  }),
);
