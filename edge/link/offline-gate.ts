/**
 * Entries while the cloud is unreachable: the edge checks an entry code's signature against the
 * cloud's entry keys (a JWK set from StoreConfig.entry_keys_url, cached on disk for the outage that
 * matters) and its validity at the scan's time, opens the gate for a good one and reports an
 * `OfflineEntry` under a visit id of its own. The cloud reconciles it when the report arrives
 * (docs/cloud.md, "Entries while the cloud is unreachable"): a reused or expired code still opens a
 * visit there but is held for an operator; an unsigned one is refused.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { z } from 'zod';
import type { Logger } from '../../platform/log.ts';
import { EntryClaims } from '../../proto/entry-code.ts';
import { WalkoutError } from '../../proto/index.ts';
import type { CloudLink, GateAnswer } from '../stages.ts';
import type { PartyPass } from './gate-decision.ts';

const Jwks = z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) });

/** What the edge has let in offline, kept across a restart during the outage. */
const Kept = z.object({
  used: z.record(z.string(), z.number()),
  passes: z.record(
    z.string(),
    z.object({
      visitId: z.string(),
      gateId: z.string(),
      party: z.number().int().positive(),
      left: z.number().int().nonnegative(),
      untilMs: z.number(),
    }),
  ),
});

export interface OfflineGateConfig {
  /** Where the last good JWK set is kept, so a restart during an outage can still verify. */
  keysFile: string;
  /** A phone clock ahead of the edge's by up to this still passes (the cloud's ENTRY_CLOCK_SKEW_S). */
  skewS: number;
  /** The longest validity a code may claim (the cloud issues 30 s at most). */
  maxValidityS: number;
  /**
   * Where the nonces used and the party passes left are kept: an edge restarted during an outage
   * must not let a code in twice, nor refuse a party's next member.
   */
  stateFile: string;
}

export type OfflineCheck =
  | { ok: true; claims: EntryClaims }
  | { ok: false; reason: 'no_keys' | 'bad_signature' | 'expired' | 'replayed'; detail: string };

const B64URL = /^[A-Za-z0-9_-]+$/;
/** One code has one text: the cloud refuses a non-canonical encoding, so the edge does too. */
const canonical = (part: string) => Buffer.from(part, 'base64url').toString('base64url') === part;

export class OfflineGate {
  private jwks: JSONWebKeySet | null = null;
  private keySet: ReturnType<typeof createLocalJWKSet> | null = null;
  /** Nonces admitted offline, until their code expires: a code opens the gate once here too. */
  private readonly used = new Map<string, number>();
  /** Offline entries' passes left for the party's later members, by code. */
  private readonly passes = new Map<string, PartyPass>();

  constructor(
    private readonly cfg: OfflineGateConfig,
    private readonly log: Logger,
  ) {
    try {
      this.install(JSON.parse(readFileSync(cfg.keysFile, 'utf8')));
    } catch {
      // No cache yet (first start): offline entries wait for the first fetch.
    }
    this.load();
  }

  hasKeys(): boolean {
    return this.keySet !== null;
  }

  /** Fetches the JWK set and keeps it (in memory and on disk); the old set stays on failure. */
  async refresh(url: string, fetchFn: typeof fetch = fetch): Promise<void> {
    const res = await fetchFn(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new WalkoutError('CLOUD_REQUEST_FAILED', `GET ${url}: ${res.status}`);
    const body: unknown = await res.json();
    this.install(body);
    const tmp = `${this.cfg.keysFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(this.jwks));
    renameSync(tmp, this.cfg.keysFile);
    this.log.info('entry keys refreshed', { keys: this.jwks!.keys.length });
  }

  /** Checks an entry code as scanned at `scanMs`; a good one's nonce is used up. */
  async check(qr: string, scanMs: number): Promise<OfflineCheck> {
    if (!this.keySet) return { ok: false, reason: 'no_keys', detail: 'no entry keys fetched yet' };
    const parts = qr.split('.');
    if (parts.length !== 3 || !parts.every((p) => B64URL.test(p) && canonical(p)))
      return { ok: false, reason: 'bad_signature', detail: 'not a canonical compact JWS' };
    let payload: Uint8Array;
    try {
      ({ payload } = await compactVerify(qr, this.keySet, { algorithms: ['EdDSA'] }));
    } catch (err) {
      return { ok: false, reason: 'bad_signature', detail: (err as Error).message };
    }
    let claims: EntryClaims;
    try {
      claims = EntryClaims.parse(JSON.parse(new TextDecoder().decode(payload)));
    } catch {
      return { ok: false, reason: 'bad_signature', detail: 'signed payload is not an entry code' };
    }
    const nowS = scanMs / 1000;
    if (claims.exp - claims.iat > this.cfg.maxValidityS)
      return { ok: false, reason: 'bad_signature', detail: `validity over ${this.cfg.maxValidityS} s` };
    if (nowS >= claims.exp) return { ok: false, reason: 'expired', detail: 'expired when scanned' };
    if (claims.iat > nowS + this.cfg.skewS)
      return { ok: false, reason: 'expired', detail: 'issued in the future' };
    for (const [nonce, expS] of this.used) if (expS <= nowS) this.used.delete(nonce);
    if (this.used.has(claims.nonce)) return { ok: false, reason: 'replayed', detail: 'used at this edge' };
    this.used.set(claims.nonce, claims.exp);
    this.save();
    return { ok: true, claims };
  }

  /** The passes left on a code at `nowMs`, if any (spent and lapsed ones are forgotten). */
  passFor(qr: string, nowMs: number): PartyPass | undefined {
    for (const [code, p] of this.passes) if (p.untilMs < nowMs || p.left <= 0) this.passes.delete(code);
    return this.passes.get(qr);
  }

  /** Keeps the passes an offline entry leaves for its party's later members. */
  keepPass(qr: string, pass: PartyPass): void {
    this.passes.set(qr, { ...pass });
    this.save();
  }

  /** One of a code's passes was used (a member went through). */
  usePass(qr: string): void {
    const pass = this.passes.get(qr);
    if (!pass) return;
    pass.left -= 1;
    this.save();
  }

  private load(): void {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(this.cfg.stateFile, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // Nothing let in offline yet.
    }
    const kept = Kept.safeParse(raw);
    if (!kept.success) {
      // Unreadable: starting empty could let a used code in again, which the cloud holds for an
      // operator (docs/cloud.md); refusing to start would shut the store's gate. Say so loudly.
      this.log.error('offline entries file unreadable; used codes forgotten', {
        file: this.cfg.stateFile,
        issue: kept.error.issues[0]?.message,
      });
      return;
    }
    for (const [nonce, expS] of Object.entries(kept.data.used)) this.used.set(nonce, expS);
    for (const [qr, pass] of Object.entries(kept.data.passes)) this.passes.set(qr, pass);
  }

  /** Written whole, synced, then renamed over the old file: a crash leaves one or the other. */
  private save(): void {
    const tmp = `${this.cfg.stateFile}.tmp`;
    const body = { used: Object.fromEntries(this.used), passes: Object.fromEntries(this.passes) };
    writeFileSync(tmp, JSON.stringify(body), { flush: true });
    renameSync(tmp, this.cfg.stateFile);
  }

  private install(body: unknown): void {
    const jwks = Jwks.parse(body) as JSONWebKeySet;
    this.keySet = createLocalJWKSet(jwks);
    this.jwks = jwks;
  }
}

/**
 * A scan while the cloud cannot answer: opens for a code with a good signature, valid at the scan,
 * not used here before, and reports the entry (durably, before the gate opens) under a new visit.
 */
export async function admitOffline(
  gate: OfflineGate,
  link: Pick<CloudLink, 'report'>,
  scan: { gateId: string; qr: string },
  scanMs: number,
  newVisitId: () => string = randomUUID,
): Promise<GateAnswer> {
  const check = await gate.check(scan.qr, scanMs);
  if (!check.ok) return { open: false, reason: check.reason, visitId: '', party: 0 };
  const visitId = newVisitId();
  await link.report(
    { body: 'offlineEntry', offlineEntry: { visitId, gateId: scan.gateId, qr: scan.qr } },
    scanMs,
  );
  return { open: true, reason: 'offline', visitId, party: check.claims.companions + 1 };
}
