import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { createApi, type Api } from './api/client.js';
import { useEventStream, type StreamMessage } from './api/event-stream.js';
import type { Principal, Role } from './api/types.js';
import { translator, type Lang, type Translate } from './i18n.js';

const TOKEN_KEY = 'duban.token';

/** The user's claims, read from the token the service verifies on every call (the console trusts nothing more). */
export function principalOf(token: string): Principal | null {
  try {
    const payload = token.split('.')[1];
    if (!payload) return null;
    const json = JSON.parse(decodeURIComponent(escape(atob(payload.replace(/-/g, '+').replace(/_/g, '/'))))) as Record<string, unknown>;
    const roles: Role[] = ['admin', 'supervisor', 'cadre', 'inspector'];
    if (typeof json['sub'] !== 'string' || typeof json['unit'] !== 'string' || !roles.includes(json['role'] as Role)) return null;
    return { userId: json['sub'], unitId: json['unit'], role: json['role'] as Role };
  } catch {
    return null;
  }
}

export interface Live {
  /** Bumped on every event of the user's subtree: views that read live ledgers fetch again. */
  tick: number;
  /** Position of the newest event seen: an answer older than this is fetched again. */
  position: bigint;
}

export interface Session {
  token: string | null;
  principal: Principal | null;
  signIn(token: string): void;
  signOut(): void;
  api: Api;
  /** Inspection mode: the moment every view shows (ISO time), or null for live. */
  asOf: string | null;
  setAsOf(asOf: string | null): void;
  lang: Lang;
  setLang(lang: Lang): void;
  t: Translate;
  live: Live;
}

const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside <SessionProvider>');
  return session;
}

/** Token in session storage (never in a URL), so a reload keeps the user signed in and a closed tab does not. */
export function SessionProvider({ children }: { children: ReactNode }) {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [asOf, setAsOf] = useState<string | null>(null);
  const [lang, setLang] = useState<Lang>('zh');
  const [live, setLive] = useState<Live>({ tick: 0, position: -1n });

  const signOut = useCallback(() => {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    setAsOf(null);
  }, []);
  const signIn = useCallback((next: string) => {
    sessionStorage.setItem(TOKEN_KEY, next);
    setToken(next);
  }, []);

  const onMessage = useCallback((message: StreamMessage) => {
    const position = message.id !== undefined && /^\d+$/.test(message.id) ? BigInt(message.id) : undefined;
    setLive((current) => ({ tick: current.tick + 1, position: position !== undefined && position > current.position ? position : current.position }));
  }, []);
  const api = useMemo(() => createApi(token, signOut), [token, signOut]);
  useEventStream({ url: '/v1/events/stream', token, enabled: token !== null, onMessage, onUnauthenticated: signOut });

  const session = useMemo<Session>(
    () => ({
      token,
      principal: token ? principalOf(token) : null,
      signIn,
      signOut,
      api,
      asOf,
      setAsOf,
      lang,
      setLang,
      t: translator(lang),
      live,
    }),
    [token, signIn, signOut, api, asOf, lang, live],
  );
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}

export { SessionContext };
