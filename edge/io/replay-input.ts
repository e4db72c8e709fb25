import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { z } from 'zod';
import type { Logger } from '../../platform/log.ts';
import {
  type DecodedMessage,
  decodeMessage,
  describeIssues,
  formatIssues,
  isJpeg,
  RecordedFrame,
  RecordedMessage,
  recordingPaths,
  WalkoutError,
} from '../../proto/index.ts';
import type { EdgeInput, FrameCounters, InputSource } from '../stages.ts';
import type { InputPosition } from '../state/checkpoint.ts';
import { FrameFlow, type FrameFlowConfig } from './frame-flow.ts';
import { LineReader } from './line-reader.ts';
import { DEFAULT_REJECTION_LOG, type RejectionLogConfig, Rejections } from './rejections.ts';

export interface ReplayInputOptions extends FrameFlowConfig {
  /** A simulator recording (`sim --record DIR`, proto/recording.ts). */
  dir: string;
  log: Logger;
  /** Wall clock: rate-limits logging. */
  nowMs?: () => number;
  rejectionLog?: RejectionLogConfig;
}

interface IndexedFrame {
  cameraId: string;
  frameIndex: number;
  captureMs: number;
}

/**
 * A recording replayed as the store live: its device messages (mqtt.jsonl) and its cameras' frames
 * (frames/{cameraId}/index.jsonl and the JPEGs) merged in store-clock order, messages by the time
 * they were published and frames by capture time (a message first at equal times, then cameras in
 * id order), as fast as the loop takes them. Each payload is decoded with decodeMessage as live;
 * frames pass the same FrameFlow as live (the same thinning), and since the loop takes each frame
 * before the next is read, none is dropped otherwise. Files are read lazily: mqtt.jsonl and the
 * indexes line by line, a JPEG only when its frame is handed out. Nothing under truth/ is opened.
 * Bad lines and unreadable frames are counted, logged and skipped.
 */
export class ReplayInput implements InputSource {
  private readonly flow: FrameFlow<IndexedFrame>;
  private readonly rejections: Rejections;
  private readonly messages: LineReader<RecordedMessage>;
  private readonly cameras: LineReader<IndexedFrame>[];
  private closed = false;
  /** Where a restarted edge's checkpoint stood: what is at or before it is passed over. */
  private skipDevices = 0;
  private skipFramesMs: Record<string, number> = {};

  constructor(private readonly opts: ReplayInputOptions) {
    const mqttPath = join(opts.dir, recordingPaths.mqtt);
    if (!existsSync(mqttPath))
      throw new WalkoutError('FILE_UNREADABLE', `${mqttPath}: no such file; is ${opts.dir} a recording?`, {
        source: mqttPath,
      });
    this.flow = new FrameFlow(opts);
    this.rejections = new Rejections(
      opts.log,
      'recorded input',
      opts.nowMs ?? Date.now,
      opts.rejectionLog ?? DEFAULT_REJECTION_LOG,
    );
    this.messages = new LineReader(mqttPath, (line, n) => this.parseLine(RecordedMessage, line, mqttPath, n));
    this.cameras = recordedCameras(opts.dir).map((cameraId) => {
      this.flow.addCamera(cameraId);
      const path = join(opts.dir, recordingPaths.frameIndex(cameraId));
      return new LineReader(path, (line, n) => {
        const f = this.parseLine(RecordedFrame, line, path, n);
        return f && { cameraId, frameIndex: f.frameIndex, captureMs: f.captureMs };
      });
    });
  }

  /**
   * Goes on after a checkpoint's position (call before the first `next`): the first
   * `position.devices` device messages, and each camera's frames up to its time, are not given.
   */
  resumeAfter(position: InputPosition): void {
    this.skipDevices = position.devices;
    this.skipFramesMs = { ...position.framesMs };
  }

  async next(): Promise<EdgeInput | null> {
    for (;;) {
      if (this.closed) return null;
      const message = await this.messages.head();
      let camera: LineReader<IndexedFrame> | null = null;
      for (const c of this.cameras) {
        const head = await c.head();
        if (head && (!camera || head.captureMs < camera.peeked()!.captureMs)) camera = c;
      }
      const frame = camera?.peeked() ?? null;
      if (!message && !frame) return null;
      if (message && (!frame || message.tsMs <= frame.captureMs)) {
        this.messages.advance();
        const decoded = this.decode(message);
        if (decoded && this.skipDevices > 0) this.skipDevices -= 1;
        else if (decoded) return { kind: 'device', message: decoded, tsMs: message.tsMs };
        continue;
      }
      camera!.advance();
      if (frame!.captureMs <= (this.skipFramesMs[frame!.cameraId] ?? Number.NEGATIVE_INFINITY)) continue;
      if (!this.flow.offer(frame!)) continue;
      const taken = this.flow.take()!;
      const jpeg = await this.readJpeg(taken);
      if (jpeg) return { kind: 'frame', frame: { ...taken, jpeg } };
      this.flow.markDropped(taken.cameraId);
    }
  }

  counters(): Record<string, FrameCounters> {
    return this.flow.counters();
  }

  markProcessed(cameraId: string): void {
    this.flow.markProcessed(cameraId);
  }

  /** Refused by code: the payload's (as live), RECORDING_INVALID for a bad line, FRAME_INVALID. */
  rejected(): Record<string, number> {
    return this.rejections.counts();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.messages.close();
    for (const c of this.cameras) c.close();
  }

  private decode(m: RecordedMessage): DecodedMessage | null {
    try {
      return decodeMessage(m.topic, m.payload);
    } catch (err) {
      this.rejections.add(err, { topic: m.topic, tsMs: m.tsMs });
      return null;
    }
  }

  private async readJpeg(f: IndexedFrame): Promise<Uint8Array | null> {
    const path = join(this.opts.dir, recordingPaths.frame(f.cameraId, f.frameIndex));
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      this.rejections.addCode('FRAME_INVALID', `${path}: ${(err as Error).message}`, {
        cameraId: f.cameraId,
      });
      return null;
    }
    // As live: a part whose body is not a whole JPEG is refused (MjpegReader); the decoder does the rest.
    if (!isJpeg(bytes)) {
      const why = `${path}: ${bytes.length} bytes, not a JPEG`;
      this.rejections.addCode('FRAME_INVALID', why, { cameraId: f.cameraId });
      return null;
    }
    return bytes;
  }

  private parseLine<T>(schema: z.ZodType<T>, line: string, path: string, lineNo: number): T | null {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (err) {
      this.rejections.addCode('RECORDING_INVALID', `${path}:${lineNo}: not JSON (${(err as Error).message})`);
      return null;
    }
    const r = schema.safeParse(json);
    if (r.success) return r.data;
    this.rejections.addCode(
      'RECORDING_INVALID',
      `${path}:${lineNo}: ${formatIssues(describeIssues(r.error))}`,
    );
    return null;
  }
}

/** The cameras a recording has frames of, in id order; each must have its index.jsonl. */
function recordedCameras(dir: string): string[] {
  const frames = join(dir, recordingPaths.frames);
  if (!existsSync(frames)) return []; // recorded with --no-cameras
  const ids = readdirSync(frames, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  for (const id of ids) {
    const index = join(dir, recordingPaths.frameIndex(id));
    if (!existsSync(index))
      throw new WalkoutError(
        'FILE_UNREADABLE',
        `${index}: no such file; a recording made before frame indexes existed must be made again`,
        { source: index },
      );
  }
  return ids;
}
