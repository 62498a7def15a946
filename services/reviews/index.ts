import {
  listingCandidates,
  povertyIncidencePercent,
  type ListingCandidate,
  type ListingThresholds,
} from '../../events/listing/index.js';
import { invalid } from '../../events/errors.js';
import { reviewStreamId, type ReviewEvent } from '../../events/review/events.js';
import { decodeEvent } from '../../events/registry.js';
import { addDuration, resolveDeadline, toEpochMs } from '../../events/time.js';
import type { UnitLevel } from '../../events/unit/hierarchy.js';
import { StreamNotFoundError, type EventStore } from '../ports/event-store.js';
import type { AsOf, LedgerQueries, UnitRollup } from '../ports/read-model.js';

export type ReviewPeriod = { kind: 'monthly'; month: string } | { kind: 'daily'; day: string };

/** One unit's figures over its whole subtree. */
export interface UnitReviewFigures extends UnitRollup {
  population: number | null;
  remainingPoorHouseholds: number;
  /** Members of households beneath it that do not meet the standard (两不愁三保障 + water). */
  remainingPoorPeople: number;
  /** remainingPoorPeople per 100 of the registered population; null without a population. */
  povertyIncidencePercent: number | null;
}

export interface ReviewCandidate extends ListingCandidate {
  name: string;
  /** Whether an active listing targets the unit now (as of the review's moment). */
  listed: boolean;
  listingIds: string[];
}

export interface ReviewAnswer {
  period: ReviewPeriod;
  unitId: string;
  /** The moment the figures describe: the end of the period, or now while it runs. */
  at: string;
  position: string;
  live: boolean;
  unit: UnitReviewFigures;
  /** Every unit beneath it, each over its own subtree, in key order. */
  units: UnitReviewFigures[];
  /** Units meeting the listing thresholds, with whether they are listed. */
  candidates: ReviewCandidate[];
  thresholdsVersion: number;
  /** What the schedule compiled for the unit and period (MonthlyReviewCompiled / DailyReportCompiled), if it did. */
  compiled: { figures: Record<string, number>; recordedAt: string } | null;
}

export interface ReviewQueryDeps {
  ledgers: LedgerQueries;
  store: EventStore;
  thresholds: ListingThresholds;
  timeZone: string;
  now?: () => Date;
}

/** Start and end (exclusive) of the period in the deployment's zone. */
function bounds(period: ReviewPeriod, timeZone: string): { start: number; end: number } {
  const firstDay = period.kind === 'daily' ? period.day : `${period.month}-01`;
  const start = resolveDeadline(`${firstDay}T00:00`, timeZone);
  const end = addDuration(start, period.kind === 'daily' ? 'P1D' : 'P1M', timeZone);
  return { start: toEpochMs(start), end: toEpochMs(end) };
}

/**
 * The review figures (一月一研判, 每日一报) read from the ledgers as they stood at the end of the period: the
 * roll-up counts, remaining poor people and poverty incidence per unit, and the listing candidates under the
 * thresholds policy beside the listings that exist.
 */
export function createReviewQueries(deps: ReviewQueryDeps) {
  const now = deps.now ?? (() => new Date());

  async function compiledFor(unitId: string, period: ReviewPeriod): Promise<ReviewAnswer['compiled']> {
    let events;
    try {
      events = await deps.store.readStream(reviewStreamId(unitId));
    } catch (err) {
      if (err instanceof StreamNotFoundError) return null;
      throw err;
    }
    for (const e of events) {
      const event = decodeEvent(e.type, e.metadata.schemaVersion, e.data) as ReviewEvent;
      const same =
        event.type === 'MonthlyReviewCompiled' ? period.kind === 'monthly' && event.data.month === period.month : period.kind === 'daily' && event.data.day === period.day;
      if (same) return { figures: event.data.figures, recordedAt: e.metadata.recordedAt };
    }
    return null;
  }

  async function review(unitId: string, period: ReviewPeriod): Promise<ReviewAnswer> {
    const { start, end } = bounds(period, deps.timeZone);
    const nowMs = now().getTime();
    if (start > nowMs) throw invalid('review.future_period', 'the period has not begun yet');
    const live = end > nowMs;
    const at: AsOf = live ? {} : { asOf: new Date(end - 1).toISOString() };

    const units = await deps.ledgers.scanUnits({ unitId, ...at });
    const rollups: UnitRollup[] = [];
    for await (const u of units.rows) rollups.push(u);
    const households = await deps.ledgers.scanHouseholds({ unitId, ...at });
    const poor = new Map<string, { households: number; people: number }>();
    for await (const h of households.rows) {
      if (h.meetsStandard) continue;
      for (const ancestor of h.ancestors) {
        const p = poor.get(ancestor) ?? { households: 0, people: 0 };
        p.households += 1;
        p.people += h.members;
        poor.set(ancestor, p);
      }
    }
    const listings = await deps.ledgers.scanListings({ unitId, active: true, ...at });
    const listed = new Map<string, string[]>();
    for await (const l of listings.rows) listed.set(l.targetUnitId, [...(listed.get(l.targetUnitId) ?? []), l.listingId]);

    const figures = rollups.map((u): UnitReviewFigures => {
      const p = poor.get(u.unitId) ?? { households: 0, people: 0 };
      const incidence = povertyIncidencePercent(p.people, u.population ?? null);
      return {
        ...u,
        population: u.population ?? null,
        remainingPoorHouseholds: p.households,
        remainingPoorPeople: p.people,
        povertyIncidencePercent: incidence === null ? null : Math.round(incidence * 10_000) / 10_000,
      };
    });
    const byId = new Map(figures.map((f) => [f.unitId, f]));
    const candidates = listingCandidates(
      figures.map((f) => ({ unitId: f.unitId, level: f.level as UnitLevel, remainingPoorPeople: f.remainingPoorPeople, population: f.population ?? null })),
      deps.thresholds,
    ).map((c) => ({ ...c, value: Math.round(c.value * 10_000) / 10_000, name: byId.get(c.unitId)?.name ?? c.unitId, listed: listed.has(c.unitId), listingIds: listed.get(c.unitId) ?? [] }));

    const self = byId.get(unitId)!;
    return {
      period,
      unitId,
      at: units.at,
      position: units.position,
      live,
      unit: self,
      units: figures.filter((f) => f.unitId !== unitId),
      candidates,
      thresholdsVersion: deps.thresholds.version,
      compiled: await compiledFor(unitId, period),
    };
  }

  return {
    monthly: (unitId: string, month: string) => review(unitId, { kind: 'monthly', month }),
    daily: (unitId: string, day: string) => review(unitId, { kind: 'daily', day }),
  };
}
export type ReviewQueries = ReturnType<typeof createReviewQueries>;
