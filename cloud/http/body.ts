import type { FastifyInstance } from 'fastify';
import { badText, WalkoutError } from '../../proto/index.ts';

/** Throws on the first invalid byte instead of writing U+FFFD for it. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Request bodies are JSON in UTF-8 and nothing else. Fastify's own parser would read any charset as
 * UTF-8 and turn invalid bytes into U+FFFD, storing text the client never sent; here both are refused.
 */
export function jsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    const charset = charsetOf(req.headers['content-type'] ?? '');
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      done(
        new WalkoutError('UNSUPPORTED_MEDIA_TYPE', `charset ${charset} is not accepted; send JSON in utf-8`),
      );
      return;
    }
    let text: string;
    try {
      text = UTF8.decode(body as Buffer);
    } catch {
      done(new WalkoutError('BAD_REQUEST', 'body is not valid UTF-8'));
      return;
    }
    parseJson(req, text, (err, value) => {
      if (err) return done(err);
      const bad = badText(value);
      if (bad) {
        const field = bad.path || '(body)';
        done(
          new WalkoutError('BAD_REQUEST', `${field}: ${bad.reason}`, {
            issues: [{ field, reason: bad.reason }],
          }),
        );
        return;
      }
      done(null, value);
    });
  });
}

/** The charset parameter of a Content-Type, lower-cased and unquoted; undefined when absent. */
export function charsetOf(contentType: string): string | undefined {
  for (const param of contentType.split(';').slice(1)) {
    const eq = param.indexOf('=');
    if (eq < 0) continue;
    if (param.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    return param
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return undefined;
}
