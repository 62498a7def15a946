import { describe, expect, it } from 'vitest';
import { DubanError } from '../../events/errors.js';
import {
  addDuration,
  compareInstants,
  dateIn,
  formatInstant,
  parseDuration,
  resolveDeadline,
  subtractDuration,
  tryParseDuration,
} from '../../events/time.js';

describe('ISO 8601 durations', () => {
  it('parses calendar and clock parts', () => {
    expect(parseDuration('P1Y2M3W4DT5H6M7.5S')).toEqual({
      years: 1,
      months: 2,
      weeks: 3,
      days: 4,
      hours: 5,
      minutes: 6,
      seconds: 7.5,
    });
    expect(parseDuration('PT12H').hours).toBe(12);
  });

  it.each(['', 'P', 'PT', '3D', 'P1.5D', 'P1DT', 'p3d', 'P-1D'])('refuses %j', (text) => {
    expect(tryParseDuration(text)).toBeUndefined();
    expect(() => parseDuration(text)).toThrow(DubanError);
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'validation', rule: 'time.duration' }));
  });

  it('adds days on the wall clock of the zone and hours as elapsed time', () => {
    expect(addDuration('2020-06-27T10:00:00+08:00', 'P3D')).toBe('2020-06-30T10:00:00.000+08:00');
    expect(addDuration('2020-06-30T23:00:00+08:00', 'PT2H')).toBe('2020-07-01T01:00:00.000+08:00');
    expect(subtractDuration('2020-06-30T23:59:59.999+08:00', 'P3D')).toBe('2020-06-27T23:59:59.999+08:00');
    // Input in UTC is read as the same instant and answered in the zone.
    expect(addDuration('2020-06-30T16:00:00Z', 'P1D')).toBe('2020-07-02T00:00:00.000+08:00');
  });

  it('clamps month ends and crosses years', () => {
    expect(addDuration('2020-01-31T12:00:00+08:00', 'P1M')).toBe('2020-02-29T12:00:00.000+08:00');
    expect(addDuration('2020-12-31T12:00:00+08:00', 'P1W')).toBe('2021-01-07T12:00:00.000+08:00');
    expect(subtractDuration('2021-03-31T00:00:00+08:00', 'P1Y1M')).toBe('2020-02-29T00:00:00.000+08:00');
  });

  it('keeps the wall clock across a daylight-saving change in zones that have one', () => {
    // New York springs forward on 2021-03-14: P1D keeps 12:00 local, PT24H does not.
    expect(addDuration('2021-03-13T12:00:00-05:00', 'P1D', 'America/New_York')).toBe(
      '2021-03-14T12:00:00.000-04:00',
    );
    expect(addDuration('2021-03-13T12:00:00-05:00', 'PT24H', 'America/New_York')).toBe(
      '2021-03-14T13:00:00.000-04:00',
    );
  });
});

describe('deadlines', () => {
  it('reads a bare date as the end of that day in the zone', () => {
    expect(resolveDeadline('2020-06-30')).toBe('2020-06-30T23:59:59.999+08:00');
    expect(resolveDeadline('2020-06-30', 'UTC')).toBe('2020-06-30T23:59:59.999+00:00');
    expect(resolveDeadline('2020-04-30', 'America/New_York')).toBe('2020-04-30T23:59:59.999-04:00');
  });

  it('reads a local date-time in the zone and keeps an instant with offset', () => {
    expect(resolveDeadline('2020-06-30T18:00')).toBe('2020-06-30T18:00:00.000+08:00');
    expect(resolveDeadline('2020-06-30T10:00:00Z')).toBe('2020-06-30T18:00:00.000+08:00');
  });

  it.each(['2020-02-30', '2020-13-01', '30/06/2020', '2020-06-30T24:00', 'tomorrow'])('refuses %j', (text) => {
    expect(() => resolveDeadline(text)).toThrow(expect.objectContaining({ code: 'validation', rule: 'time.deadline' }));
  });

  // Observation 4 (issue 9): Date.parse rolled these into the next month.
  it.each(['2027-02-29T10:00:00+08:00', '2027-04-31T23:00:00Z', '2027-09-31T08:00:00+08:00', '2027-06-30T24:00:00Z'])(
    'refuses the impossible date-time with offset %j instead of rolling it over',
    (text) => {
      expect(() => resolveDeadline(text)).toThrow(expect.objectContaining({ code: 'validation', rule: 'time.deadline' }));
      expect(() => compareInstants(text, '2027-01-01T00:00:00Z')).toThrow(expect.objectContaining({ rule: 'time.instant' }));
    },
  );

  it('keeps a real leap day with offset', () => {
    expect(resolveDeadline('2028-02-29T10:00:00+08:00')).toBe('2028-02-29T10:00:00.000+08:00');
  });

  it('reads years 0 to 99 as written, not as 1900 to 1999', () => {
    expect(resolveDeadline('0050-06-30', 'UTC')).toBe('0050-06-30T23:59:59.999+00:00');
    expect(resolveDeadline('0099-12-31T10:00:00', 'UTC')).toBe('0099-12-31T10:00:00.000+00:00');
    expect(resolveDeadline('0004-02-29T10:00:00Z', 'UTC')).toBe('0004-02-29T10:00:00.000+00:00');
    expect(compareInstants('0099-12-31T00:00:00Z', '0100-01-01T00:00:00Z')).toBe(-86_400_000);
    expect(() => resolveDeadline('0003-02-29', 'UTC')).toThrow(expect.objectContaining({ rule: 'time.deadline' }));
  });

  it('refuses instants without offset and unknown zones', () => {
    expect(() => compareInstants('2020-06-30T10:00:00', '2020-06-30T10:00:00Z')).toThrow(
      expect.objectContaining({ rule: 'time.instant' }),
    );
    expect(() => resolveDeadline('2020-06-30', 'Mars/Olympus')).toThrow(expect.objectContaining({ rule: 'time.time_zone' }));
  });

  it('compares instants across offsets and tells the local date', () => {
    expect(compareInstants('2020-06-30T16:00:00Z', '2020-07-01T00:00:00+08:00')).toBe(0);
    expect(compareInstants('2020-06-30T15:59:59Z', '2020-07-01T00:00:00+08:00')).toBeLessThan(0);
    expect(dateIn('2020-06-30T16:30:00Z')).toBe('2020-07-01');
    expect(formatInstant(0, 'UTC')).toBe('1970-01-01T00:00:00.000+00:00');
  });
});
