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

/** Where each track stood when: the sample nearest in time (as the fusion's timeline answers). */
function schedule(paths: Record<string, [number, [number, number]][]>) {
  return (trackId: string, tsMs: number) => {
    const path = paths[trackId] ?? [];
    let best: [number, number] | null = null;
    let bestDt = 500;
    for (const [t, xy] of path) {
      if (Math.abs(t - tsMs) <= bestDt) {
        bestDt = Math.abs(t - tsMs);
        best = xy;
      }
    }
    return best;
  };
}
const away: [number, number] = [6, 6];

describe('binding gate traffic to tracks', () => {
  it('binds a party’s members in the order they cross, and closes the visit when the last is out', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 2, 1000));
    expect(book.onPassage(pass(1, entry.id, 'in', 1500))).toEqual([
      { type: 'entered', visitId: 'v1', memberNo: 0, tsMs: 1500 },
    ]);
    book.onCommand(open(2, 'v1', 2, 2000));
    expect(types(book.onPassage(pass(2, entry.id, 'in', 2600)))).toEqual(['entered']);
    const where = schedule({
      t1: [
        [1500, mid(entry)],
        [2600, away],
      ],
      t2: [
        [1500, [mid(entry)[0], mid(entry)[1] - 1.5]],
        [2600, mid(entry)],
      ],
      t3: [[60_000, mid(exit)]],
    });
    const tracks = [track('t1', 1000, mid(entry)), track('t2', 800, mid(entry))];
    // Nothing is bound before the frames after the crossing are in.
    expect(book.bind(tracks, 1600, 1600, where)).toEqual([]);
    const bound = book.bind(tracks, 3000, 3100, where);
    expect(bound.filter((e) => e.type === 'bound')).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't1', tsMs: 3000 },
      { type: 'bound', visitId: 'v1', memberNo: 1, trackId: 't2', tsMs: 3000 },
    ]);
    // Member 1 leaves first: its visit stays open until member 0 is out too.
    book.onPassage(pass(3, exit.id, 'out', 60_000));
    const atExit = schedule({ t1: [[60_000, away]], t2: [[60_000, mid(exit)]] });
    expect(book.bind(tracks, 60_500, 60_500, atExit)).toEqual([
      { type: 'exited', visitId: 'v1', memberNo: 1, trackId: 't2', tsMs: 60_000 },
      { type: 'end-track', trackId: 't2', tsMs: 60_000 },
    ]);
    book.onPassage(pass(4, exit.id, 'out', 70_000));
    const last = book.bind([tracks[0]!], 70_500, 70_500, schedule({ t1: [[70_000, mid(exit)]] }));
    expect(types(last)).toEqual(['exited', 'end-track', 'closed']);
  });

  it('binds the one at the line when the passage happens, not the one who arrived first (a queue)', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 1, 9_700));
    book.onPassage(pass(1, entry.id, 'in', 10_400));
    // t2 has waited outside since 7.4 s; t3 came at 9 s but is the one crossing.
    const queue: [number, number] = [mid(entry)[0] - 0.6, mid(entry)[1] - 1.6];
    const where = schedule({ t2: [[10_400, mid(entry)]], t3: [[10_400, queue]] });
    const effects = book.bind([track('t2', 7_400, queue), track('t3', 9_000, queue)], 11_000, 11_000, where);
    expect(effects.filter((e) => e.type === 'bound')).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't2', tsMs: 11_000 },
    ]);
  });

  it('a passage with no open behind it is a tailgate: its track is never a member', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 1, 1000));
    book.onPassage(pass(1, entry.id, 'in', 1200));
    expect(book.onPassage(pass(2, entry.id, 'in', 1400))).toEqual([]);
    const where = schedule({
      t1: [
        [1200, mid(entry)],
        [1400, away],
      ],
      t2: [
        [1400, mid(entry)],
        [1200, away],
      ],
    });
    const effects = book.bind(
      [track('t1', 1300, mid(entry)), track('t2', 1500, mid(entry))],
      2000,
      2000,
      where,
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
    const nobody = schedule({});
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 100));
    expect(book.bind([], 1000, 1000, nobody)).toEqual([]);
    expect(book.bind([], 4000, 4000, nobody)).toEqual([]);
    expect(book.inside().map((m) => m.trackId)).toEqual([null]);
    book.onPassage(pass(2, exit.id, 'out', 50_000));
    expect(types(book.bind([], 50_100, 50_100, nobody))).toEqual([]);
    expect(types(book.bind([], 54_000, 54_000, nobody))).toEqual(['exited', 'closed']);
  });

  it('a track far from the line at the moment of the passage is not the one crossing', () => {
    const book = new VisitBook(layout, VisitConfig.parse({}));
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 10_000));
    const where = schedule({ t1: [[10_000, [mid(entry)[0] + 5, mid(entry)[1] + 5]]] });
    expect(book.bind([track('t1', 10_000, mid(entry))], 11_000, 11_000, where)).toEqual([]);
  });

  it('a member whose crossing found no track later takes the unbound track born at its entry, never a stranger’s', () => {
    const book = new VisitBook(layout, VisitConfig.parse({ bindWaitMs: 2000 }));
    book.onCommand(open(1, 'v1', 1, 0));
    book.onPassage(pass(1, entry.id, 'in', 1000));
    book.onPassage(pass(2, entry.id, 'in', 1300));
    // Too few frames at the gate: nobody is seen near the line at either passage.
    expect(types(book.bind([], 4000, 4000, schedule({})))).toEqual(['tailgate']);
    const late = [track('t7', 1400, mid(entry), [4, 4]), track('t8', 9_500, mid(entry), [2, 2])];
    expect(book.bind(late, 5000, 5000, schedule({}))).toEqual([
      { type: 'bound', visitId: 'v1', memberNo: 0, trackId: 't7', tsMs: 5000 },
    ]);
    expect(book.memberOf('t8')).toBeNull();
  });
});
