import { types } from 'node:util';
import pino, { type DestinationStream, type LevelWithSilent, type Logger as Pino } from 'pino';

/**
 * Logging through pino: one JSON object per line on stderr (stdout stays free for program output),
 * written asynchronously. pino flushes its buffer synchronously when the process exits (also by
 * `process.exit` or an uncaught exception), so the last lines before a fatal exit are not lost.
 *
 * The `Logger` interface (`log.info(msg, fields)`, `child(name)`) is the project's own, so call
 * sites and the hand-made silent loggers in tests do not depend on pino; `pinoOf` hands the pino
 * underneath to Fastify, whose per-request child loggers carry the request id.
 */
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(name: string): Logger;
}

export interface LoggerOptions {
  /** Where lines go; stderr by default (tests pass a stream to read them back). */
  destination?: DestinationStream;
  /** Defaults to LOG_LEVEL (trace, debug, info, warn, error, fatal, silent), else info. */
  level?: LevelWithSilent;
}

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

function levelFromEnv(): LevelWithSilent {
  const raw = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  return LEVELS.includes(raw) ? (raw as LevelWithSilent) : 'info';
}

// Only real errors: an error already serialized (a plain object) must not be serialized again.
const isErrorLike = (v: unknown): v is Error => v instanceof Error || types.isNativeError(v);

/**
 * pino's error serializer with causes kept as nested errors; every enumerable field stays, so a
 * WalkoutError keeps its `code` and `details` and a pg error its `code`, `detail`, `constraint`.
 * A cause that is not an Error (the language allows any value) is kept as it is.
 */
export function serializeError(err: unknown): unknown {
  if (!isErrorLike(err)) return err;
  const out = pino.stdSerializers.errWithCause(err) as unknown as Record<string, unknown>;
  const { cause } = err as { cause?: unknown };
  if (cause !== undefined && !isErrorLike(cause)) out.cause = cause;
  return out;
}

// Errors may sit under any key (`err`, `error`, `cause`): serialize them wherever they are.
function prepare(fields: Fields | undefined): Fields {
  if (!fields) return {};
  let out: Fields | undefined;
  for (const [key, value] of Object.entries(fields)) {
    if (isErrorLike(value)) {
      out ??= { ...fields };
      out[key] = serializeError(value);
    }
  }
  return out ?? fields;
}

// The process's one stderr stream and root logger, made on first use.
let root: Pino | undefined;
const roots = new WeakMap<DestinationStream, Pino>();

function rootFor(destination?: DestinationStream): Pino {
  const make = (dest: DestinationStream) =>
    pino(
      {
        level: 'trace', // each named logger sets its own
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        serializers: { err: serializeError, error: serializeError },
      },
      dest,
    );
  if (!destination) {
    root ??= make(pino.destination({ dest: 2, sync: false }));
    return root;
  }
  let r = roots.get(destination);
  if (!r) {
    r = make(destination);
    roots.set(destination, r);
  }
  return r;
}

const underlying = new WeakMap<Logger, Pino>();

/** What `fromPino` needs of a pino logger (Fastify types `request.log` as this much). */
export type PinoLike = Pick<Pino, 'debug' | 'info' | 'warn' | 'error'>;

/**
 * Our interface over a pino logger, e.g. a Fastify request's `request.log`. Its children add a
 * `scope` field rather than a second `name` binding (pino would write the key twice).
 */
export function fromPino(p: PinoLike, scope?: string): Logger {
  const at = (fields: Fields | undefined): Fields =>
    scope === undefined ? prepare(fields) : { scope, ...prepare(fields) };
  const log: Logger = {
    debug: (msg, fields) => p.debug(at(fields), msg),
    info: (msg, fields) => p.info(at(fields), msg),
    warn: (msg, fields) => p.warn(at(fields), msg),
    error: (msg, fields) => p.error(at(fields), msg),
    child: (sub) => fromPino(p, scope === undefined ? sub : `${scope}.${sub}`),
  };
  return log;
}

export function createLogger(name: string, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? levelFromEnv();
  return named(rootFor(opts.destination), name, level);
}

// Children hang off the root, not off each other, so a line has one `name` and not a chain of them.
function named(r: Pino, name: string, level: LevelWithSilent): Logger {
  const p = r.child({ name }, { level });
  const log: Logger = {
    ...fromPino(p),
    child: (sub) => named(r, `${name}.${sub}`, level),
  };
  underlying.set(log, p);
  return log;
}

/**
 * The pino logger under a Logger, for libraries that take one (Fastify's `loggerInstance`); a
 * logger not made here (a test's silent stand-in) gets a silent pino.
 */
export function pinoOf(log: Logger): Pino {
  return underlying.get(log) ?? pino({ level: 'silent' });
}
