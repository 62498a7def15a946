import { randomUUID } from 'node:crypto';

// Test assertions read arbitrary JSON shapes; typing each response would only restate the schemas.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** A tiny HTTP client over fetch: real requests to the running service, JSON in and out. */
export function client(baseUrl: string, token?: string) {
  async function request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> {
    const res = await fetch(baseUrl + path, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON (metrics, SSE): keep the text
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }
  return {
    get: (path: string, headers?: Record<string, string>) => request('GET', path, undefined, headers),
    post: (path: string, body?: unknown, headers?: Record<string, string>) =>
      request('POST', path, body, { 'idempotency-key': randomUUID(), ...headers }),
    /** A POST without an Idempotency-Key. */
    postBare: (path: string, body?: unknown, headers?: Record<string, string>) => request('POST', path, body, headers),
    request,
  };
}
export type Client = ReturnType<typeof client>;
