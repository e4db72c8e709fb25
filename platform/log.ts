// One JSON object per line on stderr, so stdout stays free for program output and logs stay greppable.
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  child(name: string): Logger;
}

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: Number.POSITIVE_INFINITY } as const;
type Level = keyof typeof LEVELS;

function threshold(): number {
  const raw = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  return raw in LEVELS ? LEVELS[raw as Level] : LEVELS.info;
}

// Errors have no enumerable properties, so JSON.stringify would turn them into `{}`.
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createLogger(name: string): Logger {
  const write = (level: Exclude<Level, 'silent'>, msg: string, fields?: Fields): void => {
    // Read per call so tests and CLIs can change LOG_LEVEL after modules are loaded.
    if (LEVELS[level] < threshold()) return;
    const record = { time: new Date().toISOString(), level, name, msg, ...fields };
    process.stderr.write(`${JSON.stringify(record, replacer)}\n`);
  };
  return {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    child: (sub) => createLogger(`${name}.${sub}`),
  };
}
