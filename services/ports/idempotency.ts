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
  /** Extends a claim this request still holds (same fingerprint, no answer yet) by another lease. */
  renew(key: string, fingerprint: string): Promise<void>;
  complete(key: string, fingerprint: string, response: StoredResponse): Promise<void>;
  /** Forgets a claim whose request failed without an answer worth repeating (a 5xx), so a retry runs. */
  release(key: string): Promise<void>;
  close(): Promise<void>;
}

/** How long a key is remembered. Clients retry within minutes; a day leaves a wide margin. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;
/**
 * A claim is a lease: the request holding it renews it every third of this while it runs, so a claim not
 * renewed for this long belongs to a process that died, and a retry may take it over. (Taking over is safe
 * even if the holder were alive: the command's event ids are seeded by the key, so the store appends it once.)
 */
export const IDEMPOTENCY_CLAIM_LEASE_SECONDS = 6;
