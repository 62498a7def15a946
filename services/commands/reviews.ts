import { reviewDecider, type ReviewCommand, type ReviewState } from '../../events/review/decider.js';
import type { ReviewEvent } from '../../events/review/events.js';
import type { StreamKind } from './handler.js';

/** A unit's reviews (一月一研判) and daily reports (每日一报), compiled by the scheduled workflow. */
export const reviewStream: StreamKind<ReviewCommand, ReviewEvent, ReviewState> = {
  name: 'review',
  decider: reviewDecider,
  unitsOfState: (state) => (state.status === 'active' ? [state.unitId] : []),
};
