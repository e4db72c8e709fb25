/**
 * The store as the edge understands it: device messages and detections in, reports and live state
 * out. No I/O and no clock: the loop (edge/loop.ts) feeds it inputs with their store-clock times and
 * carries its outputs to the cloud and the broker, and tests and benchmarks drive it directly.
 *
 * A weight event is resolved once the frames around it have been seen (the frame watermark passed
 * its end) or it has waited `resolveWaitMs`: who (attribution), then what (identification, with the
 * putter's own cart as candidates for a put-back), then the cart and the plate's contents change. An
 * event the weights cannot settle alone (near-equal weights among its candidates, an item come back
 * to a plate that did not hold it) is held for a second look (looking.ts): a `look` output asks for
 * it, and `onLook` (or `lookWaitMs` of store time) resolves it; later events on its shelf wait behind
 * it. So is an event shoppers of two visits reached into (a holder look: whose hand held the item,
 * holder.ts). A visit closes once its last member is out and no shelf event that began before then
 * is unresolved. When the tracker gives two swapped tracks their identities back, what each was
 * given meanwhile moves to the other's member (swaps.ts).
 */
import type { Catalog } from '../../proto/catalog/schema.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import type { DecodedMessage } from '../../proto/mqtt/payloads.ts';
import { type CartChange, Carts } from '../carts/carts.ts';
import type {
  Alert,
  ContentsStage,
  HandStage,
  IdentifyStage,
  TrackerStage,
  VisitCart,
  WeightStage,
} from '../stages.ts';
import type { FrameDetections, IdentitySwap, LookAnswer, Track, WeightEvent } from '../types.ts';
import { VisitBook, type VisitEffect } from '../visits/book.ts';
import { type Attribution, attribute, PlateGeometry } from './attribute.ts';
import { dueCloses, unreachableHeld } from './closing.ts';
import type { FusionConfig } from './config.ts';
import { healthOutputs } from './health.ts';
import { type HolderVerdict, holderEvidence, withHolder } from './holder.ts';
import { decidePlate } from './lines.ts';
import { lookSettles, withLook } from './look.ts';
import { EventLooks, type LookContext } from './looking.ts';
import type { FusionOutput, ResolveTrace } from './outputs.ts';
import { PlateStock } from './plate-stock.ts';
import { type Closing, decodeFusionState, encodeFusionState } from './state.ts';
import { type Given, GivenLog, swapMoves } from './swaps.ts';
import { Timeline } from './timeline.ts';
import { resolveTrace } from './trace.ts';
import { UnclaimedEvents } from './unclaimed.ts';

export interface FusionParts {
  weights: WeightStage;
  identify: IdentifyStage;
  contents: ContentsStage;
  tracker: TrackerStage;
  hands: HandStage;
  /** A SecondLook stage answers `look` outputs; without one none are asked. */
  looks?: boolean;
}

export class Fusion {
  private readonly book: VisitBook;
  private readonly carts = new Carts();
  private readonly geometry: PlateGeometry;
  private readonly timeline: Timeline;
  private readonly unresolved: WeightEvent[] = [];
  private readonly looks: EventLooks;
  private readonly closing: Closing[] = [];
  private readonly unclaimed: UnclaimedEvents;
  /**
   * What each track was lately given: its hand holds what it took (for a holder look), and it
   * moves if the track turns out to have followed someone else (an identity swap).
   */
  private readonly given: GivenLog;
  private tracks: Track[] = [];
  private frameWatermarkMs = 0;
  /** Store time open carts were last stated in full (restateCartsEveryMs). */
  private restatedMs = 0;
  private alerts = 0;
  private readonly plateStock: PlateStock;
  readonly catalog: Map<string, Catalog['items'][number]>;

  constructor(
    layout: StoreLayout,
    catalog: Catalog,
    private readonly parts: FusionParts,
    private readonly config: FusionConfig,
    private readonly observe?: (trace: ResolveTrace) => void,
  ) {
    this.book = new VisitBook(layout, config.visits);
    this.geometry = new PlateGeometry(layout);
    this.timeline = new Timeline(config.historyMs);
    this.catalog = new Map(catalog.items.map((i) => [i.sku, i]));
    this.plateStock = new PlateStock(layout, catalog, config.plateRestateMs);
    this.unclaimed = new UnclaimedEvents(config.claimWithinMs);
    this.given = new GivenLog(config.swapLookbackMs);
    this.looks = new EventLooks({
      config,
      geometry: this.geometry,
      looks: parts.looks === true,
      identify: (e, carried) => parts.identify(e, carried),
      attribute: (e) => this.attributeEvent(e),
      memberOf: (id) => this.book.memberOf(id),
      carried: (visitId) => this.carts.skusOf(visitId),
      hands: (fromMs, toMs) => this.timeline.hands(fromMs, toMs),
      held: () => parts.weights.held(),
      busy: (e) => this.ownTakers(e),
      finish: (...a) => this.finish(...a),
    });
  }

  onDevice(msg: DecodedMessage): FusionOutput[] {
    switch (msg.kind) {
      case 'plateSamples':
        this.parts.weights.push(msg.payload);
        return [];
      case 'gateScan':
        this.book.onScan(msg.payload);
        return [];
      case 'gateCommand':
        this.book.onCommand(msg.payload);
        return [];
      case 'gatePassage':
        return this.effects(this.book.onPassage(msg.payload));
      default:
        return [];
    }
  }

  onDetections(frame: FrameDetections): FusionOutput[] {
    const { tracks, personTrack, swaps } = this.parts.tracker.update(frame);
    this.tracks = tracks;
    this.frameWatermarkMs = Math.max(this.frameWatermarkMs, frame.captureMs);
    const moved = (swaps ?? []).flatMap((sw) => this.swapBack(sw));
    for (const t of tracks)
      if (t.state !== 'lost') this.timeline.position(t.trackId, frame.captureMs, t.floorXyM);
    for (const s of this.parts.hands(frame, personTrack, tracks)) this.timeline.hand(s);
    const out = [...moved, ...this.effects(this.book.bind(tracks, frame.captureMs))];
    out.push({ kind: 'tracks', tsMs: frame.captureMs, tracks: this.labelled(tracks) });
    return out;
  }

  /**
   * A second look's answer (null: it saw nothing): resolves the event it was asked for. An answer
   * for an event no longer waiting (resolved at its deadline) is ignored.
   */
  onLook(eventId: string, answer: LookAnswer | null): FusionOutput[] {
    return this.looks.onLook(eventId, answer);
  }

  /** Lets store time pass: settles weight, resolves events whose frames are in, closes visits. */
  tick(nowMs: number): FusionOutput[] {
    const out: FusionOutput[] = [];
    this.confirmUnreachable();
    const { events, health, faultChanges } = this.parts.weights.advance(nowMs);
    out.push(...healthOutputs(health, faultChanges, (...a) => this.alert(...a)));
    this.unresolved.push(...events);
    out.push(...this.effects(this.book.bind(this.tracks, nowMs)));
    out.push(...this.looks.tick(nowMs, this.frameWatermarkMs));
    for (let i = 0; i < this.unresolved.length; ) {
      const e = this.unresolved[i]!;
      const seen = this.frameWatermarkMs >= e.settledMs + this.config.attribution.handAfterMs;
      if (this.looks.behind(e) || (!seen && nowMs - e.settledMs < this.config.resolveWaitMs)) {
        i++;
        continue;
      }
      this.unresolved.splice(i, 1);
      out.push(...this.looks.resolve(e, nowMs));
    }
    // Which shelves are mid-change, once a tick: the closes and the plates' statements both ask.
    const active = this.parts.weights.activeSince();
    out.push(...this.closeDue(nowMs, active));
    if (nowMs - this.restatedMs >= this.config.restateCartsEveryMs) {
      if (this.restatedMs > 0)
        for (const visitId of this.carts.visitIds())
          out.push({ kind: 'cart', cart: this.carts.cart(visitId), ended: false, tsMs: nowMs });
      this.restatedMs = nowMs;
    }
    const plates = this.plateStock.due(nowMs, active, (id) => this.parts.contents.units(id));
    if (plates.length > 0) out.push({ kind: 'plates', tsMs: nowMs, plates });
    this.timeline.prune(nowMs);
    return out;
  }

  cart(visitId: string): VisitCart {
    return this.carts.cart(visitId);
  }

  /**
   * Everything the fusion and its parts hold, as bytes: a fusion built from the same layout,
   * catalogue and config and given them (`restore`) goes on exactly as this one would. One
   * structured clone of all parts at once, so what parts share (a visit's members) stays shared.
   */
  snapshot(): Uint8Array {
    return encodeFusionState({
      fusion: {
        unresolved: this.unresolved,
        closing: this.closing,
        tracks: this.tracks,
        frameWatermarkMs: this.frameWatermarkMs,
        alerts: this.alerts,
        restatedMs: this.restatedMs,
        ...this.looks.state(),
        unclaimed: this.unclaimed.state(),
        given: this.given.state(),
      },
      plateStock: this.plateStock.state(),
      book: this.book.state(),
      carts: this.carts.state(),
      timeline: this.timeline.state(),
      weights: this.parts.weights.state(),
      contents: this.parts.contents.state(),
      tracker: this.parts.tracker.state(),
    });
  }

  /** Takes the state a snapshot holds (CHECKPOINT_INVALID: of another version, or damaged). */
  restore(bytes: Uint8Array): void {
    const s = decodeFusionState(bytes);
    // A part refusing its state leaves the fusion half restored: the caller drops it for a fresh one.
    this.plateStock.restore(s.plateStock);
    this.book.restore(s.book);
    this.carts.restore(s.carts);
    this.timeline.restore(s.timeline);
    this.parts.weights.restore(s.weights);
    this.parts.contents.restore(s.contents);
    this.parts.tracker.restore(s.tracker);
    this.unresolved.splice(0, this.unresolved.length, ...s.fusion.unresolved);
    this.closing.splice(0, this.closing.length, ...s.fusion.closing);
    this.tracks = s.fusion.tracks;
    this.frameWatermarkMs = s.fusion.frameWatermarkMs;
    this.alerts = s.fusion.alerts;
    this.restatedMs = s.fusion.restatedMs;
    this.looks.restore(s.fusion);
    this.unclaimed.restore(s.fusion.unclaimed);
    this.given.restore(s.fusion.given);
  }

  private attributeEvent(e: WeightEvent): Attribution {
    const fromMs = e.startMs - this.config.attribution.handBeforeMs;
    return attribute(
      e,
      this.geometry,
      this.timeline.hands(fromMs, e.settledMs + this.config.attribution.handAfterMs),
      this.timeline.trackIds(fromMs, e.settledMs),
      (id, from, to) => this.timeline.positions(id, from, to),
      this.config.attribution,
    );
  }

  /** The event's lines to the carts of whoever reached into each plate, with the look's evidence. */
  private finish(
    ...[e, who, identified, lookFor, answer, verdict]: Parameters<LookContext['finish']>
  ): FusionOutput[] {
    const top = who.candidates[0];
    const memberOf = (id: string) => this.book.memberOf(id);
    const { hypotheses, doubt } = identified;
    const looked =
      hypotheses[0] && lookFor.length > 0
        ? withLook(
            hypotheses,
            lookFor,
            answer,
            this.config,
            e.deltaG < 0 && (doubt === null || doubt === 'lookalike'),
          )
        : null;
    const trace = (what: Pick<ResolveTrace, 'lines' | 'confidence' | 'review' | 'reaches'>) => {
      if (!this.observe) return;
      const member = top ? memberOf(top.trackId) : null;
      this.observe(
        resolveTrace(e, this.timeline, memberOf, {
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
        this.alert('unknown-item', e.settledMs, detail, {
          plateId: e.plates[0]?.plateId,
          trackId: top?.trackId,
        }),
      );
    }
    if (!best || doubt === 'unexplained') {
      const detail = `${e.eventId}: ${e.deltaG.toFixed(0)} g matches no product`;
      out.push(this.alert('unattributed-event', e.settledMs, detail, { plateId: e.plates[0]?.plateId }));
      if (!best) {
        trace({ lines: [], confidence: 0, review: true });
        return out;
      }
    }
    this.parts.contents.applyHypothesis(best);
    for (const l of best.lines) this.plateStock.touch(l.plateId);
    // Two shoppers at one shelf at once make one shelf event: each plate's lines go to whoever
    // reached into that plate. A look that decided answers the weights' doubt.
    const standingDoubt = looked && lookSettles(looked.outcome) ? null : doubt;
    const plates = [...new Set(best.lines.map((l) => l.plateId))];
    const changed = new Set<string>();
    for (const plateId of plates) {
      const own = plates.length === 1 ? null : this.attributeEvent(onePlate(e, plateId, this.geometry));
      const whoHere = own ? this.heldBy(own, verdict) : who;
      const lines = best.lines.filter((l) => l.plateId === plateId);
      const taker = whoHere.candidates[0]?.trackId;
      const d = decidePlate({
        event: e,
        plateId,
        who: whoHere,
        // A holder look saw one hand; reaches of several are split by the hands' own shares.
        ...(verdict?.trackId ? { reachWho: own ?? this.attributeEvent(e) } : {}),
        lines,
        reading: best,
        looked,
        standingDoubt,
        holderEvidence: verdict ? holderEvidence(verdict) : null,
        memberOf,
        unitG: (sku) => this.catalog.get(sku)?.unitWeightG.mean,
        config: this.config,
      });
      if (!d.paid) {
        const detail = `${e.eventId}: ${d.top ? `track ${d.top.trackId} is on no visit` : 'nobody near'}`;
        out.push(this.alert('unattributed-event', e.settledMs, detail, { plateId, trackId: d.top?.trackId }));
        trace({ lines, confidence: 0, review: true });
        if (taker) this.given.push(given(e, taker, null, lines, 0, []));
        // Kept for the member the track may yet turn out to be (bound late, or leaving with them).
        if (d.top && !this.book.isStranger(d.top.trackId))
          this.unclaimed.keep({
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
        this.given.push(
          given(e, taker, d.shares.length === 1 ? only.member : null, only.lines, confidence, only.evidence),
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
    for (const visitId of changed)
      out.push({ kind: 'cart', cart: this.carts.cart(visitId), ended: false, tsMs: e.settledMs });
    return out;
  }

  /**
   * Two tracks had swapped people (the tracker gave their identities back): what each was seen
   * doing meanwhile is the other's, and what each was given meanwhile goes to the other's member,
   * while both visits are open (a closed visit's receipt is out).
   */
  private swapBack(swap: IdentitySwap): FusionOutput[] {
    // Events still to resolve see each person's hands under their own id.
    this.timeline.exchange(...swap.trackIds, swap.sinceMs, swap.atMs);
    const open = new Set(this.carts.visitIds());
    const out: FusionOutput[] = [];
    const changed = new Set<string>();
    for (const m of swapMoves(this.given.entries(), swap, (id) => this.book.memberOf(id))) {
      const g = m.given;
      if (!g.member || !open.has(g.member.visitId) || !open.has(m.to.visitId)) continue;
      const evidence = [...g.evidence, `swap:${swap.trackIds.join('/')}`];
      const how = { confidence: g.confidence, evidence, review: g.confidence < this.config.reviewBelow };
      const back = g.lines.map((l) => ({ ...l, quantity: -l.quantity, grams: -(l.grams ?? 0) }));
      out.push(...this.toCart(g.member, back, swap.atMs, how), ...this.toCart(m.to, g.lines, swap.atMs, how));
      changed.add(g.member.visitId).add(m.to.visitId);
      g.member = { visitId: m.to.visitId, memberNo: m.to.memberNo };
      g.trackId = m.toTrackId;
    }
    for (const visitId of changed)
      out.push({ kind: 'cart', cart: this.carts.cart(visitId), ended: false, tsMs: swap.atMs });
    return out;
  }

  /** Tracks whose own take settled just before the event began (`ownTakeMs`), other than the event. */
  private ownTakers(e: WeightEvent): Set<string> {
    const { ownTakeMs } = this.config.holder;
    return new Set(
      this.given
        .entries()
        .filter((g) => g.take && g.settledMs >= e.startMs - ownTakeMs && g.eventId !== e.eventId)
        .map((g) => g.trackId),
    );
  }

  /** A plate's own attribution with the holder the event's look found on top. */
  private heldBy(who: Attribution, verdict: HolderVerdict | undefined): Attribution {
    if (!verdict?.trackId) return who;
    const visitOf = (id: string) => this.book.memberOf(id)?.visitId ?? null;
    return withHolder(who, verdict.trackId, visitOf, this.config.holder);
  }

  /** A member's lines of one event into their cart, and to the cloud. */
  private toCart(
    member: { visitId: string; memberNo: number },
    lines: readonly { sku: string; quantity: number; grams?: number }[],
    settledMs: number,
    how: { confidence: number; evidence: string[]; review: boolean },
  ): FusionOutput[] {
    const out: FusionOutput[] = [];
    for (const line of lines) {
      const byWeight = this.catalog.get(line.sku)?.soldBy === 'weight';
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
      this.carts.apply(change);
      const { review: _, ...cart } = change;
      out.push({ kind: 'report', tsMs: settledMs, report: { body: 'cart', cart } });
    }
    return out;
  }

  /** A track on no visit turned out to be a member's: the events it made meanwhile go to their cart. */
  private claim(trackId: string, member: { visitId: string; memberNo: number }): FusionOutput[] {
    const mine = this.unclaimed.take(trackId);
    if (mine.length === 0) return [];
    const out: FusionOutput[] = [];
    for (const u of mine) {
      const evidence = [`weight:${u.eventId}`, ...(u.evidence ?? [])];
      const review = u.confidence < this.config.reviewBelow || evidence.some((x) => x.startsWith('doubt:'));
      out.push(...this.toCart(member, u.lines, u.settledMs, { confidence: u.confidence, evidence, review }));
    }
    const last = mine[mine.length - 1]!;
    out.push({ kind: 'cart', cart: this.carts.cart(member.visitId), ended: false, tsMs: last.settledMs });
    return out;
  }

  private effects(effects: VisitEffect[]): FusionOutput[] {
    const out: FusionOutput[] = [];
    for (const f of effects) {
      switch (f.type) {
        case 'entered':
          this.carts.open(f.visitId, f.memberNo);
          out.push(this.visitReport(f.visitId, 'MEMBER_ENTERED', f.memberNo, f.tsMs));
          out.push({ kind: 'cart', cart: this.carts.cart(f.visitId), ended: false, tsMs: f.tsMs });
          break;
        case 'exited':
          this.carts.leave(f.visitId, f.memberNo);
          out.push(this.visitReport(f.visitId, 'MEMBER_EXITED', f.memberNo, f.tsMs));
          break;
        case 'bound':
          out.push(...this.claim(f.trackId, f));
          break;
        case 'closed':
          this.closing.push({ visitId: f.visitId, tsMs: f.tsMs });
          break;
        case 'end-track':
          this.parts.tracker.end(f.trackId, f.tsMs);
          break;
        case 'tailgate':
          out.push(
            this.alert('tailgate', f.tsMs, `someone crossed ${f.gateId} with no admission`, {
              trackId: f.trackId ?? undefined,
            }),
          );
          break;
        default:
          break;
      }
    }
    return out;
  }

  /** Held additions nobody can lift a hand off are final now (leanClearMs). */
  private confirmUnreachable(): void {
    if (this.config.leanClearMs <= 0) return;
    const toMs = this.frameWatermarkMs;
    const fromMs = toMs - this.config.leanClearMs;
    const due = this.parts.weights.held().filter((e) => e.settledMs <= fromMs);
    if (due.length === 0) return;
    const where = this.timeline.trackIds(fromMs, toMs).map((id) => this.timeline.positions(id, fromMs, toMs));
    for (const shelfId of unreachableHeld(due, where, this.geometry, this.config))
      this.parts.weights.confirm(shelfId);
  }

  private closeDue(nowMs: number, active: ReadonlyMap<string, number>): FusionOutput[] {
    // Every tick comes here: with no visit closing there is nothing to work out.
    if (this.closing.length === 0) return [];
    const due = dueCloses(this.closing, {
      nowMs,
      activeFromMs: Math.min(...active.values(), Number.POSITIVE_INFINITY),
      pendingFromMs: Math.min(
        ...this.unresolved.map((e) => e.startMs),
        ...this.looks.waiting().map((e) => e.startMs),
        Number.POSITIVE_INFINITY,
      ),
      held: this.parts.weights.held(),
      visitOf: (e) => this.visitOfEvent(e),
      config: this.config,
    });
    return due.flatMap((c) => {
      const out: FusionOutput[] = [
        this.visitReport(c.visitId, 'VISIT_CLOSED', 0, Math.max(nowMs, c.tsMs)),
        { kind: 'cart', cart: this.carts.cart(c.visitId), ended: true, tsMs: nowMs },
      ];
      this.carts.forget(c.visitId);
      return out;
    });
  }

  /** The visit whose member the event is attributed to now, if any. */
  private visitOfEvent(e: WeightEvent): string | null {
    const top = this.attributeEvent(e).candidates[0];
    return top ? (this.book.memberOf(top.trackId)?.visitId ?? null) : null;
  }

  private visitReport(
    visitId: string,
    kind: 'MEMBER_ENTERED' | 'MEMBER_EXITED' | 'VISIT_CLOSED',
    memberNo: number,
    tsMs: number,
  ): FusionOutput {
    return { kind: 'report', tsMs, report: { body: 'visit', visit: { visitId, kind, memberNo } } };
  }

  private alert(kind: Alert['kind'], tsMs: number, detail: string, refs: Partial<Alert>): FusionOutput {
    this.alerts += 1;
    const clean = Object.fromEntries(Object.entries(refs).filter(([, v]) => v !== undefined));
    return { kind: 'alert', alert: { alertId: `a${this.alerts}`, kind, tsMs, detail, ...clean } };
  }

  private labelled(tracks: readonly Track[]): (Track & { visitId?: string; memberNo?: number })[] {
    return tracks.map((t) => {
      const m = this.book.memberOf(t.trackId);
      return m ? { ...t, visitId: m.visitId, memberNo: m.memberNo } : { ...t };
    });
  }
}

/** What an event gave through a track (member null: it stays where it is, whatever a swap says). */
function given(
  e: WeightEvent,
  trackId: string,
  member: { visitId: string; memberNo: number } | null,
  lines: Given['lines'],
  confidence: number,
  evidence: string[],
): Given {
  return {
    eventId: e.eventId,
    trackId,
    member: member ? { visitId: member.visitId, memberNo: member.memberNo } : null,
    take: e.deltaG < 0,
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
