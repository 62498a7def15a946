import type { ReactNode } from 'react';
import { createApi } from './api/client.js';
import type { Principal } from './api/types.js';
import { translator } from './i18n.js';
import { SessionContext, type Session } from './session.js';

/** A signed-in session for component tests: no token, so nothing talks to a service unless a test asks. */
export function TestSession({ children, principal, asOf = null }: { children: ReactNode; principal?: Principal; asOf?: string | null }) {
  const session: Session = {
    token: null,
    principal: principal ?? { userId: 'li.na', unitId: '533423102', role: 'cadre' },
    signIn: () => undefined,
    signOut: () => undefined,
    api: createApi(null, () => undefined),
    asOf,
    setAsOf: () => undefined,
    lang: 'zh',
    setLang: () => undefined,
    t: translator('zh'),
    live: { tick: 0, position: -1n },
  };
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
