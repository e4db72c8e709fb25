/**
 * Minimum-cost one-to-one assignment with a gate, over the `munkres` package (Hungarian algorithm,
 * rectangular matrices, no dependencies).
 */
import { munkres } from 'munkres';

/** Cost of a pair that may not be assigned; any pair at or above it is refused. */
export const FORBIDDEN = 1e9;

/**
 * Pairs rows with columns at least total cost, never a pair whose cost is `FORBIDDEN` or more
 * (or not finite). Returns [row, column] pairs in row order.
 *
 * Without `costLimit`, as many pairs as the gates allow are made (the cheapest such set). With
 * it, leaving a row or a column unpaired costs `costLimit / 2` (lapjv's `cost_limit`, as ByteTrack
 * uses it): a far pair is not forced just because both sides are free, e.g. a track near two
 * people is matched to the nearer one even when the other person is the only one a second track
 * could take.
 */
export function assign(cost: readonly (readonly number[])[], costLimit?: number): [number, number][] {
  const rows = cost.length;
  const cols = rows === 0 ? 0 : cost[0]!.length;
  if (rows === 0 || cols === 0) return [];
  const clean = cost.map((row) => row.map((c) => (Number.isFinite(c) && c < FORBIDDEN ? c : FORBIDDEN)));
  let matrix = clean;
  if (costLimit !== undefined) {
    // (rows + cols)²: real pairs top left, "row unpaired" top right, "column unpaired" bottom
    // left (each on its diagonal only), dummy-to-dummy free.
    const n = rows + cols;
    const half = costLimit / 2;
    matrix = Array.from({ length: n }, (_, r) =>
      Array.from({ length: n }, (_, c) => {
        if (r < rows && c < cols) return clean[r]![c]!;
        if (r < rows) return c - cols === r ? half : FORBIDDEN;
        if (c < cols) return r - rows === c ? half : FORBIDDEN;
        return 0;
      }),
    );
  }
  return munkres(matrix)
    .filter(([r, c]) => r < rows && c < cols && clean[r]![c]! < FORBIDDEN)
    .sort((a, b) => a[0] - b[0]) as [number, number][];
}
