/**
 * The edge's durable outbox: every report gets the next sequence number and is on disk before
 * `append` resolves, and stays until the cloud acknowledges it. A crash, a restart or a cloud
 * outage loses nothing; the link resends what is past the acknowledgement.
 *
 * Stored in LMDB (the `lmdb` package: prebuilt binaries inside npm packages, no build at install).
 * Chosen over classic-level (LevelDB) because LMDB commits are copy-on-write and crash-safe, lmdb
 * batches writes issued together into one fsync'd transaction (about 100,000 durable appends/s
 * here against LevelDB's 10,000), and reads are synchronous, which makes paging the resend simple.
 */
import { mkdirSync } from 'node:fs';
import { type Database, open, type RootDatabase } from 'lmdb';
import { holdDirectory } from '../../platform/hold.ts';
import { WalkoutError } from '../../proto/index.ts';
import type { Report } from '../stages.ts';

export interface OutboxEntry {
  seq: number;
  timeMs: number;
  report: Report;
}

interface Stored {
  t: number;
  r: Report;
}

export interface OutboxCounters {
  /** The highest seq handed out (or the cloud acknowledged); the next report gets lastSeq + 1. */
  lastSeq: number;
  /** Everything up to here is stored by the cloud and gone from the outbox. */
  ackedSeq: number;
  pending: number;
}

const CHECKPOINT_KEY = 'edge';

export class Outbox {
  private last: number;
  private acked: number;
  /** The acknowledgement a drop is under way for, and the highest one asked for meanwhile. */
  private dropping: Promise<void> | null = null;
  private dropWanted = 0;
  private readonly writes = new Set<Promise<unknown>>();

  private constructor(
    private readonly root: RootDatabase,
    private readonly entries: Database<Stored, number>,
    private readonly meta: Database<number, string>,
    private readonly saved: Database<Uint8Array, string>,
  ) {
    this.acked = meta.get('ackedSeq') ?? 0;
    // Seqs are never reused: past every entry, every acknowledgement and every renumbering.
    const newest = [...entries.getKeys({ reverse: true, limit: 1 })][0] ?? 0;
    this.last = Math.max(newest, this.acked, meta.get('lastSeq') ?? 0);
    this.dropWanted = this.acked;
  }

  /**
   * Opens (or creates) the outbox in `dir`. One outbox at a time may hold a directory: LMDB itself
   * lets several processes share it, and two would hand out the same seqs (OUTBOX_IN_USE).
   */
  static open(dir: string): Outbox {
    mkdirSync(dir, { recursive: true });
    const release = holdOutbox(dir);
    try {
      // overlappingSync off: a commit's promise resolves after its fsync, so a resolved append
      // survives a SIGKILL and a power cut alike; writes issued together share one fsync.
      const root = open({ path: dir, overlappingSync: false, compression: false });
      const box = new Outbox(
        root,
        root.openDB<Stored, number>('entries', {}),
        root.openDB<number, string>('meta', {}),
        root.openDB<Uint8Array, string>('checkpoint', { encoding: 'binary' }),
      );
      box.release = release;
      return box;
    } catch (err) {
      release();
      throw err;
    }
  }

  private release: () => void = () => {};

  counters(): OutboxCounters {
    return { lastSeq: this.last, ackedSeq: this.acked, pending: this.last - this.acked };
  }

  /** Stores a report under the next seq; resolves with the seq once it is on disk. */
  async append(report: Report, timeMs: number): Promise<number> {
    this.last += 1;
    const seq = this.last;
    await this.track(this.entries.put(seq, { t: timeMs, r: report }));
    return seq;
  }

  /**
   * Stores reports under the next seqs and the edge's checkpoint (its state once it made them) in
   * one transaction: after a crash the checkpoint on disk is the state after the last reports on
   * disk, so a restarted edge neither repeats a stored report nor misses one. Resolves with the
   * seqs once on disk.
   */
  async appendAll(
    items: readonly { report: Report; timeMs: number }[],
    checkpoint: Uint8Array,
  ): Promise<number[]> {
    const seqs = items.map(() => ++this.last);
    await this.track(
      this.root.transaction(() => {
        items.forEach((it, i) => {
          this.entries.put(seqs[i]!, { t: it.timeMs, r: it.report });
        });
        this.saved.put(CHECKPOINT_KEY, checkpoint);
      }),
    );
    return seqs;
  }

  /** The checkpoint last stored with appendAll (committed), or null. */
  checkpoint(): Uint8Array | null {
    return this.saved.get(CHECKPOINT_KEY) ?? null;
  }

  /** Up to `limit` stored entries from `fromSeq` on, oldest first (only committed ones are seen). */
  read(fromSeq: number, limit: number): OutboxEntry[] {
    const out: OutboxEntry[] = [];
    for (const { key, value } of this.entries.getRange({ start: Math.max(fromSeq, this.acked + 1), limit })) {
      out.push({ seq: key, timeMs: value.t, report: value.r });
    }
    return out;
  }

  /**
   * The cloud stored everything up to `seq`: drops it. Drops are coalesced (acknowledgements come
   * every few milliseconds under load), and one never lowers the acknowledgement.
   */
  ack(seq: number): Promise<void> {
    if (seq <= this.dropWanted) return this.dropping ?? Promise.resolve();
    this.dropWanted = seq;
    this.dropping ??= this.drain();
    return this.dropping;
  }

  private async drain(): Promise<void> {
    try {
      while (this.dropWanted > this.acked) {
        const upTo = this.dropWanted;
        await this.track(
          this.root.transaction(() => {
            for (const key of this.entries.getKeys({ end: upTo + 1 })) this.entries.remove(key);
            this.meta.put('ackedSeq', upTo);
          }),
        );
        // A renumbering may have raised it meanwhile.
        this.acked = Math.max(this.acked, upTo);
        if (this.last < upTo) this.last = upTo;
      }
    } finally {
      this.dropping = null;
    }
  }

  /**
   * The cloud has stored seqs this outbox never handed out (its data was lost or replaced): the
   * reports waiting here would collide with those, so they move above the cloud's acknowledgement
   * in their order, and numbering goes on from there. Call with nothing in flight on the link.
   */
  async renumberAbove(cloudAcked: number): Promise<{ moved: number }> {
    if (cloudAcked <= this.last) return { moved: 0 };
    const shift = cloudAcked - this.acked;
    const from = this.acked;
    const to = this.last;
    this.last += shift;
    this.acked = cloudAcked;
    this.dropWanted = Math.max(this.dropWanted, cloudAcked);
    let moved = 0;
    // Queued after every append already issued, so it sees (and moves) all of them.
    await this.track(
      this.root.transaction(() => {
        const old = [...this.entries.getRange({ start: from + 1, end: to + 1 })];
        for (const { key } of old) this.entries.remove(key);
        for (const { key, value } of old) this.entries.put(key + shift, value);
        this.meta.put('ackedSeq', cloudAcked);
        this.meta.put('lastSeq', this.last);
        moved = old.length;
      }),
    );
    return { moved };
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.writes]);
    await this.dropping;
    await this.root.close();
    this.release();
  }

  private async track<T>(p: Promise<T>): Promise<T> {
    this.writes.add(p);
    try {
      return await p;
    } finally {
      this.writes.delete(p);
    }
  }
}

/** Another process's hold is its pid in `owner.pid`. */
function holdOutbox(dir: string): () => void {
  return holdDirectory(dir, 'owner.pid', (owner) =>
    owner === process.pid
      ? new WalkoutError('OUTBOX_IN_USE', `${dir} is open in this process`, { dir })
      : new WalkoutError('OUTBOX_IN_USE', `${dir} is held by process ${owner}`, { dir, pid: owner }),
  );
}
