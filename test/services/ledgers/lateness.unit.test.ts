import { describe, expect, it } from 'vitest';
import { problemLateness } from '../../../services/ledgers/problem-ledger.js';

/** The problem ledger reads lateness with the domain's model (events/problem/lateness.ts). */
const row = (deadline: string, more: { status?: string; submittedAt?: string | null } = {}) => ({
  open: true,
  deadline,
  status: more.status ?? 'acknowledged',
  submittedAt: more.submittedAt ?? null,
  timeZone: 'Asia/Shanghai',
});

describe('problem ledger lateness (observation 8)', () => {
  it('is not a day late seconds after a deadline within a day, and 1 day late on the day after the deadline day', () => {
    const tenOClock = row('2020-06-30T10:00:00.000+08:00');
    expect(problemLateness(tenOClock, Date.parse('2020-06-30T10:00:05.000+08:00'))).toEqual({
      overdue: true,
      daysOverdue: 0,
      overdueSince: '2020-06-30T10:00:00.000+08:00',
    });
    expect(problemLateness(row('2020-06-30T23:59:59.999+08:00'), Date.parse('2020-07-01T08:00:00.000+08:00')).daysOverdue).toBe(1);
  });

  it('counts the calendar days of the policy time zone, not of UTC', () => {
    // 30 June 23:00 in Shanghai is 15:00 UTC; 1 July 07:00 in Shanghai is still 30 June in UTC.
    expect(problemLateness(row('2020-06-30T23:00:00.000+08:00'), Date.parse('2020-07-01T07:00:00.000+08:00')).daysOverdue).toBe(1);
  });

  it('stops at a rectification submitted and awaiting verification (observation 1)', () => {
    const onTime = row('2020-06-30T23:59:59.999+08:00', { status: 'submitted', submittedAt: '2020-06-20T10:00:00.000+08:00' });
    expect(problemLateness(onTime, Date.parse('2020-07-20T10:00:00.000+08:00')).overdue).toBe(false);
  });
});
