import { afterEach, describe, expect, test, vi } from 'vitest';
import { createTokenVerifier, signToken } from '../../../services/auth/tokens.js';

const secret = 'tokens-test-secret-with-enough-length-0123';
const principal = { userId: 'cadre@533423', unitId: '533423', role: 'cadre' as const };

describe('the token verifier and its cache of verified tokens', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  test('knows a token only once its signature and claims were verified, and answers it without a promise', async () => {
    const verifyToken = createTokenVerifier({ algorithm: 'HS256', secret });
    const token = await signToken(secret, principal);

    expect(verifyToken.known(token)).toBeUndefined();
    await expect(verifyToken(token)).resolves.toEqual(principal);
    expect(verifyToken.known(token)).toEqual(principal);
  });

  test('a token signed with another secret is never known, however often it is presented', async () => {
    const verifyToken = createTokenVerifier({ algorithm: 'HS256', secret });
    const forged = await signToken('another-secret-with-enough-length-0123456', principal);

    for (let i = 0; i < 2; i++) {
      await expect(verifyToken(forged)).rejects.toMatchObject({ rule: 'auth.token_invalid' });
      expect(verifyToken.known(forged)).toBeUndefined();
    }
  });

  test('a known token stops being known when it expires, and is then refused as expired', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-12-02T08:00:00Z'));
    const verifyToken = createTokenVerifier({ algorithm: 'HS256', secret });
    const token = await signToken(secret, principal, { expiresIn: '1h' });
    await verifyToken(token);

    vi.setSystemTime(new Date('2026-12-02T08:59:58Z'));
    expect(verifyToken.known(token)).toEqual(principal);
    vi.setSystemTime(new Date('2026-12-02T09:00:01Z'));
    expect(verifyToken.known(token)).toBeUndefined();
    await expect(verifyToken(token)).rejects.toMatchObject({ rule: 'auth.token_expired' });
  });
});
