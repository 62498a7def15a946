import { z } from 'zod';
import { authorize } from '../access.js';
import { dateSchema, figuresSchema, idSchema, makeEvent, monthSchema } from '../common.js';
import { assertNever, type DecideContext, type Decider } from '../decider.js';
import { invalid, notFound } from '../errors.js';
import { dateIn, DEFAULT_TIME_ZONE } from '../time.js';
import { dailyReportCompiledSchema, monthlyReviewCompiledSchema, type ReviewEvent } from './events.js';

// ---------------------------------------------------------------------------------------------------
// State

export interface UnitReviews {
  status: 'active';
  unitId: string;
  /** Periods already compiled: YYYY-MM and YYYY-MM-DD. */
  months: string[];
  days: string[];
}

export type ReviewState = { status: 'none' } | UnitReviews;

export const initialReviewState: ReviewState = { status: 'none' };

export function evolveReview(state: ReviewState, event: ReviewEvent): ReviewState {
  const current: UnitReviews =
    state.status === 'none' ? { status: 'active', unitId: event.data.unitId, months: [], days: [] } : state;
  switch (event.type) {
    case 'MonthlyReviewCompiled':
      return current.months.includes(event.data.month)
        ? current
        : { ...current, months: [...current.months, event.data.month] };
    case 'DailyReportCompiled':
      return current.days.includes(event.data.day) ? current : { ...current, days: [...current.days, event.data.day] };
    default:
      return assertNever(event, 'review event');
  }
}

// ---------------------------------------------------------------------------------------------------
// Commands

export const reviewCommandSchemas = {
  compileMonthlyReview: z.strictObject({
    type: z.literal('compileMonthlyReview'),
    unitId: idSchema,
    month: monthSchema,
    figures: figuresSchema,
  }),
  compileDailyReport: z.strictObject({
    type: z.literal('compileDailyReport'),
    unitId: idSchema,
    day: dateSchema,
    figures: figuresSchema,
  }),
} as const;

export const reviewCommandSchema = z.discriminatedUnion('type', [
  reviewCommandSchemas.compileMonthlyReview,
  reviewCommandSchemas.compileDailyReport,
]);
export type ReviewCommand = z.infer<typeof reviewCommandSchema>;

// ---------------------------------------------------------------------------------------------------
// Decide

/**
 * Reviews are idempotent per period: the first compilation of a month (or day) for a unit stands, and
 * compiling it again yields no event (so a retried scheduled job is harmless). A period that has not
 * begun yet in the deployment's time zone is refused.
 */
export function decideReview(command: ReviewCommand, state: ReviewState, context: DecideContext): ReviewEvent[] {
  const { actor, hierarchy, now } = context;
  if (hierarchy.levelOf(command.unitId) === undefined) {
    throw notFound('review.unknown_unit', `unit ${command.unitId} is not registered`, { unitId: command.unitId });
  }
  if (state.status !== 'none' && state.unitId !== command.unitId) {
    throw invalid('review.stream_mismatch', `command for ${command.unitId} sent to the reviews of ${state.unitId}`);
  }
  authorize(actor, 'review.compile', [command.unitId], hierarchy);
  const today = dateIn(now, context.timeZone ?? DEFAULT_TIME_ZONE);
  const compiled: { months: string[]; days: string[] } = state.status === 'none' ? { months: [], days: [] } : state;

  switch (command.type) {
    case 'compileMonthlyReview': {
      if (command.month > today.slice(0, 7)) {
        throw invalid('review.monthly.future_period', `month ${command.month} has not begun (today is ${today})`);
      }
      if (compiled.months.includes(command.month)) return [];
      const { type: _type, ...data } = command;
      return [makeEvent('MonthlyReviewCompiled', monthlyReviewCompiledSchema, data)];
    }
    case 'compileDailyReport': {
      if (command.day > today) {
        throw invalid('review.daily.future_period', `day ${command.day} has not begun (today is ${today})`);
      }
      if (compiled.days.includes(command.day)) return [];
      const { type: _type, ...data } = command;
      return [makeEvent('DailyReportCompiled', dailyReportCompiledSchema, data)];
    }
    default:
      return assertNever(command, 'review command');
  }
}

export const reviewDecider: Decider<ReviewCommand, ReviewEvent, ReviewState> = {
  initialState: initialReviewState,
  evolve: evolveReview,
  decide: decideReview,
};
