import { z } from 'zod';
import { Catalog, Id, INT4_MAX, layoutProblems, StoreLayout, Text, WalkoutError } from '../../proto/index.ts';
import type { CloudContext } from '../context.ts';
import { audit } from '../db/audit.ts';
import { notifyDeviceRevoked, notifyStoreChanged } from '../db/notices.ts';
import { requireStore, signInOperator } from '../operators/service.ts';
import { addMultibuy, importCatalog } from '../stores/catalog.ts';
import { issueDevice, withdrawDevice } from '../stores/device-service.ts';
import { createStore, DEVICE_KINDS } from '../stores/devices.ts';
import { type Caller, notFound, type Route, route } from './route.ts';
import { Email } from './shopper-routes.ts';

const StoreId = z.object({ storeId: Id });
/** People inside at once; the column is an `int`. */
const Capacity = z.number().int().min(1).max(INT4_MAX);
/** An IANA zone name such as Europe/Paris. */
const Timezone = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_+/-]{0,63}$/, 'an IANA time zone such as Europe/Paris');
/**
 * A line whose confidence is below this holds the receipt for review; 0 holds none. Stored as a
 * `real`, which cannot hold a value as small as 1e-50 (PostgreSQL refuses the underflow), and no
 * detector's confidence is finer than a millionth: so 0, or a millionth up to 1.
 */
const ReviewBelowConfidence = z.union([z.literal(0), z.number().min(0.000001).max(1)]);
const StoreOut = z.object({
  id: z.string(),
  name: z.string(),
  timezone: z.string(),
  capacity: z.number().int().nullable(),
  isOpen: z.boolean(),
  reviewBelowConfidence: z.number().nullable(),
  layoutVersion: z.number().int().nullable(),
});

export function opsStoreRoutes(ctx: CloudContext): Route[] {
  const who = (c: Caller) => c.principal!;
  const actor = (c: Caller) => `operator:${c.principal!.sub}`;
  const storeRow = async (id: string) => {
    const { rows } = await ctx.db.query(
      `select s.*, (select max(version) from store_layouts l where l.store_id = s.id) as layout_version
       from stores s where s.id = $1`,
      [id],
    );
    const s = rows[0];
    if (!s) throw notFound('store');
    return {
      id: s.id,
      name: s.name,
      timezone: s.timezone,
      capacity: s.capacity,
      isOpen: s.is_open,
      reviewBelowConfidence: s.review_below_confidence,
      layoutVersion: s.layout_version,
    };
  };
  return [
    route({
      method: 'POST',
      url: '/v1/ops/sessions',
      summary: 'Operator sign-in; the token’s role decides what it may do, its stores where',
      tag: 'operators',
      auth: 'none',
      status: 201,
      body: z.object({ email: Email, password: Text(200) }).strict(),
      response: z.object({
        operatorId: z.uuid(),
        role: z.enum(['operator', 'admin']),
        stores: z.array(z.string()),
        accessToken: z.string(),
        expiresIn: z.number().int(),
      }),
      handler: async ({ body }) => {
        const s = await signInOperator(
          ctx.db,
          ctx.keys.access,
          ctx.now().getTime(),
          ctx.config.ACCESS_TOKEN_TTL_S,
          body,
        );
        return { ...s, role: s.role as 'operator' | 'admin' };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/ops/stores',
      summary: 'The stores this operator acts for',
      tag: 'operators',
      auth: 'operator',
      response: z.array(StoreOut),
      handler: async ({ caller }) => {
        const { rows } = await ctx.db.query<{ store_id: string }>(
          'select store_id from operator_stores where operator_id = $1 order by 1',
          [who(caller).sub],
        );
        return Promise.all(rows.map((r) => storeRow(r.store_id)));
      },
    }),
    route({
      method: 'POST',
      url: '/v1/ops/stores',
      summary: 'Create a store (admins); its creator acts for it',
      tag: 'operators',
      auth: 'operator',
      status: 201,
      body: z
        .object({
          id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
          name: Text(200),
          timezone: Timezone.default('UTC'),
          capacity: Capacity.nullable().default(null),
        })
        .strict(),
      response: StoreOut,
      handler: async ({ caller, body }) => {
        if (who(caller).role !== 'admin') throw new WalkoutError('FORBIDDEN', 'this needs an admin');
        const exists = await ctx.db.query('select 1 from stores where id = $1', [body.id]);
        if (exists.rowCount) throw new WalkoutError('BAD_REQUEST', `store ${body.id} already exists`);
        await createStore(ctx.db, body);
        await ctx.db.query('insert into operator_stores (operator_id, store_id) values ($1, $2)', [
          who(caller).sub,
          body.id,
        ]);
        await audit(ctx.db, {
          actor: actor(caller),
          storeId: body.id,
          action: 'store.created',
          subject: body.id,
        });
        return storeRow(body.id);
      },
    }),
    route({
      method: 'PATCH',
      url: '/v1/ops/stores/:storeId',
      summary: 'Open or close a store, set its capacity and review policy (admins)',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      body: z
        .object({
          name: Text(200).optional(),
          isOpen: z.boolean().optional(),
          capacity: Capacity.nullable().optional(),
          reviewBelowConfidence: ReviewBelowConfidence.nullable().optional(),
        })
        .strict(),
      response: StoreOut,
      handler: async ({ caller, params, body }) => {
        await requireStore(ctx.db, who(caller), params.storeId, 'admin');
        const cols: Record<string, unknown> = {
          name: body.name,
          is_open: body.isOpen,
          capacity: body.capacity,
          review_below_confidence: body.reviewBelowConfidence,
        };
        const set = Object.entries(cols).filter(([, v]) => v !== undefined);
        if (set.length > 0) {
          await ctx.db.query(
            `update stores set ${set.map(([k], i) => `${k} = $${i + 2}`).join(', ')} where id = $1`,
            [params.storeId, ...set.map(([, v]) => v)],
          );
          // What the edge is told (StoreConfig): whether the store is open, and its capacity.
          if (body.isOpen !== undefined || body.capacity !== undefined)
            await notifyStoreChanged(ctx.db, params.storeId);
        }
        await audit(ctx.db, {
          actor: actor(caller),
          storeId: params.storeId,
          action: 'store.updated',
          details: body,
        });
        return storeRow(params.storeId);
      },
    }),
    route({
      method: 'PUT',
      url: '/v1/ops/stores/:storeId/layout',
      summary: 'Upload a new version of the store layout (admins); refused unless it is whole and consistent',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      body: StoreLayout,
      response: z.object({ version: z.number().int() }),
      handler: async ({ caller, params, body }) => {
        await requireStore(ctx.db, who(caller), params.storeId, 'admin');
        const problems = layoutProblems(body);
        if (problems.length > 0) {
          throw new WalkoutError(
            'LAYOUT_INCONSISTENT',
            problems.map((p) => `${p.field}: ${p.reason}`).join('; '),
            {
              issues: problems,
            },
          );
        }
        const { rows } = await ctx.db.query<{ version: number }>(
          `insert into store_layouts (store_id, version, layout, created_by)
           select $1, coalesce(max(version), 0) + 1, $2, $3 from store_layouts where store_id = $1 returning version`,
          [params.storeId, body, who(caller).sub],
        );
        await audit(ctx.db, {
          actor: actor(caller),
          storeId: params.storeId,
          action: 'layout.uploaded',
          details: rows[0],
        });
        return { version: rows[0]!.version };
      },
    }),
    route({
      method: 'GET',
      url: '/v1/ops/stores/:storeId/layout',
      summary: 'The current layout version',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      response: z.object({ version: z.number().int(), layout: z.record(z.string(), z.unknown()) }),
      handler: async ({ caller, params }) => {
        await requireStore(ctx.db, who(caller), params.storeId);
        const { rows } = await ctx.db.query(
          'select version, layout from store_layouts where store_id = $1 order by version desc limit 1',
          [params.storeId],
        );
        if (!rows[0]) throw notFound('layout');
        return rows[0];
      },
    }),
    route({
      method: 'PUT',
      url: '/v1/ops/stores/:storeId/catalog',
      summary: 'Load the catalogue; changed prices take effect at validFrom (default now) (admins)',
      tag: 'operators',
      auth: 'operator',
      params: StoreId,
      body: z.object({ catalog: Catalog, validFrom: z.iso.datetime().optional() }).strict(),
      response: z.object({ pricesChanged: z.number().int() }),
      handler: async ({ caller, params, body }) => {
        await requireStore(ctx.db, who(caller), params.storeId, 'admin');
        const from = body.validFrom ? new Date(body.validFrom) : ctx.now();
        const pricesChanged = await importCatalog(ctx.db, params.storeId, body.catalog, from);
        await audit(ctx.db, {
          actor: actor(caller),
          storeId: params.storeId,
          action: 'catalog.loaded',
          details: { pricesChanged },
        });
        return { pricesChanged };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/ops/stores/:storeId/promotions',
      summary: 'Add a multibuy: buyQty units of a SKU for bundleMinor (admins)',
      tag: 'operators',
      auth: 'operator',
      status: 201,
      params: StoreId,
      body: z
        .object({
          sku: Text(64),
          name: Text(100),
          buyQty: z.number().int().min(2).max(100),
          bundleMinor: z.number().int().nonnegative(),
          validFrom: z.iso.datetime(),
          validTo: z.iso.datetime().optional(),
        })
        .strict(),
      response: z.object({ added: z.literal(true) }),
      handler: async ({ caller, params, body }) => {
        await requireStore(ctx.db, who(caller), params.storeId, 'admin');
        const known = await ctx.db.query('select 1 from products where store_id = $1 and sku = $2', [
          params.storeId,
          body.sku,
        ]);
        if (!known.rowCount)
          throw new WalkoutError('BAD_REQUEST', `store ${params.storeId} has no SKU ${body.sku}`);
        const { validFrom, validTo, ...promotion } = body;
        await addMultibuy(ctx.db, {
          ...promotion,
          storeId: params.storeId,
          validFrom: new Date(validFrom),
          ...(validTo ? { validTo: new Date(validTo) } : {}),
        });
        await audit(ctx.db, {
          actor: actor(caller),
          storeId: params.storeId,
          action: 'promotion.added',
          details: body,
        });
        return { added: true as const };
      },
    }),
    route({
      method: 'POST',
      url: '/v1/ops/stores/:storeId/devices',
      summary:
        'Credentials for a device (edge node, gate controller, plate, scanner, beam sensor, camera) and its broker account; the secret is shown only here (admins)',
      tag: 'operators',
      auth: 'operator',
      status: 201,
      params: StoreId,
      body: z
        .object({
          kind: z.enum(DEVICE_KINDS),
          gateIds: z
            .array(Id)
            .min(1)
            .max(64)
            .optional()
            .describe("a gate controller's gates; default: every gate of the store's layout"),
          layoutId: Id.optional().describe(
            "a plate's, scanner's, beam sensor's or camera's id in the layout",
          ),
        })
        .strict(),
      response: z.object({
        id: z.string(),
        storeId: z.string(),
        kind: z.enum(DEVICE_KINDS),
        gateIds: z.array(z.string()).nullable(),
        layoutId: z.string().nullable(),
        secret: z.string(),
        mqtt: z
          .object({ username: z.string(), password: z.string() })
          .nullable()
          .describe('its broker login; null when the cloud has no broker admin (MQTT_ADMIN)'),
      }),
      handler: async ({ caller, params, body }) => {
        await requireStore(ctx.db, who(caller), params.storeId, 'admin');
        const d = await issueDevice(ctx, params.storeId, body.kind, body);
        await audit(ctx.db, {
          actor: actor(caller),
          storeId: params.storeId,
          action: 'device.created',
          subject: d.id,
        });
        return d;
      },
    }),
    route({
      method: 'DELETE',
      url: '/v1/ops/stores/:storeId/devices/:deviceId',
      summary:
        'Revoke a device’s credentials and broker account: refused from now on, its stream and broker connection cut (admins)',
      tag: 'operators',
      auth: 'operator',
      params: z.object({ storeId: Id, deviceId: Id }),
      response: z.object({ revoked: z.literal(true) }),
      handler: async ({ caller, params }) => {
        await requireStore(ctx.db, who(caller), params.storeId, 'admin');
        if (!(await withdrawDevice(ctx, params.storeId, params.deviceId, ctx.now())))
          throw notFound('device');
        // This process at once; the others when the notice reaches them.
        ctx.devices.forget(params.deviceId);
        await notifyDeviceRevoked(ctx.db, params.deviceId);
        await audit(ctx.db, {
          actor: actor(caller),
          storeId: params.storeId,
          action: 'device.revoked',
          subject: params.deviceId,
        });
        return { revoked: true as const };
      },
    }),
  ];
}
