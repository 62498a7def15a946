import type { LabelSet } from './labels.js';

/**
 * The columns of each kind of import, which are also the template workbooks and the importable columns
 * of the exported ledgers (an exported workbook imports back as it is). A header is matched in Chinese
 * or in English, ignoring case, blanks and a trailing "(必填)".
 */
export type FieldType = 'id' | 'text' | 'int' | 'date' | 'bool' | 'evidence' | 'figures' | { enum: LabelSet };

export interface Field {
  key: string;
  zh: string;
  en: string;
  type: FieldType;
  required: boolean;
  example: string;
}

export const importKinds = ['units', 'households', 'plan_measures', 'assessments', 'problems', 'listings'] as const;
export type ImportKind = (typeof importKinds)[number];

const f = (key: string, zh: string, en: string, type: FieldType, required: boolean, example: string): Field => ({ key, zh, en, type, required, example });

/** Fields that stand in several kinds. */
const householdId = f('householdId', '户编号', 'householdId', 'id', true, 'h-533423103201-001');
const responsibleUnitId = f('responsibleUnitId', '责任单位代码', 'responsibleUnitId', 'id', true, '533423103201');
/** 两不愁三保障: the six standards an assessment answers 是/否. */
const standards = (
  [
    ['food', '不愁吃', '是'],
    ['clothing', '不愁穿', '是'],
    ['education', '义务教育有保障', '是'],
    ['medical', '基本医疗有保障', '是'],
    ['housing', '住房安全有保障', '否'],
    ['water', '饮水安全有保障', '是'],
  ] as const
).map(([key, zh, example]) => f(key, zh, key, 'bool', true, example));

export const kindSheets: Record<ImportKind, { sheet: string; fields: readonly Field[] }> = {
  units: {
    sheet: '单位',
    fields: [
      f('unitId', '单位代码', 'unitId', 'id', true, '533423103'),
      f('name', '单位名称', 'name', 'text', true, '塔城镇'),
      f('level', '层级', 'level', { enum: 'level' }, true, '乡（镇）'),
      f('parentId', '上级单位代码', 'parentId', 'id', false, '533423'),
      f('population', '人口', 'population', 'int', false, '24000'),
    ],
  },
  households: {
    sheet: '农户',
    fields: [
      householdId,
      f('villageId', '所属村代码', 'villageId', 'id', true, '533423103201'),
      f('members', '家庭人口', 'members', 'int', true, '4'),
      f('category', '户类别', 'category', { enum: 'householdCategory' }, true, '建档立卡户'),
    ],
  },
  plan_measures: {
    sheet: '帮扶措施',
    fields: [
      householdId,
      f('measureId', '措施编号', 'measureId', 'id', true, 'm-001'),
      f('kind', '措施类型', 'kind', { enum: 'planMeasureKind' }, true, '就业'),
      f('description', '措施内容', 'description', 'text', true, '安排公益性岗位1个'),
      responsibleUnitId,
      f('deadline', '完成时限', 'deadline', 'date', true, '2027-06-30'),
      f('completed', '是否完成', 'completed', 'bool', false, '否'),
      f('evidence', '佐证材料', 'evidence', 'evidence', false, ''),
      f('plannedAt', '制定时间', 'plannedAt', 'date', false, ''),
    ],
  },
  assessments: {
    sheet: '两不愁三保障',
    fields: [householdId, ...standards],
  },
  problems: {
    sheet: '问题清单',
    fields: [
      f('problemId', '问题编号', 'problemId', 'id', true, 'p-2027-001'),
      f('targetUnitId', '问题所在单位代码', 'targetUnitId', 'id', true, '533423103201'),
      responsibleUnitId,
      f('source', '问题来源', 'source', { enum: 'problemSource' }, true, '督查巡查'),
      f('category', '问题类别', 'category', { enum: 'problemCategory' }, true, '住房安全'),
      f('severity', '严重程度', 'severity', { enum: 'severity' }, true, '严重'),
      f('description', '问题描述', 'description', 'text', true, '危房改造未完成'),
      f('deadline', '整改时限', 'deadline', 'date', true, '2027-06-30'),
      f('foundAt', '发现时间', 'foundAt', 'date', false, ''),
    ],
  },
  listings: {
    sheet: '挂牌督战',
    fields: [
      f('listingId', '挂牌编号', 'listingId', 'id', true, 'l-533423103'),
      f('targetUnitId', '挂牌对象代码', 'targetUnitId', 'id', true, '533423103'),
      f('supervisingUnitId', '督战单位代码', 'supervisingUnitId', 'id', true, '533423'),
      f('leaderName', '督战领导', 'leaderName', 'text', true, '张三'),
      f('leaderPosition', '领导职务', 'leaderPosition', 'text', true, '县委书记'),
      f('reason', '挂牌原因', 'reason', 'text', true, '剩余贫困人口超过50人'),
      f('metrics', '指标', 'metrics', 'figures', false, 'remainingPoorPeople=120'),
    ],
  },
};

/** The keys of the six standards, in the order of the assessment sheet. */
export const standardKeys = standards.map((s) => s.key);

/** The Chinese header of a field, so exports name their importable columns exactly as imports read them. */
export function header(kind: ImportKind, key: string): string {
  const field = kindSheets[kind].fields.find((x) => x.key === key);
  if (!field) throw new Error(`no field ${key} in ${kind}`);
  return field.zh;
}
