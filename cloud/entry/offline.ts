import type { KeyObject } from 'node:crypto';
import type { SequencedMessage } from '../../proto/grpc/edge-link.ts';
import type { Tx } from '../db/pool.ts';
import type { Refusal } from '../link/classify.ts';
import type { Device } from '../stores/devices.ts';
import { checkEntryCode, type EntryClaims } from './codes.ts';

export type OfflineEntryMessage = Extract<SequencedMessage, { body: 'offlineEntry' }>;

export interface OfflineDeps {
  entryKeys: ReadonlyMap<string, KeyObject>;
  skewS: number;
  nowMs: number;
}

/**
 * What becomes of an entry the edge admitted on its own. Pure: the database's facts come in. A
 * code used before is flagged by the statement that claims its nonce, as at the gate.
 */
export type OfflineVerdict =
  | { outcome: 'admitted'; claims: EntryClaims }
  | { outcome: 'flagged'; claims: EntryClaims; flag: 'replayed' | 'expired' }
  | { outcome: 'refused'; reason: string; claims?: EntryClaims };

/**
 * Someone is inside whatever the cloud thinks of their code, so anything that names a shopper
 * opens a visit for them: an expired or reused code is charged only once an operator has looked.
 * Only what names nobody (a code the cloud did not sign, an unknown shopper) or cannot be a visit
 * (an id already taken, an edge clock ahead of the cloud's) is refused. A missing payment method,
 * an unpaid balance, a closed or full store do not undo an entry: they become a balance due.
 */
export function judgeOfflineEntry(
  check: Awaited<ReturnType<typeof checkEntryCode>>,
  facts: { aheadMs: number; skewS: number; shopperKnown: boolean; visitIdTaken: boolean },
): OfflineVerdict {
  if (facts.aheadMs > facts.skewS * 1000)
    return { outcome: 'refused', reason: `the edge's clock is ${Math.round(facts.aheadMs / 1000)} s ahead` };
  if (!check.ok && check.reason === 'bad_signature')
    return { outcome: 'refused', reason: `bad signature: ${check.detail}` };
  const claims = check.ok ? check.claims : check.claims;
  if (!facts.shopperKnown) return { outcome: 'refused', reason: `no shopper ${claims.sub}`, claims };
  if (facts.visitIdTaken) return { outcome: 'refused', reason: 'the visit id is taken', claims };
  if (!check.ok) return { outcome: 'flagged', claims, flag: 'expired' };
  return { outcome: 'admitted', claims };
}

/**
 * Reconciles a batch's offline entries inside the batch's transaction, before the rest of the
 * batch is classified, so the visit exists for the cart events that follow it in the same batch.
 * Returns the refusals, which the caller keeps and answers like any other.
 */
export async function reconcileOfflineEntries(
  tx: Tx,
  device: Device,
  entries: readonly OfflineEntryMessage[],
  deps: OfflineDeps,
): Promise<Refusal[]> {
  const refused: Refusal[] = [];
  for (const m of entries) {
    const { visitId, gateId, qr } = m.offlineEntry;
    const check = await checkEntryCode(qr, deps.entryKeys, m.timeMs, deps.skewS);
    const claims = check.ok || check.reason === 'expired' ? check.claims : null;
    const facts = await tx.query<{ shopper_known: boolean; taken: boolean; method_id: string | null }>(
      `select exists (select 1 from shoppers where id = $1) as shopper_known,
         exists (select 1 from visits where id = $2) as taken,
         (select id from current_payment_methods where shopper_id = $1) as method_id`,
      [claims?.sub ?? null, visitId],
    );
    const f = facts.rows[0]!;
    let verdict = judgeOfflineEntry(check, {
      aheadMs: m.timeMs - deps.nowMs,
      skewS: deps.skewS,
      shopperKnown: f.shopper_known,
      visitIdTaken: f.taken,
    });
    const enteredAt = new Date(m.timeMs);
    if (verdict.outcome !== 'refused') {
      const { claims: c } = verdict;
      // The nonce is claimed first; a code that claims nothing was used before: its visit is
      // flagged `replayed` (which outranks `expired`).
      const opened = await tx.query<{ entry_flag: 'replayed' | 'expired' | null }>(
        `with r as (
           insert into entry_redemptions (nonce, shopper_id, visit_id, gate_id, redeemed_at)
           values ($8, $3, $1, $9, $6) on conflict (nonce) do nothing returning 1),
         v as (
           insert into visits (id, store_id, payer_id, payment_method_id, status, companions, opened_at, entry,
                               entry_flag)
           select $1, $2, $3, $4, 'open', $5, $6, 'offline',
             case when not exists (select 1 from r) then 'replayed' else $7::text end
           returning id, entry_flag),
         m as (
           insert into visit_members (visit_id, member_no, role, entered_at)
           select v.id, n, case when n = 0 then 'payer' else 'companion' end, $6 from v, generate_series(0, $5::int) n)
         select entry_flag from v`,
        [
          visitId,
          device.storeId,
          c.sub,
          f.method_id,
          c.companions,
          enteredAt,
          verdict.outcome === 'flagged' ? verdict.flag : null,
          c.nonce,
          gateId,
        ],
      );
      const flag = opened.rows[0]!.entry_flag;
      if (flag) verdict = { outcome: 'flagged', claims: c, flag };
    } else {
      refused.push({ message: m, code: 'OFFLINE_ENTRY_REFUSED', reason: verdict.reason });
    }
    await tx.query(
      `insert into offline_entries (device_id, seq, store_id, gate_id, visit_id, shopper_id, nonce, entered_at,
                                    outcome, reason)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        device.id,
        m.seq,
        device.storeId,
        gateId,
        verdict.outcome === 'refused' ? null : visitId,
        verdict.claims?.sub ?? null,
        verdict.claims?.nonce ?? null,
        enteredAt,
        verdict.outcome,
        verdict.outcome === 'refused' ? verdict.reason : verdict.outcome === 'flagged' ? verdict.flag : null,
      ],
    );
  }
  return refused;
}
