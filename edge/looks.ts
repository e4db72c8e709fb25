import type { Logger } from '../platform/log.ts';
import type { SecondLook } from './stages.ts';
import type { LookAnswer, LookRequest } from './types.ts';

/**
 * The loop's second looks in flight: each runs beside the loop (the models work in their own
 * threads) and its answer waits here until the loop hands it to the fusion, between inputs. A look
 * that fails is logged and answers null: the event is resolved on the weights alone. A look asked
 * again for an event whose look is still running (a held put-back that changed before it was
 * final: its early look is asked anew) runs once that one is done, and only its answer is given:
 * the fusion takes an answer for the event as it stands now, not as it stood.
 */
export class LooksInFlight {
  private readonly running = new Map<string, Promise<void>>();
  /** The newest request per event asked while its look was running. */
  private readonly waiting = new Map<string, LookRequest>();
  private answered: { eventId: string; answer: LookAnswer | null }[] = [];
  private wake: (() => void) | null = null;

  constructor(
    private readonly look: SecondLook | undefined,
    private readonly log: Logger,
  ) {}

  start(request: LookRequest): void {
    const { eventId } = request;
    if (!this.look) {
      this.answered.push({ eventId, answer: null });
      return;
    }
    if (this.running.has(eventId)) {
      this.waiting.set(eventId, request);
      return;
    }
    const p = this.look(request)
      .catch((err: unknown) => {
        this.log.warn('second look failed: resolved on the weights alone', {
          eventId,
          err: (err as Error).message,
        });
        return null;
      })
      .then((answer) => {
        this.running.delete(eventId);
        const newer = this.waiting.get(eventId);
        if (newer) {
          this.waiting.delete(eventId);
          this.start(newer);
          return;
        }
        this.answered.push({ eventId, answer });
        const w = this.wake;
        this.wake = null;
        w?.();
      });
    this.running.set(eventId, p);
  }

  /** The answers come in so far, in the order they came; each is given once. */
  take(): { eventId: string; answer: LookAnswer | null }[] {
    const out = this.answered;
    this.answered = [];
    return out;
  }

  get inFlight(): number {
    return this.running.size;
  }

  /** Resolves when every look started so far has answered. */
  async all(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }

  /** Resolves when the next answer comes; null when none is running. */
  next(): Promise<void> | null {
    if (this.running.size === 0) return null;
    return new Promise((resolve) => {
      const prev = this.wake;
      this.wake = () => {
        prev?.();
        resolve();
      };
    });
  }
}
