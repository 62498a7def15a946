import type { Recorded } from './recorded.js';
import type { HouseholdEvent } from '../../events/household/events.js';
import type { HouseholdRow, RollupCounts } from '../ports/read-model.js';
import { ApplyError } from './apply-error.js';

/** The household ledger: plan measures done/total, the latest assessment, the monitoring flag. Pure. */
export function evolveHouseholdRow(
  row: HouseholdRow | undefined,
  event: Recorded<HouseholdEvent>,
  /** Units from the root down to the household's village; needed only for HouseholdRegistered. */
  ancestorsOfVillage: () => string[],
): HouseholdRow {
  const at = event.metadata.occurredAt;
  if (event.type === 'HouseholdRegistered') {
    if (row) throw new ApplyError(`household ${row.householdId} was already registered`);
    const d = event.data;
    return {
      householdId: d.householdId,
      villageId: d.villageId,
      ancestors: ancestorsOfVillage(),
      category: d.category,
      members: d.members,
      planTotal: 0,
      planDone: 0,
      plan: {},
      assessment: null,
      meetsStandard: false,
      monitored: d.category === 'monitored',
      monitoringReason: null,
      lastEventAt: at,
    };
  }
  if (!row) throw new ApplyError(`${event.type} for a household that was never registered (${event.streamId})`);
  // One copy of the row per event (each case spreads it once).
  switch (event.type) {
    case 'HouseholdCategoryChanged':
      return { ...row, lastEventAt: at, category: event.data.to };
    case 'PlanMeasureAdded':
      if (event.data.measureId in row.plan) throw new ApplyError(`plan measure ${event.data.measureId} added twice`);
      return { ...row, lastEventAt: at, plan: { ...row.plan, [event.data.measureId]: false }, planTotal: row.planTotal + 1 };
    case 'PlanMeasureCompleted':
      if (row.plan[event.data.measureId] !== false) {
        throw new ApplyError(`plan measure ${event.data.measureId} is unknown or already completed`);
      }
      return { ...row, lastEventAt: at, plan: { ...row.plan, [event.data.measureId]: true }, planDone: row.planDone + 1 };
    case 'HouseholdAssessed':
      return { ...row, lastEventAt: at, assessment: { ...event.data, assessedAt: at }, meetsStandard: event.data.meetsStandard };
    case 'MonitoringFlagRaised':
      return { ...row, lastEventAt: at, monitored: true, monitoringReason: event.data.reason };
    case 'MonitoringFlagCleared':
      return { ...row, lastEventAt: at, monitored: false, monitoringReason: null };
    default: {
      const unknown: never = event;
      throw new ApplyError(`unhandled household event ${(unknown as { type: string }).type}`);
    }
  }
}

export function householdContribution(row: HouseholdRow | undefined): Partial<RollupCounts> {
  if (!row) return {};
  return {
    householdsTotal: 1,
    householdsMeetingStandard: row.meetsStandard ? 1 : 0,
    householdsMonitored: row.monitored ? 1 : 0,
    planMeasuresTotal: row.planTotal,
    planMeasuresCompleted: row.planDone,
  };
}
