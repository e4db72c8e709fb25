import type { FastifyRequest } from 'fastify';
import { WalkoutError } from '../../proto/index.ts';
import { type AccessKey, verifyAccessToken } from '../accounts/tokens.ts';
import { type DeviceAuth, parseBasic } from '../stores/devices.ts';
import type { Authenticate, Caller } from './route.ts';

/**
 * Shoppers and operators carry a bearer access token; devices (gate controllers, edge nodes) use
 * HTTP Basic with their id and secret.
 */
export function authenticator(devices: DeviceAuth, accessKey: AccessKey, now: () => Date): Authenticate {
  return async (auth, req: FastifyRequest, { tokenInQuery }): Promise<Caller> => {
    const query = req.query as { access_token?: unknown } | undefined;
    const inQuery = query?.access_token;
    if (inQuery !== undefined && !tokenInQuery)
      throw new WalkoutError(
        'UNAUTHENTICATED',
        '?access_token= is accepted only by the event stream; send the token as Authorization: Bearer',
      );
    const header = req.headers.authorization ?? (typeof inQuery === 'string' ? `Bearer ${inQuery}` : '');
    if (auth === 'device') {
      // Malformed credentials are refused here, before any database look-up.
      const creds = parseBasic(header);
      if (!creds) throw new WalkoutError('UNAUTHENTICATED', 'device credentials required (Basic)');
      const device = await devices.authenticate(creds.id, creds.secret);
      if (!device) throw new WalkoutError('UNAUTHENTICATED', 'unknown or revoked device credentials');
      return { device };
    }
    const [scheme, value] = header.split(' ', 2);
    if (scheme !== 'Bearer' || !value)
      throw new WalkoutError('UNAUTHENTICATED', 'an access token is required (Bearer)');
    const verified = await verifyAccessToken(value, accessKey, now().getTime());
    if (!verified.ok) throw new WalkoutError('UNAUTHENTICATED', `access token refused: ${verified.why}`);
    const { principal } = verified;
    if (auth === 'shopper' && principal.role !== 'shopper') {
      throw new WalkoutError('FORBIDDEN', 'this endpoint is for shoppers');
    }
    if (auth === 'operator' && principal.role === 'shopper') {
      throw new WalkoutError('FORBIDDEN', 'this endpoint is for operators');
    }
    return { principal };
  };
}
