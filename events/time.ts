import { invalid } from './errors.js';

/**
 * Pure calendar arithmetic for deadlines and policy windows. No clock is read here: every function takes
 * the instant it works on. Time zones are resolved with Intl, so results are deterministic for a given
 * tz database.
 */

export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

/** An ISO 8601 duration split into calendar parts (years..days) and exact parts (hours..seconds). */
export interface Duration {
  years: number;
  months: number;
  weeks: number;
  days: number;
  hours: number;
  minutes: number;
  seconds: number;
}

// Integers only for calendar parts; seconds may carry a fraction (PT0.5S). Fractions of larger units are
// refused rather than guessed, since "P1.5M" has no single meaning.
const durationPattern =
  /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d{1,3})?)S)?)?$/;

/** Parses an ISO 8601 duration such as `P3D`, `PT12H`, `P1DT2H30M`; returns undefined when malformed. */
export function tryParseDuration(text: string): Duration | undefined {
  const match = durationPattern.exec(text);
  if (!match || text === 'P' || text.endsWith('T')) return undefined;
  const [, y, mo, w, d, h, mi, s] = match;
  const num = (part: string | undefined) => (part === undefined ? 0 : Number(part));
  return {
    years: num(y),
    months: num(mo),
    weeks: num(w),
    days: num(d),
    hours: num(h),
    minutes: num(mi),
    seconds: num(s),
  };
}

// Policies use a handful of durations over and over: memoise their parse.
const durationCache = new Map<string, Duration>();

export function parseDuration(text: string): Duration {
  const cached = durationCache.get(text);
  if (cached) return cached;
  const duration = tryParseDuration(text);
  if (!duration) throw invalid('time.duration', `not an ISO 8601 duration: ${text}`, { value: text });
  if (durationCache.size < 1000) durationCache.set(text, Object.freeze(duration));
  return duration;
}

export const isZeroDuration = (d: Duration) =>
  d.years + d.months + d.weeks + d.days + d.hours + d.minutes + d.seconds === 0;

// Zones already found valid: creating an Intl.DateTimeFormat costs ~0.25 ms, and every stored ProblemFound
// carries a policy whose zone is checked again when the event is decoded (replay).
const validTimeZones = new Set<string>();
export function isValidTimeZone(timeZone: string): boolean {
  if (validTimeZones.has(timeZone)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    return false;
  }
  if (validTimeZones.size < 1000) validTimeZones.add(timeZone);
  return true;
}

// Memoised formatters: creating an Intl.DateTimeFormat is expensive and the set of zones is tiny.
const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    if (!isValidTimeZone(timeZone)) throw invalid('time.time_zone', `unknown time zone: ${timeZone}`);
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

interface WallClock {
  year: number;
  month: number; // 1..12
  day: number;
  hour: number;
  minute: number;
  second: number;
  millisecond: number;
}

/** The wall clock read as if it were UTC. Not Date.UTC, which takes years 0 to 99 for 1900 to 1999. */
function wallClockAsUtcMs(w: WallClock): number {
  const date = new Date(0);
  date.setUTCFullYear(w.year, w.month - 1, w.day);
  return date.setUTCHours(w.hour, w.minute, w.second, w.millisecond);
}

/** Offset of the zone from UTC at an instant, in minutes, read from Intl (slow: see the cached one below). */
function intlOffsetMinutes(epochMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(epochMs))) {
    if (part.type !== 'literal') parts[part.type] = Number(part.value);
  }
  const asUtc = wallClockAsUtcMs({
    year: parts.year ?? 0,
    month: parts.month ?? 1,
    day: parts.day ?? 1,
    hour: parts.hour ?? 0,
    minute: parts.minute ?? 0,
    second: parts.second ?? 0,
    millisecond: 0,
  });
  return Math.round((asUtc - (epochMs - (((epochMs % 1000) + 1000) % 1000))) / 60_000);
}

// Offsets memoised per zone and quarter hour (deterministic: the same tz data gives the same answer).
// A quarter is cached only when its start and end agree, so a transition inside it is always exact.
const QUARTER_MS = 15 * 60_000;
const offsetCache = new Map<string, number>();

/** Offset of the zone from UTC at an instant, in minutes (Asia/Shanghai: +480). */
export function offsetMinutesAt(epochMs: number, timeZone: string): number {
  const quarter = Math.floor(epochMs / QUARTER_MS);
  const key = `${timeZone}|${quarter}`;
  const cached = offsetCache.get(key);
  if (cached !== undefined) return cached;
  const atStart = intlOffsetMinutes(quarter * QUARTER_MS, timeZone);
  const atEnd = intlOffsetMinutes(quarter * QUARTER_MS + QUARTER_MS - 1, timeZone);
  if (atStart !== atEnd) return intlOffsetMinutes(epochMs, timeZone);
  if (offsetCache.size > 50_000) offsetCache.clear();
  offsetCache.set(key, atStart);
  return atStart;
}

function wallClockAt(epochMs: number, timeZone: string): WallClock {
  const local = new Date(epochMs + offsetMinutesAt(epochMs, timeZone) * 60_000);
  return {
    year: local.getUTCFullYear(),
    month: local.getUTCMonth() + 1,
    day: local.getUTCDate(),
    hour: local.getUTCHours(),
    minute: local.getUTCMinutes(),
    second: local.getUTCSeconds(),
    millisecond: local.getUTCMilliseconds(),
  };
}


/** The instant a wall-clock reading in a zone denotes (for a gap or overlap, the earlier offset wins). */
function epochOfWallClock(w: WallClock, timeZone: string): number {
  const asUtc = wallClockAsUtcMs(w);
  const first = asUtc - offsetMinutesAt(asUtc, timeZone) * 60_000;
  const second = asUtc - offsetMinutesAt(first, timeZone) * 60_000;
  return second;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Formats an instant as ISO 8601 with the zone's offset, e.g. `2020-06-30T23:59:59.999+08:00`. */
export function formatInstant(epochMs: number, timeZone: string = DEFAULT_TIME_ZONE): string {
  const offset = offsetMinutesAt(epochMs, timeZone);
  const w = wallClockAt(epochMs, timeZone);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  return (
    `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}` +
    `.${pad(w.millisecond, 3)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

const instantPattern =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;

/**
 * Epoch milliseconds of an ISO 8601 instant with an offset (or Z) whose date and time exist; undefined
 * otherwise. Date.parse alone rolls an impossible day over (`2027-02-29` becomes 1 March), so the written
 * fields are checked first.
 */
function epochOfInstant(instant: string): number | undefined {
  // A decider compares the same two instants (the command's moment, an import's deadline) row after row:
  // the last two answers are kept, which costs a stream of ever new instants (a replay) next to nothing.
  if (instant === recentInstants[0]) return recentEpochs[0];
  if (instant === recentInstants[1]) return recentEpochs[1];
  const match = instantPattern.exec(instant);
  if (!match || !isRealWallClock(wallClockOf(match.slice(1)))) return undefined;
  const ms = Date.parse(instant);
  if (Number.isNaN(ms)) return undefined;
  recentInstants[1] = recentInstants[0];
  recentEpochs[1] = recentEpochs[0];
  recentInstants[0] = instant;
  recentEpochs[0] = ms;
  return ms;
}
const recentInstants: [string, string] = ['', ''];
const recentEpochs: [number | undefined, number | undefined] = [undefined, undefined];

/** Milliseconds since the epoch of an ISO 8601 instant that carries an offset (or Z). */
export function toEpochMs(instant: string): number {
  const ms = epochOfInstant(instant);
  if (ms === undefined) throw invalid('time.instant', `not a real ISO 8601 time with offset: ${instant}`, { value: instant });
  return ms;
}

/** Negative when a is earlier than b, zero when the same instant, positive when later. */
export const compareInstants = (a: string, b: string) => toEpochMs(a) - toEpochMs(b);

/**
 * Adds (sign 1) or subtracts (sign -1) a duration. Calendar parts move the wall clock of `timeZone`
 * (so P1D is "same time tomorrow" there, month ends clamp: Jan 31 + P1M = Feb 28/29); exact parts are
 * added as elapsed time. Returns ISO 8601 with the zone's offset.
 */
export function addDuration(
  instant: string,
  duration: string | Duration,
  timeZone: string = DEFAULT_TIME_ZONE,
  sign: 1 | -1 = 1,
): string {
  const d = typeof duration === 'string' ? parseDuration(duration) : duration;
  const start = wallClockAt(toEpochMs(instant), timeZone);
  const totalMonths = start.year * 12 + (start.month - 1) + sign * (d.years * 12 + d.months);
  const year = Math.floor(totalMonths / 12);
  const month = totalMonths - year * 12 + 1;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const day = Math.min(start.day, daysInMonth);
  // Adding days through Date.UTC normalises month/year overflow.
  const shifted = new Date(Date.UTC(year, month - 1, day + sign * (d.weeks * 7 + d.days)));
  const calendarMs = epochOfWallClock(
    {
      ...start,
      year: shifted.getUTCFullYear(),
      month: shifted.getUTCMonth() + 1,
      day: shifted.getUTCDate(),
    },
    timeZone,
  );
  const exactMs = Math.round((d.hours * 3600 + d.minutes * 60 + d.seconds) * 1000);
  return formatInstant(calendarMs + sign * exactMs, timeZone);
}

export const subtractDuration = (instant: string, duration: string | Duration, timeZone?: string) =>
  addDuration(instant, duration, timeZone, -1);

const datePattern = /^(\d{4})-(\d{2})-(\d{2})$/;
const localDateTimePattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/** The wall clock written as year, month, day, hour, minute, second and fraction fields. */
function wallClockOf(parts: (string | undefined)[]): WallClock {
  const [y, mo, d, h, mi, s] = parts.map((p) => (p === undefined ? 0 : Number(p)));
  return {
    year: y ?? 0,
    month: mo ?? 0,
    day: d ?? 0,
    hour: h ?? 0,
    minute: mi ?? 0,
    second: s ?? 0,
    millisecond: Number(((parts[6] ?? '') + '000').slice(0, 3)),
  };
}

/** True when the calendar has that day (no 29 February 2027, no 31 April) and the time exists. */
function isRealWallClock(wall: WallClock): boolean {
  const check = new Date(0);
  check.setUTCFullYear(wall.year, wall.month - 1, wall.day); // Date.UTC would read year 50 as 1950
  return (
    check.getUTCFullYear() === wall.year &&
    check.getUTCMonth() + 1 === wall.month &&
    check.getUTCDate() === wall.day &&
    wall.hour <= 23 &&
    wall.minute <= 59 &&
    wall.second <= 59
  );
}

function checkedWallClock(parts: (string | undefined)[], text: string): WallClock {
  const wall = wallClockOf(parts);
  if (!isRealWallClock(wall)) throw invalid('time.deadline', `not a real date or time: ${text}`, { value: text });
  return wall;
}

/**
 * A deadline as written by a person: a bare date (`2020-06-30`) means the end of that day in the zone
 * (`2020-06-30T23:59:59.999+08:00`); a local date-time without offset is read in the zone; a date-time
 * with offset is kept as that instant. The result is ISO 8601 with the zone's offset.
 */
export function resolveDeadline(dateOrDateTime: string, timeZone: string = DEFAULT_TIME_ZONE): string {
  // An import resolves the same few deadlines (30 April, 30 June) for every row, twice: keep the answers.
  const key = `${timeZone}\n${dateOrDateTime}`;
  let resolved = resolvedDeadlines.get(key);
  if (resolved === undefined) {
    resolved = resolveDeadlineOnce(dateOrDateTime, timeZone);
    if (resolvedDeadlines.size >= 1000) resolvedDeadlines.clear();
    resolvedDeadlines.set(key, resolved);
  }
  return resolved;
}
const resolvedDeadlines = new Map<string, string>();

function resolveDeadlineOnce(dateOrDateTime: string, timeZone: string): string {
  const date = datePattern.exec(dateOrDateTime);
  if (date) {
    const wall = checkedWallClock(date.slice(1), dateOrDateTime);
    return formatInstant(
      epochOfWallClock({ ...wall, hour: 23, minute: 59, second: 59, millisecond: 999 }, timeZone),
      timeZone,
    );
  }
  const local = localDateTimePattern.exec(dateOrDateTime);
  if (local) {
    return formatInstant(epochOfWallClock(checkedWallClock(local.slice(1), dateOrDateTime), timeZone), timeZone);
  }
  const instant = instantPattern.exec(dateOrDateTime);
  if (instant) {
    checkedWallClock(instant.slice(1), dateOrDateTime);
    const ms = epochOfInstant(dateOrDateTime);
    if (ms !== undefined) return formatInstant(ms, timeZone);
  }
  throw invalid('time.deadline', `not a date or date-time: ${dateOrDateTime}`, { value: dateOrDateTime });
}

/**
 * When something happened, as written by a person (an imported 发现时间): a bare date means the start of
 * that day in the zone (it happened some time that day); otherwise as `resolveDeadline` reads it.
 */
export function resolveMoment(dateOrDateTime: string, timeZone: string = DEFAULT_TIME_ZONE): string {
  return resolveDeadline(datePattern.test(dateOrDateTime) ? `${dateOrDateTime}T00:00` : dateOrDateTime, timeZone);
}

/** The calendar date (YYYY-MM-DD) of an instant in a zone. */
export function dateIn(instant: string, timeZone: string = DEFAULT_TIME_ZONE): string {
  const w = wallClockAt(toEpochMs(instant), timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}`;
}
