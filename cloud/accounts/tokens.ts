import { createHash, randomBytes } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';

export type Role = 'shopper' | 'operator' | 'admin';

export interface Principal {
  /** A shopper's or an operator's id. */
  sub: string;
  role: Role;
  /** Stores an operator may act for; empty for shoppers. */
  stores: string[];
}

export interface AccessKey {
  kid: string;
  secret: Uint8Array;
}

export function signAccessToken(p: Principal, key: AccessKey, nowMs: number, ttlS: number): Promise<string> {
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ role: p.role, stores: p.stores })
    .setProtectedHeader({ alg: 'HS256', kid: key.kid })
    .setSubject(p.sub)
    .setIssuedAt(iat)
    .setExpirationTime(iat + ttlS)
    .setIssuer('walkout')
    .sign(key.secret);
}

/** The principal an access token names, or why it names none. */
export async function verifyAccessToken(
  token: string,
  key: AccessKey,
  nowMs: number,
): Promise<{ ok: true; principal: Principal } | { ok: false; why: string }> {
  try {
    const { payload } = await jwtVerify(token, key.secret, {
      algorithms: ['HS256'],
      issuer: 'walkout',
      currentDate: new Date(nowMs),
    });
    const role = payload.role;
    if (typeof payload.sub !== 'string' || (role !== 'shopper' && role !== 'operator' && role !== 'admin')) {
      return { ok: false, why: 'token has no subject or role' };
    }
    const stores = Array.isArray(payload.stores) ? payload.stores.filter((s) => typeof s === 'string') : [];
    return { ok: true, principal: { sub: payload.sub, role, stores } };
  } catch (err) {
    return { ok: false, why: (err as Error).message };
  }
}

/** A refresh token is a random secret; only its hash is stored. */
export function newRefreshToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashSecret(token) };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}
