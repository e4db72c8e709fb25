/**
 * A track's bank of re-id embeddings (L2-normalised, models/reid): the newest few views, compared
 * by cosine similarity, best over the bank (a person seen from the front and from the back look
 * different; the best view decides).
 */

/** Best cosine similarity of `embedding` to the bank; null when the bank is empty. */
export function bestSimilarity(bank: readonly Float32Array[], embedding: Float32Array): number | null {
  let best: number | null = null;
  for (const b of bank) {
    let dot = 0;
    for (let i = 0; i < b.length; i++) dot += b[i]! * embedding[i]!;
    if (best === null || dot > best) best = dot;
  }
  return best;
}

/** Adds the embedding, dropping the oldest beyond `size`. */
export function remember(bank: Float32Array[], embedding: Float32Array, size: number): void {
  bank.push(embedding);
  if (bank.length > size) bank.splice(0, bank.length - size);
}
