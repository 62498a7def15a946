import { useEffect, useState } from 'react';
import type { RollupAnswer } from '../api/types.js';
import { useSession } from '../session.js';

// Unit names by id, shared by every page: ledgers name units by id only.
const names = new Map<string, Promise<string>>();

/** Remembers names the pages have already read (roll-ups carry them), so most lookups cost nothing. */
export function rememberUnitNames(units: readonly { unitId: string; name: string }[]): void {
  for (const unit of units) if (!names.has(unit.unitId)) names.set(unit.unitId, Promise.resolve(unit.name));
}

export function UnitName({ id }: { id: string }) {
  const { api } = useSession();
  const [name, setName] = useState<string | undefined>(undefined);
  useEffect(() => {
    let lookup = names.get(id);
    if (!lookup) {
      lookup = api<RollupAnswer>('unitRollup', { params: { id } }).then((a) => a.unit.name, () => id);
      names.set(id, lookup);
    }
    let cancelled = false;
    void lookup.then((n) => !cancelled && setName(n));
    return () => {
      cancelled = true;
    };
  }, [api, id]);
  return <span title={id}>{name ?? id}</span>;
}
