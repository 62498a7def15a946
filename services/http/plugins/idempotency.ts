import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { DubanError } from '../../../events/errors.js';
import { IDEMPOTENCY_CLAIM_LEASE_SECONDS, type IdempotencyStore, type StoredResponse } from '../../ports/idempotency.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when this request holds an Idempotency-Key claim it must complete or release. */
    idempotencyClaim: { key: string; fingerprint: string; renewal: NodeJS.Timeout } | null;
    /**
     * Names the command's events when the request carries an Idempotency-Key: derived from the user,
     * the path and the key, so a retry at any later time appends nothing, even once the key store has
     * forgotten the key (the event ids are already stored).
     */
    eventIdSeed: string | null;
    /** What this keyed request asks (method, path and body, hashed); stored on its events beside the seed. */
    requestFingerprint: string | null;
  }
}

export interface IdempotencyOptions {
  store: IdempotencyStore;
}

/** 1-255 visible ASCII characters (the routes document it from here). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
/** Response headers worth repeating on a replay; the correlation id stays the new request's own. */
const replayedHeaders = ['content-type', 'etag', 'location'];

/**
 * No request body of this API nests deeper than a few levels. The fingerprint is taken before the body is
 * validated, so a deeper one is refused here rather than recursed into until the stack runs out.
 */
const MAX_JSON_DEPTH = 64;

/** JSON with object keys sorted, so `{a,b}` and `{b,a}` are the same request. */
export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_JSON_DEPTH) {
    throw new DubanError('validation', 'http.json_depth', `the JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, depth + 1)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const KEY_REUSED = 'http.idempotency_key_reused';
function refusedAsReused(problemJson: string): boolean {
  try {
    return (JSON.parse(problemJson) as { rule?: unknown }).rule === KEY_REUSED;
  } catch {
    return false;
  }
}

/**
 * `Idempotency-Key` on every POST. Keys are scoped to the calling user; the fingerprint covers method,
 * path and body. Runs after authentication and before validation, so a reused key with another body
 * is a 422 whatever that body holds, and a repeat never reaches a handler, so it appends nothing.
 */
export const idempotencyPlugin = fp<IdempotencyOptions>(
  async (app, { store }) => {
    app.decorateRequest('idempotencyClaim', null);
    app.decorateRequest('eventIdSeed', null);
    app.decorateRequest('requestFingerprint', null);

    // Hooks that return at once on what is not a keyed POST (every read) answer without a promise.
    app.addHook('preValidation', (request, reply, done) => {
      if (request.method !== 'POST' || request.headers['idempotency-key'] === undefined || !request.principal) {
        done();
        return;
      }
      claimKey(request, reply).then(() => done(), done);
    });
    const claimKey = async (request: FastifyRequest, reply: FastifyReply) => {
      const header = request.headers['idempotency-key'];
      // Keys are scoped to the caller: a public route (no caller) has no key store, and its POSTs are no commands.
      if (header === undefined || !request.principal) return;
      if (typeof header !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(header)) {
        throw new DubanError('validation', 'http.idempotency_key', 'Idempotency-Key must be 1-255 visible ASCII characters');
      }
      const key = sha256(`${request.principal.userId}\n${header}`);
      const route = `${request.method} ${request.url.split('?')[0]}`;
      request.eventIdSeed = sha256(`${key}\n${route}`);
      const fingerprint = sha256(`${route}\n${canonicalJson(request.body)}`);
      request.requestFingerprint = fingerprint;
      let claim: Awaited<ReturnType<IdempotencyStore['claim']>>;
      try {
        claim = await store.claim(key, fingerprint);
      } catch (err) {
        // The key store is down: the command still runs, and its seeded event ids keep a retry from
        // appending twice; only the exact replay of the first response is lost.
        request.log.warn({ err }, 'idempotency store unavailable; running the command on its event ids alone');
        return;
      }
      switch (claim.kind) {
        case 'claimed': {
          // Renewed while the request runs: a claim left by a killed process expires within one lease.
          const renewal = setInterval(
            () => void store.renew(key, fingerprint).catch((err: unknown) => request.log.warn({ err }, 'idempotency claim not renewed')),
            (IDEMPOTENCY_CLAIM_LEASE_SECONDS * 1000) / 3,
          );
          renewal.unref();
          request.idempotencyClaim = { key, fingerprint, renewal };
          return;
        }
        case 'replay':
          return reply
            .code(claim.response.status)
            .headers({ ...claim.response.headers, 'idempotent-replayed': 'true' })
            .serializer((payload: unknown) => payload as string)
            .send(claim.response.body);
        case 'mismatch':
          throw new DubanError(
            'unprocessable',
            KEY_REUSED,
            'this Idempotency-Key was already used with a different request; use a new key for a new request',
          );
        case 'in_progress':
          throw new DubanError(
            'conflict',
            'http.idempotency_in_progress',
            'a request with this Idempotency-Key is still running; retry in a moment',
          );
      }
    };

    // A request that ends without reaching onSend (its client went away) stops renewing; its claim expires.
    app.addHook('onResponse', (request, _reply, done) => {
      if (request.idempotencyClaim) clearInterval(request.idempotencyClaim.renewal);
      done();
    });
    app.addHook('onRequestAbort', (request, done) => {
      if (request.idempotencyClaim) clearInterval(request.idempotencyClaim.renewal);
      done();
    });

    app.addHook('onSend', (request, reply, payload, done) => {
      const claim = request.idempotencyClaim;
      if (!claim) {
        done(null, payload);
        return;
      }
      request.idempotencyClaim = null;
      rememberAnswer(request, reply, claim, payload).then((sent) => done(null, sent), done);
    });
    const rememberAnswer = async (request: FastifyRequest, reply: FastifyReply, claim: NonNullable<FastifyRequest['idempotencyClaim']>, payload: unknown) => {
      clearInterval(claim.renewal);
      // A failure to remember the answer must not change it: the events (if any) are committed.
      const remember = (work: Promise<void>) =>
        work.catch((err: unknown) => request.log.warn({ err }, 'idempotency store unavailable; the answer is not remembered'));
      // A 422 for a key that the event store says another request used: this request does not own the
      // key, so the key store must not remember it as the owner (the first request's retry would be refused).
      if (reply.statusCode >= 500 || typeof payload !== 'string' || (reply.statusCode === 422 && refusedAsReused(payload))) {
        await remember(store.release(claim.key));
        return payload;
      }
      const headers: Record<string, string> = {};
      for (const name of replayedHeaders) {
        const value = reply.getHeader(name);
        if (value !== undefined) headers[name] = String(value);
      }
      const response: StoredResponse = { status: reply.statusCode, headers, body: payload };
      await remember(store.complete(claim.key, claim.fingerprint, response));
      return payload;
    };
  },
  { name: 'duban-idempotency', fastify: '5.x', dependencies: ['duban-auth'] },
);
