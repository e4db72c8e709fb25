import { z } from 'zod';
import { Id, Text, WalkoutError } from '../../proto/index.ts';
import type { CloudContext } from '../context.ts';
import { decideDispute, listDisputes } from '../disputes/service.ts';
import { requireStore } from '../operators/service.ts';
import { resolveReview } from '../settlement/review.ts';
import { Dispute } from './receipt-routes.ts';
import { type Caller, notFound, type Route, route } from './route.ts';

const StoreId = z.object({ storeId: Id });

const ReviewItem = z.object({
  receiptId: z.uuid(),
  visitId: z.uuid(),
  totalMinor: z.number().int(),
  pricedAt: z.string(),
  entryFlag: z
    .enum(['replayed', 'expired'])
    .nullable()
    .describe('the visit was let in offline on a code used before, or expired when scanned'),
  lines: z.array(
    z.object({
      sku: z.string(),
      quantity: z.number().int(),
      confidence: z.number(),
      evidence: z.array(z.string()),
    }),
  ),
});

export function opsQueueRoutes(ctx: CloudContext): Route[] {
  const who = (c: Caller) => c.principal!;
  /**
   * Another store's receipt or dispute answers exactly as one that does not exist, so an operator
   * cannot learn which ids are real elsewhere.
   */
  const requireOwnStore = async (storeId: string | undefined, caller: Caller, what: string) => {
    if (storeId === undefined) throw notFound(what);
    const { rowCount } = await ctx.db.query(
      'select 1 from operator_stores where operator_id = $1 and store_id = $2',
      [who(caller).sub, storeId],
    );
    if (!rowCount) throw notFound(what);
  };
  const storeOfReceipt = async (id: string) => {
    const { rows } = await ctx.db.query<{ store_id: string }>('select store_id from receipts where id = $1', [
      id,
    ]);
    return rows[0]?.store_id;
  };
  return [
    route({
      method: 'GET',
      url: '/v1/ops/stores/:storeId/visits',
      summary: 'Visits in progress with their live carts',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      response: z.array(
        z.object({
          visitId: z.uuid(),
          status: z.string(),
          openedAt: z.string(),
          party: z.number().int(),
          inside: z.number().int(),
          /** Declined: the visit goes on unsecured and is charged in full at the close; null: an offline entry. */
          hold: z.enum(['pending', 'succeeded', 'declined', 'failed']).nullable(),
          cart: z.array(z.object({ sku: z.string(), quantity: z.number().int() })),
        }),
      ),
      handler: async ({ caller, params }) => {
        await requireStore(ctx.db, who(caller), params.storeId);
        const { rows } = await ctx.db.query(
          `select v.id, v.status, v.opened_at, v.companions + 1 as party,
             (select count(*)::int from visit_members m where m.visit_id = v.id and m.exited_at is null) as inside,
             (select p.status from payments p where p.idempotency_key = 'hold:' || v.id) as hold,
             coalesce((select json_agg(json_build_object('sku', c.sku, 'quantity', c.q) order by c.sku)
                       from (select sku, sum(quantity)::int as q from cart_events where visit_id = v.id
                             group by sku having sum(quantity) > 0) c), '[]') as cart
           from visits v where v.store_id = $1 and v.status in ('open', 'closed')
           order by v.opened_at limit 500`,
          [params.storeId],
        );
        return rows.map((r) => ({
          visitId: r.id,
          status: r.status,
          openedAt: r.opened_at.toISOString(),
          party: r.party,
          inside: r.inside,
          hold: r.hold,
          cart: r.cart,
        }));
      },
    }),
    route({
      method: 'GET',
      url: '/v1/ops/stores/:storeId/review',
      summary: 'Receipts waiting for an operator before any money moves, with the evidence of each line',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      response: z.array(ReviewItem),
      handler: async ({ caller, params }) => {
        await requireStore(ctx.db, who(caller), params.storeId);
        const { rows } = await ctx.db.query(
          `select r.id, r.visit_id, r.total_minor, r.priced_at,
             (select entry_flag from visits where id = r.visit_id) as entry_flag,
             coalesce((select json_agg(json_build_object('sku', c.sku, 'quantity', c.quantity,
                        'confidence', c.confidence, 'evidence', c.evidence) order by c.time)
                       from cart_events c where c.visit_id = r.visit_id), '[]') as lines
           from receipts r where r.store_id = $1 and r.status = 'review' order by r.priced_at`,
          [params.storeId],
        );
        return rows.map((r) => ({
          receiptId: r.id,
          visitId: r.visit_id,
          totalMinor: r.total_minor,
          pricedAt: r.priced_at.toISOString(),
          entryFlag: r.entry_flag,
          lines: r.lines,
        }));
      },
    }),
    route({
      method: 'POST',
      url: '/v1/ops/receipts/:id/review',
      summary: 'Resolve a receipt in review: correct SKU counts (or none) and release it for charging',
      tag: 'operators',
      auth: 'operator',
      params: z.object({ id: z.uuid() }),
      body: z
        .object({
          corrections: z
            .array(z.object({ sku: Text(64), quantity: z.number().int().min(0).max(100) }).strict())
            .max(100)
            .default([]),
        })
        .strict(),
      response: z.object({ receiptId: z.uuid() }),
      handler: async ({ caller, params, body }) => {
        await requireOwnStore(await storeOfReceipt(params.id), caller, 'receipt');
        const receiptId = await resolveReview(
          ctx.db,
          params.id,
          who(caller).sub,
          body.corrections,
          ctx.config.CURRENCY,
        );
        const { rows } = await ctx.db.query<{ visit_id: string }>(
          'select visit_id from receipts where id = $1',
          [receiptId],
        );
        ctx.settlement.enqueue(rows[0]!.visit_id);
        return { receiptId };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/ops/stores/:storeId/disputes',
      summary: 'Disputes of the store, open first, with the evidence of each contested line',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      response: z.array(Dispute),
      handler: async ({ caller, params }) => {
        await requireStore(ctx.db, who(caller), params.storeId);
        const all = await listDisputes(ctx.db, { storeId: params.storeId });
        return [...all.filter((d) => d.status === 'open'), ...all.filter((d) => d.status !== 'open')];
      },
    }),
    route({
      method: 'POST',
      url: '/v1/ops/disputes/:id/decision',
      summary:
        'Accept (refund the contested units, once) or reject a dispute, with a reason the shopper sees',
      tag: 'operators',
      auth: 'operator',
      params: z.object({ id: z.uuid() }),
      body: z.object({ accept: z.boolean(), reason: Text(500, 3) }).strict(),
      response: Dispute,
      handler: async ({ caller, params, body }) => {
        const [d] = await listDisputes(ctx.db, { id: params.id });
        await requireOwnStore(d?.storeId, caller, 'dispute');
        if (!d) throw notFound('dispute');
        if (d.status !== 'open') throw new WalkoutError('BAD_REQUEST', `dispute is already ${d.status}`);
        return decideDispute(ctx.settle, who(caller).sub, params.id, body);
      },
    }),
    route({
      method: 'GET',
      url: '/v1/ops/stores/:storeId/offline-entries',
      summary:
        'Entries the store’s edge let in while the cloud was unreachable, and what reconciling each gave',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      response: z.array(
        z.object({
          enteredAt: z.string(),
          gateId: z.string(),
          outcome: z.enum(['admitted', 'flagged', 'refused']),
          reason: z.string().nullable().describe('the flag (replayed, expired), or why it was refused'),
          visitId: z.uuid().nullable(),
          shopperId: z.uuid().nullable(),
          deviceId: z.string(),
          seq: z.number().int(),
        }),
      ),
      handler: async ({ caller, params }) => {
        await requireStore(ctx.db, who(caller), params.storeId);
        const { rows } = await ctx.db.query(
          `select entered_at, gate_id, outcome, reason, visit_id, shopper_id, device_id, seq from offline_entries
           where store_id = $1 order by entered_at desc limit 500`,
          [params.storeId],
        );
        return rows.map((r) => ({
          enteredAt: r.entered_at.toISOString(),
          gateId: r.gate_id,
          outcome: r.outcome,
          reason: r.reason,
          visitId: r.visit_id,
          shopperId: r.shopper_id,
          deviceId: r.device_id,
          seq: r.seq,
        }));
      },
    }),
    route({
      method: 'GET',
      url: '/v1/ops/stores/:storeId/audit',
      summary: 'The store’s audit log, newest first',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      response: z.array(
        z.object({
          time: z.string(),
          actor: z.string(),
          action: z.string(),
          subject: z.string().nullable(),
          details: z.record(z.string(), z.unknown()),
        }),
      ),
      handler: async ({ caller, params }) => {
        await requireStore(ctx.db, who(caller), params.storeId);
        const { rows } = await ctx.db.query(
          'select time, actor, action, subject, details from audit_log where store_id = $1 order by id desc limit 500',
          [params.storeId],
        );
        return rows.map((r) => ({ ...r, time: r.time.toISOString() }));
      },
    }),
  ];
}
