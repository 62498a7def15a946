import { describe, expect, it } from 'vitest';
import { fold } from '../../../events/decider.js';
import { reviewDecider, type ReviewEvent, reviewStreamId } from '../../../events/review/index.js';
import { actors, ctx, given, QIBIE, TACHENG, WEIXI } from '../gwt.js';

const NOW = '2020-06-30T20:00:00.000+08:00';
const figures = { householdMeasures: 1696, householdMeasuresCompleted: 1293, householdsMeetingStandard: 188 };
const monthly = (month: string, unitId = WEIXI): ReviewEvent => ({
  type: 'MonthlyReviewCompiled',
  data: { month, unitId, figures },
});
const daily = (day: string, unitId = WEIXI): ReviewEvent => ({ type: 'DailyReportCompiled', data: { day, unitId, figures } });

describe('review stream (一月一研判 / 每日一报)', () => {
  it('names its stream review-<unitId>', () => {
    expect(reviewStreamId(WEIXI)).toBe('review-533423');
  });

  it('compiles a monthly review and a daily report for a unit', () => {
    given(reviewDecider)
      .when({ type: 'compileMonthlyReview', unitId: WEIXI, month: '2020-06', figures }, ctx(actors.weixiSupervisor, NOW))
      .then([monthly('2020-06')]);
    given(reviewDecider, [monthly('2020-06')])
      .when({ type: 'compileDailyReport', unitId: WEIXI, day: '2020-06-30', figures }, ctx(actors.system, NOW))
      .then([daily('2020-06-30')]);
    expect(fold(reviewDecider, [monthly('2020-05'), daily('2020-06-29'), monthly('2020-06')])).toEqual({
      status: 'active',
      unitId: WEIXI,
      months: ['2020-05', '2020-06'],
      days: ['2020-06-29'],
    });
  });

  it('is idempotent per period: compiling the same month or day again yields no event', () => {
    given(reviewDecider, [monthly('2020-06')])
      .when({ type: 'compileMonthlyReview', unitId: WEIXI, month: '2020-06', figures: { other: 1 } }, ctx(actors.weixiSupervisor, NOW))
      .then([]);
    given(reviewDecider, [daily('2020-06-30')])
      .when({ type: 'compileDailyReport', unitId: WEIXI, day: '2020-06-30', figures }, ctx(actors.weixiCadre, NOW))
      .then([]);
  });

  it('reads "today" in the deployment time zone', () => {
    // 17:00 UTC on 30 June is already 1 July in Shanghai.
    given(reviewDecider)
      .when({ type: 'compileDailyReport', unitId: WEIXI, day: '2020-07-01', figures }, ctx(actors.system, '2020-06-30T17:00:00Z'))
      .then([daily('2020-07-01')]);
    given(reviewDecider)
      .when({ type: 'compileDailyReport', unitId: WEIXI, day: '2020-07-01', figures }, ctx(actors.system, '2020-06-30T17:00:00Z', { timeZone: 'UTC' }))
      .thenRefused('validation', 'review.daily.future_period');
  });

  it.each([
    ['a future month', { type: 'compileMonthlyReview', unitId: WEIXI, month: '2020-07', figures }, actors.weixiSupervisor, 'validation', 'review.monthly.future_period'],
    ['a future day', { type: 'compileDailyReport', unitId: WEIXI, day: '2020-07-01', figures }, actors.weixiSupervisor, 'validation', 'review.daily.future_period'],
    ['an unknown unit', { type: 'compileMonthlyReview', unitId: 'nowhere', month: '2020-06', figures }, actors.weixiSupervisor, 'not_found', 'review.unknown_unit'],
    ['a unit outside the actor\'s subtree', { type: 'compileMonthlyReview', unitId: WEIXI, month: '2020-06', figures }, actors.tachengCadre, 'forbidden', 'access.scope'],
    ['an inspector', { type: 'compileMonthlyReview', unitId: TACHENG, month: '2020-06', figures }, actors.prefectureInspector, 'forbidden', 'access.role'],
  ] as const)('refuses %s', (_name, command, actor, code, rule) => {
    given(reviewDecider).when(command, ctx(actor, NOW)).thenRefused(code, rule);
  });

  it('refuses a command for another unit in this unit\'s stream', () => {
    given(reviewDecider, [monthly('2020-06')])
      .when({ type: 'compileMonthlyReview', unitId: QIBIE, month: '2020-06', figures }, ctx(actors.weixiSupervisor, NOW))
      .thenRefused('validation', 'review.stream_mismatch');
  });
});
