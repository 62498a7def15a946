import { useEffect, useState } from 'react';
import { useSession } from '../session.js';
import type { RequestParts } from './client.js';
import type { EndpointName } from './endpoints.js';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

const STALE_RETRY_MS = 250;
const STALE_RETRIES = 20;

/**
 * Reads one API answer for a page: as of the inspection moment when one is picked, otherwise live and read
 * again whenever the event stream reports something. The ledgers apply events a moment after they are
 * stored, so an answer whose `position` is behind the newest event seen is asked for again shortly.
 */
export function useLedger<T>(name: EndpointName, parts: RequestParts, options: { asOf?: boolean; skip?: boolean } = {}): Loaded<T> {
  const { api, asOf, live } = useSession();
  const [state, setState] = useState<{ data: T | undefined; error: Error | undefined; loading: boolean }>({ data: undefined, error: undefined, loading: true });
  const [reloads, setReloads] = useState(0);
  const withAsOf = options.asOf !== false && asOf !== null;
  const key = JSON.stringify(parts);
  // In inspection mode the answer is fixed: live events do not change it.
  const liveTick = withAsOf ? 0 : live.tick;

  useEffect(() => {
    if (options.skip) return;
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const request: RequestParts = withAsOf ? { ...parts, query: { ...parts.query, asOf } } : parts;
    const load = async (attempt: number) => {
      try {
        const data = await api<T>(name, request);
        if (cancelled) return;
        const position = (data as { position?: unknown } | undefined)?.position;
        const behind = !withAsOf && typeof position === 'string' && /^\d+$/.test(position) && BigInt(position) < live.position;
        if (behind && attempt < STALE_RETRIES) {
          timer = setTimeout(() => void load(attempt + 1), STALE_RETRY_MS);
        }
        setState({ data, error: undefined, loading: false });
      } catch (error) {
        if (!cancelled) setState((s) => ({ data: s.data, error: error as Error, loading: false }));
      }
    };
    setState((s) => ({ ...s, loading: true }));
    void load(0);
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
    // `parts` is compared by its JSON (key); live.position is read when the tick moves.
  }, [api, name, key, withAsOf, asOf, liveTick, reloads, options.skip]);

  return { ...state, reload: () => setReloads((n) => n + 1) };
}
