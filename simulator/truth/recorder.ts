import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FaultEvent } from '../run/engine.ts';
import type { Person, TruthEvent, Visit } from '../world/types.ts';
import type { World } from '../world/world.ts';

export interface TruthCounts {
  visits: number;
  shoppers: number;
  staff: number;
  picks: number;
  putBacks: number;
  misplaced: number;
  handOffs: number;
  tailgates: number;
  restocks: number;
  sensorFaults: number;
}

const mm = (v: number) => Math.round(v * 1000) / 1000;

/**
 * Keeps the ground truth of a run and writes it under {dir}/truth/. Everything it writes is also
 * fed, in order, into one sha256, so two runs can be compared by a single hash.
 */
export class TruthRecorder {
  private readonly hash = createHash('sha256');
  private readonly events: string[] = [];
  private readonly faults: string[] = [];
  private readonly out: string;
  private readonly positionsFd: number;
  private positionsBuf: string[] = [];
  private positionsBytes = 0;
  readonly counts: TruthCounts = {
    visits: 0,
    shoppers: 0,
    staff: 0,
    picks: 0,
    putBacks: 0,
    misplaced: 0,
    handOffs: 0,
    tailgates: 0,
    restocks: 0,
    sensorFaults: 0,
  };

  constructor(dir: string) {
    this.out = join(dir, 'truth');
    mkdirSync(this.out, { recursive: true });
    // Positions are streamed: an hour of a busy store is too much to hold as strings.
    this.positionsFd = openSync(join(this.out, 'positions.jsonl'), 'w');
  }

  addEvents(events: readonly TruthEvent[]): void {
    for (const e of events) {
      const line = JSON.stringify(e);
      this.events.push(line);
      this.hash.update(line);
      this.hash.update('\n');
      if (e.type === 'pick') this.counts.picks += e.quantity;
      else if (e.type === 'putback') {
        this.counts.putBacks += e.quantity;
        if (e.misplaced) this.counts.misplaced += e.quantity;
      } else if (e.type === 'handoff') this.counts.handOffs += e.itemIds.length;
      else if (e.type === 'tailgate') this.counts.tailgates += 1;
      else if (e.type === 'restock') this.counts.restocks += e.quantity;
    }
  }

  addFaults(faults: readonly FaultEvent[]): void {
    for (const f of faults) {
      const line = JSON.stringify(f);
      this.faults.push(line);
      this.hash.update(line);
      this.hash.update('\n');
      if (f.phase === 'start') this.counts.sensorFaults += 1;
    }
  }

  /** Where every present person's head and hands are, at camera rate. */
  addPositions(tsMs: number, persons: readonly Person[]): void {
    const line = JSON.stringify({
      tsMs,
      persons: persons.map((p) => ({
        personId: p.personId,
        visitId: p.visitId,
        floorM: [mm(p.posM[0]), mm(p.posM[1])],
        headM: p.headM.map(mm),
        handsM: p.hands.map((h) => h.posM.map(mm)),
      })),
    });
    this.hash.update(line);
    this.hash.update('\n');
    this.positionsBuf.push(line);
    this.positionsBytes += line.length;
    if (this.positionsBytes > 1 << 20) this.flushPositions();
  }

  private flushPositions(): void {
    if (this.positionsBuf.length === 0) return;
    writeSync(this.positionsFd, `${this.positionsBuf.join('\n')}\n`);
    this.positionsBuf = [];
    this.positionsBytes = 0;
  }

  /** Writes the files and returns the hash of the whole ground truth. */
  finish(world: World, setup: Record<string, unknown>): string {
    const visits = [...world.visits.values()].filter((v) => v.enteredMs !== null);
    const closed = new Map<string, unknown>();
    for (const e of world.truth) if (e.type === 'visit-closed') closed.set(e.visitId, e.cart);
    const visitRecords = visits.map((v: Visit) => ({ ...v, cart: closed.get(v.visitId) ?? null }));
    this.counts.visits = visits.filter((v) => v.kind !== 'staff').length;
    const members = visits.flatMap((v) => v.memberIds.map((id) => world.person(id)));
    this.counts.shoppers = members.filter((p) => p.role === 'shopper').length;
    this.counts.staff = members.filter((p) => p.role === 'staff').length;
    const visitsJson = `${JSON.stringify(visitRecords, null, 1)}\n`;
    this.hash.update(visitsJson);
    const out = this.out;
    this.flushPositions();
    closeSync(this.positionsFd);
    const lines = (list: string[]) => (list.length ? `${list.join('\n')}\n` : '');
    writeFileSync(join(out, 'events.jsonl'), lines(this.events));
    writeFileSync(join(out, 'faults.jsonl'), lines(this.faults));
    writeFileSync(join(out, 'visits.json'), visitsJson);
    writeFileSync(join(out, 'setup.json'), `${JSON.stringify(setup, null, 2)}\n`);
    return this.hash.digest('hex');
  }
}
