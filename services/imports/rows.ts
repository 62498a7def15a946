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

/** Cell text turned into the value a field holds, or an issue. */
function value(field: Field, text: string): { ok: true; value: unknown } | { ok: false; rule: string; message: string } {
  if (text === '') return field.required ? { ok: false, rule: 'import.required', message: `${field.en} is required` } : { ok: true, value: undefined };
  const type = field.type;
  if (typeof type === 'object') {
    const code = codeOfCached(type.enum, text);
    return code === undefined ? { ok: false, rule: 'import.enum', message: `${field.en}: ${text} is not one of the allowed values` } : { ok: true, value: code };
  }
  switch (type) {
    case 'id':
      return idSchema.safeParse(text).success ? { ok: true, value: text } : { ok: false, rule: 'import.id', message: `${field.en}: not a valid id` };
    case 'text':
      return { ok: true, value: text };
    case 'int':
      return /^\d{1,9}$/.test(text) ? { ok: true, value: Number(text) } : { ok: false, rule: 'import.int', message: `${field.en}: ${text} is not a whole number` };
    case 'bool': {
      const t = text.toLowerCase();
      if (YES.has(t)) return { ok: true, value: true };
      if (NO.has(t)) return { ok: true, value: false };
      return { ok: false, rule: 'import.bool', message: `${field.en}: ${text} is neither yes nor no` };
    }
    case 'date':
      return /^\d{4}-\d{2}-\d{2}(T.*)?$/.test(text) ? { ok: true, value: text } : { ok: false, rule: 'import.date', message: `${field.en}: ${text} is not a date` };
    case 'evidence': {
      const refs: Evidence[] = [];
      for (const line of text.split(/\r?\n/).filter((l) => l.trim() !== '')) {
        const [kind, sha256, ...uri] = line.trim().split('|');
        const parsed = evidenceSchema.safeParse({ kind, sha256, uri: uri.join('|') });
        if (!parsed.success) return { ok: false, rule: 'import.evidence', message: `${field.en}: "${line}" is not kind|sha256|uri` };
        refs.push(parsed.data);
      }
      return { ok: true, value: refs };
    }
    case 'figures': {
      const figures: Record<string, number> = {};
      for (const part of text.split(/[;；]/).filter((p) => p.trim() !== '')) {
        const [name, number] = part.split('=').map((s) => s.trim());
        figures[name ?? ''] = Number(number);
      }
      const parsed = figuresSchema.safeParse(figures);
      return parsed.success ? { ok: true, value: parsed.data } : { ok: false, rule: 'import.figures', message: `${field.en}: not name=number pairs` };
    }
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

/** The commands one row asks for, or the issues that keep it from asking anything. */
export function planRow(kind: ImportKind, sheetRow: SheetRow, policy: EscalationPolicy): { commands: PlannedCommand[]; unitIds: string[] } | { issues: RowIssue[] } {
  const fields = kindSheets[kind].fields;
  const v: Record<string, unknown> = {};
  const issues: RowIssue[] = [];
  for (const field of fields) {
    const result = value(field, sheetRow.cells[field.key] ?? '');
    if (result.ok) v[field.key] = result.value;
    else issues.push(issue(sheetRow.row, field, result.rule, result.message));
  }
  if (issues.length > 0) return { issues };
  const seed = (id: string) => `import/${kind}/${id}`;
  const s = (key: string) => v[key] as string;
  switch (kind) {
    case 'units': {
      const commands: PlannedCommand[] = [
        {
          stream: unitStream,
          streamId: unitStreamId(s('unitId')),
          command: { type: 'registerUnit', unitId: s('unitId'), name: s('name'), level: s('level'), parentId: (v['parentId'] as string | undefined) ?? null },
          seed: seed(s('unitId')),
        },
      ];
      if (v['population'] !== undefined) {
        const population = v['population'] as number;
        commands.push({
          stream: unitStream,
          streamId: unitStreamId(s('unitId')),
          command: { type: 'updatePopulation', unitId: s('unitId'), population },
          seed: seed(`${s('unitId')}/population/${population}`),
        });
      }
      return { commands, unitIds: [s('parentId') ?? s('unitId')].filter(Boolean) };
    }
    case 'households':
      return {
        commands: [
          {
            stream: householdStream,
            streamId: householdStreamId(s('householdId')),
            command: { type: 'registerHousehold', householdId: s('householdId'), villageId: s('villageId'), members: v['members'] as number, category: s('category') },
            seed: seed(s('householdId')),
          },
        ],
        unitIds: [s('villageId')],
      };
    case 'plan_measures': {
      const id = `${s('householdId')}/${s('measureId')}`;
      const base = { stream: householdStream, streamId: householdStreamId(s('householdId')) };
      const commands: PlannedCommand[] = [
        {
          ...base,
          command: {
            type: 'addPlanMeasure',
            householdId: s('householdId'),
            measureId: s('measureId'),
            kind: s('kind'),
            description: s('description'),
            responsibleUnitId: s('responsibleUnitId'),
            deadline: s('deadline'),
            ...(v['plannedAt'] !== undefined ? { plannedAt: s('plannedAt') } : {}),
          },
          seed: seed(id),
        },
      ];
      if (v['completed'] === true) {
        commands.push({
          ...base,
          command: { type: 'completePlanMeasure', householdId: s('householdId'), measureId: s('measureId'), evidence: (v['evidence'] as Evidence[] | undefined) ?? [] },
          seed: seed(`${id}/completed`),
        });
      }
      return { commands, unitIds: [s('responsibleUnitId')] };
    }
    case 'assessments': {
      const standards = standardKeys.map((k) => [k, v[k] as boolean] as const);
      return {
        commands: [
          {
            stream: householdStream,
            streamId: householdStreamId(s('householdId')),
            command: { type: 'assessHousehold', householdId: s('householdId'), ...Object.fromEntries(standards) },
            seed: seed(`${s('householdId')}/${digest(JSON.stringify(standards))}`),
          },
        ],
        unitIds: [],
      };
    }
    case 'problems':
      return {
        commands: [
          {
            stream: problemStream,
            streamId: problemStreamId(s('problemId')),
            command: {
              type: 'findProblem',
              problemId: s('problemId'),
              targetUnitId: s('targetUnitId'),
              responsibleUnitId: s('responsibleUnitId'),
              category: s('category'),
              source: s('source'),
              description: s('description'),
              severity: s('severity'),
              deadline: s('deadline'),
              ...(v['foundAt'] !== undefined ? { foundAt: s('foundAt') } : {}),
              policy,
            },
            seed: seed(s('problemId')),
          },
        ],
        unitIds: [s('targetUnitId'), s('responsibleUnitId')],
      };
    case 'listings':
      return {
        commands: [
          {
            stream: listingStream,
            streamId: listingStreamId(s('listingId')),
            command: {
              type: 'listTarget',
              listingId: s('listingId'),
              targetUnitId: s('targetUnitId'),
              supervisingUnitId: s('supervisingUnitId'),
              leader: { name: s('leaderName'), position: s('leaderPosition') },
              reason: s('reason'),
              metrics: (v['metrics'] as Record<string, number> | undefined) ?? {},
            },
            seed: seed(s('listingId')),
          },
        ],
        unitIds: [s('targetUnitId'), s('supervisingUnitId')],
      };
  }
}
