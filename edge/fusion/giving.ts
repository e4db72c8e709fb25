/**
 * What a resolved weight event gives, once its looks are done (looking.ts): its lines to the carts of
 * whoever reached into each plate (lines.ts decides who pays), the plate's contents and stock
 * changed, an alert when no product or nobody explains it, and how it was resolved (trace.ts). What
 * each track was given is logged, and moved when an identity swap says it was the other's
 * (swaps.ts); what went to a track on no visit is kept until a member claims the track
 * (unclaimed.ts).
 */
import type { Catalog } from '../../proto/catalog/schema.ts';
import { doubtful } from '../../proto/grpc/evidence.ts';
import type { CartChange, Carts } from '../carts/carts.ts';
import type { Alert, ContentsStage } from '../stages.ts';
import type { IdentitySwap, WeightEvent } from '../types.ts';
import type { Attribution, PlateGeometry } from './attribute.ts';
import type { FusionConfig } from './config.ts';
import { type HolderVerdict, holderEvidence, ownTake, withHolder } from './holder.ts';
import { decidePlate, type Member } from './lines.ts';
import { lookSettles, withLook } from './look.ts';
import type { LookContext } from './looking.ts';
import type { FusionOutput, ResolveTrace } from './outputs.ts';
import type { PlateStock } from './plate-stock.ts';
import { type Given, type GivenLog, swapMoves } from './swaps.ts';
import type { Timeline } from './timeline.ts';
import { resolveTrace } from './trace.ts';
import type { UnclaimedEvents } from './unclaimed.ts';

/** What giving an event's lines needs of the engine's parts. */
export interface GivingContext {
  config: FusionConfig;
  geometry: PlateGeometry;
  catalog: ReadonlyMap<string, Catalog['items'][number]>;
  carts: Carts;
  plateStock: PlateStock;
  timeline: Timeline;
  given: GivenLog;
  unclaimed: UnclaimedEvents;
  observe?: ((trace: ResolveTrace) => void) | undefined;
  applyHypothesis: ContentsStage['applyHypothesis'];
  attribute(e: WeightEvent): Attribution;
  memberOf(trackId: string): Member | null;
  isStranger(trackId: string): boolean;
  alert(kind: Alert['kind'], tsMs: number, detail: string, refs: Partial<Alert>): FusionOutput;
}

export class Giving {
  constructor(private readonly ctx: GivingContext) {}

  /** The event's lines to the carts of whoever reached into each plate, with the look's evidence. */
  finish(
    ...[e, who, identified, lookFor, answer, verdict]: Parameters<LookContext['finish']>
  ): FusionOutput[] {
    const { config } = this.ctx;
    const top = who.candidates[0];
    const memberOf = (id: string) => this.ctx.memberOf(id);
    const { hypotheses, doubt } = identified;
    const looked =
      hypotheses[0] && lookFor.length > 0
        ? withLook(
            hypotheses,
            lookFor,
            answer,
            config,
            e.deltaG < 0 && (doubt === null || doubt === 'lookalike'),
          )
        : null;
    const trace = (what: Pick<ResolveTrace, 'lines' | 'confidence' | 'review' | 'reaches'>) => {
      if (!this.ctx.observe) return;
      const member = top ? memberOf(top.trackId) : null;
      this.ctx.observe(
        resolveTrace(e, this.ctx.timeline, memberOf, {
          hypotheses,
          attribution: who,
          member: member ? { visitId: member.visitId, memberNo: member.memberNo } : null,
          doubt,
          ...what,
          ...(looked ? { look: { outcome: looked.outcome, evidence: looked.evidence } } : {}),
          ...(verdict ? { holder: verdict } : {}),
        }),
      );
    };
    const best = looked?.reading ?? hypotheses[0];
    const out: FusionOutput[] = [];
    if (looked?.outcome === 'unknown') {
      const detail = `${e.eventId}: the item in the hand is no product the classifier knows (weights read ${best?.lines.map((l) => l.sku).join('+')})`;
      out.push(
        this.ctx.alert('unknown-item', e.settledMs, detail, {
          plateId: e.plates[0]?.plateId,
          trackId: top?.trackId,
        }),
      );
    }
    if (!best || doubt === 'unexplained') {
      const detail = `${e.eventId}: ${e.deltaG.toFixed(0)} g matches no product`;
      out.push(this.ctx.alert('unattributed-event', e.settledMs, detail, { plateId: e.plates[0]?.plateId }));
      if (!best) {
        trace({ lines: [], confidence: 0, review: true });
        return out;
      }
    }
    this.ctx.applyHypothesis(best);
    for (const l of best.lines) this.ctx.plateStock.touch(l.plateId);
    // Two shoppers at one shelf at once make one shelf event: each plate's lines go to whoever
    // reached into that plate. A look that decided answers the weights' doubt.
    const standingDoubt = looked && lookSettles(looked.outcome) ? null : doubt;
    const plates = [...new Set(best.lines.map((l) => l.plateId))];
    const changed = new Set<string>();
    for (const plateId of plates) {
      const own = plates.length === 1 ? null : this.ctx.attribute(onePlate(e, plateId, this.ctx.geometry));
      const whoHere = own ? this.heldBy(own, verdict) : who;
      const lines = best.lines.filter((l) => l.plateId === plateId);
      const taker = whoHere.candidates[0]?.trackId;
      const takerHolds = ownTake(whoHere, this.ctx.config.holder);
      const d = decidePlate({
        event: e,
        plateId,
        who: whoHere,
        // A holder look saw one hand; reaches of several are split by the hands' own shares.
        ...(verdict?.trackId ? { reachWho: own ?? this.ctx.attribute(e) } : {}),
        lines,
        reading: best,
        looked,
        standingDoubt,
        holderEvidence: verdict ? holderEvidence(verdict) : null,
        memberOf,
        unitG: (sku) => this.ctx.catalog.get(sku)?.unitWeightG.mean,
        config,
      });
      if (!d.paid) {
        const detail = `${e.eventId}: ${d.top ? `track ${d.top.trackId} is on no visit` : 'nobody near'}`;
        out.push(
          this.ctx.alert('unattributed-event', e.settledMs, detail, { plateId, trackId: d.top?.trackId }),
        );
        trace({ lines, confidence: 0, review: true });
        if (taker) this.ctx.given.push(given(e, taker, null, lines, 0, [], takerHolds));
        // Kept for the member the track may yet turn out to be (bound late, or leaving with them).
        if (d.top && !this.ctx.isStranger(d.top.trackId))
          this.ctx.unclaimed.keep({
            trackId: d.top.trackId,
            eventId: e.eventId,
            settledMs: e.settledMs,
            lines,
            ...d.keep,
          });
        continue;
      }
      const { confidence, review } = d;
      trace({ lines, confidence, review, ...(d.reaches ? { reaches: d.reaches } : {}) });
      // A plate split by reach is not one track's to move.
      const [only] = d.shares;
      if (taker && only)
        this.ctx.given.push(
          given(
            e,
            taker,
            d.shares.length === 1 ? only.member : null,
            only.lines,
            confidence,
            only.evidence,
            takerHolds,
          ),
        );
      for (const share of d.shares) {
        out.push(
          ...this.toCart(share.member, share.lines, e.settledMs, {
            confidence,
            review,
            evidence: share.evidence,
          }),
        );
        changed.add(share.member.visitId);
      }
    }
    out.push(...this.carts(changed, e.settledMs));
    return out;
  }

  /** A member's lines of one event into their cart, and to the cloud. */
  toCart(
    member: Member,
    lines: readonly { sku: string; quantity: number; grams?: number }[],
    settledMs: number,
    how: { confidence: number; evidence: string[]; review: boolean },
  ): FusionOutput[] {
    const out: FusionOutput[] = [];
    for (const line of lines) {
      const byWeight = this.ctx.catalog.get(line.sku)?.soldBy === 'weight';
      const change: CartChange = {
        visitId: member.visitId,
        memberNo: member.memberNo,
        sku: line.sku,
        // By weight: the pieces and the grams (the grams are billed; the contract wants both,
        // and refused the 0 pieces this once sent, so loose fruit never reached a receipt).
        quantity: line.quantity,
        grams: byWeight ? (line.grams ?? 0) : 0,
        confidence: how.confidence,
        evidence: how.evidence,
        review: how.review,
      };
      this.ctx.carts.apply(change);
      const { review: _, ...cart } = change;
      out.push({ kind: 'report', tsMs: settledMs, report: { body: 'cart', cart } });
    }
    return out;
  }

  /** A track on no visit turned out to be a member's: the events it made meanwhile go to their cart. */
  claim(trackId: string, member: Member): FusionOutput[] {
    const mine = this.ctx.unclaimed.take(trackId);
    if (mine.length === 0) return [];
    const out: FusionOutput[] = [];
    for (const u of mine) {
      const evidence = [`weight:${u.eventId}`, ...(u.evidence ?? [])];
      const review = doubtful(u.confidence, evidence, this.ctx.config.reviewBelow);
      out.push(...this.toCart(member, u.lines, u.settledMs, { confidence: u.confidence, evidence, review }));
    }
    out.push(...this.carts([member.visitId], mine[mine.length - 1]!.settledMs));
    return out;
  }

  /** The changed visits' whole carts, for the live state. */
  private carts(visitIds: Iterable<string>, tsMs: number): FusionOutput[] {
    return [...visitIds].map((visitId) => ({
      kind: 'cart' as const,
      cart: this.ctx.carts.cart(visitId),
      ended: false,
      tsMs,
    }));
  }

  /** A plate's own attribution with the holder the event's look found on top. */
  private heldBy(who: Attribution, verdict: HolderVerdict | undefined): Attribution {
    if (!verdict?.trackId) return who;
    const visitOf = (id: string) => this.ctx.memberOf(id)?.visitId ?? null;
    return withHolder(who, verdict.trackId, visitOf, this.ctx.config.holder);
  }

  /**
   * Two tracks had swapped people (the tracker gave their identities back): what each was seen
   * doing meanwhile is the other's, and what each was given meanwhile goes to the other's member,
   * while both visits are open (a closed visit's receipt is out).
   */
  swapBack(swap: IdentitySwap): FusionOutput[] {
    // Events still to resolve see each person's hands under their own id.
    this.ctx.timeline.exchange(...swap.trackIds, swap.sinceMs, swap.atMs);
    const open = new Set(this.ctx.carts.visitIds());
    const out: FusionOutput[] = [];
    const changed = new Set<string>();
    for (const m of swapMoves(this.ctx.given.entries(), swap, (id) => this.ctx.memberOf(id))) {
      const g = m.given;
      if (!g.member || !open.has(g.member.visitId) || !open.has(m.to.visitId)) continue;
      const evidence = [...g.evidence, `swap:${swap.trackIds.join('/')}`];
      const review = doubtful(g.confidence, evidence, this.ctx.config.reviewBelow);
      const how = { confidence: g.confidence, evidence, review };
      const back = g.lines.map((l) => ({ ...l, quantity: -l.quantity, grams: -(l.grams ?? 0) }));
      out.push(...this.toCart(g.member, back, swap.atMs, how), ...this.toCart(m.to, g.lines, swap.atMs, how));
      changed.add(g.member.visitId).add(m.to.visitId);
      g.member = { visitId: m.to.visitId, memberNo: m.to.memberNo };
      g.trackId = m.toTrackId;
    }
    out.push(...this.carts(changed, swap.atMs));
    return out;
  }
}

/** What an event gave through a track (member null: it stays where it is, whatever a swap says). */
function given(
  e: WeightEvent,
  trackId: string,
  member: Member | null,
  lines: Given['lines'],
  confidence: number,
  evidence: string[],
  /** Whether the track itself, not only its party, was the likeliest taker. */
  own: boolean,
): Given {
  return {
    eventId: e.eventId,
    trackId,
    member: member ? { visitId: member.visitId, memberNo: member.memberNo } : null,
    take: e.deltaG < 0 && own,
    lines,
    settledMs: e.settledMs,
    confidence,
    evidence,
  };
}

/** The part of a shelf event on one plate, centred there. */
function onePlate(e: WeightEvent, plateId: string, geometry: PlateGeometry): WeightEvent {
  const plate = e.plates.filter((p) => p.plateId === plateId);
  const centre = geometry.plates.get(plateId)?.centerM ?? e.positionM;
  return { ...e, plates: plate, deltaG: plate.reduce((a, p) => a + p.deltaG, 0), positionM: centre };
}
