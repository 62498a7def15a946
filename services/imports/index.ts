import type { Actor, DomainEvent } from '../../events/envelope.js';
import { DubanError } from '../../events/errors.js';
import type { EscalationPolicy } from '../../events/problem/index.js';
import { isWithin } from '../../events/unit/hierarchy.js';
import { registeringOver, seededEventId, unitsOfCommand, type CommandHandler } from '../commands/handler.js';
import type { UnitHierarchy } from '../hierarchy.js';
import { StreamNotFoundError, type EventStore } from '../ports/event-store.js';
import type { ImportKind } from '../spreadsheets/fields.js';
import { createImportJobs } from './jobs.js';
import { readUpload, type ReadSheet } from './read.js';
import { planRow, type PlannedCommand, type RowIssue } from './rows.js';

export interface ImportOptions {
  kind: ImportKind;
  actor: Actor;
  /** Only check: every row through the deciders and scope rules, nothing appended. */
  dryRun: boolean;
  correlationId: string;
  onProgress?(progress: ImportProgress): void;
}

/** Where a run stands: rows checked, then rows appended. */
export interface ImportProgress {
  phase: 'checking' | 'appending';
  done: number;
  total: number;
}

export interface ImportReport {
  kind: ImportKind;
  sheet: string;
  dryRun: boolean;
  rows: number;
  /** Every row passed: nothing refused. */
  valid: boolean;
  /** Rows whose commands would append (dry run) or appended. */
  rowsToAppend: number;
  /** Rows already imported before (their named events are stored): they append nothing. */
  rowsUnchanged: number;
  issues: RowIssue[];
  /** Whether events were appended by this run. */
  appended: boolean;
}

const ruleZh: Record<string, string> = {
  'access.scope': '超出本单位管辖范围',
  'access.role': '当前角色无权执行',
  'unit.not_found': '单位不存在或不在管辖范围内',
  'unit.register.duplicate': '单位已登记，且与本行不同',
  'unit.register.unknown_parent': '上级单位未登记',
  'unit.register.level_order': '层级与上级单位不符',
  'household.register.duplicate': '该户已登记，且与本行不同',
  'household.register.unknown_village': '所属村未登记',
  'household.register.not_a_village': '所属单位不是行政村',
  'household.not_found': '该户未登记',
  'household.measure.duplicate': '措施编号已存在',
  'household.measure.unknown_unit': '责任单位未登记',
  'household.measure.deadline_passed': '完成时限已过（历史方案请填写制定时间，时限须在其之后）',
  'household.measure.planned_in_future': '制定时间晚于今天',
  'problem.find.deadline_passed': '整改时限已过（历史问题请填写发现时间，时限须在其之后）',
  'problem.find.found_in_future': '发现时间晚于今天',
  'listing.list.duplicate': '挂牌编号已存在',
  'listing.list.supervisor_not_above': '督战单位不在挂牌对象之上',
};

const DONE_EVERY = 200;
const IN_FLIGHT = 256;

/** A command the dry run passed, with the events the decider gave it there. */
interface CheckedCommand extends PlannedCommand {
  events: readonly DomainEvent[];
}

/** What the dry run read of a stream (its revision) and where the rows it passed leave it. */
interface StreamSeen {
  revision: number;
  state: unknown;
}

/** One stream's commands of an import, in file order, with the rows they come from: one handler call. */
interface StreamBatch {
  stream: PlannedCommand['stream'];
  streamId: string;
  items: { row: number; planned: CheckedCommand }[];
}

/**
 * The order the commands are sent in: each stream's commands together (a household's measures listed far
 * apart in the file are one read, one decide-fold and one append), in waves that may run in parallel. Every
 * kind but units touches one stream per row and no row needs another stream's: one wave. Units need their
 * parent registered first: one wave per depth below the units this file does not register, so a level's
 * units go together and the next level waits for them.
 */
function waves(toRun: { row: number; commands: CheckedCommand[] }[], kind: ImportKind): StreamBatch[][] {
  const byStream = new Map<string, StreamBatch>();
  for (const { row, commands } of toRun) {
    for (const planned of commands) {
      const batch = byStream.get(planned.streamId);
      if (batch) batch.items.push({ row, planned });
      else byStream.set(planned.streamId, { stream: planned.stream, streamId: planned.streamId, items: [{ row, planned }] });
    }
  }
  const batches = [...byStream.values()];
  if (kind !== 'units') return [batches];
  // The parents this file registers (the check let no row name a parent registered below it, so no cycle).
  const parentOf = new Map<string, string | null>();
  for (const { items } of batches) {
    for (const { planned } of items) {
      const { command } = planned;
      if (command.type === 'registerUnit') parentOf.set(command['unitId'] as string, (command['parentId'] as string | null) ?? null);
    }
  }
  const depthOf = (unitId: string): number => {
    let depth = 0;
    for (let parent = parentOf.get(unitId); typeof parent === 'string' && parentOf.has(parent) && depth < parentOf.size; parent = parentOf.get(parent)) depth++;
    return depth;
  };
  const byDepth: StreamBatch[][] = [];
  for (const batch of batches) {
    const unitId = batch.items[0]!.planned.command['unitId'] as string;
    (byDepth[depthOf(unitId)] ??= []).push(batch);
  }
  return byDepth.filter((wave) => wave !== undefined);
}

export interface ImportDeps {
  handler: CommandHandler;
  hierarchy: UnitHierarchy;
  store: EventStore;
  policy: EscalationPolicy;
  timeZone?: string;
  now?: () => Date;
  /** Folder the import jobs are kept in (DATA_DIR/imports), so they survive a restart; else memory. */
  jobsDir?: string;
}

/**
 * Imports of the offices' workbooks. Every row becomes the commands a single request would send; first
 * all of them go through the same deciders and scope rules against the stored streams plus the rows
 * before it (a dry run); only when every row passes are they sent through the one command handler, each
 * with an event-id seed from (kind, row ids), so importing a file again appends nothing.
 */
export function createImports(deps: ImportDeps) {
  const now = deps.now ?? (() => new Date());

  async function storedSeed(streamId: string, seed: string): Promise<boolean> {
    try {
      const events = await deps.store.readStream(streamId);
      const id = seededEventId(seed, 0);
      return events.some((e) => e.metadata.eventId === id);
    } catch (err) {
      if (err instanceof StreamNotFoundError) return false;
      throw err;
    }
  }

  async function check(read: ReadSheet, options: ImportOptions) {
    const { actor } = options;
    // Only a units import registers units as it goes; the others decide on the tree as it is, unwrapped.
    const tree = options.kind === 'units' ? registeringOver(deps.hierarchy.view) : { view: deps.hierarchy.view, add: () => undefined };
    const streams = new Map<string, StreamSeen>();
    const issues: RowIssue[] = [];
    const toRun: { row: number; commands: CheckedCommand[] }[] = [];
    let unchanged = 0;
    // Each row's plan, and every unit its commands name (looked up once, for the tree and the scope).
    const plans = new Array<{ row: number; plan: ReturnType<typeof planRow>; units: string[] }>(read.rows.length);
    for (let i = 0; i < read.rows.length; i++) {
      const r = read.rows[i]!;
      const plan = planRow(options.kind, r, deps.policy);
      const units: string[] = [];
      if ('commands' in plan) for (const c of plan.commands) units.push(...unitsOfCommand(c.command));
      plans[i] = { row: r.row, plan, units };
    }
    const named = new Set<string>([actor.unitId]);
    for (const { units } of plans) for (const id of units) named.add(id);
    await deps.hierarchy.ensure(named);
    const context = { now: now().toISOString(), actor, hierarchy: tree.view, ...(deps.timeZone ? { timeZone: deps.timeZone } : {}) };

    // The rows of a file name the same few hundred units over and over: each is looked up once. A unit the
    // file registers is placed in the tree before any row below it names it, so the answer never changes.
    const scope = new Map<string, boolean>();
    const inScope = (id: string) => {
      let known = scope.get(id);
      if (known === undefined) {
        if (tree.view.levelOf(id) === undefined) return true; // unknown yet: the decider refuses it by name
        known = isWithin(tree.view, actor.unitId, id);
        scope.set(id, known);
      }
      return known;
    };

    let done = 0;
    for (const { row, plan, units } of plans) {
      if (++done % DONE_EVERY === 0) options.onProgress?.({ phase: 'checking', done, total: plans.length });
      if ('issues' in plan) {
        issues.push(...plan.issues);
        continue;
      }
      // Every unit the row names must lie in the importer's subtree, whatever the command.
      let outside: string | undefined;
      for (const id of units) {
        if (inScope(id)) continue;
        outside = id;
        break;
      }
      if (outside !== undefined) {
        issues.push({ row, column: null, rule: 'access.scope', message: `unit ${outside} is outside the subtree of ${actor.unitId}`, message_zh: ruleZh['access.scope']! });
        continue;
      }
      const runs: CheckedCommand[] = [];
      let refused = false;
      for (const planned of plan.commands) {
        const { stream, streamId, command } = planned;
        let seen = streams.get(streamId);
        if (!seen) {
          const { state, revision } = await deps.handler.load(stream, streamId);
          seen = { state, revision };
          streams.set(streamId, seen);
        }
        const { state } = seen;
        let decided: DomainEvent[];
        try {
          stream.guard?.(state, actor, tree.view);
          decided = stream.decider.decide(command, state, context);
        } catch (err) {
          if (!(err instanceof DubanError)) throw err;
          if (await storedSeed(streamId, planned.seed)) continue;
          issues.push({ row, column: null, rule: err.rule, message: err.message, message_zh: ruleZh[err.rule] ?? `被督办规则拒绝（${err.rule}）` });
          refused = true;
          break;
        }
        if (decided.length === 0) continue;
        let after = state;
        for (const e of decided) {
          after = stream.decider.evolve(after, e);
          tree.add(e);
        }
        seen.state = after;
        runs.push({ stream, streamId, command, seed: planned.seed, events: decided });
      }
      if (refused) continue;
      if (runs.length === 0) unchanged++;
      else toRun.push({ row, commands: runs });
    }
    options.onProgress?.({ phase: 'checking', done: plans.length, total: plans.length });
    return { issues, toRun, unchanged, streams, at: context.now };
  }

  /**
   * Sends the rows the dry run passed through the one command handler, each stream's commands with what
   * the dry run read and decided on it (`CheckedStream`): no second read, guard and decide, and acting at
   * the dry run's moment. A stream someone wrote to in between fails its conditional append and is read
   * and decided again by the handler.
   */
  async function commit(checked: { toRun: { row: number; commands: CheckedCommand[] }[]; streams: Map<string, StreamSeen>; at: string }, options: ImportOptions) {
    const { toRun, streams, at } = checked;
    let failure: { err: unknown } | undefined;
    let done = 0;
    // Streams in flight, and the wait for one of them to finish. A counter, not Promise.race over the set:
    // each race hangs one more reaction on every call still in flight, so it costs the window per call.
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const settled = () => {
      inFlight--;
      wake?.();
      wake = undefined;
    };
    const oneFinished = () => new Promise<void>((resolve) => (wake = resolve));
    const meta = {
      actor: options.actor,
      correlationId: options.correlationId,
      causationId: `import:${options.correlationId}`,
      at,
    };
    // Rows still sending, by row: a row counts as done once its last command is stored.
    const left = new Map(toRun.map(({ row, commands }) => [row, commands.length]));
    const stored = (items: StreamBatch['items']) => {
      for (const { row } of items) {
        const rest = left.get(row)! - 1;
        left.set(row, rest);
        if (rest === 0 && ++done % DONE_EVERY === 0) options.onProgress?.({ phase: 'appending', done, total: toRun.length });
      }
    };
    for (const wave of waves(toRun, options.kind)) {
      // Many streams at a time: the store commits their appends in groups.
      for (const batch of wave) {
        inFlight++;
        const seen = streams.get(batch.streamId)!;
        void deps.handler
          .runAll(
            batch.stream,
            batch.streamId,
            batch.items.map(({ planned }) => ({ command: planned.command, meta: { ...meta, eventIdSeed: planned.seed } })),
            { revision: seen.revision, state: seen.state, events: batch.items.map(({ planned }) => planned.events) },
          )
          .then(() => stored(batch.items))
          .catch((err: unknown) => void (failure ??= { err }))
          .finally(settled);
        while (inFlight >= IN_FLIGHT) await oneFinished();
        if (failure) break;
      }
      while (inFlight > 0) await oneFinished();
      if (failure) break;
    }
    if (failure) throw failure.err;
    options.onProgress?.({ phase: 'appending', done: toRun.length, total: toRun.length });
  }

  /** Checks (and unless a dry run, appends) the rows of a read upload. */
  async function run(read: ReadSheet, options: ImportOptions): Promise<ImportReport> {
    const checked = await check(read, options);
    const valid = checked.issues.length === 0;
    if (valid && !options.dryRun && checked.toRun.length > 0) await commit(checked, options);
    return {
      kind: options.kind,
      sheet: read.sheet,
      dryRun: options.dryRun,
      rows: read.rows.length,
      valid,
      rowsToAppend: checked.toRun.length,
      rowsUnchanged: checked.unchanged,
      issues: checked.issues,
      appended: valid && !options.dryRun && checked.toRun.length > 0,
    };
  }

  return { run, read: readUpload, jobs: createImportJobs({ run, read: readUpload }, deps.jobsDir) };
}
export type Imports = ReturnType<typeof createImports>;
