/**
 * Gathers calls made while earlier ones are in flight and runs them as one: under load, each
 * round trip to the database carries many scans, so its cost (a socket write and a wake-up on
 * each side, a commit) is shared; when idle, a call goes out alone and at once. The batch size
 * follows the load by itself, as the edge link's batches do.
 *
 * `run` gets the items in call order and must return one result per item, in the same order, or
 * throw, which fails every call of that batch.
 */
export function batcher<I, O>(
  run: (items: I[]) => Promise<O[]>,
  opts: { maxItems: number; maxInFlight: number },
): (item: I) => Promise<O> {
  type Waiting = { item: I; resolve: (o: O) => void; reject: (err: unknown) => void };
  let queue: Waiting[] = [];
  let inFlight = 0;

  const flush = (): void => {
    while (inFlight < opts.maxInFlight && queue.length > 0) {
      const batch = queue.slice(0, opts.maxItems);
      queue = queue.slice(batch.length);
      inFlight += 1;
      run(batch.map((w) => w.item))
        .then(
          (out) => {
            if (out.length !== batch.length)
              throw new Error(`batch of ${batch.length} answered with ${out.length} results`);
            for (const [i, w] of batch.entries()) w.resolve(out[i]!);
          },
          (err: unknown) => {
            for (const w of batch) w.reject(err);
          },
        )
        .catch((err: unknown) => {
          for (const w of batch) w.reject(err);
        })
        .finally(() => {
          inFlight -= 1;
          flush();
        });
    }
  };

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      // Calls made in the same turn of the event loop leave together.
      if (queue.length === 1) setImmediate(flush);
    });
}
