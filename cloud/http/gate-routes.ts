import { z } from 'zod';
import { Id, Text, WalkoutError } from '../../proto/index.ts';
import type { CloudContext } from '../context.ts';
import { DENY_REASONS } from '../entry/decide.ts';
import { decideScan } from '../entry/gate.ts';
import { tokeniseCard } from '../payments/sandbox-cards.ts';
import { type Route, route } from './route.ts';

export const GateDecisionOut = z.discriminatedUnion('decision', [
  z.object({
    decision: z.literal('open'),
    visitId: z.uuid(),
    party: z.number().int().describe('people the gate lets in: the payer and companions'),
    message: z.string(),
  }),
  z.object({
    decision: z.literal('deny'),
    reason: z.enum(DENY_REASONS),
    message: z.string().describe('for the gate display'),
    detail: z.string().optional(),
  }),
]);

export function gateRoutes(ctx: CloudContext): Route[] {
  const routes: Route[] = [
    route({
      method: 'POST',
      url: '/v1/gates/:gateId/scans',
      summary: 'A gate controller’s scan of an entry code: open or deny with a reason',
      tag: 'gate',
      auth: 'device',
      params: z.object({ gateId: Id }),
      body: z.object({ qr: Text(2048) }).strict(),
      response: GateDecisionOut,
      handler: async ({ caller, params, body }) => {
        const device = caller.device!;
        // A device acts only as itself: an edge's or a plate's credential is no gate's.
        if (device.kind !== 'gate')
          throw new WalkoutError(
            'DEVICE_KIND_REFUSED',
            `a device of kind ${device.kind} may not scan at a gate`,
          );
        if (device.gateIds && !device.gateIds.includes(params.gateId))
          throw new WalkoutError(
            'GATE_NOT_CONTROLLED',
            `this controller does not control gate ${params.gateId}`,
          );
        return decideScan(ctx.gate, { storeId: device.storeId, gateId: params.gateId, qr: body.qr });
      },
    }),
  ];
  if (ctx.provider.name === 'sandbox') {
    routes.push(
      route({
        method: 'POST',
        url: '/sandbox/v1/tokens',
        summary: 'The sandbox provider’s card tokenisation, which a real app calls at the provider itself',
        tag: 'sandbox',
        auth: 'none',
        status: 201,
        body: z
          .object({
            number: z.string().regex(/^[0-9 -]{12,23}$/),
            expMonth: z.number().int().min(1).max(12),
            expYear: z.number().int().min(2000).max(2100),
            cvc: z.string().regex(/^[0-9]{3,4}$/),
          })
          .strict(),
        response: z.object({ token: z.string(), brand: z.string(), last4: z.string() }),
        handler: async ({ body }) => {
          const t = tokeniseCard(body, ctx.now());
          if (!t.ok) throw new WalkoutError('PAYMENT_METHOD_REJECTED', `${t.code}: ${t.message}`);
          return { token: t.token, brand: t.brand, last4: t.last4 };
        },
      }),
    );
  }
  return routes;
}
