import { z } from 'zod';
import { Text } from '../../proto/index.ts';
import type { CloudContext } from '../context.ts';
import { listDisputes, openDispute } from '../disputes/service.ts';
import { liveVisit, shopperReceipts } from '../receipts/queries.ts';
import { notFound, type Route, route } from './route.ts';

const Receipt = z.object({
  id: z.uuid(),
  visitId: z.uuid(),
  storeId: z.string(),
  status: z.enum(['review', 'priced', 'issued']),
  currency: z.string(),
  subtotalMinor: z.number().int(),
  discountMinor: z.number().int(),
  totalMinor: z.number().int(),
  amountDueMinor: z
    .number()
    .int()
    .describe('still owed after a declined charge (less any paid or credited since); blocks the next entry'),
  pointsEarned: z.number().int(),
  pricedAt: z.string(),
  issuedAt: z.string().nullable(),
  lines: z.array(
    z.object({
      lineNo: z.number().int(),
      sku: z.string(),
      name: z.string(),
      quantity: z.number().int(),
      grams: z.number().nullable(),
      unitPriceMinor: z.number().int(),
      amountMinor: z.number().int(),
      discountMinor: z.number().int(),
      promotion: z.string().nullable(),
    }),
  ),
});

export const Dispute = z.object({
  id: z.uuid(),
  receiptId: z.uuid(),
  storeId: z.string(),
  status: z.enum(['open', 'accepted', 'rejected']),
  comment: z.string(),
  refundMinor: z.number().int(),
  creditMinor: z.number().int().describe('taken off the balance still owed, for units never paid'),
  decisionReason: z.string().nullable(),
  createdAt: z.string(),
  decidedAt: z.string().nullable(),
  lines: z.array(
    z.object({
      lineNo: z.number().int(),
      quantity: z.number().int(),
      sku: z.string(),
      name: z.string(),
      evidence: z.array(z.string()),
    }),
  ),
});

const Live = z.object({
  visitId: z.uuid(),
  storeId: z.string(),
  status: z.string(),
  openedAt: z.string(),
  party: z.number().int(),
  hold: z.enum(['pending', 'succeeded', 'declined', 'failed']).nullable(),
  cart: z.array(z.object({ sku: z.string(), name: z.string().nullable(), quantity: z.number().int() })),
});

export function receiptRoutes(ctx: CloudContext): Route[] {
  const me = (c: { principal?: { sub: string } }) => c.principal!.sub;
  return [
    route({
      method: 'GET',
      url: '/v1/me/receipts',
      summary: 'Issued receipts, newest first',
      tag: 'app',
      auth: 'shopper',
      response: z.array(Receipt),
      handler: ({ caller }) => shopperReceipts(ctx.db, me(caller)),
    }),
    route({
      method: 'GET',
      url: '/v1/me/receipts/:id',
      summary: 'One receipt with its lines',
      tag: 'app',
      auth: 'shopper',
      params: z.object({ id: z.uuid() }),
      response: Receipt,
      handler: async ({ caller, params }) => {
        const [r] = await shopperReceipts(ctx.db, me(caller), params.id);
        if (!r) throw notFound('receipt');
        return r;
      },
    }),
    route({
      method: 'POST',
      url: '/v1/me/receipts/:id/disputes',
      summary: 'Contest lines of a receipt: the units not taken, and why',
      tag: 'app',
      auth: 'shopper',
      status: 201,
      params: z.object({ id: z.uuid() }),
      body: z
        .object({
          lines: z
            .array(
              z
                .object({ lineNo: z.number().int().positive(), quantity: z.number().int().positive() })
                .strict(),
            )
            .min(1)
            .max(100),
          comment: Text(1000),
        })
        .strict(),
      response: Dispute,
      handler: async ({ caller, params, body }) => {
        const id = await openDispute(ctx.db, me(caller), params.id, body.lines, body.comment);
        return (await listDisputes(ctx.db, { id }))[0]!;
      },
    }),
    route({
      method: 'GET',
      url: '/v1/me/disputes',
      summary: 'The shopper’s disputes and their decisions',
      tag: 'app',
      auth: 'shopper',
      response: z.array(Dispute),
      handler: ({ caller }) => listDisputes(ctx.db, { shopperId: me(caller) }),
    }),
    route({
      method: 'GET',
      url: '/v1/me/visit',
      summary: 'The visit in progress and its live cart (null when not in a store)',
      tag: 'app',
      auth: 'shopper',
      response: z.object({ visit: Live.nullable() }),
      handler: async ({ caller }) => ({ visit: await liveVisit(ctx.db, me(caller)) }),
    }),
    route({
      method: 'GET',
      url: '/v1/me/events',
      summary:
        'Server-sent events: `receipt` the moment a receipt is issued, `dispute` when one is decided, ' +
        '`hold` when the bank declines the hold of the visit just entered (the visit goes on; it is charged at the close). ' +
        'Browsers, whose EventSource cannot set headers, may pass the access token as ?access_token=',
      tag: 'app',
      auth: 'shopper',
      tokenInQuery: true,
      response: z.string().describe('text/event-stream'),
      handler: async ({ caller, req, reply }) => {
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-request-id': String(req.id),
        });
        res.write(': connected\n\n');
        const unsubscribe = ctx.notices.subscribe(me(caller), (n) => {
          res.write(`event: ${n.event}\nid: ${n.id}\ndata: ${JSON.stringify({ id: n.id, ...n.data })}\n\n`);
        });
        // Comments keep proxies from closing an idle stream.
        const beat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
        req.raw.on('close', () => {
          clearInterval(beat);
          unsubscribe();
        });
        return '';
      },
    }),
  ];
}
