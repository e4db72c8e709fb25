import { cpus } from 'node:os';
import {
  type ImageInput,
  loadClassifier,
  loadDetector,
  loadEmbedder,
  loadHeldItem,
  readManifest,
  type Timing,
} from '../../models/runtime/index.ts';
import { cropResize, type RawImage, windowAt } from '../../models/runtime/preprocess.ts';
import { machineCores, machineCpu, mean, summarize } from './stats.ts';

/** The two measurements of the inference benchmark, each on one loaded model. */

export type Task = 'detector' | 'classifier' | 'embedding' | 'held-item';

const say = (line: string) => process.stderr.write(`${line}\n`);
const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/** One call of any model through the loader, by task. */
async function open(task: Task, path: string, workers: number, intraOpThreads: number) {
  const opts = { workers, intraOpThreads };
  if (task === 'detector') {
    const m = await loadDetector(path, opts);
    return { m, call: async (img: ImageInput) => ({ ...(await m.detect(img)), count: 0 }) };
  }
  if (task === 'classifier') {
    const m = await loadClassifier(path, opts);
    return { m, call: async (img: ImageInput) => ({ ...(await m.classify(img)), count: 0 }) };
  }
  if (task === 'held-item') {
    // One window, centred on the input, as the edge asks for each hand. A model that reads the
    // main stream is handed the input as the region it asks for, inside a 640×480 frame.
    const m = await loadHeldItem(path, opts);
    const mainStream = m.manifest.output.kind === 'held-item' && m.manifest.output.mainStreamScale > 1;
    return {
      m,
      call: async (img: ImageInput) => {
        const { width, height } = img as RawImage;
        const r = mainStream
          ? await m.find({ width: 640, height: 480, region: async () => img }, [
              { x: 315, y: 235, w: 10, h: 10 },
            ])
          : await m.find(img, [{ x: width / 2 - 5, y: height / 2 - 5, w: 10, h: 10 }]);
        return { ...r, count: r.items.length };
      },
    };
  }
  const m = await loadEmbedder(path, opts);
  return { m, call: async (img: ImageInput) => ({ ...(await m.embed(img)), count: 0 }) };
}

/** Inputs already at the model's input size, so that the worker's preprocessing is only the tensor. */
export async function inputsFor(path: string, frames: RawImage[]): Promise<RawImage[]> {
  const m = readManifest(path);
  const [, , h, w] = m.input.shape;
  const out: RawImage[] = [];
  for (const [i, f] of frames.entries()) {
    // Whole frames for a full-frame model, else a person-sized region from each frame.
    const box =
      w >= f.width / 2
        ? null
        : { x: (i * 97) % (f.width - 120), y: (i * 53) % (f.height - 160), w: 120, h: 160 };
    const resize = m.input.resize;
    // bench:inference measures the four models every frame or item meets, not the arm-link model.
    if (resize === 'strip') throw new Error(`${path}: the inference benchmark does not measure strip models`);
    const { hwc } =
      resize === 'window'
        ? windowAt(f, (i * 97) % f.width, (i * 53) % f.height, w, m.input.padValue)
        : await cropResize(f, box, w, h, resize, m.input.padValue);
    out.push({ rgb: Uint8Array.from(hwc), width: w, height: h });
  }
  return out;
}

export async function onnxAlone(
  task: Task,
  path: string,
  intraOpThreads: number,
  inputs: RawImage[],
  aloneSeconds: number,
) {
  const { m, call } = await open(task, path, 1, intraOpThreads);
  for (let i = 0; i < 20; i++) await call(inputs[i % inputs.length]!);
  const infer: number[] = [];
  const total: number[] = [];
  const roundTrip: number[] = [];
  const cpu0 = process.cpuUsage();
  const machine0 = machineCpu();
  const t0 = performance.now();
  while (performance.now() - t0 < aloneSeconds * 1000 && infer.length < 5000) {
    const s = performance.now();
    const { timing } = await call(inputs[infer.length % inputs.length]!);
    roundTrip.push(performance.now() - s);
    infer.push(timing.inferMs);
    total.push(timing.totalMs);
  }
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  const shared = machineCores(machine0, machineCpu(), cpus().length, (cpu.user + cpu.system) / 1000 / ms);
  await m.close();
  return {
    intraOpThreads,
    inferMs: summarize(infer),
    workerTotalMs: summarize(total),
    roundTripMs: summarize(roundTrip),
    otherProcessesCores: shared?.otherCores ?? null,
    samples: infer,
  };
}

export async function loaderFps(
  path: string,
  workers: number,
  intraOpThreads: number,
  jpegs: Buffer[],
  fpsSeconds: number,
) {
  const model = await loadDetector(path, { workers, intraOpThreads });
  // Two per worker: one running, one queued behind it, so a worker never waits for the next frame.
  const inFlight = 2 * workers;
  const run = async (seconds: number, onFrame?: (ms: number, t: Timing, n: number) => void) => {
    let next = 0;
    let done = 0;
    const t0 = performance.now();
    const lane = async () => {
      while (performance.now() - t0 < seconds * 1000) {
        const s = performance.now();
        const r = await model.detect(jpegs[next++ % jpegs.length]!);
        done++;
        onFrame?.(performance.now() - s, r.timing, r.detections.length);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    return { done, ms: performance.now() - t0 };
  };
  await run(2);
  const latency: number[] = [];
  const timings: Timing[] = [];
  const detections: number[] = [];
  const cpu0 = process.cpuUsage();
  const machine0 = machineCpu();
  let lastSay = performance.now();
  const { done, ms } = await run(fpsSeconds, (l, t, n) => {
    latency.push(l);
    timings.push(t);
    detections.push(n);
    if (performance.now() - lastSay > 3000) {
      lastSay = performance.now();
      say(`    ${latency.length} frames…`);
    }
  });
  const cpu = process.cpuUsage(cpu0);
  const cpuCores = (cpu.user + cpu.system) / 1000 / ms;
  const shared = machineCores(machine0, machineCpu(), cpus().length, cpuCores);
  await model.close();
  const pick = (k: keyof Timing) => mean(timings.map((t) => t[k]));
  return {
    workers,
    intraOpThreads,
    inFlight,
    seconds: round(ms / 1000, 2),
    frames: done,
    fps: round(done / (ms / 1000)),
    cpuCores: round(cpuCores, 2),
    cpuMsPerFrame: round((cpu.user + cpu.system) / 1000 / done, 2),
    /**
     * Upper bound on frames per second with the machine to ourselves: the cores this configuration
     * can keep busy (workers × intra-op threads, at most the machine's) × 1000 / CPU ms a frame.
     */
    cpuBoundFps: round(
      (Math.min(cpus().length, workers * intraOpThreads) * 1000 * done) / ((cpu.user + cpu.system) / 1000),
    ),
    /** Cores other processes used meanwhile: above ~0.1 the machine was shared and the figures are low. */
    otherProcessesCores: shared?.otherCores ?? null,
    latencyMs: summarize(latency),
    workerMeanMs: {
      decode: pick('decodeMs'),
      preprocess: pick('preprocessMs'),
      infer: pick('inferMs'),
      postprocess: pick('postprocessMs'),
      total: pick('totalMs'),
    },
    detectionsPerFrame: mean(detections),
    samples: latency,
  };
}
