import { generateKeyPairSync } from 'node:crypto';
import { CompactSign, compactVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { checkEntryCode, issueEntryCode } from './codes.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const key = { kid: 'entry-test', privateKey };
const keys = new Map([['entry-test', publicKey]]);
const shopperId = '5b0f3c2e-8d1a-4f57-9a0e-2c6d7b8e9f10';
const t0 = Date.UTC(2026, 11, 3, 12, 0, 0);

describe('entry codes', () => {
  it('carry the shopper, companions and a fresh nonce, and verify until they expire', async () => {
    const a = await issueEntryCode({ shopperId, companions: 2 }, key, t0, 30);
    const b = await issueEntryCode({ shopperId, companions: 2 }, key, t0, 30);
    expect(a.nonce).not.toBe(b.nonce);
    expect(a.expiresAt.getTime()).toBe(t0 + 30_000);
    const ok = await checkEntryCode(a.code, keys, t0 + 29_000, 2);
    expect(ok).toMatchObject({ ok: true, claims: { sub: shopperId, companions: 2, nonce: a.nonce } });
    expect(await checkEntryCode(a.code, keys, t0 + 30_000, 2)).toMatchObject({
      ok: false,
      reason: 'expired',
    });
  });

  it('refuse a code whose payload was changed, one signed by another key, and garbage', async () => {
    const { code } = await issueEntryCode({ shopperId, companions: 0 }, key, t0, 30);
    const [h, p, s] = code.split('.');
    const claims = JSON.parse(Buffer.from(p!, 'base64url').toString());
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, companions: 5 })).toString('base64url')}.${s}`;
    expect(await checkEntryCode(forged, keys, t0, 2)).toMatchObject({ ok: false, reason: 'bad_signature' });

    const other = generateKeyPairSync('ed25519').privateKey;
    const foreign = await issueEntryCode(
      { shopperId, companions: 0 },
      { kid: 'entry-test', privateKey: other },
      t0,
      30,
    );
    expect(await checkEntryCode(foreign.code, keys, t0, 2)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });

    const unknownKid = await issueEntryCode(
      { shopperId, companions: 0 },
      { kid: 'entry-old', privateKey },
      t0,
      30,
    );
    expect(await checkEntryCode(unknownKid.code, keys, t0, 2)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });

    for (const junk of ['', 'WO1.reference.v1.shopper.abc', 'a.b.c', '{"v":1}']) {
      expect(await checkEntryCode(junk, keys, t0, 2)).toMatchObject({ ok: false, reason: 'bad_signature' });
    }
  });

  it('refuse validity over 30 seconds even when signed, and codes from beyond the clock skew', async () => {
    const long = await issueEntryCode({ shopperId, companions: 0 }, key, t0, 120);
    expect(await checkEntryCode(long.code, keys, t0, 2)).toMatchObject({
      ok: false,
      reason: 'bad_signature',
    });
    const early = await issueEntryCode({ shopperId, companions: 0 }, key, t0 + 5_000, 30);
    expect(await checkEntryCode(early.code, keys, t0, 2)).toMatchObject({ ok: false, reason: 'expired' });
    expect(await checkEntryCode(early.code, keys, t0 + 3_000, 2)).toMatchObject({ ok: true });
  });

  it('are standard compact JWS both ways: a JOSE library verifies ours, and we verify its', async () => {
    const ours = await issueEntryCode({ shopperId, companions: 1 }, key, t0, 30);
    const { payload, protectedHeader } = await compactVerify(ours.code, publicKey);
    expect(protectedHeader).toEqual({ alg: 'EdDSA', kid: 'entry-test' });
    expect(JSON.parse(new TextDecoder().decode(payload))).toMatchObject({
      sub: shopperId,
      nonce: ours.nonce,
    });

    const claims = {
      v: 1,
      sub: shopperId,
      nonce: 'abcdefghijklmnop',
      companions: 0,
      iat: t0 / 1000,
      exp: t0 / 1000 + 30,
    };
    const theirs = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'EdDSA', kid: 'entry-test' })
      .sign(privateKey);
    expect(await checkEntryCode(theirs, keys, t0, 2)).toMatchObject({ ok: true, claims });
    const hs = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'HS256', kid: 'entry-test' })
      .sign(new Uint8Array(32));
    expect(await checkEntryCode(hs, keys, t0, 2)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('accept only the canonical text of a code: a spare bit changed in any part is refused', async () => {
    const { code } = await issueEntryCode({ shopperId, companions: 0 }, key, t0, 30);
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    // The lowest bit of the last character is padding whenever a part's length is not a multiple of 4.
    const flipLast = (part: string) => part.slice(0, -1) + ALPHABET[ALPHABET.indexOf(part.at(-1)!) ^ 1];
    const parts = code.split('.');
    let malleable = 0;
    // The signature first: the only part whose change the signature check itself cannot notice.
    for (const i of [2, 1, 0]) {
      if (parts[i]!.length % 4 === 0) continue;
      const changed = parts.map((p, j) => (j === i ? flipLast(p) : p));
      // Same bytes, different text: what a code's text would be if it were malleable.
      expect(Buffer.from(changed[i]!, 'base64url')).toEqual(Buffer.from(parts[i]!, 'base64url'));
      expect(await checkEntryCode(changed.join('.'), keys, t0, 2)).toMatchObject({
        ok: false,
        reason: 'bad_signature',
        detail: 'not the canonical base64url encoding',
      });
      malleable++;
    }
    expect(malleable).toBeGreaterThan(0);
    expect(await checkEntryCode(code, keys, t0, 2)).toMatchObject({ ok: true });
  });
});
