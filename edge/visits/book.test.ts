import { describe, expect, it } from 'vitest';
import { loadCatalog, loadLayout } from '../../proto/index.ts';
import type { GateCommand, GatePassage } from '../../proto/mqtt/payloads.ts';
import type { Track } from '../types.ts';
import { VisitBook, type VisitEffect } from './book.ts';
import { VisitConfig } from './config.ts';

const ref = new URL('../../proto/stores/reference/', import.meta.url).pathname;
const layout = loadLayout(`${ref}layout.json`, loadCatalog(`${ref}catalog.json`));
const entry = layout.gates.find((g) => g.kind === 'entry')!;
const exit = layout.gates.find((g) => g.kind === 'exit')!;
const mid = (g: typeof entry): [number, number] => [
  (g.lineM[0][0] + g.lineM[1][0]) / 2,
  (g.lineM[0][1] + g.lineM[1][1]) / 2,
];

const open = (n: number, visitId: string, party: number, tsMs: number): GateCommand => ({
  commandId: `cmd-${n}`,
  gateId: entry.id,
  tsMs,
  action: 'open',
  scanId: `scan-${n}`,
  visitId,
  party,
});
const pass = (n: number, gateId: string, direction: 'in' | 'out', tsMs: number): GatePassage => ({
  passageId: `pass-${n}`,
  gateId,
  sensorId: 'beam',
  tsMs,
  direction,
});
const track = (trackId: string, bornMs: number, bornXyM: [number, number], floorXyM = bornXyM): Track => ({
  trackId,
  floorXyM,
  velocityMps: [0, 0],
  state: 'confirmed',
  bornMs,
  lastSeenMs: bornMs,
  bornXyM,
});
const types = (effects: VisitEffect[]) => effects.map((e) => e.type);

describe('binding gate traffic to tracks', () => {
  it('binds a party’s members in the order they cross, and closes the visit when the last is out', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 2, 1000));
    expect(book.onPassage(pass(1, entry.id, 'in', 1500))).toEqual([
      { type: 'entered', visitId: 'v1', memberNo: 0, tsMs: 1500 },
    ]);
    book.onCommand(open(2, 'v1', 2, 2000));
    expect(types(book.onPassage(pass(2, entry.id, 'in', 2600)))).toEqual(['entered']);
    // Both first seen outside, before the line.
    const a = track('t1', 1700, [mid(entry)[0], mid(entry)[1] - 0.3], mid(entry));
    const b = track(
      't2',
      2800,
      [mid(entry)[0] + 0.3, mid(entry)[1] - 0.3],
      [mid(entry)[0] + 0.3, mid(entry)[1] + 0.4],
    );
    const bound = book.bind([a, b], 3000);
    expect(bound.filter((e) => e.type === 'bound')).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't1', tsMs: 3000 },
      { type: 'bound', visitId: 'v1', memberNo: 1, trackId: 't2', tsMs: 3000 },
    ]);
    // Member 1 leaves first: its visit stays open until member 0 is out too.
    book.onPassage(pass(3, exit.id, 'out', 60_000));
    const first = book.bind(
      [track('t1', 1700, mid(entry), [6, 6]), track('t2', 2800, mid(entry), mid(exit))],
      60_100,
    );
    expect(first).toEqual([
      { type: 'exited', visitId: 'v1', memberNo: 1, trackId: 't2', tsMs: 60_000 },
      { type: 'end-track', trackId: 't2', tsMs: 60_000 },
    ]);
    // A shelf event settling after the exit still finds who the track was.
    expect(book.memberOf('t2')).toMatchObject({ visitId: 'v1', memberNo: 1, inside: false });
    book.onPassage(pass(4, exit.id, 'out', 70_000));
    const last = book.bind([track('t1', 1700, mid(entry), mid(exit))], 70_100);
    expect(types(last)).toEqual(['exited', 'end-track', 'closed']);
  });

  it('a passage with no open behind it is a tailgate: its track is never a member', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 1, 1000));
    book.onPassage(pass(1, entry.id, 'in', 1200));
    expect(book.onPassage(pass(2, entry.id, 'in', 1400))).toEqual([]);
    const outside: [number, number] = [mid(entry)[0], mid(entry)[1] - 0.3];
    const effects = book.bind(
      [track('t1', 1300, outside, mid(entry)), track('t2', 1500, outside, mid(entry))],
      2500,
    );
    expect(effects).toContainEqual({ type: 'tailgate', gateId: entry.id, trackId: 't2', tsMs: 1400 });
    expect(book.memberOf('t1')?.visitId).toBe('v1');
    expect(book.memberOf('t2')).toBeNull();
    expect(book.isStranger('t2')).toBe(true);
  });

  it('ignores redelivered commands and passages (QoS 1 is at least once)', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 1, 1000));
    book.onCommand(open(1, 'v1', 1, 1000));
    expect(types(book.onPassage(pass(1, entry.id, 'in', 1200)))).toEqual(['entered']);
    expect(book.onPassage(pass(1, entry.id, 'in', 1200))).toEqual([]);
    expect(book.membersOf('v1')).toHaveLength(1);
  });

  it('waits for the track of a crossing, then settles without one; an exit without tracks still closes', () => {
    const book = new VisitBook(layout, VisitConfig.parse({ bindWaitMs: 3000 }));
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 100));
    expect(book.bind([], 1000)).toEqual([]);
    expect(book.bind([], 4000)).toEqual([]);
    expect(book.inside().map((m) => m.trackId)).toEqual([null]);
    book.onPassage(pass(2, exit.id, 'out', 50_000));
    expect(types(book.bind([], 50_100))).toEqual([]);
    expect(types(book.bind([], 54_000))).toEqual(['exited', 'closed']);
  });

  it('a track born far from the gate, or long before the passage, is not the newcomer', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 10_000));
    const far = track('t1', 10_000, [mid(entry)[0] + 5, mid(entry)[1] + 5]);
    const old = track('t2', 10_000 - VisitConfig.parse({}).bindWindowMs - 1000, mid(entry));
    expect(book.bind([far, old], 11_000)).toEqual([]);
  });

  it('of a party waiting at the gate, binds the member at the line first', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    const [gx, gy] = mid(entry);
    // Both seen waiting outside for 6 s while the payer scans; the second stands back from the line.
    const behind = track('t1', 1000, [gx, gy - 0.8], [gx, gy - 0.8]);
    const crossing = track('t2', 1000, [gx + 0.3, gy - 0.8], [gx + 0.2, gy + 0.05]);
    book.onCommand(open(1, 'v1', 2, 6000));
    book.onPassage(pass(1, entry.id, 'in', 7000));
    // The one still behind the line stands nearer the gate's middle than the one who crossed.
    const bound = book
      .bind(
        [
          { ...behind, floorXyM: [gx, gy - 0.25] },
          { ...crossing, floorXyM: [gx + 0.45, gy + 0.4] },
        ],
        7050,
      )
      .filter((e) => e.type === 'bound');
    expect(bound).toEqual([{ type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't2', tsMs: 7050 }]);
    book.onCommand(open(2, 'v1', 2, 7500));
    book.onPassage(pass(2, entry.id, 'in', 8500));
    expect(book.bind([{ ...behind, floorXyM: [gx, gy + 0.35] }, crossing], 8550)).toContainEqual({
      type: 'bound',
      visitId: 'v1',
      memberNo: 1,
      trackId: 't1',
      tsMs: 8550,
    });
  });

  it('a crossing left waiting is not taken by the next shopper, who stood behind the line after it', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    const [gx, gy] = mid(entry);
    // The payer crosses at 9.25 s unseen; the next shopper, queueing behind the line, scans and
    // crosses at 13.25 s on their own visit.
    book.onCommand(open(1, 'v1', 1, 8000));
    book.onPassage(pass(1, entry.id, 'in', 9250));
    const next = track('t3', 10_100, [gx + 0.2, gy - 0.5]);
    for (const tMs of [10_200, 11_000, 12_000, 13_000]) expect(book.bind([next], tMs)).toEqual([]);
    book.onCommand(open(2, 'v2', 1, 12_500));
    book.onPassage(pass(2, entry.id, 'in', 13_250));
    const bound = book
      .bind([{ ...next, floorXyM: [gx, gy + 0.35] }], 13_400)
      .filter((e) => e.type === 'bound');
    expect(bound).toEqual([{ type: 'bound', visitId: 'v2', memberNo: 0, trackId: 't3', tsMs: 13_400 }]);
  });

  it('a crossing waits a second before taking a track barely past the line: it may still be queueing', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    const [gx, gy] = mid(entry);
    // A party's member crosses untracked; the next shopper waits at the line, within its floor error.
    const next = track('t6', 500, [gx + 0.3, gy - 0.5]);
    const member = track('t7', 1400, [gx + 0.4, gy + 0.6]);
    book.onCommand(open(1, 'v1', 2, 800));
    book.onPassage(pass(1, entry.id, 'in', 1000));
    expect(book.bind([{ ...next, floorXyM: [gx + 0.3, gy - 0.11] }], 1150)).toEqual([]);
    // A second later the next shopper is back behind the line: not the one who crossed.
    expect(book.bind([{ ...next, floorXyM: [gx + 0.3, gy - 0.5] }, member], 2100)).toEqual([]);
    expect(book.bind([{ ...next, floorXyM: [gx + 0.3, gy - 0.5] }, member], 3100)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't7', tsMs: 3100 },
    ]);
  });

  it('a crossing is not taken by a track already well past the line a second before it', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    const [gx, gy] = mid(entry);
    // Born outside, then dragged inside (and lost) while the shopper still stands at the scanner.
    const dragged = track('t6', 1000, [gx + 0.5, gy - 0.4]);
    const shopper = track('t7', 2000, [gx - 0.3, gy - 0.4]);
    book.onCommand(open(1, 'v1', 1, 1500));
    book.bind([{ ...dragged, floorXyM: [gx - 0.2, gy + 0.6] }, shopper], 2500);
    book.onPassage(pass(1, entry.id, 'in', 4000));
    const lost: Track = { ...dragged, floorXyM: [gx - 0.4, gy + 1.2], state: 'lost' };
    expect(book.bind([lost, shopper], 4100)).toEqual([]);
    expect(book.bind([lost, { ...shopper, floorXyM: [gx - 0.3, gy + 0.35] }], 4600)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't7', tsMs: 4600 },
    ]);
  });

  it('a crossing waits a moment for a track that walked through the line rather than take one born inside', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    const [gx, gy] = mid(entry);
    // A track born inside, near the line, of no one who crossed now (a second view of someone).
    const ghost = track('t5', 2000, [gx + 0.5, gy + 0.4]);
    const shopper = track('t6', 1000, [gx - 0.3, gy - 0.5]);
    book.onCommand(open(1, 'v1', 1, 2500));
    book.bind([ghost, shopper], 2900);
    book.onPassage(pass(1, entry.id, 'in', 3000));
    expect(book.bind([ghost, shopper], 3100)).toEqual([]);
    const through = { ...shopper, floorXyM: [gx - 0.2, gy + 0.35] as [number, number] };
    expect(book.bind([ghost, through], 3500)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't6', tsMs: 3500 },
    ]);
    // With no one coming through, the crossing takes the track born inside after the wait.
    book.onCommand(open(2, 'v2', 1, 9000));
    book.onPassage(pass(2, entry.id, 'in', 10_000));
    const late = { ...ghost, bornMs: 9500 };
    expect(book.bind([late], 10_500)).toEqual([]);
    expect(book.bind([late], 12_100)).toEqual([
      { type: 'bound', visitId: 'v2', memberNo: 0, trackId: 't5', tsMs: 12_100 },
    ]);
  });

  it('a member whose crossing found no track adopts the one born at the entry that the crossing refused', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    const [gx, gy] = mid(entry);
    // A party of two: the second member is first seen queueing already past the line, long before
    // their own passage, so the crossing rules refuse that track and the crossing settles without one.
    const payer = track('t1', 500, [gx, gy - 0.4]);
    const second = track('t2', 1200, [gx + 0.4, gy + 0.7]);
    book.onCommand(open(1, 'v1', 2, 800));
    book.onPassage(pass(1, entry.id, 'in', 1000));
    book.bind([{ ...payer, floorXyM: [gx, gy + 0.3] }, second], 1500);
    book.onCommand(open(2, 'v1', 2, 3000));
    book.onPassage(pass(2, entry.id, 'in', 4000));
    const waiting = [{ ...payer, floorXyM: [gx, gy + 1] as [number, number] }, second];
    expect(book.bind(waiting, 6000)).toEqual([]);
    expect(book.bind(waiting, 9100)).toEqual([]);
    expect(book.memberOf('t2')).toBeNull();
    // Once it is away from the gate, it is the trackless member's.
    const away = { ...second, floorXyM: [gx + 3, gy + 4] as [number, number] };
    expect(book.bind([{ ...payer, floorXyM: [gx - 3, gy + 4] }, away], 12_000)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 1, trackId: 't2', tsMs: 12_000 },
    ]);
    // Born long before the passage (beyond the bind window), it would not have been.
    const late = new VisitBook(layout, VisitConfig.parse({}));
    late.onCommand(open(3, 'v2', 1, 20_000));
    late.onPassage(pass(3, entry.id, 'in', 20_000));
    late.bind([], 26_000);
    expect(late.bind([away], 27_000)).toEqual([]);
  });

  it('a member whose crossing took a track that soon died adopts the one born at the entry that it refused', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    const [gx, gy] = mid(entry);
    // The shopper's own track, seen well past the line long before the passage: refused.
    const own = track('t1', 0, [gx + 0.4, gy + 0.7]);
    // A view of no one born inside after the passage: the crossing takes it after the wait.
    const ghost = track('t2', 1200, [gx, gy + 0.4]);
    book.onCommand(open(1, 'v1', 1, 800));
    book.bind([own], 100);
    book.onPassage(pass(1, entry.id, 'in', 1000));
    expect(book.bind([own, ghost], 3100)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't2', tsMs: 3100 },
    ]);
    book.bind([own, { ...ghost, lastSeenMs: 6000 }], 6000);
    // The ghost is gone 5 s after the crossing; the shopper walks away from the gate.
    const away = { ...own, floorXyM: [gx + 3, gy + 4] as [number, number] };
    expect(book.bind([{ ...ghost, lastSeenMs: 6000, state: 'lost' }, away], 9000)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't1', tsMs: 9000 },
    ]);
  });

  it('a member whose track was lost adopts the track born where they were last seen, not one far away', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 500));
    const outside: [number, number] = [mid(entry)[0], mid(entry)[1] - 0.3];
    book.bind([track('t1', 400, outside, [mid(entry)[0], mid(entry)[1] + 0.4])], 600);
    expect(book.memberOf('t1')?.visitId).toBe('v1');
    // Walks in, then the tracker loses t1 at (6, 5) and a new track starts there.
    book.bind([{ ...track('t1', 400, outside, [6, 5]), lastSeenMs: 20_000 }], 20_000);
    const again = track('t7', 20_500, [6.2, 5.1]);
    const stranger = track('t8', 20_500, [11, 8]);
    const adopt = VisitConfig.parse({}).adoptAfterMs;
    // Too young yet: it might be a crossing's track (or a flicker).
    expect(book.bind([again, stranger], 20_500 + adopt / 2)).toEqual([]);
    expect(book.bind([again, stranger], 20_500 + adopt)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't7', tsMs: 20_500 + adopt },
    ]);
    expect(book.memberOf('t8')).toBeNull();
    // The old track is still theirs, should it come back.
    expect(book.memberOf('t1')?.visitId).toBe('v1');
  });

  it('a member whose bound track dies takes over its twin, the same person seen as two tracks at the entry', () => {
    // The crossing takes the split track at once (not waiting for one that walked through).
    const book = new VisitBook(layout, VisitConfig.parse({ insideWaitMs: 0 }));
    const [gx, gy] = mid(entry);
    // One shopper, two tracks: the real one lagging behind the line, a split one ahead of it.
    const real = track('t22', 1000, [gx, gy - 0.6], [gx, gy - 0.2]);
    const split = track('t23', 2800, [gx, gy + 0.3], [gx, gy + 0.3]);
    // An unbound track that has been inside all along, far from the shopper (not theirs).
    const other = track('t30', 500, [11, 8], [11, 8]);
    book.onCommand(open(1, 'v1', 1, 2900));
    book.onPassage(pass(1, entry.id, 'in', 3000));
    const bound = book.bind([real, split, other], 3100).filter((e) => e.type === 'bound');
    expect(bound.map((e) => e.type === 'bound' && e.trackId)).toEqual(['t23']);
    // Both walk in side by side; nothing to adopt while the bound one lives.
    const at = (t: Track, xy: [number, number], ms: number): Track => ({
      ...t,
      floorXyM: xy,
      lastSeenMs: ms,
    });
    expect(book.bind([at(real, [6, 5], 20_000), at(split, [6.3, 5.1], 20_000), other], 20_000)).toEqual([]);
    // The split track dies; the real one stands where it was last seen: the member takes it over.
    const lost: Track = { ...at(split, [6.3, 5.1], 20_000), state: 'lost' };
    const effects = book.bind([at(real, [6.1, 5.0], 21_500), lost, other], 21_500);
    expect(effects).toEqual([{ type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't22', tsMs: 21_500 }]);
    expect(book.memberOf('t30')).toBeNull();
  });

  it('an old unbound track far from where the member was lost, or born apart from their track, is not their twin', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 500));
    book.bind([track('t1', 400, mid(entry), mid(entry))], 600);
    const other = track('t9', 300, [9, 8], [9, 8]);
    book.bind([{ ...track('t1', 400, mid(entry), [6, 5]), lastSeenMs: 20_000 }, other], 20_000);
    const lost: Track = { ...track('t1', 400, mid(entry), [6, 5]), lastSeenMs: 20_000, state: 'lost' };
    expect(book.bind([lost, { ...other, floorXyM: [7.5, 5.5] }], 21_000)).toEqual([]);
    // Nor one standing right where the member was lost, born apart from the member's track: another
    // shopper passing by.
    expect(book.bind([lost, { ...other, floorXyM: [6.1, 5] }], 21_100)).toEqual([]);
    expect(book.memberOf('t9')).toBeNull();
  });

  it('by elimination, the one member without a track adopts the one unbound track, once both are so for a while', () => {
    const config = VisitConfig.parse({ insideWaitMs: 0 });
    const book = new VisitBook(layout, config);
    const [gx, gy] = mid(entry);
    // The crossing binds a second view of someone (t3, ahead of the line); the shopper's own
    // track (t2, lagging behind it, born 4 s before the view) shops on no visit.
    const real = track('t2', 1000, [gx, gy - 0.6], [gx, gy - 0.2]);
    const view = track('t3', 5000, [gx, gy + 0.3], [gx, gy + 0.3]);
    book.onCommand(open(1, 'v1', 1, 5100));
    book.onPassage(pass(1, entry.id, 'in', 5200));
    book.bind([real, view], 5300);
    expect(book.memberOf('t3')?.visitId).toBe('v1');
    expect(book.memberOf('t2')).toBeNull();
    const at = (t: Track, xy: [number, number], ms: number): Track => ({
      ...t,
      floorXyM: xy,
      lastSeenMs: ms,
    });
    book.bind([at(real, [9, 3], 30_000), at(view, [4, 6.2], 30_000)], 30_000);
    // The view dies at (4, 6.2), far from t2, which was born apart from it: no place or time rule fits.
    const lost: Track = { ...at(view, [4, 6.2], 30_000), state: 'lost' };
    const before = 30_000 + config.soleAfterMs - 100;
    expect(book.bind([at(real, [9, 3], before), lost], before)).toEqual([]);
    const now = 30_000 + config.soleAfterMs;
    expect(book.bind([at(real, [9, 3], now), lost], now)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't2', tsMs: now },
    ]);
  });

  it('two unbound tracks, or one there since long before the member came in, are adopted by no one', () => {
    const config = VisitConfig.parse({});
    const setUp = () => {
      const book = new VisitBook(layout, config);
      book.onCommand(open(1, 'v1', 1, 60_000));
      book.onPassage(pass(1, entry.id, 'in', 61_000));
      book.bind([track('t1', 60_900, mid(entry), mid(entry))], 61_100);
      book.bind([{ ...track('t1', 60_900, mid(entry), [4, 6]), lastSeenMs: 90_000 }], 90_000);
      return book;
    };
    const lost: Track = { ...track('t1', 60_900, mid(entry), [4, 6]), lastSeenMs: 90_000, state: 'lost' };
    const now = 90_000 + config.soleAfterMs + 1000;
    // Inside since before the member's entry (more than the binding window): another shopper.
    const old = track('t5', 61_000 - config.bindWindowMs - 1, [9, 3], [9, 3]);
    expect(setUp().bind([lost, old], now)).toEqual([]);
    const a = track('t6', 62_000, [9, 3], [9, 3]);
    const b = track('t7', 63_000, [2, 8], [2, 8]);
    expect(setUp().bind([lost, a, b], now)).toEqual([]);
    expect(
      setUp()
        .bind([lost, a], now)
        .map((e) => e.type === 'bound' && e.trackId),
    ).toEqual(['t6']);
  });

  it('an unbound track crossing out takes a trackless member with it (it was theirs), so the visit closes', () => {
    const book = new VisitBook(layout, VisitConfig.parse({ bindWaitMs: 1000 }));
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 100));
    expect(book.bind([], 2000)).toEqual([]);
    expect(book.inside().map((m) => m.trackId)).toEqual([null]);
    book.onPassage(pass(2, exit.id, 'out', 50_000));
    const lost = track('t9', 30_000, [6, 5], mid(exit));
    expect(book.bind([lost], 50_050)).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't9', tsMs: 50_000 },
      { type: 'exited', visitId: 'v1', memberNo: 0, trackId: null, tsMs: 50_000 },
      { type: 'end-track', trackId: 't9', tsMs: 50_000 },
      { type: 'closed', visitId: 'v1', tsMs: 50_000 },
    ]);
  });

  it('an unbound track leaving while two members are trackless takes one out but claims no one', () => {
    const book = new VisitBook(layout, VisitConfig.parse({ bindWaitMs: 1000 }));
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 100));
    book.onCommand(open(2, 'v2', 1, 200));
    book.onPassage(pass(2, entry.id, 'in', 300));
    book.bind([], 2000);
    expect(book.inside().map((m) => m.trackId)).toEqual([null, null]);
    book.onPassage(pass(3, exit.id, 'out', 50_000));
    const effects = book.bind([track('t9', 30_000, [6, 5], mid(exit))], 50_050);
    // The longest in (v1) leaves, its visit closing; the track's doings are nobody's yet.
    expect(effects.map((e) => e.type)).toEqual(['exited', 'end-track', 'closed']);
  });
});
