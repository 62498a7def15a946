import type { Logger } from 'pino';
import { unitsHoldingProblem } from '../events/access.js';
import type { Figures } from '../events/common.js';
import {
  latenessOf,
  problemDecider,
  responsibleClockOf,
  type OpenProblem,
  type ProblemEvent,
  type ProblemState,
} from '../events/problem/index.js';
import { decodeEvent } from '../events/registry.js';
import type { ReviewCommand } from '../events/review/decider.js';
import { reviewStreamId, type ReviewEvent } from '../events/review/events.js';
import type { CommandHandler } from '../services/commands/handler.js';
import { seededEventId } from '../services/commands/handler.js';
import { reviewStream } from '../services/commands/reviews.js';
import { createUnitHierarchy } from '../services/hierarchy.js';
import type { EventStore } from '../services/ports/event-store.js';
import type { Notification } from '../services/ports/notifier.js';
import { periodBounds, type ReviewKind } from './periods.js';

interface ReviewDeps {
  store: EventStore;
  logger: Logger;
  handler: CommandHandler;
}

interface ProblemSummary {
  state: OpenProblem;
  foundAt: number;
  clearedAt: number | undefined;
}

/** Every problem's current state, read from the problem streams up to `asOf` (epoch ms of occurrence). */
async function problemsAsOf(store: EventStore, asOf: number): Promise<ProblemSummary[]> {
  const byStream = new Map<string, { state: ProblemState; foundAt: number }>();
  for await (const e of store.readAll({ filter: { streamPrefixes: ['problem-'] } })) {
    if (Date.parse(e.metadata.occurredAt) >= asOf) continue;
    const current = byStream.get(e.streamId) ?? { state: problemDecider.initialState, foundAt: 0 };
    const event = decodeEvent(e.type, e.metadata.schemaVersion, e.data) as ProblemEvent;
    if (event.type === 'ProblemFound') current.foundAt = Date.parse(event.data.foundAt ?? e.metadata.occurredAt);
    current.state = problemDecider.evolve(current.state, event);
    byStream.set(e.streamId, current);
  }
  const out: ProblemSummary[] = [];
  for (const { state, foundAt } of byStream.values()) {
    if (state.status === 'none') continue;
    out.push({ state, foundAt, clearedAt: state.clearedAt ? Date.parse(state.clearedAt) : undefined });
  }
  return out;
}

/** The figures of one unit's review: the problems in its subtree (events/access.ts, unitsHoldingProblem). */
export function figuresFor(items: ProblemSummary[], period: { start: number; end: number }): Figures {
  const open = items.filter((i) => i.state.status !== 'cleared');
  const at = new Date(period.end).toISOString();
  return {
    problemsOpen: open.length,
    problemsOverdue: open.filter((i) => latenessOf(responsibleClockOf(i.state), at).overdue).length,
    problemsUnacknowledged: open.filter((i) => !i.state.acknowledged).length,
    problemsEscalated: open.filter((i) => i.state.escalationLevel > 0).length,
    colourRed: open.filter((i) => i.state.colour === 'red').length,
    colourYellow: open.filter((i) => i.state.colour === 'yellow').length,
    colourBlue: open.filter((i) => i.state.colour === 'blue').length,
    measuresTotal: open.reduce((n, i) => n + i.state.measuresTotal, 0),
    measuresCompleted: open.reduce((n, i) => n + i.state.measuresDone, 0),
    problemsFoundInPeriod: items.filter((i) => i.foundAt >= period.start && i.foundAt < period.end).length,
    problemsClearedInPeriod: items.filter(
      (i) => i.clearedAt !== undefined && i.clearedAt >= period.start && i.clearedAt < period.end,
    ).length,
  };
}

export function createReviewActivities(deps: ReviewDeps) {
  const { store, logger, handler } = deps;

  /** The figures the period's first compilation put on record for the unit. */
  async function figuresOnRecord(unitId: string, kind: ReviewKind, period: string): Promise<Figures | undefined> {
    for (const e of await store.readStream(reviewStreamId(unitId))) {
      const event = decodeEvent(e.type, e.metadata.schemaVersion, e.data) as ReviewEvent;
      const sameKind = (event.type === 'MonthlyReviewCompiled') === (kind === 'monthly_review');
      if (sameKind && (event.type === 'MonthlyReviewCompiled' ? event.data.month : event.data.day) === period) {
        return event.data.figures;
      }
    }
    return undefined;
  }

  return {
    /**
     * Compiles the review (monthly) or report (daily) of one period for every unit with open items, as
     * the problems stood at the end of the period (or now, if earlier). One event per unit and period,
     * with an id derived from both, so compiling a period again writes nothing new.
     */
    async compileReviews(input: {
      kind: ReviewKind;
      period: string;
      timeZone: string;
      now: string;
    }): Promise<{ units: string[]; notifications: Notification[] }> {
      const bounds = periodBounds(input.kind, input.period, input.timeZone);
      const asOf = Math.min(bounds.end, Date.parse(input.now));
      const problems = await problemsAsOf(store, asOf);
      // A unit's problems: those in its subtree by the rule of events/access.ts, the ledgers' rule too.
      const tree = createUnitHierarchy({ store });
      await tree.start();
      const byUnit = new Map<string, ProblemSummary[]>();
      for (const p of problems) {
        for (const unitId of unitsHoldingProblem(tree.view, p.state)) {
          const list = byUnit.get(unitId) ?? [];
          list.push(p);
          byUnit.set(unitId, list);
        }
      }
      const units = [...byUnit.entries()]
        .filter(([, items]) => items.some((i) => i.state.status !== 'cleared'))
        .map(([unitId]) => unitId)
        .sort();
      const notifications: Notification[] = [];
      for (const unitId of units) {
        const figures = figuresFor(byUnit.get(unitId) ?? [], bounds);
        const type = input.kind === 'monthly_review' ? 'MonthlyReviewCompiled' : 'DailyReportCompiled';
        const command: ReviewCommand =
          input.kind === 'monthly_review'
            ? { type: 'compileMonthlyReview', unitId, month: input.period, figures }
            : { type: 'compileDailyReport', unitId, day: input.period, figures };
        // Compiling a period again yields nothing: the first compilation stands.
        const seed = `review/${input.kind}/${input.period}/${unitId}`;
        await handler.run(reviewStream, reviewStreamId(unitId), command, {
          actor: { userId: 'system:reviews', unitId, role: 'system' },
          correlationId: `${input.kind}/${input.period}`,
          causationId: `schedule:${input.kind}/${input.period}`,
          eventIdSeed: seed,
          at: input.now,
        });
        const eventId = seededEventId(seed, 0);
        const stored = (await figuresOnRecord(unitId, input.kind, input.period)) ?? figures;
        notifications.push({
          eventId,
          kind: input.kind,
          recipients: [unitId],
          summary: `${input.kind === 'monthly_review' ? '一月一研判' : '每日一报'} ${input.period} ${unitId}: ${stored.problemsOpen ?? 0} open, ${stored.problemsOverdue ?? 0} overdue`,
          occurredAt: input.now,
          details: { type, period: input.period, unitId, figures: stored },
        });
      }
      logger.info({ kind: input.kind, period: input.period, units: units.length }, 'reviews compiled');
      return { units, notifications };
    },
  };
}
