import type { Recorded } from './recorded.js';
import { type ProblemUnits, unitsHoldingProblem } from '../../events/access.js';
import type { HouseholdEvent } from '../../events/household/events.js';
import type { ListingEvent } from '../../events/listing/events.js';
import type { ProblemEvent } from '../../events/problem/events.js';
import type { ReviewEvent } from '../../events/review/events.js';
import { toEpochMs } from '../../events/time.js';
import type { UnitEvent, UnitPopulationUpdated, UnitRegistered } from '../../events/unit/events.js';
import type { HierarchyView } from '../../events/unit/hierarchy.js';
import type {
  AnyRow,
  Collection,
  RollupCounts,
  RowOf,
  RowWrite,
  UnitRow,
} from '../ports/read-model.js';
import { collections } from '../ports/read-model.js';
import { ApplyError } from './apply-error.js';
import { evolveEscalationRow } from './escalation-board.js';
import { evolveHouseholdRow, householdContribution } from './household-ledger.js';
import { evolveListingRow, listingContribution } from './listing-board.js';
import { evolveProblemRow, overdueFrom, problemContribution } from './problem-ledger.js';
import { addCountsInPlace, countsDelta, isEmptyDelta, registerUnitRow } from './unit-rollup.js';

export type LedgerDomainEvent = ProblemEvent | HouseholdEvent | ListingEvent | UnitEvent | ReviewEvent;
export type LedgerEvent = Recorded<LedgerDomainEvent>;

/**
 * Every ledger's rows in memory, as of `position`. The projection runner keeps one for the live keyspace
 * (it is the store's only writer, so the copy stays exact), and inspections rebuild one as of a past point
 * from a snapshot.
 */
export interface LedgerState {
  rows: { [C in Collection]: Map<string, RowOf[C]> };
  /** Position of the last event accounted for, -1n for none. */
  position: bigint;
  /** recordedAt of that event as stored, null for none. */
  recordedAt: string | null;
}

/** The unit tree as the ledger holds it, for the rules in events/ that walk it. */
const unitTree = (units: ReadonlyMap<string, UnitRow>): HierarchyView => ({
  parentOf: (unitId) => units.get(unitId)?.parentId,
  levelOf: (unitId) => units.get(unitId)?.level,
});

/** Row changes, newest value per key: an open batch's, or those since the last snapshot (the runner keeps both). */
export type Dirty = Map<string, RowWrite>;

export function createLedgerState(): LedgerState {
  return {
    rows: { unit: new Map(), problem: new Map(), household: new Map(), listing: new Map(), escalation: new Map() },
    position: -1n,
    recordedAt: null,
  };
}

const problemTypes = new Set<string>([
  'ProblemFound', 'ProblemAcknowledged', 'MeasureAssigned', 'MeasureCompleted', 'RectificationSubmitted',
  'RectificationRejected', 'ProblemCleared', 'ProblemReopened', 'DeadlineExtended', 'ReminderIssued',
  'ProblemEscalated', 'WarningColourChanged',
]);
const householdTypes = new Set<string>([
  'HouseholdRegistered', 'HouseholdCategoryChanged', 'PlanMeasureAdded', 'PlanMeasureCompleted',
  'HouseholdAssessed', 'MonitoringFlagRaised', 'MonitoringFlagCleared',
]);
const listingTypes = new Set<string>(['TargetListed', 'TargetDelisted']);
const reviewTypes = new Set<string>(['MonthlyReviewCompiled', 'DailyReportCompiled']);

const isProblemEvent = (e: LedgerEvent): e is Recorded<ProblemEvent> => problemTypes.has(e.type);
const isHouseholdEvent = (e: LedgerEvent): e is Recorded<HouseholdEvent> => householdTypes.has(e.type);
const isListingEvent = (e: LedgerEvent): e is Recorded<ListingEvent> => listingTypes.has(e.type);

/** The id of the item a stream holds: `problem-P1` -> `P1`. */
function itemId(event: LedgerEvent, prefix: string): string {
  if (!event.streamId.startsWith(prefix)) throw new ApplyError(`${event.type} on unexpected stream ${event.streamId}`);
  return event.streamId.slice(prefix.length);
}

// Module-level, not closures made per event: applyEvent runs once for every event of a rebuild.
const noUnits = (): string[] => [];

function unitRowOf(rows: LedgerState['rows'], event: LedgerEvent, unitId: string): UnitRow {
  const unit = rows.unit.get(unitId);
  if (!unit) throw new ApplyError(`${event.type} refers to unknown unit ${unitId}`);
  return unit;
}

/** Units from the root down to `unitId` (its row's), for an item's first event. */
const ancestorsOf = (rows: LedgerState['rows'], event: LedgerEvent, unitId: string) => () => unitRowOf(rows, event, unitId).ancestors;

/** A unit's problems (events/access.ts): the units at or above the problem's target or responsible unit. */
const holdersOf = (rows: LedgerState['rows'], event: LedgerEvent, problem: ProblemUnits) => () => {
  unitRowOf(rows, event, problem.targetUnitId);
  unitRowOf(rows, event, problem.responsibleUnitId);
  return unitsHoldingProblem(unitTree(rows.unit), problem);
};

/**
 * Applies one event to every ledger it touches. All new rows are computed before any is stored, so an event
 * that cannot be applied (ApplyError) leaves the state exactly as it was; the caller parks it.
 */
export function applyEvent(state: LedgerState, event: LedgerEvent, dirty?: Dirty): void {
  const { rows } = state;
  const puts: RowWrite[] = [];
  let delta: Partial<RollupCounts> = {};
  let deltaAncestors: readonly string[] = [];

  if (event.type === 'UnitRegistered') {
    const e = event as Recorded<UnitRegistered>;
    if (rows.unit.has(e.data.unitId)) throw new ApplyError(`unit ${e.data.unitId} registered twice`);
    const parent = e.data.parentId === null ? undefined : rows.unit.get(e.data.parentId);
    const unit = registerUnitRow(e, parent);
    puts.push({ collection: 'unit', key: unit.unitId, row: unit, ancestors: unit.ancestors, isNew: true });
    if (parent) {
      const updated = { ...parent, children: [...parent.children, unit.unitId] };
      puts.push({ collection: 'unit', key: parent.unitId, row: updated, ancestors: parent.ancestors, isNew: false });
    }
  } else if (event.type === 'UnitPopulationUpdated') {
    const e = event as Recorded<UnitPopulationUpdated>;
    const unit = rows.unit.get(e.data.unitId);
    if (!unit) throw new ApplyError(`population of unknown unit ${e.data.unitId}`);
    puts.push({ collection: 'unit', key: unit.unitId, row: { ...unit, population: e.data.population }, ancestors: unit.ancestors, isNew: false });
  } else if (isProblemEvent(event)) {
    const id = event.type === 'ProblemFound' ? event.data.problemId : itemId(event, 'problem-');
    const before = rows.problem.get(id);
    const after = evolveProblemRow(before, event, event.type === 'ProblemFound' ? holdersOf(rows, event, event.data) : noUnits);
    const deadlineBefore = before ? overdueFrom(before) : null;
    const deadlineAfter = overdueFrom(after);
    puts.push({
      collection: 'problem',
      key: id,
      row: after,
      ancestors: after.ancestors,
      isNew: before === undefined,
      ...(before === undefined || deadlineBefore !== deadlineAfter
        ? { openDeadlineMs: deadlineAfter === null ? null : toEpochMs(deadlineAfter) }
        : {}),
    });
    const noticeBefore = rows.escalation.get(id) ?? null;
    const noticeAfter = evolveEscalationRow(noticeBefore, event, after);
    if (noticeAfter !== noticeBefore) {
      puts.push({ collection: 'escalation', key: id, row: noticeAfter, ancestors: after.ancestors, isNew: noticeBefore === null });
    }
    delta = countsDelta(problemContribution(before), problemContribution(after));
    deltaAncestors = after.ancestors;
  } else if (isHouseholdEvent(event)) {
    const id = event.type === 'HouseholdRegistered' ? event.data.householdId : itemId(event, 'household-');
    const before = rows.household.get(id);
    const after = evolveHouseholdRow(before, event, event.type === 'HouseholdRegistered' ? ancestorsOf(rows, event, event.data.villageId) : noUnits);
    puts.push({ collection: 'household', key: id, row: after, ancestors: after.ancestors, isNew: before === undefined });
    delta = countsDelta(householdContribution(before), householdContribution(after));
    deltaAncestors = after.ancestors;
  } else if (isListingEvent(event)) {
    const id = event.data.listingId;
    const before = rows.listing.get(id);
    const after = evolveListingRow(before, event, event.type === 'TargetListed' ? ancestorsOf(rows, event, event.data.targetUnitId) : noUnits);
    puts.push({ collection: 'listing', key: id, row: after, ancestors: after.ancestors, isNew: before === undefined });
    delta = countsDelta(listingContribution(before), listingContribution(after));
    deltaAncestors = after.ancestors;
  } else if (!reviewTypes.has(event.type)) {
    throw new ApplyError(`unknown event type ${event.type}`);
  }

  const rolledUp: UnitRow[] = [];
  if (!isEmptyDelta(delta)) {
    for (const unitId of deltaAncestors) {
      const unit = rows.unit.get(unitId);
      if (!unit) throw new ApplyError(`roll-up of unknown unit ${unitId}`);
      rolledUp.push(unit);
    }
  }

  // Nothing below throws: the event is applied whole or not at all.
  for (const put of puts) {
    const map = rows[put.collection] as Map<string, AnyRow>;
    if (put.row === null) map.delete(put.key);
    else map.set(put.key, put.row);
    if (dirty) remember(dirty, put);
  }
  // Roll-up counters are the state's own and change in place (there are few units and many events).
  for (const unit of rolledUp) {
    addCountsInPlace(unit.counts, delta);
    if (dirty) remember(dirty, { collection: 'unit', key: unit.unitId, row: unit, ancestors: unit.ancestors, isNew: false });
  }
  state.position = event.position;
  state.recordedAt = event.metadata.recordedAt;
}

/**
 * Keeps the newest write per key for the next commit. A key first stored in this batch stays "new", and a
 * deadline change earlier in the batch is kept when a later write left the deadline alone.
 */
function remember(dirty: Dirty, put: RowWrite): void {
  rememberAt(dirty, `${put.collection}/${put.key}`, put);
}

function rememberAt(dirty: Dirty, key: string, put: RowWrite): void {
  const previous = dirty.get(key);
  if (!previous) {
    dirty.set(key, put);
    return;
  }
  // The dirty map owns its writes (each put is made afresh by applyEvent), so the newest is merged in place.
  previous.row = put.row;
  previous.isNew = put.isNew !== false || previous.isNew !== false;
  if (put.openDeadlineMs !== undefined) previous.openDeadlineMs = put.openDeadlineMs;
}

/** Moves the later writes of `newer` into `older`, as if they had been remembered there; `newer` is spent. */
export function mergeDirty(older: Dirty, newer: Dirty): void {
  for (const [key, put] of newer) rememberAt(older, key, put);
}

/** Marks an event as accounted for without changing any row (a parked poison event). */
export function skipEvent(state: LedgerState, event: { position: bigint; recordedAt?: string }): void {
  state.position = event.position;
  if (event.recordedAt) state.recordedAt = event.recordedAt;
}

/** recordedAt as UTC ISO, the form snapshots are looked up by. */
export const recordedAtUtc = (state: LedgerState) =>
  state.recordedAt === null ? null : new Date(toEpochMs(state.recordedAt)).toISOString();

/** The write that stores a row as it stands (used when loading and comparing). */
export function rowWrite(collection: Collection, key: string, row: AnyRow): RowWrite {
  const write: RowWrite = { collection, key, row, ancestors: row.ancestors };
  if (collection === 'problem') {
    const p = row as RowOf['problem'];
    const from = overdueFrom(p);
    write.openDeadlineMs = from === null ? null : toEpochMs(from);
  }
  return write;
}

interface SerializedStateV1 {
  v: 1;
  position: string;
  recordedAt: string | null;
  rows: { [C in Collection]: [string, RowOf[C]][] };
}

/** Rows of one part of a v2 snapshot: every unit, or the rows beneath one unit just below the root. */
type SnapshotPart = { [C in Collection]?: [string, RowOf[C]][] };
interface SnapshotHeader {
  /**
   * 2: each part one JSON document; 3: each part one line per row,
   * `collection TAB key-as-JSON TAB open deadline as stored (problems; empty for none) TAB row-as-JSON`;
   * 4: a delta, v3's lines for every unit and for the other rows changed since the snapshot at `base`
   * (a row deleted since: its line with nothing after the last TAB).
   */
  v: 2 | 3 | 4;
  /** v4: the position of the snapshot this one is applied over. */
  base?: string;
  position: string;
  recordedAt: string | null;
  /** Part name -> [byte offset after the header line, byte length]. */
  parts: Record<string, [number, number]>;
}
const UNITS_PART = 'units';
const partOf = (branch: string) => `branch:${branch}`;

/** The unit just below the root that a unit lies beneath ('' for the root itself). */
const branchOfUnit = (unit: UnitRow) => unit.ancestors[1] ?? '';

/**
 * A row as its snapshot stored it, not parsed yet: where its JSON lies in the bytes read, decoded from UTF-8
 * only when the row is asked for (a county's part is megabytes of Chinese text, and decoding all of it cost an
 * inspection more than parsing the few rows it reads).
 */
class RowText {
  constructor(
    readonly bytes: Buffer,
    readonly start: number,
    readonly end: number,
    /** A problem's open deadline as its row holds it (`overdueFrom`), null for none: read without parsing the row. */
    readonly deadline: string | null,
  ) {}
}

/**
 * The rows of a part read from a snapshot, each parsed the first time it is asked for: an inspection of one
 * county touches a few of the rows it loads (the items of the events after the snapshot, and the ones a
 * query reads), so the others stay text. A Map like any other to its readers; iterating parses every row.
 */
class SnapshotRows<V> extends Map<string, V> {
  /** Stores a row as its JSON's place in `bytes`, to be parsed on first use. */
  putText(key: string, bytes: Buffer, start: number, end: number, deadline: string | null): void {
    super.set(key, new RowText(bytes, start, end, deadline) as V);
  }
  /** Each row's key and its value, or its open deadline when it is still text. */
  *peek(): Generator<[string, V | RowText]> {
    yield* super.entries() as Iterable<[string, V | RowText]>;
  }
  override get(key: string): V | undefined {
    const value = super.get(key);
    if (!(value instanceof RowText)) return value;
    const row = JSON.parse(value.bytes.toString('utf8', value.start, value.end)) as V;
    super.set(key, row);
    return row;
  }
  override *values(): MapIterator<V> {
    for (const key of super.keys()) yield this.get(key)!;
  }
  override *entries(): MapIterator<[string, V]> {
    for (const key of super.keys()) yield [key, this.get(key)!];
  }
  override [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }
  override forEach(callback: (value: V, key: string, map: Map<string, V>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.entries()) callback.call(thisArg, value, key, this);
  }
}

/** A state whose non-unit rows are parsed on first use (units are changed in place, so they are parsed at once). */
function snapshotState(): LedgerState & { branch?: string } {
  const state: LedgerState & { branch?: string } = createLedgerState();
  for (const c of collections) if (c !== 'unit') (state.rows as Record<Collection, Map<string, AnyRow>>)[c] = new SnapshotRows<AnyRow>();
  return state;
}

/**
 * A snapshot is a header line and then one part per branch of the tree (each unit just below the root, a
 * county, with every row beneath it), plus one part of all units, so an inspection of one county reads the
 * unit tree and that county's part only. A row beneath two branches (a problem found in one county and
 * handed to another) is in both. Each part is one line per row, so a reader can keep rows as text until
 * it needs them; each row is serialised once however many parts hold it.
 */
export function serializeState(state: LedgerState): Buffer {
  return createSnapshotWriter().write(state);
}

/** Where a row's line lies in the previous snapshot's bytes, and the collection and key it was written under. */
interface Span {
  start: number;
  end: number;
  collection: Collection;
  key: string;
}

/** A row changed since the previous snapshot: its current value is read from the state when the delta is written. */
export interface ChangedRow {
  collection: Collection;
  key: string;
  /** Where a row deleted since lay (a row's ancestors never change). */
  ancestors: readonly string[];
}

export interface SnapshotWriter {
  /** The snapshot of the state as it stands. */
  write(state: LedgerState): Buffer;
  /**
   * A delta over the snapshot at `base`: every unit and the rows changed since (`changed`, units left out),
   * a few per cent of a full snapshot's bytes, so snapshots can lie close together and an inspection
   * replays few events after the one it starts from.
   */
  writeDelta(state: LedgerState, changed: Iterable<ChangedRow>, base: bigint): Buffer;
  /** A row's JSON (not a unit's): the one a delta or a commit wrote already, or written now and kept for the next. */
  textOf(row: AnyRow): string;
}

/**
 * `serializeState` for a state that moves on between snapshots (the projection runner's): the same bytes,
 * but the line of a row the previous snapshot already wrote is copied from its bytes, and a row whose JSON
 * a delta or a commit wrote since is taken (`textOf`), instead of writing either again. Rows are replaced, never
 * changed in place, when an event touches them (the evolve functions make a new row), so the same row object
 * under the same key has the same line; units are the exception (their counters change in place) and are
 * always written afresh. Holds the previous snapshot's bytes until the next one.
 */
export function createSnapshotWriter(): SnapshotWriter {
  let previous: { bytes: Buffer; spans: WeakMap<object, Span> } | null = null;
  let texts = new WeakMap<object, string>();
  const textOf = (row: AnyRow) => {
    let text = texts.get(row);
    if (text === undefined) texts.set(row, (text = JSON.stringify(row)));
    return text;
  };
  return {
    textOf,
    writeDelta(state, changed, base) {
      const branches = branchesOf(state);
      // Each part's lines and their byte length, then all of them written into one buffer: no part, and no
      // delta, is ever joined into one string first (a megabyte string or two per delta, each only given back
      // by a mark-compact).
      const parts = new Map<string, string[]>([[UNITS_PART, []]]);
      const lengths = new Map<string, number>([[UNITS_PART, 0]]);
      const add = (name: string, line: string, length: number) => {
        let lines = parts.get(name);
        if (!lines) {
          parts.set(name, (lines = []));
          lengths.set(name, 0);
        }
        lines.push(line);
        lengths.set(name, lengths.get(name)! + length);
      };
      for (const [key, unit] of state.rows.unit) {
        const line = `unit\t${JSON.stringify(key)}\t\t${JSON.stringify(unit)}\n`;
        add(UNITS_PART, line, Buffer.byteLength(line));
      }
      for (const { collection: c, key, ancestors } of changed) {
        if (c === 'unit') continue;
        const row = (state.rows[c] as Map<string, AnyRow>).get(key);
        const from = c === 'problem' && row ? overdueFrom(row as RowOf['problem']) : null;
        const line = `${c}\t${JSON.stringify(key)}\t${from ?? ''}\t${row ? textOf(row) : ''}\n`;
        const length = Buffer.byteLength(line);
        let placed = false;
        for (const a of row?.ancestors ?? ancestors) {
          if (!branches.has(a)) continue;
          placed = true;
          add(partOf(a), line, length);
        }
        if (!placed) add(partOf(''), line, length);
      }
      const header: SnapshotHeader = { v: 4, base: base.toString(), position: state.position.toString(), recordedAt: state.recordedAt, parts: {} };
      const { out, headLength } = snapshotBuffer(header, lengths);
      let at = headLength;
      for (const lines of parts.values()) for (const line of lines) at += out.write(line, at);
      return out;
    },
    write(state) {
      const old = previous;
      const branches = branchesOf(state);
      // A part is its lines in order, each as its text to encode, or as the span of the previous snapshot's
      // bytes that holds it, and the row it was written from (units: always text).
      const parts = new Map<string, (string | Span | AnyRow)[]>([[UNITS_PART, []]]);
      const lengths = new Map<string, number>([[UNITS_PART, 0]]);
      const add = (name: string, line: string | Span, row: AnyRow, key: string, length: number) => {
        let pieces = parts.get(name);
        if (!pieces) {
          parts.set(name, (pieces = []));
          lengths.set(name, 0);
        }
        pieces.push(line, row, key);
        lengths.set(name, lengths.get(name)! + length);
      };
      for (const c of collections) {
        for (const [key, row] of state.rows[c] as Map<string, AnyRow>) {
          const span = c === 'unit' ? undefined : old?.spans.get(row);
          let line: string | Span;
          let length: number;
          if (span !== undefined && span.collection === c && span.key === key) {
            line = span;
            length = span.end - span.start;
          } else {
            const from = c === 'problem' ? overdueFrom(row as RowOf['problem']) : null;
            // The deadline is an ISO time (no tab or newline); it is turned into a moment only when read.
            line = `${c}\t${JSON.stringify(key)}\t${from ?? ''}\t${(c === 'unit' ? undefined : texts.get(row)) ?? JSON.stringify(row)}\n`;
            length = Buffer.byteLength(line);
          }
          if (c === 'unit') {
            add(UNITS_PART, line, row, key, length);
            continue;
          }
          let placed = false;
          for (const a of row.ancestors) {
            if (!branches.has(a)) continue;
            placed = true;
            add(partOf(a), line, row, key, length);
          }
          if (!placed) add(partOf(''), line, row, key, length);
        }
      }
      const header: SnapshotHeader = { v: 3, position: state.position.toString(), recordedAt: state.recordedAt, parts: {} };
      const { out, headLength } = snapshotBuffer(header, lengths);
      const spans = new WeakMap<object, Span>();
      let at = headLength;
      // Lines that lay one after another in the previous snapshot are copied in one go.
      let copyFrom = 0;
      let copyTo = 0;
      const copy = () => {
        if (copyTo > copyFrom) at += old!.bytes.copy(out, at, copyFrom, copyTo);
        copyFrom = copyTo = 0;
      };
      for (const [name, pieces] of parts) {
        for (let i = 0; i < pieces.length; i += 3) {
          const line = pieces[i] as string | Span;
          const row = pieces[i + 1] as AnyRow;
          const start = at + (copyTo - copyFrom);
          let end: number;
          if (typeof line === 'string') {
            copy();
            at += out.write(line, at);
            end = at;
          } else {
            if (line.start !== copyTo) {
              copy();
              copyFrom = line.start;
            }
            copyTo = line.end;
            end = start + (line.end - line.start);
          }
          if (name !== UNITS_PART && !spans.has(row)) {
            // Only units are in the units part, and every other row is in one branch's part at least.
            spans.set(row, { start, end, collection: typeof line === 'string' ? collectionOf(line) : line.collection, key: pieces[i + 2] as string });
          }
        }
        copy();
        parts.set(name, []);
      }
      previous = { bytes: out, spans };
      texts = new WeakMap();
      return out;
    },
  };
}

/** The units just below the root: each has its part of a snapshot. */
function branchesOf(state: LedgerState): Set<string> {
  const branches = new Set<string>();
  for (const unit of state.rows.unit.values()) if (unit.ancestors.length === 2) branches.add(unit.unitId);
  return branches;
}

/** The collection a snapshot line was written for. */
const collectionOf = (line: string) => line.slice(0, line.indexOf('\t')) as Collection;

/**
 * The state a snapshot was taken of; with `unitId`, only what an inspection of that unit's subtree needs:
 * every unit, and the rows of the branch it lies in (the whole state for the root, or a unit the snapshot
 * does not know). Rows and roll-ups are then exact for that subtree only (see `branchOf`).
 */
export function deserializeState(buffer: Buffer, unitId?: string): LedgerState & { branch?: string } {
  const newline = buffer.indexOf(10);
  if (newline < 0) return deserializeV1(buffer, createLedgerState());
  const state = snapshotState();
  const header = snapshotHeader(buffer.subarray(0, newline));
  if (header.base !== undefined) throw new Error('a delta snapshot is read over the snapshots beneath it (readSnapshotState)');
  const body = newline + 1;
  const part = (name: string) => {
    const range = header.parts[name];
    return range && buffer.subarray(body + range[0], body + range[0] + range[1]);
  };
  const units = part(UNITS_PART);
  if (units) loadPart(state, header, units);
  const branch = branchOf(state, unitId);
  if (branch !== '') {
    const rows = part(partOf(branch));
    if (rows) loadPart(state, header, rows);
    state.branch = branch;
  } else {
    for (const name of Object.keys(header.parts)) if (name !== UNITS_PART) loadPart(state, header, part(name)!);
  }
  state.position = BigInt(header.position);
  state.recordedAt = header.recordedAt;
  return state;
}

/** Reading bytes `start` to `end` (exclusive; default: to the end) of a stored snapshot. */
export type SnapshotRead = (start: number, end?: number) => Promise<Buffer>;

/** A delta snapshot whose base is not stored (its save failed): an inspection starts from an older snapshot. */
export class SnapshotChainBroken extends Error {}

/**
 * A snapshot's buffer: the header line, with each part's byte range set in `lengths` order (the order the
 * parts are then written in), and room for the parts after it.
 */
function snapshotBuffer(header: SnapshotHeader, lengths: ReadonlyMap<string, number>): { out: Buffer; headLength: number } {
  let offset = 0;
  for (const [name, length] of lengths) {
    header.parts[name] = [offset, length];
    offset += length;
  }
  const head = `${JSON.stringify(header)}\n`;
  const headLength = Buffer.byteLength(head);
  const out = Buffer.allocUnsafe(headLength + offset);
  out.write(head, 0);
  return { out, headLength };
}

/** A snapshot's header and its parts, read on demand; or, for a v1 snapshot, the whole of it. */
async function openSnapshot(read: SnapshotRead): Promise<{ header: SnapshotHeader; part: (name: string) => Promise<Buffer | undefined> } | Buffer> {
  let asked = 64 * 1024;
  let head = await read(0, asked);
  let newline = head.indexOf(10);
  while (newline < 0 && head.length >= asked) {
    asked *= 4;
    head = await read(0, asked);
    newline = head.indexOf(10);
  }
  // No header line: a v1 snapshot, one JSON document, and all of it was read.
  if (newline < 0) return head;
  const header = snapshotHeader(head.subarray(0, newline));
  const body = newline + 1;
  const part = async (name: string) => {
    const range = header.parts[name];
    if (!range) return undefined;
    const [from, length] = range;
    // The header's read often holds the part already (a delta is small).
    return body + from + length <= head.length ? head.subarray(body + from, body + from + length) : read(body + from, body + from + length);
  };
  return { header, part };
}

/**
 * `deserializeState` on a snapshot left in its store: reads the header, then only the parts it needs (for one
 * county, the units and that county's rows), instead of fetching every county's rows to parse two parts. A
 * delta is read over the snapshots beneath it, down to a full one, each found by `baseOf` (its position);
 * when one is missing, SnapshotChainBroken.
 */
export async function readSnapshotState(
  read: SnapshotRead,
  unitId?: string,
  baseOf?: (position: bigint) => Promise<SnapshotRead | undefined>,
): Promise<LedgerState & { branch?: string }> {
  const newest = await openSnapshot(read);
  if (Buffer.isBuffer(newest)) return deserializeState(newest, unitId);
  // Oldest first: the full snapshot, then each delta over it.
  const chain = [newest];
  for (let base = newest.header.base; base !== undefined; base = chain[0]!.header.base) {
    const baseRead = baseOf && (await baseOf(BigInt(base)));
    const opened = baseRead && (await openSnapshot(baseRead));
    if (!opened || Buffer.isBuffer(opened) || opened.header.position !== base) {
      throw new SnapshotChainBroken(`snapshot ${newest.header.position} lies over snapshot ${base}, which is not stored`);
    }
    chain.unshift(opened);
  }
  const state = snapshotState();
  // The newest holds every unit as it stood (units are in every delta).
  const units = await newest.part(UNITS_PART);
  if (units) loadPart(state, newest.header, units);
  const branch = branchOf(state, unitId);
  for (const { header, part } of chain) {
    if (branch !== '') {
      const rows = await part(partOf(branch));
      if (rows) loadPart(state, header, rows);
    } else {
      for (const name of Object.keys(header.parts)) if (name !== UNITS_PART) loadPart(state, header, (await part(name))!);
    }
  }
  if (branch !== '') state.branch = branch;
  state.position = BigInt(newest.header.position);
  state.recordedAt = newest.header.recordedAt;
  return state;
}

function snapshotHeader(line: Buffer): SnapshotHeader {
  const header = JSON.parse(line.toString('utf8')) as SnapshotHeader;
  if (header.v !== 2 && header.v !== 3 && header.v !== 4) throw new Error(`unknown snapshot version ${String(header.v)}`);
  return header;
}

function loadPart(state: LedgerState, header: SnapshotHeader, bytes: Buffer): void {
  if (header.v !== 2) return loadLines(state, bytes, header.v === 4);
  const part = JSON.parse(bytes.toString('utf8')) as SnapshotPart;
  for (const c of collections) {
    const map = state.rows[c] as Map<string, AnyRow>;
    for (const [k, row] of (part[c] ?? []) as [string, AnyRow][]) map.set(k, row);
  }
}

/**
 * A v3 or v4 part: units are parsed, other rows kept as bytes until first asked for; a delta's empty row
 * deletes. Read from the bytes, not a string: tabs and newlines are bytes no UTF-8 sequence holds, the
 * collection, a plain key and a deadline are ASCII, and only a row asked for is decoded.
 */
function loadLines(state: LedgerState, bytes: Buffer, delta: boolean): void {
  const rows = state.rows as Record<Collection, Map<string, AnyRow>>;
  const length = bytes.length;
  let start = 0;
  while (start < length) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = length;
    const tab1 = bytes.indexOf(9, start);
    const tab2 = tab1 < 0 ? -1 : bytes.indexOf(9, tab1 + 1);
    const tab3 = tab2 < 0 ? -1 : bytes.indexOf(9, tab2 + 1);
    if (tab1 < 0 || tab2 < 0 || tab3 < 0 || tab3 > end) throw new Error('malformed snapshot row');
    const c = bytes.toString('latin1', start, tab1) as Collection;
    const key = keyAt(bytes, tab1 + 1, tab2);
    const map = rows[c];
    if (!map) throw new Error(`unknown snapshot collection ${c}`);
    if (delta && tab3 + 1 === end) map.delete(key);
    else if (map instanceof SnapshotRows) map.putText(key, bytes, tab3 + 1, end, tab3 === tab2 + 1 ? null : bytes.toString('latin1', tab2 + 1, tab3));
    else map.set(key, JSON.parse(bytes.toString('utf8', tab3 + 1, end)) as AnyRow);
    start = end + 1;
  }
}

/** A key written as JSON between `start` and `end`: ids are plain ASCII and need no JSON.parse; anything else gets one. */
function keyAt(bytes: Buffer, start: number, end: number): string {
  for (let i = start + 1; i < end - 1; i++) {
    const b = bytes[i]!;
    if (b === 92 || b >= 128) return JSON.parse(bytes.toString('utf8', start, end)) as string;
  }
  return bytes.toString('latin1', start + 1, end - 1);
}

/**
 * Open problems whose deadline is before `epochMs`, counted for every unit above each (its ancestors): one
 * pass answers a roll-up's unit and all its children. A problem still held as snapshot text is parsed only
 * when its deadline (stored beside it) is before `epochMs`, to look at its units. The deadlines are instants
 * the deciders validated, so Date.parse reads them as toEpochMs would, without checking them again.
 */
export function openDeadlinesBeforeByUnit(problems: ReadonlyMap<string, RowOf['problem']>, epochMs: number): Map<string, number> {
  const byUnit = new Map<string, number>();
  const count = (p: RowOf['problem']) => {
    for (const a of p.ancestors) byUnit.set(a, (byUnit.get(a) ?? 0) + 1);
  };
  if (!(problems instanceof SnapshotRows)) {
    for (const p of problems.values()) {
      const from = overdueFrom(p);
      if (from !== null && Date.parse(from) < epochMs) count(p);
    }
    return byUnit;
  }
  const rows = problems as SnapshotRows<RowOf['problem']>;
  for (const [key, value] of rows.peek()) {
    const from = value instanceof RowText ? value.deadline : overdueFrom(value);
    if (from !== null && Date.parse(from) < epochMs) count(value instanceof RowText ? rows.get(key)! : value);
  }
  return byUnit;
}

/** The branch an inspection of `unitId` reads ('' for all: the root, no unit, or a unit the snapshot does not know). */
function branchOf(state: LedgerState, unitId: string | undefined): string {
  const unit = unitId === undefined ? undefined : state.rows.unit.get(unitId);
  return unit ? branchOfUnit(unit) : '';
}

function deserializeV1(buffer: Buffer, state: LedgerState): LedgerState {
  const doc = JSON.parse(buffer.toString('utf8')) as SerializedStateV1;
  if (doc.v !== 1) throw new Error(`unknown snapshot version ${String(doc.v)}`);
  for (const c of collections) {
    const map = state.rows[c] as Map<string, AnyRow>;
    for (const [k, row] of doc.rows[c] as [string, AnyRow][]) map.set(k, row);
  }
  state.position = BigInt(doc.position);
  state.recordedAt = doc.recordedAt;
  return state;
}

/**
 * Does an event (as stored, before decoding) touch the rows of `branch`? Unit events always do (every unit is
 * kept); an item's later events do when its row is kept; its first event is decoded and looked at by the
 * caller ('first'). Review events touch no row.
 */
export function touchesBranch(state: LedgerState, raw: { streamId: string; type: string }): boolean | 'first' {
  const { streamId, type } = raw;
  if (type === 'ProblemFound' || type === 'HouseholdRegistered' || type === 'TargetListed') return 'first';
  if (streamId.startsWith('problem-')) return state.rows.problem.has(streamId.slice('problem-'.length));
  if (streamId.startsWith('household-')) return state.rows.household.has(streamId.slice('household-'.length));
  if (streamId.startsWith('listing-')) return state.rows.listing.has(streamId.slice('listing-'.length));
  return !reviewTypes.has(type);
}

/** Is a first event (decoded) of an item beneath `branch`? */
export function firstInBranch(state: LedgerState, event: LedgerEvent, branch: string): boolean {
  const beneath = (unitId: string) => state.rows.unit.get(unitId)?.ancestors.includes(branch) ?? true;
  switch (event.type) {
    case 'ProblemFound':
      return beneath(event.data.targetUnitId) || beneath(event.data.responsibleUnitId);
    case 'HouseholdRegistered':
      return beneath(event.data.villageId);
    case 'TargetListed':
      return beneath(event.data.targetUnitId);
    default:
      return true;
  }
}
