import type { ProblemDetails } from './api/types.js';

/**
 * The deciders' rules (docs/domain.md, "Rule codes") as a user reads them. A refusal names its rule; the
 * console shows the sentence here, or the API's own Chinese title when a rule is not listed.
 */
export const ruleMessages: Record<string, string> = {
  'access.role': '您的角色无权执行此操作',
  'access.scope': '该单位不在您的管辖范围内，或不在您的下级',
  'auth.token_expired': '登录已过期，请重新登录',
  'auth.token_invalid': '令牌无效，请重新登录',
  'auth.missing': '请先登录',
  'problem.not_found': '该问题不存在',
  'problem.acknowledge.already': '该问题已签收，无需重复签收',
  'problem.acknowledge.cleared': '该问题已销号，不能签收',
  'problem.measure.cleared': '该问题已销号，不能再添加措施；须经回头看重新打开',
  'problem.measure.duplicate': '该措施已存在',
  'problem.measure.deadline_passed': '措施期限必须在今天之后',
  'problem.measure.unknown_assignee': '承办单位不存在',
  'problem.complete.unknown_measure': '该措施不存在',
  'problem.complete.already_completed': '该措施已完成，不能重复完成',
  'problem.submit.cleared': '该问题已销号，不能提交整改',
  'problem.submit.not_acknowledged': '问题尚未签收，不能提交整改',
  'problem.submit.pending': '整改已提交，正在等待核验',
  'problem.reject.nothing_submitted': '没有待核验的整改，不能退回',
  'problem.reject.reason_required': '退回必须填写理由',
  'problem.reject.own_unit': '责任单位不能退回自己的整改',
  'problem.reject.not_above': '只有责任单位的上级才能退回整改',
  'problem.clear.already_cleared': '该问题已销号',
  'problem.clear.open_measures': '还有整改措施未完成，不能销号',
  'problem.clear.no_rectification': '整改尚未提交或已被退回，不能销号',
  'problem.clear.own_unit': '责任单位不能为自己的问题销号',
  'problem.clear.own_submission': '提交整改的人不能为自己的整改销号',
  'problem.clear.not_above': '只有责任单位的上级才能销号',
  'problem.extend.cleared': '该问题已销号，不能延期',
  'problem.extend.not_forward': '新期限必须晚于当前期限',
  'problem.extend.reason_required': '延期必须填写理由',
  'problem.extend.own_unit': '责任单位不能为自己的问题延期',
  'problem.extend.not_above': '只有责任单位的上级才能批准延期',
  'problem.reopen.not_cleared': '只有已销号的问题才能经回头看重新打开',
  'problem.reopen.reason_required': '重新打开必须填写理由',
  'problem.reopen.deadline_passed': '新期限必须在今天之后',
  'time.deadline': '期限格式不正确（应为日期，如 2027-06-30）',
  'http.body': '填写的内容不符合要求',
  'http.if_match': '页面已过期：该问题已被他人更新，请刷新后重试',
};

/** What to show for a refusal: the rule in Chinese (or English detail), and the rule code for reference. */
export function refusalText(problem: ProblemDetails, lang: 'zh' | 'en'): string {
  const rule = problem.rule;
  if (lang === 'zh') {
    const sentence = (rule && ruleMessages[rule]) ?? problem.title_zh ?? problem.title;
    return rule ? `${sentence}（${rule}）` : sentence;
  }
  return `${problem.detail ?? problem.title}${rule ? ` (${rule})` : ''}`;
}
