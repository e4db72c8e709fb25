import type { Logger } from '../platform/log.ts';
import type { SecondLook } from './stages.ts';
import type { LookAnswer, LookRequest } from './types.ts';

/**
 * The loop's second looks in flight: each runs beside the loop (the models work in their own
 * threads) and its answer waits here until the loop hands it to the fusion, between inputs. A look
 * that fails is logged and answers null: the event is resolved on the weights alone.
 */
export class LooksInFlight {
  private readonly running = new Map<string, Promise<void>>();
  private answered: { eventId: string; answer: LookAnswer | null }[] = [];
  private wake: (() => void) | null = null;

  constructor(
    private readonly look: SecondLook | undefined,
    private readonly log: Logger,
  ) {}

  start(request: LookRequest): void {
    const { eventId } = request;
    if (!this.look || this.running.has(eventId)) {
      if (!this.look) this.answered.push({ eventId, answer: null });
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
