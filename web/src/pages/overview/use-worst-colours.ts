import { useEffect, useState } from 'react';
import type { Colour, LedgerPage, ProblemRow } from '../../api/types.js';
import { worstColour } from '../../components/tags.js';
import { useSession } from '../../session.js';

/** The worst warning colour of the open problems beneath each unit, read from the problem ledger. */
export function useWorstColours(unitIds: string[]): Record<string, Colour | undefined> {
  const { api, asOf, live } = useSession();
  const [worst, setWorst] = useState<Record<string, Colour | undefined>>({});
  const key = unitIds.join(',');
  const tick = asOf ? 0 : live.tick;
  useEffect(() => {
    let cancelled = false;
    void Promise.all(
      unitIds.map(async (unitId) => {
        const page = await api<LedgerPage<ProblemRow>>('problemLedger', { query: { unitId, open: true, limit: 500, asOf } });
        return [unitId, worstColour(page.items)] as const;
      }),
    ).then(
      (pairs) => !cancelled && setWorst(Object.fromEntries(pairs)),
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
    // unitIds is compared by `key`.
  }, [api, key, asOf, tick]);
  return worst;
}
