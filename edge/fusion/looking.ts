/**
 * The weight events held for a second look, and the looks asked for them. An event the weights
 * cannot settle alone (near-equal weights among its candidates, an item come back to a plate that
 * did not hold it) waits for a product look; one shoppers of two visits reached into waits first for
 * a holder look (whose hand held the item, holder.ts), then for a product look if it needs one.
 * Each waits for its answer (`onLook`) or `lookWaitMs` of store time, and later events on its shelf
 * wait behind it. Additions held for confirmation are looked at early (early-looks.ts). The engine
 * gives the event its lines (`finish`) once its looks are done.
 */
import type { IdentifyStage } from '../stages.ts';
import type { HandSighting, LookAnswer, LookRequest, WeightEvent } from '../types.ts';
import type { Attribution, PlateGeometry } from './attribute.ts';
import type { FusionConfig } from './config.ts';
import { EarlyLooks, holderLookId } from './early-looks.ts';
import { contestedTracks, type HolderVerdict, holderRequest, holderVerdict, withHolder } from './holder.ts';
import { lookRequest } from './look.ts';
import type { FusionOutput } from './outputs.ts';

type Identified = ReturnType<IdentifyStage>;

/** An event waiting for its second look, with what was known when it was asked. */
interface Looking {
  e: WeightEvent;
  who: Attribution;
  identified: Identified;
  request: LookRequest;
  /** A holder look (holder.ts) for these contested tracks; a product look may follow it. */
  holder?: string[];
  /** What an earlier holder look saw. */
  verdict?: HolderVerdict;
}

/** What the looks need of the engine's parts. */
export interface LookContext {
  config: FusionConfig;
  geometry: PlateGeometry;
  /** A SecondLook stage answers `look` outputs; without one none are asked. */
  looks: boolean;
  identify: IdentifyStage;
  attribute(e: WeightEvent): Attribution;
  memberOf(trackId: string): { visitId: string } | null;
  /** The SKUs a visit's cart holds. */
  carried(visitId: string): readonly string[];
  hands(fromMs: number, toMs: number): HandSighting[];
  /** Settled additions held for confirmation (put-backs). */
  held(): readonly WeightEvent[];
  /** Tracks that made a take of their own just before the event: what their hand holds is that. */
  busy(e: WeightEvent): ReadonlySet<string>;
  /** The event's lines to the carts, with what its looks saw. */
  finish(
    e: WeightEvent,
    who: Attribution,
    identified: Identified,
    lookFor: readonly string[],
    answer: LookAnswer | null,
    verdict?: HolderVerdict,
  ): FusionOutput[];
}

export class EventLooks {
  private readonly looking = new Map<string, Looking>();
  private readonly early = new EarlyLooks();
  /** The latest store time a tick brought: an answer coming in between ticks asks at that time. */
  private nowMs = 0;

  constructor(private readonly ctx: LookContext) {}

  /** An answer for no waiting event may be for a look asked early (its event takes it later), or late. */
  onLook(eventId: string, answer: LookAnswer | null): FusionOutput[] {
    const l = this.looking.get(eventId);
    if (!l) {
      this.early.answer(eventId, answer);
      return [];
    }
    this.looking.delete(eventId);
    if (l.holder) return this.afterHolder(l, answer);
    return this.ctx.finish(l.e, l.who, l.identified, l.request.candidates, answer, l.verdict);
  }

  /** Asks early looks whose frames are in, and resolves events whose look is past its deadline. */
  tick(nowMs: number, frameWatermarkMs: number): FusionOutput[] {
    this.nowMs = Math.max(this.nowMs, nowMs);
    const out: FusionOutput[] = [];
    if (this.ctx.looks) out.push(...this.lookEarly(nowMs, frameWatermarkMs));
    for (const l of [...this.looking.values()])
      if (nowMs >= l.request.deadlineMs) {
        this.looking.delete(l.e.eventId);
        out.push(
          ...(l.holder
            ? this.afterHolder(l, null)
            : this.ctx.finish(l.e, l.who, l.identified, l.request.candidates, null, l.verdict)),
        );
      }
    return out;
  }

  /** A shelf's events change its contents in order: none passes one waiting for its look. */
  behind(e: WeightEvent): boolean {
    return [...this.looking.values()].some((l) => l.e.shelfId === e.shelfId);
  }

  /** The events waiting for their look. */
  waiting(): WeightEvent[] {
    return [...this.looking.values()].map((l) => l.e);
  }

  /**
   * Held for a look when shoppers of two visits reached into the plates (whose hand holds the
   * item) or the weights cannot settle it alone (which product), else resolved now.
   */
  resolve(e: WeightEvent, nowMs: number): FusionOutput[] {
    const p = this.prepare(e, nowMs);
    return this.askHolder(p, nowMs) ?? this.lookOrFinish(p, nowMs);
  }

  /**
   * Events held for a look, and looks asked early: a restart resolves them on the weights alone
   * when their wait is over (an answer asked before the crash is not awaited again).
   */
  state(): { looking: [string, Looking][]; early: ReturnType<EarlyLooks['state']> } {
    return { looking: [...this.looking], early: this.early.state() };
  }

  restore(s: { looking: readonly [string, unknown][]; early: readonly [string, unknown][] }): void {
    this.looking.clear();
    for (const [id, l] of s.looking) this.looking.set(id, l as Looking);
    this.early.restore(s.early);
  }

  /** Who, what, and whether (and where) to look again. */
  private prepare(
    e: WeightEvent,
    nowMs: number,
    decided?: Attribution,
  ): Omit<Looking, 'request'> & { lookFor: string[]; request: LookRequest | null } {
    const who = decided ?? this.ctx.attribute(e);
    const top = who.candidates[0];
    const member = top ? this.ctx.memberOf(top.trackId) : null;
    // A put-back is most likely something the putter's party carries.
    const carried = member && e.deltaG > 0 ? this.ctx.carried(member.visitId) : [];
    const identified = this.ctx.identify(e, carried);
    const lookFor = this.ctx.looks ? (identified.lookFor ?? []) : [];
    if (lookFor.length === 0) return { e, who, identified, lookFor, request: null };
    const { handBeforeMs, handAfterMs } = this.ctx.config.attribution;
    const sightings = this.ctx.hands(e.startMs - handBeforeMs, e.settledMs + handAfterMs);
    const trackId = top?.trackId ?? null;
    const request = lookRequest(e, lookFor, trackId, sightings, this.ctx.geometry, nowMs, this.ctx.config);
    return { e, who, identified, lookFor, request };
  }

  /** The product look an event needs (one asked early, while it was held, if still its own). */
  private lookOrFinish(
    p: ReturnType<EventLooks['prepare']>,
    nowMs: number,
    verdict?: HolderVerdict,
  ): FusionOutput[] {
    const { e } = p;
    const early = this.early.take(e);
    const wait = (request: LookRequest) =>
      this.looking.set(e.eventId, {
        e,
        who: p.who,
        identified: p.identified,
        request,
        ...(verdict ? { verdict } : {}),
      });
    // An early look read the hand of whoever was on top then; a holder look may have moved it.
    const earlyFits = !verdict?.trackId || verdict.trackId === p.who.candidates[0]?.trackId;
    if (p.lookFor.length > 0 && early?.request && earlyFits) {
      // Asked while the addition was held: its answer, or the wait for it, is the event's.
      if (early.answered) return this.ctx.finish(e, p.who, p.identified, p.lookFor, early.answer, verdict);
      wait({ ...early.request, candidates: p.lookFor, deadlineMs: nowMs + this.ctx.config.lookWaitMs });
      return [];
    }
    if (p.request) {
      wait(p.request);
      return [{ kind: 'look', request: p.request }];
    }
    return this.ctx.finish(e, p.who, p.identified, p.lookFor, null, verdict);
  }

  /**
   * A holder look when the event is contested between parties and their hands were seen (its
   * answer now when one was asked early, while the addition was held); else null.
   */
  private askHolder(p: ReturnType<EventLooks['prepare']>, nowMs: number): FusionOutput[] | null {
    const early = this.early.holderFor(p.e);
    if (early?.answered) {
      const { e, who, identified } = p;
      return this.afterHolder(
        { e, who, identified, request: early.request, holder: early.tracks },
        early.answer,
      );
    }
    const look = this.holderLook(p, nowMs);
    if (!look) return null;
    const { e } = p;
    this.looking.set(e.eventId, { e, who: p.who, identified: p.identified, ...look });
    return [{ kind: 'look', request: look.request }];
  }

  /** The holder look an event's contest needs: its tracks and where their hands were; else null. */
  private holderLook(
    p: ReturnType<EventLooks['prepare']>,
    nowMs: number,
  ): { holder: string[]; request: LookRequest } | null {
    const cfg = this.ctx.config.holder;
    const best = p.identified.hypotheses[0];
    if (!this.ctx.looks || !cfg.enabled || !best) return null;
    const tracks = contestedTracks(p.who, (id) => this.ctx.memberOf(id)?.visitId ?? null, cfg);
    if (!tracks) return null;
    const { e } = p;
    const skus = [...new Set([...best.lines.map((l) => l.sku), ...p.lookFor])];
    const { handBeforeMs, handAfterMs } = this.ctx.config.attribution;
    const sightings = this.ctx.hands(e.startMs - handBeforeMs, e.settledMs + handAfterMs);
    const plateIds = e.plates.map((x) => x.plateId);
    const request = holderRequest(
      e,
      tracks,
      skus,
      sightings,
      nowMs,
      { ...cfg, waitMs: this.ctx.config.lookWaitMs },
      (s) => this.ctx.geometry.handToPlatesM(s, plateIds),
    );
    return request ? { holder: tracks, request } : null;
  }

  /** A holder look's answer (null: none came): the holder first, then the product look, if any. */
  private afterHolder(l: Looking, answer: LookAnswer | null): FusionOutput[] {
    const { holder } = this.ctx.config;
    const verdict = holderVerdict(answer, l.e, l.holder ?? [], holder, this.ctx.busy(l.e));
    const visitOf = (id: string) => this.ctx.memberOf(id)?.visitId ?? null;
    const who = verdict.trackId ? withHolder(l.who, verdict.trackId, visitOf, holder) : l.who;
    const nowMs = Math.max(this.nowMs, l.request.askedMs);
    // The putter decides a put-back's candidates (their cart): identified again for a new one.
    const p = this.prepare(l.e, nowMs, who);
    return this.lookOrFinish(p, nowMs, verdict);
  }

  /**
   * Additions held for confirmation (put-backs, final only confirmAddedMs after they settle) are
   * looked at as soon as their frames are in, while the cameras still keep those frames.
   */
  private lookEarly(nowMs: number, frameWatermarkMs: number): FusionOutput[] {
    const out: FusionOutput[] = [];
    const { handAfterMs } = this.ctx.config.attribution;
    for (const e of this.ctx.held()) {
      if (this.early.askedFor(e) || frameWatermarkMs < e.settledMs + handAfterMs) continue;
      const p = this.prepare(e, nowMs);
      const h = this.holderLook(p, nowMs);
      const holder = h
        ? { tracks: h.holder, request: { ...h.request, eventId: holderLookId(e.eventId) } }
        : undefined;
      this.early.ask(e, nowMs, p.request, holder);
      if (p.request) out.push({ kind: 'look', request: p.request });
      if (holder) out.push({ kind: 'look', request: holder.request });
    }
    this.early.prune(nowMs, this.ctx.config.historyMs);
    return out;
  }
}
