import { createHash } from 'node:crypto';
import { evidenceSchema, figuresSchema, idSchema, type Evidence } from '../../events/common.js';
import { householdStreamId } from '../../events/household/index.js';
import { listingStreamId } from '../../events/listing/index.js';
import { problemStreamId, type EscalationPolicy } from '../../events/problem/index.js';
import { unitStreamId } from '../../events/unit/index.js';
import { householdStream, unitStream } from '../commands/organisation.js';
import { listingStream } from '../commands/listings.js';
import { problemStream } from '../commands/problems.js';
import type { StreamKind } from '../commands/handler.js';
import { kindSheets, standardKeys, type Field, type ImportKind } from '../spreadsheets/fields.js';
import { codeOf } from '../spreadsheets/labels.js';
import type { SheetRow } from './read.js';

/** One command a row asks for, with the seed its events are named by. */
export interface PlannedCommand {
  // Each kind has its own command and state types; the plan only carries them to the handler.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  stream: StreamKind<any, any, any>;
  streamId: string;
  command: { type: string } & Record<string, unknown>;
  seed: string;
}

export interface RowIssue {
  row: number;
  /** The column's Chinese header, or null for the row as a whole. */
  column: string | null;
  rule: string;
  message: string;
  message_zh: string;
}

const fieldIssues: Record<string, string> = {
  'import.required': '必填项为空',
  'import.id': '编号不能含空格或控制字符',
  'import.int': '应为整数',
  'import.bool': '应为“是”或“否”',
  'import.enum': '不是允许的取值',
  'import.date': '应为日期（如 2027-06-30）',
  'import.evidence': '佐证材料应为每行一条“类型|sha256|地址”',
  'import.figures': '指标应为“名称=数值”，以分号分隔',
};

function issue(row: number, field: Field | null, rule: string, message: string): RowIssue {
  return { row, column: field?.zh ?? null, rule, message, message_zh: fieldIssues[rule] ?? message };
}

// A file repeats the same few labels (住房安全, 否) on every row: each is looked up once.
const codes = new Map<string, string | undefined>();
function codeOfCached(set: Parameters<typeof codeOf>[0], text: string): string | undefined {
  const key = `${set}\u0000${text}`;
  if (codes.has(key)) return codes.get(key);
  const code = codeOf(set, text);
  if (codes.size < 10_000) codes.set(key, code);
  return code;
}
const YES: ReadonlySet<string> = new Set(['是', 'y', 'yes', 'true', '1', '√']);
const NO: ReadonlySet<string> = new Set(['否', 'n', 'no', 'false', '0', '×']);

/** Why a cell holds no value of its field. */
class CellRefusal {
  constructor(
    readonly rule: string,
    readonly message: string,
  ) {}
}

/** Cell text turned into the value a field holds (undefined for an empty optional cell), or why not. */
function value(field: Field, text: string): unknown {
  if (text === '') return field.required ? new CellRefusal('import.required', `${field.en} is required`) : undefined;
  const type = field.type;
  if (typeof type === 'object') {
    const code = codeOfCached(type.enum, text);
    return code === undefined ? new CellRefusal('import.enum', `${field.en}: ${text} is not one of the allowed values`) : code;
  }
  switch (type) {
    case 'id':
      return idSchema.safeParse(text).success ? text : new CellRefusal('import.id', `${field.en}: not a valid id`);
    case 'text':
      return text;
    case 'int':
      return /^\d{1,9}$/.test(text) ? Number(text) : new CellRefusal('import.int', `${field.en}: ${text} is not a whole number`);
    case 'bool': {
      const t = text.toLowerCase();
      if (YES.has(t)) return true;
      if (NO.has(t)) return false;
      return new CellRefusal('import.bool', `${field.en}: ${text} is neither yes nor no`);
    }
    case 'date':
      return /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(text) ? text : new CellRefusal('import.date', `${field.en}: ${text} is not a date`);
    case 'evidence': {
      const refs: Evidence[] = [];
      for (const line of text.split(/\r?\n/).filter((l) => l.trim() !== '')) {
        const [kind, sha256, ...uri] = line.trim().split('|');
        const parsed = evidenceSchema.safeParse({ kind, sha256, uri: uri.join('|') });
        if (!parsed.success) return new CellRefusal('import.evidence', `${field.en}: "${line}" is not kind|sha256|uri`);
        refs.push(parsed.data);
      }
      return refs;
    }
    case 'figures': {
      const figures: Record<string, number> = {};
      for (const part of text.split(/[;；]/).filter((p) => p.trim() !== '')) {
        const [name, number] = part.split('=').map((s) => s.trim());
        figures[name ?? ''] = Number(number);
      }
      const parsed = figuresSchema.safeParse(figures);
      return parsed.success ? parsed.data : new CellRefusal('import.figures', `${field.en}: not name=number pairs`);
    }
  }
}

/** The seed a row's command's events are named by: the kind and the row's ids. */
const seedOf = (kind: ImportKind, id: string) => `import/${kind}/${id}`;
/** A cell's value known to be text (a required id or text field, or an optional one read where present). */
const textOf = (v: Record<string, unknown>, key: string) => v[key] as string;
const digest = (input: string) => createHash('sha256').update(input).digest('hex').slice(0, 16);

/** The commands one row asks for, or the issues that keep it from asking anything. */
export function planRow(kind: ImportKind, sheetRow: SheetRow, policy: EscalationPolicy): { commands: PlannedCommand[] } | { issues: RowIssue[] } {
  const fields = kindSheets[kind].fields;
  const v: Record<string, unknown> = {};
  const issues: RowIssue[] = [];
  for (const field of fields) {
    const result = value(field, sheetRow.cells[field.key] ?? '');
    if (result instanceof CellRefusal) issues.push(issue(sheetRow.row, field, result.rule, result.message));
    else v[field.key] = result;
  }
  if (issues.length > 0) return { issues };
  switch (kind) {
    case 'units': {
      const commands: PlannedCommand[] = [
        {
          stream: unitStream,
          streamId: unitStreamId(textOf(v, 'unitId')),
          command: { type: 'registerUnit', unitId: textOf(v, 'unitId'), name: textOf(v, 'name'), level: textOf(v, 'level'), parentId: (v['parentId'] as string | undefined) ?? null },
          seed: seedOf(kind, textOf(v, 'unitId')),
        },
      ];
      if (v['population'] !== undefined) {
        const population = v['population'] as number;
        commands.push({
          stream: unitStream,
          streamId: unitStreamId(textOf(v, 'unitId')),
          command: { type: 'updatePopulation', unitId: textOf(v, 'unitId'), population },
          seed: seedOf(kind, `${textOf(v, 'unitId')}/population/${population}`),
        });
      }
      return { commands };
    }
    case 'households':
      return {
        commands: [
          {
            stream: householdStream,
            streamId: householdStreamId(textOf(v, 'householdId')),
            command: { type: 'registerHousehold', householdId: textOf(v, 'householdId'), villageId: textOf(v, 'villageId'), members: v['members'] as number, category: textOf(v, 'category') },
            seed: seedOf(kind, textOf(v, 'householdId')),
          },
        ],
      };
    case 'plan_measures': {
      const id = `${textOf(v, 'householdId')}/${textOf(v, 'measureId')}`;
      const streamId = householdStreamId(textOf(v, 'householdId'));
      const commands: PlannedCommand[] = [
        {
          stream: householdStream,
          streamId,
          command: {
            type: 'addPlanMeasure',
            householdId: textOf(v, 'householdId'),
            measureId: textOf(v, 'measureId'),
            kind: textOf(v, 'kind'),
            description: textOf(v, 'description'),
            responsibleUnitId: textOf(v, 'responsibleUnitId'),
            deadline: textOf(v, 'deadline'),
            ...(v['plannedAt'] !== undefined ? { plannedAt: textOf(v, 'plannedAt') } : {}),
          },
          seed: seedOf(kind, id),
        },
      ];
      if (v['completed'] === true) {
        commands.push({
          stream: householdStream,
          streamId,
          command: { type: 'completePlanMeasure', householdId: textOf(v, 'householdId'), measureId: textOf(v, 'measureId'), evidence: (v['evidence'] as Evidence[] | undefined) ?? [] },
          seed: seedOf(kind, `${id}/completed`),
        });
      }
      return { commands };
    }
    case 'assessments': {
      const standards = standardKeys.map((k) => [k, v[k] as boolean] as const);
      return {
        commands: [
          {
            stream: householdStream,
            streamId: householdStreamId(textOf(v, 'householdId')),
            command: { type: 'assessHousehold', householdId: textOf(v, 'householdId'), ...Object.fromEntries(standards) },
            seed: seedOf(kind, `${textOf(v, 'householdId')}/${digest(JSON.stringify(standards))}`),
          },
        ],
      };
    }
    case 'problems':
      return {
        commands: [
          {
            stream: problemStream,
            streamId: problemStreamId(textOf(v, 'problemId')),
            command: {
              type: 'findProblem',
              problemId: textOf(v, 'problemId'),
              targetUnitId: textOf(v, 'targetUnitId'),
              responsibleUnitId: textOf(v, 'responsibleUnitId'),
              category: textOf(v, 'category'),
              source: textOf(v, 'source'),
              description: textOf(v, 'description'),
              severity: textOf(v, 'severity'),
              deadline: textOf(v, 'deadline'),
              ...(v['foundAt'] !== undefined ? { foundAt: textOf(v, 'foundAt') } : {}),
              policy,
            },
            seed: seedOf(kind, textOf(v, 'problemId')),
          },
        ],
      };
    case 'listings':
      return {
        commands: [
          {
            stream: listingStream,
            streamId: listingStreamId(textOf(v, 'listingId')),
            command: {
              type: 'listTarget',
              listingId: textOf(v, 'listingId'),
              targetUnitId: textOf(v, 'targetUnitId'),
              supervisingUnitId: textOf(v, 'supervisingUnitId'),
              leader: { name: textOf(v, 'leaderName'), position: textOf(v, 'leaderPosition') },
              reason: textOf(v, 'reason'),
              metrics: (v['metrics'] as Record<string, number> | undefined) ?? {},
            },
            seed: seedOf(kind, textOf(v, 'listingId')),
          },
        ],
      };
  }
}
