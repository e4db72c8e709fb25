import { type KeyObject, randomBytes } from 'node:crypto';
import { CompactSign, compactVerify, errors as joseErrors } from 'jose';
import { z } from 'zod';

/** What an entry code says: who pays, for how many people besides themselves, until when. */
export const EntryClaims = z
  .object({
    v: z.literal(1),
    /** The paying shopper. */
    sub: z.uuid(),
    /** Single use: the gate opens for a nonce once. */
    nonce: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/),
    companions: z.number().int().min(0).max(9),
    iat: z.number().int(),
    exp: z.number().int(),
  })
  .strict();
export type EntryClaims = z.infer<typeof EntryClaims>;

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
  return new CompactSign(new TextEncoder().encode(JSON.stringify(body)))
    .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
    .sign(key.privateKey)
    .then((code) => ({ code, nonce: body.nonce, expiresAt: new Date(body.exp * 1000) }));
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
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(
      code,
      (header) => {
        const key = header.kid === undefined ? undefined : keys.get(header.kid);
        if (!key) throw new joseErrors.JWSSignatureVerificationFailed('unknown key id');
        return key;
      },
      { algorithms: ['EdDSA'] },
    ));
  } catch (err) {
    return { ok: false, reason: 'bad_signature', detail: (err as Error).message };
  }
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
