import type { Rng } from '../core/rng.ts';
import type { World } from '../world/world.ts';

/**
 * A wrong planogram: the store's stock on some plates is not what the planogram says, as when a
 * shelf was reset without updating the plan. Swaps the stock of plate pairs on the same shelf, so
 * the weight signal and the item seen in the hand must win over the planogram.
 */
export function swapPlanogram(world: World, count: number, rng: Rng): { plateIds: [string, string] }[] {
  const byShelf = new Map<string, string[]>();
  for (const p of world.layout.plates) byShelf.set(p.shelfId, [...(byShelf.get(p.shelfId) ?? []), p.id]);
  const candidates = rng.shuffle([...byShelf.values()].filter((ids) => ids.length >= 2));
  const swaps: { plateIds: [string, string] }[] = [];
  for (const ids of candidates.slice(0, count)) {
    const [a, b] = [ids[0]!, ids[1]!];
    const pa = world.plate(a);
    const pb = world.plate(b);
    [pa.items, pb.items] = [pb.items, pa.items];
    swaps.push({ plateIds: [a, b] });
  }
  return swaps;
}
