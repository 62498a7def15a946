import autocannon from 'autocannon';
import { loadProblemBody } from './fixtures.js';

/**
 * The load generator for bench/http.ts, run in its own process so it does not share the event loop or
 * the core of the service it measures. Reads one job from argv (JSON), prints autocannon's summary.
 *
 * Job kinds: `get` (one URL), `complete` (POST …/problems/{p}/measures/m{k}/complete, each request
 * completing a measure no other request touches: consecutive requests go to different problems), and
 * `mixed` (bench/soak.ts): in turn a new problem, a measure completion (while any is left) and a household
 * assessment.
 */
interface Job {
  kind: 'get' | 'complete' | 'mixed';
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
  /** mixed: the measures to complete (m0… of each problem), villages for new problems, households to assess. */
  measures?: number;
  villages?: string[];
  households?: number;
  supervisorToken?: string;
  runId?: string;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const headers: Record<string, string> = job.token ? { authorization: `Bearer ${job.token}` } : {};
let next = job.offset ?? 0;
const body = JSON.stringify({ evidence: [{ kind: 'record', uri: 'bench://evidence', sha256: '0'.repeat(64) }] });

/** The `mixed` job's i-th request. */
function mixedRequest(i: number) {
  const json = { ...headers, 'content-type': 'application/json' };
  const turn = i % 3;
  const completion = Math.floor(i / 3);
  if (turn === 1 && completion < job.problems! * job.measures!) {
    const problem = completion % job.problems!;
    const measure = Math.floor(completion / job.problems!);
    return { method: 'POST', path: `/v1/problems/${job.problemPrefix}${problem}/measures/m${measure}/complete`, headers: json, body };
  }
  if (turn === 0) {
    const village = job.villages![i % job.villages!.length]!;
    return {
      method: 'POST',
      path: '/v1/problems',
      headers: { ...json, authorization: `Bearer ${job.supervisorToken}` },
      body: JSON.stringify(loadProblemBody(`soak-${job.runId}-${i}`, village)),
    };
  }
  const healthy = i % 5 !== 0;
  return {
    method: 'POST',
    path: `/v1/households/hh-${i % job.households!}/assessments`,
    headers: json,
    body: JSON.stringify({ food: true, clothing: true, education: true, medical: true, housing: healthy, water: true }),
  };
}

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
  ...(job.kind === 'mixed'
    ? { method: 'POST' as const, requests: [{ setupRequest: (request) => ({ ...request, ...mixedRequest(next++) }) }] }
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
    ok: result['2xx'],
    statusCodes: (result as unknown as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {},
    durationSeconds: result.duration,
  }),
);
