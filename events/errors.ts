/**
 * The one error family. Every layer throws a DubanError; the HTTP edge maps `code` to a status and an
 * RFC 9457 problem document. `rule` names the exact domain rule or check that refused, so clients and
 * tests can tell refusals apart without parsing messages.
 */
export const errorStatus = {
  validation: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  too_large: 413,
  unprocessable: 422,
} as const;

export type ErrorCode = keyof typeof errorStatus;

export class DubanError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly rule: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'DubanError';
  }
}

/** A command refused by a decider because it breaks a rule of DOMAIN.md. */
export const refuse = (rule: string, message: string, details?: Record<string, unknown>) =>
  new DubanError('conflict', rule, message, details);

export const forbid = (rule: string, message: string, details?: Record<string, unknown>) =>
  new DubanError('forbidden', rule, message, details);

export const invalid = (rule: string, message: string, details?: Record<string, unknown>) =>
  new DubanError('validation', rule, message, details);

export const notFound = (rule: string, message: string, details?: Record<string, unknown>) =>
  new DubanError('not_found', rule, message, details);

/**
 * A clock step the stream as it is now no longer justifies (acknowledged meanwhile, deadline moved,
 * cleared): not the caller's fault, and nothing to record. The command handler answers it as "not due".
 */
export class StepNotDue extends DubanError {
  constructor(rule: string, message: string, details?: Record<string, unknown>) {
    super('conflict', rule, message, details);
    this.name = 'StepNotDue';
  }
}

export const notDue = (rule: string, message: string, details?: Record<string, unknown>) =>
  new StepNotDue(rule, message, details);
