/**
 * The store as the edge understands it: device messages and detections in, reports and live state
 * out. No I/O and no clock: the loop (edge/loop.ts) feeds it inputs with their store-clock times and
 * carries its outputs to the cloud and the broker, and tests and benchmarks drive it directly.
 *
 * A weight event is resolved once the frames around it have been seen (the frame watermark passed
 * its end) or it has waited `resolveWaitMs`: who (attribution), then what (identification, with the
 * putter's own cart as candidates for a put-back), then the cart and the plate's contents change
 * (giving.ts). An event the weights cannot settle alone (near-equal weights among its candidates, an
 * item come back to a plate that did not hold it) is held for a second look (looking.ts): a `look`
 * output asks for it, and `onLook` (or `lookWaitMs` of store time) resolves it; later events on its
 * shelf wait behind it. So is an event shoppers of two visits reached into (a holder look: whose
 * hand held the item, holder.ts). A visit closes once its last member is out and no shelf event that
 * began before then is unresolved. When the tracker gives two swapped tracks their identities back,
 * what each was given meanwhile moves to the other's member (swaps.ts).
 */
import type { Catalog } from '../../proto/catalog/schema.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import type { DecodedMessage } from '../../proto/mqtt/payloads.ts';
import { Carts } from '../carts/carts.ts';
import type {
  Alert,
  ContentsStage,
  HandStage,
  IdentifyStage,
  TrackerStage,
  VisitCart,
  WeightStage,
} from '../stages.ts';
import type { FrameDetections, LookAnswer, Track, WeightEvent } from '../types.ts';
import { VisitBook, type VisitEffect } from '../visits/book.ts';
import { type Attribution, attribute, PlateGeometry, partyFirst } from './attribute.ts';
import { dueCloses, stoodWithin, unreachableHeld } from './closing.ts';
import type { FusionConfig } from './config.ts';
import { Giving } from './giving.ts';
import { healthOutputs } from './health.ts';
import { EventLooks } from './looking.ts';
import type { FusionOutput, ResolveTrace } from './outputs.ts';
import { PlateStock } from './plate-stock.ts';
import { type Closing, decodeFusionState, encodeFusionState } from './state.ts';
import { GivenLog } from './swaps.ts';
import { Timeline } from './timeline.ts';
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
  private readonly giving: Giving;
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
    observe?: (trace: ResolveTrace) => void,
  ) {
    this.book = new VisitBook(layout, config.visits);
    this.geometry = new PlateGeometry(layout);
    this.timeline = new Timeline(config.historyMs);
    this.catalog = new Map(catalog.items.map((i) => [i.sku, i]));
    this.plateStock = new PlateStock(layout, catalog, config.plateRestateMs);
    this.unclaimed = new UnclaimedEvents(config.claimWithinMs);
    this.given = new GivenLog(config.swapLookbackMs);
    this.giving = new Giving({
      config,
      geometry: this.geometry,
      catalog: this.catalog,
      carts: this.carts,
      plateStock: this.plateStock,
      timeline: this.timeline,
      given: this.given,
      unclaimed: this.unclaimed,
      observe,
      applyHypothesis: (h) => parts.contents.applyHypothesis(h),
      attribute: (e) => this.attributeEvent(e),
      memberOf: (id) => this.book.memberOf(id),
      isStranger: (id) => this.book.isStranger(id),
      alert: (...a) => this.alert(...a),
    });
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
      finish: (...a) => this.giving.finish(...a),
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
    const { tracks, personTrack, swaps, departing, entering } = this.parts.tracker.update(frame);
    this.tracks = tracks;
    this.frameWatermarkMs = Math.max(this.frameWatermarkMs, frame.captureMs);
    const moved = (swaps ?? []).flatMap((sw) => this.giving.swapBack(sw));
    for (const t of tracks)
      if (t.state !== 'lost') this.timeline.position(t.trackId, frame.captureMs, t.floorXyM);
    for (const s of this.parts.hands(frame, personTrack, tracks)) this.timeline.hand(s);
    const out = [...moved, ...this.effects(this.book.bind(tracks, frame.captureMs))];
    out.push({
      kind: 'tracks',
      tsMs: frame.captureMs,
      tracks: [...(entering ?? []), ...this.labelled(tracks), ...(departing ?? [])],
    });
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
    const who = attribute(
      e,
      this.geometry,
      this.timeline.hands(fromMs, e.settledMs + this.config.attribution.handAfterMs),
      this.timeline.trackIds(fromMs, e.settledMs),
      (id, from, to) => this.timeline.positions(id, from, to),
      this.config.attribution,
    );
    if (!this.config.attribution.partyFirst) return who;
    return partyFirst(who, (id) => this.book.memberOf(id)?.visitId ?? null, this.config.attribution);
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
          out.push(...this.giving.claim(f.trackId, f));
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
    const events = [...this.unresolved, ...this.looks.waiting()];
    const due = dueCloses(this.closing, {
      nowMs,
      busy: [
        ...[...active].map(([shelfId, startMs]) => ({
          startMs,
          plateIds: this.geometry.platesOf(shelfId),
        })),
        ...events.map((e) => ({ startMs: e.startMs, plateIds: e.plates.map((p) => p.plateId) })),
      ],
      couldReach: (visitId, plateIds, fromMs, toMs) => this.couldReach(visitId, plateIds, fromMs, toMs),
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

  /**
   * Whether a track of the visit, or of no visit (it may be one of theirs, unbound), stood within
   * leanReachM of the plates' fronts from a second before `fromMs` (the hand arrives as the shelf
   * stirs) to `toMs`; true when none of those tracks was seen then, as nothing rules them out.
   */
  private couldReach(visitId: string, plateIds: readonly string[], fromMs: number, toMs: number): boolean {
    const startMs = fromMs - 1000;
    const theirs = this.timeline
      .trackIds(startMs, toMs)
      .filter((id) => (this.book.memberOf(id)?.visitId ?? visitId) === visitId)
      .map((id) => this.timeline.positions(id, startMs, toMs));
    if (theirs.every((at) => at.length === 0)) return true;
    return stoodWithin(theirs, plateIds, this.geometry, this.config.leanReachM, false);
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
