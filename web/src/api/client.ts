import { endpoints, type EndpointName } from './endpoints.js';
import type { ProblemDetails } from './types.js';

/** A refusal or failure from the API, with its problem details (the `rule` names the decider's rule). */
export class ApiError extends Error {
  constructor(readonly problem: ProblemDetails) {
    super(problem.detail ?? problem.title);
  }
}

export interface RequestParts {
  params?: Record<string, string>;
  query?: Record<string, string | number | boolean | undefined | null>;
  body?: unknown;
}

/** `/v1/problems/{id}` with `{id: 'p-1'}` → `/v1/problems/p-1`, ids percent-encoded (they may be Chinese). */
export function urlOf(name: EndpointName, parts: RequestParts = {}): string {
  const path = endpoints[name].path.replace(/\{(\w+)\}/g, (_, key: string) => {
    const value = parts.params?.[key];
    if (value === undefined) throw new Error(`${name}: missing path parameter ${key}`);
    return encodeURIComponent(value);
  });
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(parts.query ?? {})) {
    if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  }
  const search = query.toString();
  return search ? `${path}?${search}` : path;
}

export type Api = <T>(name: EndpointName, parts?: RequestParts) => Promise<T>;

/** Calls the API with the bearer token; a 401 signs the user out (the token expired or was replaced). */
export function createApi(token: string | null, onUnauthenticated: () => void): Api {
  return async function call<T>(name: EndpointName, parts: RequestParts = {}): Promise<T> {
    const { method } = endpoints[name];
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers['authorization'] = `Bearer ${token}`;
    if (method === 'POST') headers['content-type'] = 'application/json';
    // A retried click (a lost answer, a double press) can then never act twice. Keys belong to a user.
    if (method === 'POST' && token) headers['idempotency-key'] = crypto.randomUUID();
    const response = await fetch(urlOf(name, parts), {
      method,
      headers,
      ...(method === 'POST' ? { body: JSON.stringify(parts.body ?? {}) } : {}),
    });
    const text = await response.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      if (response.status === 401 && token) onUnauthenticated();
      throw new ApiError((body as ProblemDetails | undefined) ?? { type: 'about:blank', title: response.statusText, status: response.status });
    }
    return body as T;
  };
}
