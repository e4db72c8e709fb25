import { z } from 'zod';
import { NO_NUL, NO_NUL_MESSAGE, Text } from '../../proto/index.ts';
import { payBalance } from '../accounts/balance.ts';
import {
  addPaymentMethod,
  listPaymentMethods,
  profile,
  refresh,
  removePaymentMethod,
  rename,
  signIn,
  signUp,
} from '../accounts/service.ts';
import type { CloudContext } from '../context.ts';
import { issueEntryCode } from '../entry/codes.ts';
import { entryJwks } from '../keys.ts';
import { notFound, type Route, route } from './route.ts';

/** As the document's `format: email` reads it too: at most 64 characters before the @ (RFC 5321). */
export const Email = z
  .email()
  .max(254)
  .refine((e) => e.indexOf('@') <= 64, 'at most 64 characters before the @');
const Password = Text(200).min(10, 'at least 10 characters');
const Name = z.string().trim().min(1).max(100).regex(NO_NUL, NO_NUL_MESSAGE);

const SessionOut = z.object({
  shopperId: z.uuid(),
  accessToken: z.string(),
  refreshToken: z.string(),
  expiresIn: z.number().int().describe('seconds the access token is valid'),
});
const ProfileOut = z.object({
  id: z.uuid(),
  email: z.string(),
  name: z.string(),
  loyaltyPoints: z.number().int(),
  createdAt: z.string(),
});
const MethodOut = z.object({
  id: z.uuid(),
  provider: z.string(),
  brand: z.string(),
  last4: z.string(),
  createdAt: z.string(),
});

const me = (c: { principal?: { sub: string } }) => c.principal!.sub;

export function shopperRoutes(ctx: CloudContext): Route[] {
  return [
    route({
      method: 'POST',
      url: '/v1/shoppers',
      summary: 'Sign up: create a shopper account and open a session',
      tag: 'app',
      auth: 'none',
      status: 201,
      body: z.object({ email: Email, password: Password, name: Name }).strict(),
      response: SessionOut,
      handler: ({ body }) => signUp(ctx.accounts, body),
    }),
    route({
      method: 'POST',
      url: '/v1/sessions',
      summary: 'Sign in with email and password',
      tag: 'app',
      auth: 'none',
      status: 201,
      body: z.object({ email: Email, password: Text(200) }).strict(),
      response: SessionOut,
      handler: ({ body }) => signIn(ctx.accounts, body),
    }),
    route({
      method: 'POST',
      url: '/v1/sessions/refresh',
      summary: 'Exchange a refresh token (once) for a new session',
      tag: 'app',
      auth: 'none',
      status: 201,
      body: z.object({ refreshToken: Text(200, 16) }).strict(),
      response: SessionOut,
      handler: ({ body }) => refresh(ctx.accounts, body.refreshToken),
    }),
    route({
      method: 'GET',
      url: '/v1/me',
      summary: 'The signed-in shopper’s profile and loyalty points',
      tag: 'app',
      auth: 'shopper',
      response: ProfileOut,
      handler: ({ caller }) => profile(ctx.db, me(caller)),
    }),
    route({
      method: 'PATCH',
      url: '/v1/me',
      summary: 'Change the profile',
      tag: 'app',
      auth: 'shopper',
      body: z.object({ name: Name }).strict(),
      response: ProfileOut,
      handler: ({ caller, body }) => rename(ctx.db, me(caller), body.name),
    }),
    route({
      method: 'POST',
      url: '/v1/me/payment-methods',
      summary: 'Add a payment method by the token the provider gave the app for the card',
      tag: 'app',
      auth: 'shopper',
      status: 201,
      body: z.object({ token: Text(200).describe('provider payment token') }).strict(),
      response: MethodOut,
      handler: ({ caller, body }) => addPaymentMethod(ctx.accounts, me(caller), body.token),
    }),
    route({
      method: 'GET',
      url: '/v1/me/payment-methods',
      summary: 'Payment methods, newest (the one charged) first',
      tag: 'app',
      auth: 'shopper',
      response: z.array(MethodOut),
      handler: ({ caller }) => listPaymentMethods(ctx.db, me(caller)),
    }),
    route({
      method: 'DELETE',
      url: '/v1/me/payment-methods/:id',
      summary: 'Remove a payment method',
      tag: 'app',
      auth: 'shopper',
      params: z.object({ id: z.uuid() }),
      response: z.object({ removed: z.literal(true) }),
      handler: async ({ caller, params }) => {
        if (!(await removePaymentMethod(ctx.db, me(caller), params.id, ctx.now())))
          throw notFound('payment method');
        return { removed: true as const };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/me/balance/payments',
      summary: 'Pay what is owed from declined captures with the current payment method',
      tag: 'app',
      auth: 'shopper',
      status: 201,
      response: z.object({
        paidMinor: z.number().int(),
        dueMinor: z.number().int().describe('still owed: the card declined again'),
      }),
      handler: ({ caller }) => payBalance(ctx, me(caller)),
    }),
    route({
      method: 'POST',
      url: '/v1/me/entry-codes',
      summary: 'A fresh entry code to show as a QR code at the gate (single use, short-lived)',
      tag: 'app',
      auth: 'shopper',
      status: 201,
      body: z
        .object({
          companions: z.number().int().min(0).max(9).default(0).describe('people the shopper pays for'),
        })
        .strict(),
      response: z.object({
        code: z.string(),
        expiresAt: z.string(),
        refreshAt: z.string().describe('when the app should fetch the next code'),
      }),
      handler: async ({ caller, body }) => {
        const nowMs = ctx.now().getTime();
        const ttl = ctx.config.ENTRY_CODE_TTL_S;
        const issued = await issueEntryCode(
          { shopperId: me(caller), companions: body.companions },
          ctx.keys.entry,
          nowMs,
          ttl,
        );
        // Refreshed with a third of its life left, so a code is never shown in its last seconds.
        const refreshAt = new Date(nowMs + Math.floor((ttl * 2000) / 3));
        return {
          code: issued.code,
          expiresAt: issued.expiresAt.toISOString(),
          refreshAt: refreshAt.toISOString(),
        };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/entry-keys',
      summary: 'Public keys that verify entry codes (JWK set), for gates verifying while offline',
      tag: 'gate',
      auth: 'none',
      response: z.object({ keys: z.array(z.record(z.string(), z.unknown())) }),
      handler: async () => entryJwks(ctx.keys),
    }),
  ];
}
