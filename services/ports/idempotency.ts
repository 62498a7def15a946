/**
 * Idempotency-Key records. A key is claimed before the request runs and completed with the response it
 * produced; a repeat with the same fingerprint gets that response back, a repeat with another
 * fingerprint is refused, and a repeat while the first is still running is told to wait.
 */
export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type ClaimResult =
  | { kind: 'claimed' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_progress' };

export interface IdempotencyStore {
  claim(key: string, fingerprint: string): Promise<ClaimResult>;
  complete(key: string, fingerprint: string, response: StoredResponse): Promise<void>;
  /** Forgets a claim whose request failed without an answer worth repeating (a 5xx), so a retry runs. */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

/** How long a key is remembered. Clients retry within minutes; a day leaves a wide margin. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/** A claim with no answer after this long belongs to a request that died; a retry may take it over. */
export const IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS = 60;
