import { type KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { EntryClaims } from '../../proto/entry-code.ts';

export { EntryClaims };

export interface IssuedCode {
  code: string;
  nonce: string;
  expiresAt: Date;
}

export function issueEntryCode(
  claims: { shopperId: string; companions: number },
  key: { kid: string; privateKey: KeyObject },
  nowMs: number,
  ttlS: number,
): Promise<IssuedCode> {
  const iat = Math.floor(nowMs / 1000);
  const body: EntryClaims = {
    v: 1,
    sub: claims.shopperId,
    nonce: randomBytes(16).toString('base64url'),
    companions: claims.companions,
    iat,
    exp: iat + ttlS,
  };
  const header = b64url(JSON.stringify({ alg: 'EdDSA', kid: key.kid }));
  const signingInput = `${header}.${b64url(JSON.stringify(body))}`;
  const signature = sign(null, Buffer.from(signingInput), key.privateKey).toString('base64url');
  return Promise.resolve({
    code: `${signingInput}.${signature}`,
    nonce: body.nonce,
    expiresAt: new Date(body.exp * 1000),
  });
}

const b64url = (s: string) => Buffer.from(s).toString('base64url');
const B64URL = /^[A-Za-z0-9_-]+$/;
const canonical = (part: string) => Buffer.from(part, 'base64url').toString('base64url') === part;

/**
 * A compact JWS (RFC 7515) with EdDSA over Ed25519 (RFC 8037), the one form entry codes take, so
 * any JOSE library can check them (the edge does, offline). Verified with node:crypto directly:
 * every gate scan pays for this, and WebCrypto's asynchronous path cost several times as much.
 */
function verifyCompact(code: string, keys: ReadonlyMap<string, KeyObject>): Uint8Array | string {
  const parts = code.split('.');
  if (parts.length !== 3 || !parts.every((p) => B64URL.test(p))) return 'not a compact JWS';
  // base64url leaves spare bits in its last character; a code whose text differs from the canonical
  // encoding of its bytes is refused, so one code has exactly one text (nonce and replay checks rely on it).
  if (!parts.every(canonical)) return 'not the canonical base64url encoding';
  const [h, p, sig] = parts as [string, string, string];
  let header: { alg?: unknown; kid?: unknown };
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
  } catch {
    return 'unreadable header';
  }
  if (header.alg !== 'EdDSA') return `algorithm ${String(header.alg)} is not EdDSA`;
  const key = typeof header.kid === 'string' ? keys.get(header.kid) : undefined;
  if (key?.asymmetricKeyType !== 'ed25519') return 'unknown key id';
  if (!verify(null, Buffer.from(`${h}.${p}`), key, Buffer.from(sig, 'base64url')))
    return 'signature verification failed';
  return Buffer.from(p, 'base64url');
}

export type CodeCheck =
  | { ok: true; claims: EntryClaims }
  | { ok: false; reason: 'bad_signature'; detail: string }
  /** Signed by us, so whose it is is known: what an entry admitted offline is reconciled with. */
  | { ok: false; reason: 'expired'; detail: string; claims: EntryClaims };

/**
 * Checks signature and time only; whether the nonce was used before is the database's to say.
 * A code from a phone whose clock runs ahead by up to skewS is still accepted.
 */
export async function checkEntryCode(
  code: string,
  keys: ReadonlyMap<string, KeyObject>,
  nowMs: number,
  skewS: number,
): Promise<CodeCheck> {
  const payload = verifyCompact(code, keys);
  if (typeof payload === 'string') return { ok: false, reason: 'bad_signature', detail: payload };
  let claims: EntryClaims;
  try {
    claims = EntryClaims.parse(JSON.parse(new TextDecoder().decode(payload)));
  } catch {
    // Signed by us but not our shape: only a bug or a stolen key could produce this.
    return { ok: false, reason: 'bad_signature', detail: 'signed payload is not an entry code' };
  }
  const now = nowMs / 1000;
  if (claims.exp - claims.iat > 30)
    return { ok: false, reason: 'bad_signature', detail: 'validity over 30 s' };
  if (now >= claims.exp)
    return { ok: false, reason: 'expired', detail: `expired ${Math.round(now - claims.exp)} s ago`, claims };
  if (claims.iat > now + skewS)
    return { ok: false, reason: 'expired', detail: 'issued in the future', claims };
  return { ok: true, claims };
}
