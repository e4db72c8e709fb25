import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Report } from '../stages.ts';
import { Outbox } from './outbox.ts';
import { spawnAppender } from './testing/child.ts';

const dirs: string[] = [];
const freshDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'walkout-outbox-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const shelf = (i: number): Report => ({ body: 'shelf', shelf: { plateId: `p${i}`, grams: i, stable: true } });
const plates = (entries: { report: Report }[]) =>
  entries.map((e) => (e.report.body === 'shelf' ? e.report.shelf.plateId : e.report.body));

describe('the outbox', () => {
  it('numbers reports from 1, reads them back in pages and drops what is acknowledged', async () => {
    const box = Outbox.open(freshDir());
    const seqs = await Promise.all([0, 1, 2, 3, 4].map((i) => box.append(shelf(i), 1000 + i)));
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(box.read(1, 2)).toEqual([
      { seq: 1, timeMs: 1000, report: shelf(0) },
      { seq: 2, timeMs: 1001, report: shelf(1) },
    ]);
    await Promise.all([box.ack(2), box.ack(3), box.ack(1)]);
    expect(box.counters()).toEqual({ lastSeq: 5, ackedSeq: 3, pending: 2 });
    // Acknowledged entries are gone even when asked for from the start.
    expect(box.read(1, 10).map((e) => e.seq)).toEqual([4, 5]);
    await box.close();
  });

  it('keeps the numbering, the acknowledgement and the waiting reports across a reopen, and never reuses a seq', async () => {
    const dir = freshDir();
    const a = Outbox.open(dir);
    for (let i = 0; i < 4; i++) await a.append(shelf(i), 1);
    await a.ack(4);
    await a.append(shelf(4), 1);
    await a.close();
    const b = Outbox.open(dir);
    expect(b.counters()).toEqual({ lastSeq: 5, ackedSeq: 4, pending: 1 });
    await b.ack(5);
    await b.close();
    // Everything acknowledged and dropped: the next seq still follows the last one.
    const c = Outbox.open(dir);
    expect(await c.append(shelf(6), 1)).toBe(6);
    await c.close();
  });

  it('is held by one outbox at a time, and released at close', async () => {
    const dir = freshDir();
    const a = Outbox.open(dir);
    expect(() => Outbox.open(dir)).toThrow(/OUTBOX_IN_USE/);
    await a.close();
    const b = Outbox.open(dir);
    await b.close();
  });

  it('moves waiting reports above the cloud’s acknowledgement when the outbox was lost', async () => {
    const box = Outbox.open(freshDir());
    await box.append(shelf(0), 1);
    const inFlight = box.append(shelf(1), 1);
    const { moved } = await box.renumberAbove(40);
    await inFlight;
    expect(moved).toBe(2);
    expect(await box.append(shelf(2), 1)).toBe(43);
    expect(box.read(0, 10).map((e) => e.seq)).toEqual([41, 42, 43]);
    expect(plates(box.read(0, 10))).toEqual(['p0', 'p1', 'p2']);
    expect(box.counters()).toEqual({ lastSeq: 43, ackedSeq: 40, pending: 3 });
    await box.close();
  });

  it('stores a checkpoint with its reports in one transaction: after a SIGKILL it names the last report stored', async () => {
    const dir = freshDir();
    const reports = Array.from({ length: 6000 }, (_, i) => shelf(i));
    const child = spawnAppender({ OUTBOX_DIR: dir, CHECKPOINT_BATCH: '3' }, reports, 1);
    await child.confirmed(300);
    const confirmed = await child.kill();
    const box = Outbox.open(dir);
    const { lastSeq } = box.counters();
    expect(lastSeq).toBeGreaterThanOrEqual(confirmed);
    // Batches are whole, and the checkpoint is the one committed with the newest of them.
    expect(lastSeq % 3).toBe(0);
    expect(Buffer.from(box.checkpoint()!).toString()).toBe(String(lastSeq - 1));
    expect(plates(box.read(1, 10_000))).toEqual(reports.slice(0, lastSeq).map((_, i) => `p${i}`));
    // The numbering goes on after them.
    expect(await box.appendAll([{ report: shelf(9), timeMs: 2 }], Buffer.from('x'))).toEqual([lastSeq + 1]);
    expect(Buffer.from(box.checkpoint()!).toString()).toBe('x');
    await box.close();
  }, 15_000);

  it('loses no report whose append resolved when the process is SIGKILLed mid-stream', async () => {
    const dir = freshDir();
    const reports = Array.from({ length: 5000 }, (_, i) => shelf(i));
    const child = spawnAppender({ OUTBOX_DIR: dir }, reports, 1);
    await child.confirmed(100);
    // While it lives, the directory is its own: a second process would reuse its seqs.
    expect(() => Outbox.open(dir)).toThrow(/OUTBOX_IN_USE/);
    const confirmed = await child.kill();
    const box = Outbox.open(dir);
    const { lastSeq } = box.counters();
    // Durable and in order: every confirmed report, at most the one in flight besides, no gap.
    expect(lastSeq).toBeGreaterThanOrEqual(confirmed);
    expect(lastSeq).toBeLessThanOrEqual(confirmed + 1);
    const stored = box.read(1, 10_000);
    expect(stored.map((e) => e.seq)).toEqual(Array.from({ length: lastSeq }, (_, i) => i + 1));
    expect(plates(stored)).toEqual(reports.slice(0, lastSeq).map((_, i) => `p${i}`));
    await box.close();
  }, 15_000);
});
