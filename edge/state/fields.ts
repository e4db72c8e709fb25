/**
 * A stateful part's state as plain data, and back: for the edge's restart (edge/state/checkpoint.ts).
 * A part whose state is its own fields (maps, sets, arrays, numbers, typed arrays: what v8's
 * structured clone copies) lists the fields it derives from the layout and configuration at
 * construction; every other field is state. Restoring checks the names match exactly, so a
 * snapshot of another version of the class (a field added, renamed or dropped) is refused rather
 * than half-applied.
 */
import { WalkoutError } from '../../proto/index.ts';

/** The object's own fields but `derived` ones, by reference: serialize them before anything moves. */
export function fieldsOf(obj: object, derived: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => !derived.includes(k)));
}

/** Puts `state` (from fieldsOf of the same class) back into `obj`. */
export function restoreFields(obj: object, state: unknown, derived: readonly string[], what: string): void {
  if (typeof state !== 'object' || state === null)
    throw new WalkoutError('CHECKPOINT_INVALID', `${what}: no state`);
  const want = Object.keys(fieldsOf(obj, derived)).sort();
  const got = Object.keys(state).sort();
  if (want.join() !== got.join())
    throw new WalkoutError('CHECKPOINT_INVALID', `${what}: the saved fields are not this version's`, {
      want,
      got,
    });
  Object.assign(obj, state);
}

/** A part of the fusion that can be stopped and rebuilt: its state as plain data, and back. */
export interface Stateful {
  /** References to live state: serialize (v8.serialize) at once, in the same call. */
  state(): unknown;
  /** Replaces the state with one `state()` gave (of a part built from the same layout and config). */
  restore(state: unknown): void;
}
