/**
 * The `--set key=value` arguments of the replay tools (bench-tracking.ts, replay-attribution.ts,
 * hand-links.ts, hand-relink.ts) as config overrides: numbers, or true and false for the config's switches. The
 * config's own schema says whether a key and its value are valid.
 */
export function parseSets(sets: readonly string[]): Record<string, number | boolean> {
  return Object.fromEntries(
    sets.map((kv) => {
      const [key = '', value = ''] = kv.split('=');
      return [key, value === 'true' ? true : value === 'false' ? false : Number(value)];
    }),
  );
}

/**
 * `--set a.b.c=value` arguments as one nested object ({a: {b: {c: value}}}), values as parseSets
 * reads them; the schemas they are given to say whether a key is valid.
 */
export function nestedSets(sets: readonly string[]): Record<string, Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(parseSets(sets))) {
    const keys = path.split('.');
    let at = out;
    for (const k of keys.slice(0, -1)) {
      at[k] ??= {};
      at = at[k] as Record<string, unknown>;
    }
    at[keys.at(-1)!] = value;
  }
  return out as Record<string, Record<string, unknown>>;
}
