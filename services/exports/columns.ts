import { dateIn, resolveDeadline } from '../../events/time.js';
import type { Evidence } from '../../events/common.js';
import type { EscalationRow, HouseholdRow, ListingRow, ProblemLedgerItem, UnitRollup } from '../ports/read-model.js';
import { header } from '../spreadsheets/fields.js';
import { labels, yesNo, type LabelSet } from '../spreadsheets/labels.js';
import type { Column } from '../spreadsheets/write.js';
import type { ReviewCandidate, UnitReviewFigures } from '../reviews/index.js';

/** What the columns need besides the row: unit names and the zone dates are shown in. */
export interface ColumnContext {
  nameOf(unitId: string): string | undefined;
  timeZone: string;
}

const label = (set: LabelSet, code: string) => (labels[set] as Record<string, string>)[code] ?? code;

/** A deadline that is the end of a day reads as that day; any other instant as it is. */
export function dayOrInstant(instant: string, timeZone: string): string {
  const day = dateIn(instant, timeZone);
  return resolveDeadline(day, timeZone) === resolveDeadline(instant, timeZone) ? day : instant;
}

/** Evidence references in one cell, one per line: `kind|sha256|uri`. */
export const evidenceCell = (evidence: readonly Evidence[]) => evidence.map((e) => `${e.kind}|${e.sha256}|${e.uri}`).join('\n');

/** The leader as the listing board keeps it, "name (position)", split back into its parts. */
export function leaderParts(leader: string): { name: string; position: string } {
  const match = /^(.*) \((.*)\)$/s.exec(leader);
  return match ? { name: match[1]!, position: match[2]! } : { name: leader, position: '' };
}

const figuresCell = (figures: Record<string, unknown>) =>
  Object.entries(figures)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(';');

function numbered<T>(columns: Column<T>[]): Column<T>[] {
  let n = 0;
  // Rows are written in order, once each: the counter is the row's 序号.
  return [{ header: '序号', width: 7, value: () => ++n }, ...columns];
}

export function problemColumns(ctx: ColumnContext): Column<ProblemLedgerItem>[] {
  const h = (key: string) => header('problems', key);
  return numbered([
    { header: h('problemId'), width: 18, value: (r) => r.problemId },
    { header: h('targetUnitId'), width: 16, value: (r) => r.unitId },
    { header: '问题所在单位', width: 14, value: (r) => ctx.nameOf(r.unitId) ?? '' },
    { header: h('responsibleUnitId'), width: 16, value: (r) => r.responsibleUnitId },
    { header: '责任单位', width: 14, value: (r) => ctx.nameOf(r.responsibleUnitId) ?? '' },
    { header: h('source'), value: (r) => label('problemSource', r.source) },
    { header: h('category'), value: (r) => label('problemCategory', r.category) },
    { header: h('severity'), width: 10, value: (r) => label('severity', r.severity) },
    { header: h('description'), width: 40, value: (r) => r.description },
    { header: h('deadline'), width: 12, value: (r) => dayOrInstant(r.deadline, ctx.timeZone) },
    { header: '整改进展', value: (r) => label('problemStatus', r.status) },
    { header: '措施完成', width: 10, value: (r) => `${r.measuresDone}/${r.measuresTotal}` },
    { header: '预警颜色', width: 10, value: (r) => label('colour', r.colour), fill: (r) => r.colour },
    { header: '督办层级', width: 10, value: (r) => r.escalationLevel },
    { header: '逾期天数', width: 10, value: (r) => r.daysOverdue },
    { header: '是否销号', width: 10, value: (r) => yesNo(r.status === 'cleared') },
    { header: '销号时间', width: 22, value: (r) => r.clearedAt ?? '' },
    { header: '发现时间', width: 22, value: (r) => r.foundAt },
    { header: '回头看重开次数', value: (r) => r.reopenCount },
  ]);
}

const assessmentKeys = ['food', 'clothing', 'education', 'medical', 'housing', 'water'] as const;

export function householdColumns(ctx: ColumnContext): Column<HouseholdRow>[] {
  const h = (key: string) => header('households', key);
  return numbered([
    { header: h('householdId'), width: 20, value: (r) => r.householdId },
    { header: h('villageId'), width: 16, value: (r) => r.villageId },
    { header: '所属村', width: 12, value: (r) => ctx.nameOf(r.villageId) ?? '' },
    { header: h('members'), width: 10, value: (r) => r.members },
    { header: h('category'), value: (r) => label('householdCategory', r.category) },
    { header: '措施完成', width: 10, value: (r) => `${r.planDone}/${r.planTotal}` },
    ...assessmentKeys.map(
      (key): Column<HouseholdRow> => ({ header: header('assessments', key), value: (r) => (r.assessment ? yesNo(r.assessment[key]) : '') }),
    ),
    { header: '是否达标', width: 10, value: (r) => yesNo(r.meetsStandard) },
    { header: '评估时间', width: 22, value: (r) => r.assessment?.assessedAt ?? '' },
    { header: '监测标记', width: 10, value: (r) => yesNo(r.monitored) },
    { header: '监测原因', width: 20, value: (r) => r.monitoringReason ?? '' },
  ]);
}

/** One plan measure (一户一方案) with its household. */
export interface PlanMeasureRow {
  householdId: string;
  villageId: string;
  measureId: string;
  kind: string;
  description: string;
  responsibleUnitId: string;
  deadline: string;
  completed: boolean;
  evidence: readonly Evidence[];
}

export function planMeasureColumns(ctx: ColumnContext): Column<PlanMeasureRow>[] {
  const h = (key: string) => header('plan_measures', key);
  return numbered([
    { header: h('householdId'), width: 20, value: (r) => r.householdId },
    { header: '所属村', width: 12, value: (r) => ctx.nameOf(r.villageId) ?? '' },
    { header: h('measureId'), width: 16, value: (r) => r.measureId },
    { header: h('kind'), value: (r) => label('planMeasureKind', r.kind) },
    { header: h('description'), width: 30, value: (r) => r.description },
    { header: h('responsibleUnitId'), width: 16, value: (r) => r.responsibleUnitId },
    { header: '责任单位', width: 12, value: (r) => ctx.nameOf(r.responsibleUnitId) ?? '' },
    { header: h('deadline'), width: 12, value: (r) => dayOrInstant(r.deadline, ctx.timeZone) },
    { header: h('completed'), width: 10, value: (r) => yesNo(r.completed) },
    { header: h('evidence'), width: 30, value: (r) => evidenceCell(r.evidence) },
  ]);
}

export function unitColumns(): Column<UnitRollup>[] {
  const h = (key: string) => header('units', key);
  return numbered([
    { header: h('unitId'), width: 16, value: (r) => r.unitId },
    { header: h('name'), width: 14, value: (r) => r.name },
    { header: h('level'), value: (r) => label('level', r.level) },
    { header: h('parentId'), width: 16, value: (r) => r.parentId ?? '' },
    { header: h('population'), width: 10, value: (r) => r.population ?? '' },
    { header: '未销号问题', value: (r) => r.problemsOpen },
    { header: '逾期问题', value: (r) => r.problemsOverdue },
    { header: '已销号问题', value: (r) => r.problemsCleared },
    { header: '农户数', value: (r) => r.householdsTotal },
    { header: '达标户数', value: (r) => r.householdsMeetingStandard },
    { header: '监测户数', value: (r) => r.householdsMonitored },
    { header: '措施总数', value: (r) => r.measuresTotal },
    { header: '已完成措施', value: (r) => r.measuresCompleted },
    { header: '挂牌中', value: (r) => r.listingsActive },
    { header: '是否清零', value: (r) => (r.clear ? (r.clearance ?? '是') : '否') },
  ]);
}

export function escalationColumns(ctx: ColumnContext): Column<Omit<EscalationRow, 'ancestors'>>[] {
  return numbered([
    { header: header('problems', 'problemId'), width: 18, value: (r) => r.problemId },
    { header: '问题所在单位', width: 14, value: (r) => ctx.nameOf(r.unitId) ?? r.unitId },
    { header: '责任单位', width: 14, value: (r) => ctx.nameOf(r.responsibleUnitId) ?? r.responsibleUnitId },
    { header: '督办层级', width: 10, value: (r) => r.level },
    { header: '督办单位', width: 14, value: (r) => ctx.nameOf(r.toUnitId) ?? r.toUnitId },
    { header: '预警颜色', width: 10, value: (r) => label('colour', r.colour), fill: (r) => r.colour },
    { header: '督办原因', width: 30, value: (r) => r.reason },
    { header: '督办时间', width: 22, value: (r) => r.escalatedAt },
    { header: '整改时限', width: 12, value: (r) => dayOrInstant(r.deadline, ctx.timeZone) },
  ]);
}

export function listingColumns(ctx: ColumnContext): Column<Omit<ListingRow, 'ancestors'>>[] {
  const h = (key: string) => header('listings', key);
  return numbered([
    { header: h('listingId'), width: 16, value: (r) => r.listingId },
    { header: h('targetUnitId'), width: 16, value: (r) => r.targetUnitId },
    { header: '挂牌对象', width: 14, value: (r) => ctx.nameOf(r.targetUnitId) ?? '' },
    { header: h('supervisingUnitId'), width: 16, value: (r) => r.supervisingUnitId },
    { header: h('leaderName'), value: (r) => leaderParts(r.leader).name },
    { header: h('leaderPosition'), value: (r) => leaderParts(r.leader).position },
    { header: h('reason'), width: 30, value: (r) => r.reason },
    { header: h('metrics'), width: 30, value: (r) => figuresCell(r.metrics) },
    { header: '状态', value: (r) => (r.active ? '挂牌中' : '已摘牌') },
    { header: '挂牌时间', width: 22, value: (r) => r.listedAt },
    { header: '摘牌时间', width: 22, value: (r) => r.delistedAt ?? '' },
  ]);
}

export function reviewColumns(): Column<UnitReviewFigures>[] {
  return [
    ...unitColumns(),
    { header: '剩余贫困户', value: (r) => r.remainingPoorHouseholds },
    { header: '剩余贫困人口', value: (r) => r.remainingPoorPeople },
    { header: '贫困发生率(%)', value: (r) => r.povertyIncidencePercent ?? '' },
  ];
}

const candidateRules: Record<string, string> = {
  'listing.threshold.remaining_poor': '剩余贫困人口超过',
  'listing.threshold.relocation_site_people': '安置点人口超过',
  'listing.threshold.township_remaining_poor': '乡镇剩余贫困人口超过',
  'listing.threshold.village_incidence': '贫困发生率(%)超过',
};

export function candidateColumns(): Column<ReviewCandidate>[] {
  return numbered([
    { header: '单位代码', width: 16, value: (r) => r.unitId },
    { header: '单位名称', width: 14, value: (r) => r.name },
    { header: '层级', value: (r) => label('level', r.level) },
    { header: '挂牌层级', value: (r) => (r.listedBy === 'prefecture' ? '州级督战' : '县级督战') },
    { header: '依据', width: 22, value: (r) => `${candidateRules[r.rule] ?? r.rule} ${r.threshold}` },
    { header: '数值', value: (r) => Math.round(r.value * 10_000) / 10_000 },
    { header: '是否已挂牌', value: (r) => yesNo(r.listed) },
    { header: '挂牌编号', width: 20, value: (r) => r.listingIds.join('\n') },
  ]);
}
