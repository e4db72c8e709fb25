import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { fromPino, pinoOf } from '../../platform/log.ts';
import type { CloudContext } from '../context.ts';
import { authenticator } from './auth.ts';
import { jsonBodies } from './body.ts';
import { errorHandler, redactUrl } from './errors.ts';
import { gateRoutes } from './gate-routes.ts';
import { opsQueueRoutes } from './ops-queue-routes.ts';
import { opsStoreRoutes } from './ops-store-routes.ts';
import { receiptRoutes } from './receipt-routes.ts';
import { openApi, type Route, register } from './route.ts';
import { shopperRoutes } from './shopper-routes.ts';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function buildHttp(ctx: CloudContext): FastifyInstance {
  const log = ctx.log.child('http');
  const app = Fastify({
    // Fastify logs through our pino; each request's `req.log` is a child carrying its `reqId`.
    // (Typed as Fastify's base logger so the app keeps Fastify's default type parameters.)
    loggerInstance: pinoOf(log) as FastifyBaseLogger,
    // One line per request, from onResponse below, instead of Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    // A caller's request id is kept (so a gate controller's logs and ours line up); otherwise ours.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
  });
  const routes: Route[] = [
    ...shopperRoutes(ctx),
    ...receiptRoutes(ctx),
    ...gateRoutes(ctx),
    ...opsStoreRoutes(ctx),
    ...opsQueueRoutes(ctx),
  ];
  const document = openApi(routes, { title: 'Walkout cloud', version: '1' });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    ctx.metrics.requests.observe(
      { method: req.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    fromPino(req.log).debug('request', {
      method: req.method,
      route,
      status: reply.statusCode,
      ms: reply.elapsedTime,
    });
  });
  jsonBodies(app);
  app.setErrorHandler(errorHandler(ctx.metrics));
  app.setNotFoundHandler((req, reply) => {
    ctx.metrics.rejected.inc({ code: 'NOT_FOUND', surface: 'http' });
    void reply.code(404).send({
      error: { code: 'NOT_FOUND', message: `NOT_FOUND: no route ${req.method} ${redactUrl(req.url)}` },
    });
  });

  register(app, routes, authenticator(ctx.devices, ctx.keys.access, ctx.now));
  app.get('/openapi.json', async () => document);
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    try {
      await ctx.db.query('select 1');
      return { ready: true };
    } catch (err) {
      // Why goes to the log only: a database's error text is not for whoever asks.
      log.error('not ready: the database does not answer', { err });
      return reply.code(503).send({ ready: false, why: 'the database does not answer' });
    }
  });
  return app;
}

/**
 * /metrics on a port of its own (METRICS_PORT, loopback by default): it tells request rates by
 * route, refusals by code and the process's internals, which are the operator's and not the
 * public's, and a scraper reaches it without any credential the app's port would need.
 */
export function buildMetricsHttp(ctx: CloudContext): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
  return app;
}
