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
