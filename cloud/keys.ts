import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { type Db, inTransaction } from './db/pool.ts';

export interface CloudKeys {
  /** Signs entry codes (Ed25519); its public half is published so an edge can verify offline. */
  entry: { kid: string; privateKey: KeyObject; publicKey: KeyObject };
  /** Verifies entry codes signed by any key still on record, newest first. */
  entryPublicKeys: Map<string, KeyObject>;
  /** HMAC secret for shopper and operator access tokens. */
  access: { kid: string; secret: Uint8Array };
}

interface KeyRow {
  kid: string;
  purpose: 'entry' | 'access';
  private_key: string;
  public_key: string | null;
}

/**
 * The keys this cloud signs with, made on first start and kept in the database so that codes and
 * tokens handed out before a restart stay valid after it. (A production deployment would keep the
 * private halves in a KMS; the interface here is what would change.)
 */
export async function loadKeys(db: Db): Promise<CloudKeys> {
  const rows = await inTransaction(db, async (tx) => {
    // Two processes starting on an empty database must agree on one key of each kind.
    await tx.query("select pg_advisory_xact_lock(hashtext('walkout.signing_keys'))");
    const have = await tx.query<KeyRow>('select * from signing_keys order by created_at desc, kid');
    if (!have.rows.some((r) => r.purpose === 'entry')) {
      const { privateKey, publicKey } = generateKeyPairSync('ed25519');
      await tx.query(
        'insert into signing_keys (kid, purpose, private_key, public_key) values ($1, $2, $3, $4)',
        [
          `entry-${randomBytes(6).toString('hex')}`,
          'entry',
          privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
          publicKey.export({ format: 'pem', type: 'spki' }).toString(),
        ],
      );
    }
    if (!have.rows.some((r) => r.purpose === 'access')) {
      await tx.query('insert into signing_keys (kid, purpose, private_key) values ($1, $2, $3)', [
        `access-${randomBytes(6).toString('hex')}`,
        'access',
        randomBytes(32).toString('base64'),
      ]);
    }
    return (await tx.query<KeyRow>('select * from signing_keys order by created_at desc, kid')).rows;
  });
  const entryRows = rows.filter((r) => r.purpose === 'entry');
  const newestEntry = entryRows[0]!;
  const access = rows.find((r) => r.purpose === 'access')!;
  return {
    entry: {
      kid: newestEntry.kid,
      privateKey: createPrivateKey(newestEntry.private_key),
      publicKey: createPublicKey(newestEntry.public_key!),
    },
    entryPublicKeys: new Map(entryRows.map((r) => [r.kid, createPublicKey(r.public_key!)])),
    access: { kid: access.kid, secret: Buffer.from(access.private_key, 'base64') },
  };
}

/** The entry-code verification keys as a JWK set, for gates and edges that verify offline. */
export function entryJwks(keys: CloudKeys): { keys: Array<Record<string, unknown>> } {
  return {
    keys: [...keys.entryPublicKeys].map(([kid, key]) => ({
      ...key.export({ format: 'jwk' }),
      kid,
      alg: 'EdDSA',
      use: 'sig',
    })),
  };
}
