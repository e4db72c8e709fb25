import { z } from 'zod';
import type { CloudContext } from '../context.ts';
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
  amountDueMinor: z.number().int().describe('left unpaid after a declined charge; blocks the next entry'),
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

const Live = z.object({
  visitId: z.uuid(),
  storeId: z.string(),
  status: z.string(),
  openedAt: z.string(),
  party: z.number().int(),
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
        'Server-sent events: `receipt` with {receiptId, visitId} the moment a receipt is issued. ' +
        'Browsers, whose EventSource cannot set headers, may pass the access token as ?access_token=',
      tag: 'app',
      auth: 'shopper',
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
        const unsubscribe = ctx.push.subscribe(me(caller), (n) => {
          res.write(
            `event: receipt\nid: ${n.receiptId}\ndata: ${JSON.stringify({ receiptId: n.receiptId, visitId: n.visitId })}\n\n`,
          );
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
