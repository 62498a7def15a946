import { z } from 'zod';
import { errorStatus, type DubanError, type ErrorCode } from '../../events/errors.js';
import { WrongExpectedVersionError } from '../ports/event-store.js';

/**
 * RFC 9457 problem details. `type` is stable per kind of failure and is what clients branch on; `rule`
 * names the exact check that refused (a domain rule such as `problem.clear.own_item`, or an HTTP check
 * such as `http.if_match`). Titles come in English and Chinese; `detail` is the English explanation.
 */
export const PROBLEM_TYPE_BASE = 'https://duban.dev/problems/';

export type ProblemKind =
  | ErrorCode
  | 'revision_conflict'
  | 'route_not_found'
  | 'method_not_allowed'
  | 'unsupported_media_type'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'too_many_requests'
  | 'internal'
  | 'unavailable';

const titles: Record<ProblemKind, { status: number; title: string; title_zh: string }> = {
  validation: { status: errorStatus.validation, title: 'The request is not valid', title_zh: '请求内容不合法' },
  unauthenticated: { status: errorStatus.unauthenticated, title: 'Authentication required', title_zh: '需要身份认证' },
  forbidden: { status: errorStatus.forbidden, title: 'Not allowed for this user', title_zh: '当前用户无权执行此操作' },
  not_found: { status: errorStatus.not_found, title: 'Not found', title_zh: '未找到' },
  conflict: { status: errorStatus.conflict, title: 'Refused by a supervision rule', title_zh: '违反督办规则，操作被拒绝' },
  revision_conflict: {
    status: 409,
    title: 'Changed by someone else in the meantime',
    title_zh: '该事项已被他人修改，请刷新后重试',
  },
  precondition_failed: {
    status: errorStatus.precondition_failed,
    title: 'The item changed since you read it',
    title_zh: '事项版本已变化（If-Match 不匹配）',
  },
  too_large: { status: errorStatus.too_large, title: 'The request body is too large', title_zh: '请求内容过大' },
  unprocessable: {
    status: errorStatus.unprocessable,
    title: 'The request cannot be processed',
    title_zh: '请求无法处理',
  },
  route_not_found: { status: 404, title: 'No such route', title_zh: '接口不存在' },
  method_not_allowed: { status: 405, title: 'Method not allowed', title_zh: '不支持该请求方法' },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported content type; send application/json',
    title_zh: '不支持的内容类型，请使用 application/json',
  },
  uri_too_long: { status: 414, title: 'The URL is too long', title_zh: '请求地址过长' },
  headers_too_large: { status: 431, title: 'The request headers or URL are too large', title_zh: '请求头或地址过大' },
  too_many_requests: { status: 429, title: 'Too many requests', title_zh: '请求过于频繁' },
  internal: { status: 500, title: 'Internal error', title_zh: '服务器内部错误' },
  unavailable: { status: 503, title: 'Service unavailable', title_zh: '服务暂不可用' },
};

export const problemDetailsSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    title_zh: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    rule: z.string().optional(),
    correlationId: z.string().optional(),
    currentRevision: z.number().int().optional(),
    issues: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() })).optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'ProblemDetails', description: 'RFC 9457 problem details' });
export type ProblemDetails = z.infer<typeof problemDetailsSchema>;

export function problem(
  kind: ProblemKind,
  fields: { detail?: string; rule?: string; instance?: string; correlationId?: string } & Record<string, unknown> = {},
): ProblemDetails {
  const t = titles[kind];
  return { type: PROBLEM_TYPE_BASE + kind.replaceAll('_', '-'), title: t.title, title_zh: t.title_zh, status: t.status, ...fields };
}

/** Details a DubanError may carry that are safe and useful to a client. */
const exposedDetailKeys = new Set(['streamId', 'actualRevision', 'measureId', 'problemId', 'unitId', 'deadline', 'field']);

export function problemFromDubanError(err: DubanError): ProblemDetails {
  if (err instanceof WrongExpectedVersionError) {
    return problem('revision_conflict', {
      detail: 'another change was appended first; re-read the item and retry with its new revision',
      rule: err.rule,
      currentRevision: err.actualRevision,
    });
  }
  const exposed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(err.details ?? {})) {
    if (exposedDetailKeys.has(key) && (typeof value === 'string' || typeof value === 'number')) exposed[key] = value;
  }
  // A revision the caller must re-read from (If-Match refused) is named like the 409's.
  if (typeof err.details?.actualRevision === 'number') exposed.currentRevision = err.details.actualRevision;
  return { ...problem(err.code, { detail: err.message, rule: err.rule }), ...exposed };
}

/** The title of the problem a status stands for, as the document describes that response. */
export function problemTitle(status: number): string {
  return Object.values(titles).find((t) => t.status === status)?.title ?? 'Refused';
}

/**
 * The error statuses of every route that needs a token: bad URL or query (400), no or bad token (401), role
 * (403), unknown or out-of-sight ids (404), rate limit (429), failure (500), a dependency down or load shed (503).
 */
export const errorResponses = {
  400: problemDetailsSchema,
  401: problemDetailsSchema,
  403: problemDetailsSchema,
  404: problemDetailsSchema,
  429: problemDetailsSchema,
  500: problemDetailsSchema,
  503: problemDetailsSchema,
} as const;

/** A command's too: a supervision rule or a concurrent change (409), its body (413, 415), a reused Idempotency-Key (422). */
export const commandErrorResponses = {
  ...errorResponses,
  409: problemDetailsSchema,
  413: problemDetailsSchema,
  415: problemDetailsSchema,
  422: problemDetailsSchema,
} as const;

/** A command that takes If-Match: the item moved on (412). */
export const ifMatchErrorResponses = { ...commandErrorResponses, 412: problemDetailsSchema } as const;
