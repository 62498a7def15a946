import { describe, expect, it } from 'vitest';
import { DubanError, errorStatus, refuse } from '../events/errors.js';

describe('error family', () => {
  it('carries a code that maps to an HTTP status and the rule that refused', () => {
    const error = refuse('problem.clear.open_measures', 'measures still open');
    expect(error).toBeInstanceOf(DubanError);
    expect(errorStatus[error.code]).toBe(409);
    expect(error.rule).toBe('problem.clear.open_measures');
  });
});
