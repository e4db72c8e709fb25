/**
 * What a fast replay of kept runs stands on: a kept run's directory is one run's at a time, and
 * recorded detections are served only for the frames they were recorded on.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectionsLine } from './dets-line.ts';
import { claimDumpDir } from './dump-dir.ts';
import { recordedDetector } from './recorded-detector.ts';
import { nestedSets } from './set-args.ts';

describe('a kept run’s directory', () => {
  it('is claimed by one run, refused to a second while the first lives, taken over once it died', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'walkout-dump-'));
    const release = claimDumpDir(dir);
    expect(readFileSync(join(dir, '.running'), 'utf8').trim()).toBe(String(process.pid));
    release();
    // Another live process holds it: refused, naming the holder.
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)']);
    writeFileSync(join(dir, '.running'), `${child.pid}\n`);
    expect(() => claimDumpDir(dir)).toThrow(new RegExp(`process ${child.pid}`));
    child.kill();
    await new Promise((resolve) => child.once('exit', resolve));
    // Its holder is gone: the directory is this run's.
    const again = claimDumpDir(dir);
    expect(readFileSync(join(dir, '.running'), 'utf8').trim()).toBe(String(process.pid));
    again();
  });
});

describe('recorded detections', () => {
  const dir = mkdtempSync(join(tmpdir(), 'walkout-dets-'));
  const path = join(dir, 'dets.jsonl');
  const box = { x: 10, y: 20, w: 30, h: 40 };
  writeFileSync(
    path,
    `${[
      detectionsLine({
        cameraId: 'cam-1',
        frameIndex: 7,
        captureMs: 1000,
        detections: [{ cls: 'person', classIndex: 0, score: 0.9, bbox: box }],
        embeddings: [[0.5, -0.5]],
      }),
      detectionsLine({ cameraId: 'cam-2', frameIndex: 7, captureMs: 1000, detections: [] }),
    ].join('\n')}\n`,
  );
  const frame = (cameraId: string, frameIndex: number, captureMs: number) => ({
    cameraId,
    frameIndex,
    captureMs,
    jpeg: new Uint8Array(0),
  });

  it('answers each camera’s frame with what was detected on it, embeddings included', async () => {
    const d = recordedDetector(path);
    const got = await d.detect(frame('cam-1', 7, 1000));
    expect(got.detections.map((x) => x.bbox)).toEqual([box]);
    expect(Array.from(got.embeddings![0]!)).toEqual([0.5, -0.5]);
    expect((await d.detect(frame('cam-2', 7, 1000))).detections).toEqual([]);
  });

  it('kept exact, gives back every box, score and embedding the detector gave, to the last bit', async () => {
    const exactPath = join(dir, 'exact.jsonl');
    const embedding = Float32Array.from([0.123456789, -0.987654321, 1e-7]);
    const bbox = { x: 10.04, y: 20.06, w: 30.123, h: 40.987 };
    const row = {
      cameraId: 'cam-1',
      frameIndex: 7,
      captureMs: 1000,
      detections: [{ cls: 'person', classIndex: 0, score: 0.90049, bbox }],
      embeddings: [embedding],
    };
    writeFileSync(exactPath, `${detectionsLine(row, true)}\n`);
    const got = await recordedDetector(exactPath).detect(frame('cam-1', 7, 1000));
    expect(got.detections).toEqual(row.detections);
    expect(got.embeddings![0]).toEqual(embedding);
    // Rounded, the same detection is another one.
    writeFileSync(exactPath, `${detectionsLine(row)}\n`);
    const rounded = await recordedDetector(exactPath).detect(frame('cam-1', 7, 1000));
    expect(rounded.detections[0]!.bbox).not.toEqual(bbox);
  });

  it('refuses a frame the recording does not hold, or holds at another time', async () => {
    const d = recordedDetector(path);
    await expect(d.detect(frame('cam-1', 8, 1200))).rejects.toThrow(/no detections for camera cam-1 frame 8/);
    await expect(d.detect(frame('cam-1', 7, 1100))).rejects.toThrow(/RECORDING_INVALID/);
  });
});

describe('--set for an experiment', () => {
  it('nests dotted keys, reading numbers and switches', () => {
    expect(
      nestedSets([
        'tracker.duplicateM=0.3',
        'fusion.attribution.handWeight=1',
        'fusion.attribution.fixturesOcclude=false',
      ]),
    ).toEqual({
      tracker: { duplicateM: 0.3 },
      fusion: { attribution: { handWeight: 1, fixturesOcclude: false } },
    });
  });
});
