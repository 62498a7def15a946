import { describe, expect, it } from 'vitest';
import { devSignInFor } from '../../../services/http/routes/dev-sign-in.js';

const secret = 'a-development-secret-of-32-characters!';

describe('the console sign-in route', () => {
  it('exists in development with tokens signed by the service', () => {
    expect(devSignInFor({ nodeEnv: 'development', jwtSecret: secret })).toEqual({ secret });
    expect(devSignInFor({ nodeEnv: 'test', jwtSecret: secret })).toEqual({ secret });
  });
  it('is absent in production, and wherever tokens come from an identity provider', () => {
    expect(devSignInFor({ nodeEnv: 'production', jwtSecret: secret })).toBeUndefined();
    expect(devSignInFor({ nodeEnv: 'development', jwtSecret: secret, jwtPublicKey: '-----BEGIN PUBLIC KEY-----' })).toBeUndefined();
  });
});
