/**
 * The one part of a cart event's evidence the EdgeLink gives meaning to (edge_link.proto,
 * CartEvent.evidence): `doubt:{why}`, the edge doubting its reading. The edge flags a line for
 * review and the cloud holds a receipt for review by this one rule, so that the live cart a
 * shopper sees and the receipt the cloud settles never disagree about what waits for a person.
 */

const DOUBT = 'doubt:';

/** The evidence saying why the edge doubts a reading (a look-alike, an unexpected product...). */
export function doubtEvidence(why: string): string {
  return `${DOUBT}${why}`;
}

/** Does a person look at this event first: believed less than `threshold`, or doubted. */
export function doubtful(confidence: number, evidence: readonly string[], threshold: number): boolean {
  return confidence < threshold || evidence.some((x) => x.startsWith(DOUBT));
}
