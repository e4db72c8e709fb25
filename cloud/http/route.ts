import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseWith, WalkoutError } from '../../proto/index.ts';
import type { Principal } from '../accounts/tokens.ts';
import type { Device } from '../stores/devices.ts';

export type Auth = 'none' | 'shopper' | 'device' | 'operator';

export interface Caller {
  principal?: Principal;
  device?: Device;
}

export interface Context<B, P> {
  body: B;
  params: P;
  caller: Caller;
  req: FastifyRequest;
  reply: FastifyReply;
}

/**
 * One HTTP endpoint: its zod schemas are both the validation and the OpenAPI document, so the two
 * cannot drift apart.
 */
export interface Route<B = unknown, P = unknown, R = unknown> {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Fastify style, `/v1/things/:id`. */
  url: string;
  summary: string;
  tag: string;
  auth: Auth;
  body?: z.ZodType<B>;
  params?: z.ZodType<P>;
  response: z.ZodType<R>;
  status?: number;
  /**
   * The access token may come as `?access_token=` (only where a browser cannot send a header: the
   * event stream). Anywhere else a token in a URL is refused, since URLs end up in logs and histories.
   */
  tokenInQuery?: boolean;
  handler(ctx: Context<B, P>): Promise<R>;
}

export function route<B = undefined, P = undefined, R = unknown>(r: Route<B, P, R>): Route {
  return r as unknown as Route;
}

export type Authenticate = (
  auth: Exclude<Auth, 'none'>,
  req: FastifyRequest,
  opts: { tokenInQuery: boolean },
) => Promise<Caller>;

export function register(app: FastifyInstance, routes: readonly Route[], authenticate: Authenticate): void {
  for (const r of routes) {
    app.route({
      method: r.method,
      url: r.url,
      handler: async (req, reply) => {
        const caller =
          r.auth === 'none' ? {} : await authenticate(r.auth, req, { tokenInQuery: r.tokenInQuery === true });
        const where = `${r.method} ${r.url}`;
        // The document says a body is required wherever a route takes one; so does the server.
        if (r.body && req.body === undefined)
          throw new WalkoutError('BAD_REQUEST', `${where}: a JSON body is required`);
        const body = r.body ? parseWith(r.body, req.body, `${where} body`, 'BAD_REQUEST') : undefined;
        const params = r.params ? parseWith(r.params, req.params, `${where} path`, 'BAD_REQUEST') : undefined;
        const result = await r.handler({ body, params, caller, req, reply });
        reply.code(r.status ?? 200);
        return result;
      },
    });
  }
}

const ErrorBody = z.object({
  error: z.object({
    code: z.string().describe('stable error code, see proto/errors.ts'),
    message: z.string(),
    issues: z.array(z.object({ field: z.string(), reason: z.string() })).optional(),
    requestId: z.string().optional().describe('the x-request-id the server log has this request under'),
  }),
});

const schema = (s: z.ZodType) => {
  const { $schema: _drop, ...rest } = z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' }) as Record<
    string,
    unknown
  >;
  return rest;
};

/** OpenAPI 3.1 (whose schemas are JSON Schema 2020-12, what zod emits) for the routes. */
export function openApi(
  routes: readonly Route[],
  info: { title: string; version: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
    const names = [...r.url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
    // Each path parameter's format, length and pattern as the route's own schema checks them.
    const params = (r.params ? schema(r.params).properties : undefined) as
      | Record<string, unknown>
      | undefined;
    paths[path] ??= {};
    paths[path][r.method.toLowerCase()] = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.auth === 'none' ? { security: [] } : { security: [{ [r.auth]: [] }] }),
      parameters: names
        .map((name) => ({
          name,
          in: 'path',
          required: true,
          schema: params?.[name] ?? { type: 'string' },
        }))
        .concat(
          r.tokenInQuery
            ? [{ name: 'access_token', in: 'query', required: false, schema: { type: 'string' } }]
            : [],
        ),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schema(r.body) } } } }
        : {}),
      responses: {
        [String(r.status ?? 200)]: {
          description: 'success',
          content: { 'application/json': { schema: schema(r.response) } },
        },
        default: { description: 'error', content: { 'application/json': { schema: schema(ErrorBody) } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: {
        shopper: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        operator: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
        device: { type: 'http', scheme: 'basic', description: 'device id and secret' },
      },
    },
  };
}

export function notFound(what: string): WalkoutError {
  return new WalkoutError('NOT_FOUND', `${what} not found`);
}
