import { createPublicKey, type KeyObject } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { DubanError } from '../../events/errors.js';
import { claimsSchema, type Principal, type Role } from './principal.js';

/**
 * Bearer tokens: HS256 with a shared secret, or RS256 verified with a public key (PEM) when the tokens
 * are issued elsewhere. Only the configured algorithm is accepted, so a token cannot choose its own.
 */
export type TokenKeys =
  | { algorithm: 'HS256'; secret: string; issuer?: string; audience?: string }
  | { algorithm: 'RS256'; publicKeyPem: string; issuer?: string; audience?: string };

const unauthenticated = (rule: string, message: string) => new DubanError('unauthenticated', rule, message);

/** Verified tokens remembered, so a client's every request does not pay for the signature again. */
const VERIFIED_CACHE_SIZE = 10_000;

export function createTokenVerifier(keys: TokenKeys) {
  const key: Uint8Array | KeyObject =
    keys.algorithm === 'HS256' ? new TextEncoder().encode(keys.secret) : createPublicKey(keys.publicKeyPem);
  // A token is immutable: once its signature and claims checked out, only its expiry can change the answer.
  const verified = new Map<string, { principal: Principal; expiresAtMs: number }>();

  /** The principal of a token already verified and not yet expired, without a promise (the hot path). */
  const known = (token: string): Principal | undefined => {
    const hit = verified.get(token);
    return hit !== undefined && Date.now() < hit.expiresAtMs ? hit.principal : undefined;
  };

  async function verifyToken(token: string): Promise<Principal> {
    const known = verified.get(token);
    if (known) {
      if (Date.now() < known.expiresAtMs) return known.principal;
      verified.delete(token);
      throw unauthenticated('auth.token_expired', 'the token has expired');
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: [keys.algorithm],
        requiredClaims: ['exp', 'sub'],
        ...(keys.issuer ? { issuer: keys.issuer } : {}),
        ...(keys.audience ? { audience: keys.audience } : {}),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated('auth.token_expired', 'the token has expired');
      throw unauthenticated('auth.token_invalid', 'the token is not valid for this service');
    }
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) {
      throw unauthenticated('auth.claims_invalid', 'the token must carry sub, unit and role (admin|supervisor|cadre|inspector)');
    }
    const principal: Principal = { userId: claims.data.sub, unitId: claims.data.unit, role: claims.data.role };
    if (verified.size >= VERIFIED_CACHE_SIZE) verified.delete(verified.keys().next().value as string);
    verified.set(token, { principal, expiresAtMs: (payload.exp as number) * 1000 });
    return principal;
  }
  return Object.assign(verifyToken, { known });
}
export type VerifyToken = ReturnType<typeof createTokenVerifier>;

/** Issues an HS256 token; used by `npm run token`, the demo seed and tests. */
export async function signToken(
  secret: string,
  principal: { userId: string; unitId: string; role: Role },
  options: { expiresIn?: string; issuer?: string; audience?: string } = {},
): Promise<string> {
  let jwt = new SignJWT({ unit: principal.unitId, role: principal.role })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(principal.userId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h');
  if (options.issuer) jwt = jwt.setIssuer(options.issuer);
  if (options.audience) jwt = jwt.setAudience(options.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}

/** Pulls the token out of `Authorization: Bearer <token>`; anything else is refused. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw unauthenticated('auth.missing', 'send Authorization: Bearer <token>');
  const match = /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header);
  if (!match?.[1]) throw unauthenticated('auth.malformed', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}
