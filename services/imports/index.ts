import type { Actor, DomainEvent } from '../../events/envelope.js';
import { DubanError } from '../../events/errors.js';
import type { EscalationPolicy } from '../../events/problem/index.js';
import { isWithin, type HierarchyView, type UnitLevel } from '../../events/unit/hierarchy.js';
import { seededEventId, type CommandHandler } from '../commands/handler.js';
import { unitsOfCommand } from '../commands/handler.js';
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

/** The unit tree with the units an import registers before they are stored (a dry run's view). */
function overlay(base: HierarchyView) {
  const added = new Map<string, { parentId: string | null; level: UnitLevel }>();
  const view: HierarchyView = {
    parentOf: (id) => (added.has(id) ? added.get(id)!.parentId : base.parentOf(id)),
    levelOf: (id) => added.get(id)?.level ?? base.levelOf(id),
  };
  return { view, add: (id: string, parentId: string | null, level: UnitLevel) => added.set(id, { parentId, level }) };
}

/** Streams whose commands are sent together: about one window, so their states stay in the handler's cache. */
const STREAMS_TOGETHER = IN_FLIGHT;

/**
 * The order the commands are sent in. Units in file order (a parent before its children). Every other kind
 * touches one stream per command and no row needs another stream's row, so the commands are taken stream by
 * stream, a few hundred streams at a time, each stream's in file order: a household's measures listed far
 * apart in the file (or 40,000 households round-robin) then find its state cached by the command before,
 * instead of reading its stream again, while the streams of a chunk still share group commits.
 */
function* sendingOrder(toRun: { row: number; commands: PlannedCommand[] }[], kind: ImportKind): Generator<{ row: number; planned: PlannedCommand }> {
  if (kind === 'units') {
    for (const { row, commands } of toRun) for (const planned of commands) yield { row, planned };
    return;
  }
  const byStream = new Map<string, { row: number; planned: PlannedCommand }[]>();
  for (const { row, commands } of toRun) {
    for (const planned of commands) {
      const list = byStream.get(planned.streamId);
      if (list) list.push({ row, planned });
      else byStream.set(planned.streamId, [{ row, planned }]);
    }
  }
  const streams = [...byStream.values()];
  for (let i = 0; i < streams.length; i += STREAMS_TOGETHER) {
    const chunk = streams.slice(i, i + STREAMS_TOGETHER);
    for (let round = 0; chunk.some((list) => round < list.length); round++) {
      for (const list of chunk) if (round < list.length) yield list[round]!;
    }
  }
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
    const tree = options.kind === 'units' ? overlay(deps.hierarchy.view) : { view: deps.hierarchy.view, add: () => undefined };
    const states = new Map<string, unknown>();
    const issues: RowIssue[] = [];
    const toRun: { row: number; commands: PlannedCommand[] }[] = [];
    let unchanged = 0;
    const plans = read.rows.map((r) => ({ row: r.row, plan: planRow(options.kind, r, deps.policy) }));
    const named = new Set<string>([actor.unitId]);
    for (const { plan } of plans) if ('commands' in plan) for (const c of plan.commands) for (const id of unitsOfCommand(c.command)) named.add(id);
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
    for (const { row, plan } of plans) {
      if (++done % DONE_EVERY === 0) options.onProgress?.({ phase: 'checking', done, total: plans.length });
      if ('issues' in plan) {
        issues.push(...plan.issues);
        continue;
      }
      // Every unit the row names must lie in the importer's subtree, whatever the command.
      const outside = plan.commands.flatMap((c) => unitsOfCommand(c.command)).find((id) => !inScope(id));
      if (outside !== undefined) {
        issues.push({ row, column: null, rule: 'access.scope', message: `unit ${outside} is outside the subtree of ${actor.unitId}`, message_zh: ruleZh['access.scope']! });
        continue;
      }
      const runs: PlannedCommand[] = [];
      let refused = false;
      for (const planned of plan.commands) {
        const { stream, streamId, command } = planned;
        const state = states.has(streamId) ? states.get(streamId) : (await deps.handler.load(stream, streamId)).state;
        let decided: DomainEvent[];
        try {
          stream.guard?.(state, actor, tree.view as UnitHierarchy['view']);
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
        for (const e of decided) after = stream.decider.evolve(after, e);
        states.set(streamId, after);
        if (command.type === 'registerUnit') tree.add(command['unitId'] as string, command['parentId'] as string | null, command['level'] as UnitLevel);
        runs.push(planned);
      }
      if (refused) continue;
      if (runs.length === 0) unchanged++;
      else toRun.push({ row, commands: runs });
    }
    options.onProgress?.({ phase: 'checking', done: plans.length, total: plans.length });
    return { issues, toRun, unchanged };
  }

  async function commit(toRun: { row: number; commands: PlannedCommand[] }[], options: ImportOptions) {
    let failure: { err: unknown } | undefined;
    let done = 0;
    // Commands in flight, and the wait for one of them to finish. A counter, not Promise.race over the set:
    // each race hangs one more reaction on every command still in flight, so it costs the window per command.
    let inFlight = 0;
    let wake: (() => void) | undefined;
    const settled = () => {
      inFlight--;
      wake?.();
      wake = undefined;
    };
    const oneFinished = () => new Promise<void>((resolve) => (wake = resolve));
    // Units are sent in order (a parent before its children); the handler keeps the order of commands on
    // one stream, so other kinds go many at a time and the store commits them in groups.
    const window = options.kind === 'units' ? 1 : IN_FLIGHT;
    // Rows still sending, by row: a row counts as done once its last command is sent.
    const left = new Map(toRun.map(({ row, commands }) => [row, commands.length]));
    for (const { row, planned } of sendingOrder(toRun, options.kind)) {
      inFlight++;
      void deps.handler
        .run(planned.stream, planned.streamId, planned.command, {
          actor: options.actor,
          correlationId: options.correlationId,
          causationId: `import:${options.correlationId}`,
          eventIdSeed: planned.seed,
        })
        .catch((err: unknown) => void (failure ??= { err }))
        .finally(settled);
      while (inFlight >= window) await oneFinished();
      if (failure) break;
      const rest = left.get(row)! - 1;
      left.set(row, rest);
      if (rest === 0 && ++done % DONE_EVERY === 0) options.onProgress?.({ phase: 'appending', done, total: toRun.length });
    }
    while (inFlight > 0) await oneFinished();
    if (failure) throw failure.err;
    options.onProgress?.({ phase: 'appending', done: toRun.length, total: toRun.length });
  }

  /** Checks (and unless a dry run, appends) the rows of a read upload. */
  async function run(read: ReadSheet, options: ImportOptions): Promise<ImportReport> {
    const checked = await check(read, options);
    const valid = checked.issues.length === 0;
    if (valid && !options.dryRun && checked.toRun.length > 0) await commit(checked.toRun, options);
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
