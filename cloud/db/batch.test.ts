import { describe, expect, it } from 'vitest';
import { batcher } from './batch.ts';

/** A run whose batches the test releases by hand, recording what each carried. */
function gated() {
  const batches: number[][] = [];
  const release: Array<() => void> = [];
  const run = (items: number[]) => {
    batches.push(items);
    return new Promise<number[]>((resolve, reject) => {
      release.push(() =>
        items.includes(-1) ? reject(new Error('bad item')) : resolve(items.map((i) => i * 10)),
      );
    });
  };
  return { batches, release, run };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('batcher', () => {
  it('sends a lone call at once, and gathers the calls made while the batches in flight run', async () => {
    const g = gated();
    const call = batcher(g.run, { maxItems: 3, maxInFlight: 1 });
    const first = call(1);
    await tick();
    expect(g.batches).toEqual([[1]]);
    const later = [2, 3, 4, 5].map(call);
    await tick();
    expect(g.batches).toHaveLength(1); // waiting for the one in flight
    g.release.shift()!();
    expect(await first).toBe(10);
    await tick();
    expect(g.batches).toEqual([[1], [2, 3, 4]]); // at most maxItems
    g.release.shift()!();
    await tick();
    expect(g.batches[2]).toEqual([5]);
    g.release.shift()!();
    expect(await Promise.all(later)).toEqual([20, 30, 40, 50]);
  });

  it('fails every call of a batch that fails, and goes on with the next', async () => {
    const g = gated();
    const call = batcher(g.run, { maxItems: 10, maxInFlight: 2 });
    const a = [call(1), call(-1)];
    await tick();
    const b = call(3);
    await tick();
    expect(g.batches).toEqual([[1, -1], [3]]); // two in flight
    g.release.shift()!();
    g.release.shift()!();
    await expect(a[0]).rejects.toThrow('bad item');
    await expect(a[1]).rejects.toThrow('bad item');
    expect(await b).toBe(30);
  });

  it('refuses a run that answers with the wrong number of results', async () => {
    const call = batcher(async (items: number[]) => items.slice(1), { maxItems: 10, maxInFlight: 1 });
    await expect(Promise.all([call(1), call(2)])).rejects.toThrow('batch of 2 answered with 1 results');
  });
});
