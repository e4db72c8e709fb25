import type { DecodedMessage } from '../../proto/index.ts';

/**
 * A device message's time on the store clock, from its own payload: a plate batch's end (its last
 * sample's slot, when it could be sent), a scan's, command's or passage's `tsMs`. A status carries
 * no time: null. Live, this is the time the loop sees, as the store clock of a simulator or a real
 * store need not be the edge's wall clock; for the simulator's devices it equals what a recording's
 * mqtt.jsonl says, so live and replay give the loop the same times.
 */
export function messageTimeMs(message: DecodedMessage): number | null {
  switch (message.kind) {
    case 'plateSamples': {
      const p = message.payload;
      return p.t0Ms + (p.grams.length * 1000) / p.sampleRateHz;
    }
    case 'gateScan':
    case 'gateCommand':
    case 'gatePassage':
      return message.payload.tsMs;
    default:
      // A status, or an edge's own live state (never subscribed to): no time of its own.
      return null;
  }
}
