import type { Assessment as HouseholdAssessment } from '../../events/household/decider.js';
import type { EscalationStage, WarningColour } from '../../events/problem/events.js';
import type { ClearanceFlag } from '../../events/unit/clearance.js';
import type { UnitLevel } from '../../events/unit/hierarchy.js';
import type { Lateness } from '../../events/problem/lateness.js';

/**
 * The read-model port: where the ledgers (台账) live between events, and what the HTTP layer asks of them.
 *
 * Stores are deliberately dumb: they keep JSON rows by collection and key, index every row under each
 * unit above it (so "everything beneath unit X" is one ordered range), index open problems by deadline
 * (so "overdue as of T" is a count, never a stale stored flag), and commit a batch of row changes together
 * with the projection checkpoint in one atomic write. All ledger logic lives in services/ledgers.
 *
 * A store holds several keyspaces (numbered generations). Readers always read the active one; a rebuild
 * fills a fresh keyspace and activates it in one step, so reads never see a half-built ledger.
 */

export const collections = ['unit', 'problem', 'household', 'listing', 'escalation'] as const;
export type Collection = (typeof collections)[number];

export type Colour = WarningColour;

/** Counters of a unit's whole subtree (the unit itself and everything beneath it). */
export interface RollupCounts {
  problemsOpen: number;
  problemsCleared: number;
  householdsTotal: number;
  householdsMeetingStandard: number;
  householdsMonitored: number;
  problemMeasuresTotal: number;
  problemMeasuresCompleted: number;
  planMeasuresTotal: number;
  planMeasuresCompleted: number;
  listingsActive: number;
}

export interface UnitRow {
  unitId: string;
  name: string;
  level: UnitLevel;
  parentId: string | null;
  /** From the root down to this unit, inclusive. */
  ancestors: string[];
  children: string[];
  counts: RollupCounts;
  /** The population the unit is registered or updated with (UnitPopulationUpdated); absent until then. */
  population?: number;
}

export interface ProblemRow {
  problemId: string;
  /** The unit where the problem was found (its target). */
  unitId: string;
  responsibleUnitId: string;
  /** Every unit at or above the target or the responsible unit, once: subtree queries and roll-ups go by these. */
  ancestors: string[];
  category: string;
  source: string;
  severity: string;
  description: string;
  /** ISO time of the current deadline (end of day already applied). */
  deadline: string;
  /** The policy's time zone, in which lateness counts days (rows written before it was kept: the default). */
  timeZone?: string;
  /** When the rectification awaiting verification was submitted: the responsible unit's clock stops there. */
  submittedAt?: string | null;
  /** As the problem stream knows it: open, acknowledged, submitted, cleared. */
  status: string;
  acknowledged: boolean;
  open: boolean;
  colour: Colour;
  escalationLevel: number;
  measuresTotal: number;
  measuresDone: number;
  /** measureId -> completed. */
  measures: Record<string, boolean>;
  foundAt: string;
  clearedAt: string | null;
  reopenCount: number;
  /** Deadlines this item already missed before a reopen or extension; the old lateness stays on record. */
  missedDeadlines: string[];
  lastEventAt: string;
}

/** The latest HouseholdAssessed, with when it was made. */
export type Assessment = HouseholdAssessment & { assessedAt: string };

export interface HouseholdRow {
  householdId: string;
  villageId: string;
  ancestors: string[];
  category: string;
  members: number;
  planTotal: number;
  planDone: number;
  /** measureId -> completed. */
  plan: Record<string, boolean>;
  assessment: Assessment | null;
  meetsStandard: boolean;
  monitored: boolean;
  monitoringReason: string | null;
  lastEventAt: string;
}

export interface ListingRow {
  listingId: string;
  targetUnitId: string;
  supervisingUnitId: string;
  ancestors: string[];
  leader: string;
  reason: string;
  metrics: Record<string, unknown>;
  active: boolean;
  listedAt: string;
  delistedAt: string | null;
  verifiedBy: string | null;
}

/** One active escalation notice (督办单): the latest escalation of a problem that is still open. */
export interface EscalationRow {
  problemId: string;
  unitId: string;
  responsibleUnitId: string;
  ancestors: string[];
  level: number;
  toUnitId: string;
  colour: Colour;
  reason: string;
  escalatedAt: string;
  deadline: string;
  /** Whose wait it is about (absent in rows stored before verification had a clock: rectification). */
  stage?: EscalationStage;
  /**
   * A verification notice only: the responsible unit's escalation it stands over, the notice again once the
   * verification ends in a rejection (the responsible unit's clock runs again, at the level it had reached).
   */
  rectification?: Pick<EscalationRow, 'level' | 'toUnitId' | 'colour' | 'reason' | 'escalatedAt'>;
}

export interface RowOf {
  unit: UnitRow;
  problem: ProblemRow;
  household: HouseholdRow;
  listing: ListingRow;
  escalation: EscalationRow;
}
export type AnyRow = RowOf[Collection];

/** One row change. `row: null` deletes. `ancestors` never change for a key (units do not move). */
export interface RowWrite<C extends Collection = Collection> {
  collection: C;
  key: string;
  row: RowOf[C] | null;
  ancestors: readonly string[];
  /**
   * Problems only: the deadline (epoch ms) while the problem is open, null when it is not open; absent when
   * it did not change, so the deadline index is left alone.
   */
  openDeadlineMs?: number | null;
  /**
   * `row` as JSON, when the writer already wrote it so (stores write `JSON.stringify(row)` without it). A
   * write without it holds a row its writer never changes afterwards, so a store may write it when it sends it.
   */
  doc?: string;
  /**
   * false when the key is already stored in this keyspace, so its subtree index entries exist and need no
   * rewrite (the ancestors of a key never change). Absent means "index it".
   */
  isNew?: boolean;
}

/** An event the projection could not decode or apply, kept with the reason instead of being skipped silently. */
export interface ParkedEvent {
  position: string;
  streamId: string;
  revision: number;
  type: string;
  eventId: string | null;
  reason: string;
  parkedAt: string;
}

export interface CommitBatch {
  writes: readonly RowWrite[];
  parked: readonly ParkedEvent[];
  /** Position of the last event this batch accounts for; stored in the same atomic write as the rows. */
  checkpoint: bigint;
  /**
   * The checkpoint the writer last read or committed (-1n: none). A store that can lose its data behind the
   * writer's back (Redis restarted empty) refuses the commit, writing nothing, when its checkpoint differs:
   * the batch holds only changed rows and would make a half-empty keyspace look up to date.
   */
  previous?: bigint;
}

export interface Snapshot {
  position: bigint;
  /** recordedAt of the event at `position`. */
  recordedAt: string;
  /** Serialized projection state (see services/ledgers/state.ts). */
  state: Buffer;
}

export interface SubtreePage {
  /** Exclusive lower bound on the key (keyset paging in key order). */
  afterKey?: string;
  limit: number;
}

/** Reading one keyspace. The memory view used for inspections implements this too. */
export interface ReadModelReader {
  get<C extends Collection>(collection: C, key: string): Promise<RowOf[C] | undefined>;
  getMany<C extends Collection>(collection: C, keys: readonly string[]): Promise<(RowOf[C] | undefined)[]>;
  /** Rows indexed under `unitId` (the unit and its whole subtree), in ascending key order. */
  listSubtree<C extends Collection>(collection: C, unitId: string, page: SubtreePage): Promise<RowOf[C][]>;
  /** Open problems in the subtree of `unitId` whose deadline is strictly before `epochMs`. */
  countOpenDeadlinesBefore(unitId: string, epochMs: number): Promise<number>;
  /** Position of the last applied event, -1n when none. */
  checkpoint(): Promise<bigint>;
}

/** Writing one keyspace (the projection runner is its only writer). */
export interface KeyspaceWriter extends ReadModelReader {
  readonly id: number;
  /**
   * Stores the batch's rows and checkpoint atomically. The runner goes on changing its rows once this
   * returns its promise, so a store reads the whole batch before it first yields (but see `RowWrite.doc`).
   */
  commit(batch: CommitBatch): Promise<void>;
  /** Every row, for warming the runner's state after a restart. */
  scanAll(): AsyncIterable<RowWrite>;
  parked(): Promise<ParkedEvent[]>;
  /**
   * An operator's decision to leave a parked event out of the ledgers: its record goes, the rows stay as they
   * are. False when nothing is parked at that position. (To apply it after a fix, rebuild.)
   */
  dismissParked(position: string): Promise<boolean>;
  saveSnapshot(snapshot: Snapshot): Promise<void>;
  /** The newest snapshot at or before the position or time given (both when both given). */
  findSnapshot(at: { position?: bigint; time?: string }): Promise<Snapshot | undefined>;
  /**
   * The same snapshot, its state left in the store and read in pieces: an inspection of one county reads the
   * header and two parts of it, not every county's rows.
   */
  findSnapshotPieces(at: { position?: bigint; time?: string }): Promise<SnapshotPieces | undefined>;
}

export interface SnapshotPieces extends Omit<Snapshot, 'state'> {
  /** Bytes [start, end) of the stored state (to its end without `end`; fewer when it is shorter). */
  read(start: number, end?: number): Promise<Buffer>;
}

export interface ReadModelStore {
  readonly kind: 'redis' | 'sqlite';
  /** The keyspace readers currently read. Resolved at every call, so an activation is seen at once. */
  readonly active: ReadModelReader;
  activeKeyspace(): Promise<number>;
  keyspace(id: number): KeyspaceWriter;
  /** A new, empty keyspace numbered above every existing one. */
  createKeyspace(): Promise<KeyspaceWriter>;
  /** Points readers at `id` in one atomic step. */
  activate(id: number): Promise<void>;
  /** Removes a keyspace that is not active. */
  dropKeyspace(id: number): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------------
// What the HTTP layer calls. Every query takes `asOf` (ISO time) or `position` for inspections; without
// either it reads the live ledger and measures lateness against now.

export interface AsOf {
  /** ISO time: the ledger as it stood then; days overdue are measured against this time. */
  asOf?: string;
  /** Event position: the ledger as it stood after this event. */
  position?: bigint;
}

export interface Paging {
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  /** Present when more items may follow. */
  nextCursor?: string;
  /** The position the answer reflects. */
  position: string;
  /** The time lateness was measured against. */
  at: string;
}

export interface ProblemQuery extends AsOf, Paging {
  unitId: string;
  /** Only the problems this unit is responsible for. */
  responsibleUnitId?: string;
  status?: string;
  colour?: Colour;
  /** true: only problems open past their deadline; false: only those that are not. */
  overdue?: boolean;
  open?: boolean;
}

export type ProblemLedgerItem = Omit<ProblemRow, 'measures' | 'ancestors'> & Lateness;
export type HouseholdLedgerItem = Omit<HouseholdRow, 'plan' | 'ancestors'>;

export interface UnitRollup {
  unitId: string;
  name: string;
  level: UnitLevel;
  parentId: string | null;
  problemsOpen: number;
  problemsOverdue: number;
  problemsCleared: number;
  householdsTotal: number;
  householdsMeetingStandard: number;
  householdsMonitored: number;
  measuresTotal: number;
  measuresCompleted: number;
  problemMeasuresTotal: number;
  problemMeasuresCompleted: number;
  planMeasuresTotal: number;
  planMeasuresCompleted: number;
  listingsActive: number;
  /** Registered population, null when none was given (optional for views built before it existed). */
  population?: number | null;
  /** Nothing open beneath it, every household meets the standard, every listing delisted (events/unit/clearance.ts). */
  clear: boolean;
  /** 户户清 (village), 村村清 (township, county), 县县清 (prefecture), null for a relocation site. */
  clearance: ClearanceFlag | null;
}

export interface UnitRollupWithChildren {
  unit: UnitRollup;
  children: UnitRollup[];
  position: string;
  at: string;
}

export interface EscalationBoard {
  items: Omit<EscalationRow, 'ancestors'>[];
  /** Active notices counted by level, then colour. */
  byLevelAndColour: Record<string, Partial<Record<Colour, number>>>;
  nextCursor?: string;
  position: string;
  at: string;
}

export interface ItemHistoryEntry {
  position: string;
  revision: number;
  type: string;
  data: unknown;
  actor: { userId: string; unitId: string; role: string };
  occurredAt: string;
  recordedAt: string;
  eventId: string;
  correlationId: string;
  causationId: string;
  hash: string;
  prevHash: string | null;
}

export interface ItemHistory {
  problemId: string;
  events: ItemHistoryEntry[];
  verification:
    | { ok: true; checked: number }
    | { ok: false; checked: number; brokenAt: { streamId: string; revision: number; position: string; reason: string } };
}

/** A whole ledger read at one position, row by row (exports). */
export interface LedgerScan<T> {
  /** The event position the rows reflect. */
  position: string;
  /** The time lateness was measured against. */
  at: string;
  rows: AsyncIterable<T>;
}

export interface LedgerQueries {
  problems(query: ProblemQuery): Promise<Page<ProblemLedgerItem>>;
  households(query: { unitId: string } & AsOf & Paging): Promise<Page<HouseholdLedgerItem>>;
  rollup(query: { unitId: string } & AsOf): Promise<UnitRollupWithChildren>;
  escalationBoard(query: { unitId: string; level?: number; colour?: Colour } & AsOf & Paging): Promise<EscalationBoard>;
  listingBoard(query: { unitId: string; active?: boolean } & AsOf & Paging): Promise<Page<Omit<ListingRow, 'ancestors'>>>;
  scanProblems(query: Omit<ProblemQuery, keyof Paging>): Promise<LedgerScan<ProblemLedgerItem>>;
  /** Whole rows, with each household's plan (measure ids). */
  scanHouseholds(query: { unitId: string } & AsOf): Promise<LedgerScan<HouseholdRow>>;
  /** The unit and every unit beneath it, each with its roll-up. */
  scanUnits(query: { unitId: string } & AsOf): Promise<LedgerScan<UnitRollup>>;
  scanEscalations(query: { unitId: string; level?: number; colour?: Colour } & AsOf): Promise<LedgerScan<Omit<EscalationRow, 'ancestors'>>>;
  /** Active and delisted unless `active` is given. */
  scanListings(query: { unitId: string; active?: boolean } & AsOf): Promise<LedgerScan<Omit<ListingRow, 'ancestors'>>>;
  /** Every event of the problem with actor and times, and the audit-chain verification of its stream. */
  itemHistory(problemId: string): Promise<ItemHistory>;
}
