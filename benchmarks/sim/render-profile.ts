/**
 * By hand, not a test: times rendering and JPEG encoding for the reference store's cameras with a
 * crowd inside, the way the live simulator drives them (all cameras of a tick rendered, then
 * encoded together).
 *   npx tsx benchmarks/sim/render-profile.ts [persons=30] [frames=100]
 */
import { createRenderer } from '../../simulator/render/renderer.ts';
import { loadReferenceStore, randomCrowd } from '../../simulator/render/test-persons.ts';

const persons = Number(process.argv[2] ?? 30);
const frames = Number(process.argv[3] ?? 100);
const { layout, catalog } = loadReferenceStore();
const renderer = createRenderer({ layout, catalog, seed: 7, lightingVariation: 0.15, noiseSd: 4 });
const skus = catalog.items.map((i) => i.sku);

let t = performance.now();
for (const id of renderer.cameraIds) renderer.background(id);
const bgMs = performance.now() - t;

const crowd = randomCrowd(persons, 1, skus, [
  [0.5, 0.5],
  [11.5, 8.3],
]);
const step = (k: number) => {
  // Walk everyone a little each frame so the frames differ.
  for (const [i, p] of crowd.entries()) {
    const dx = 0.05 * Math.cos(p.headingRad + k * 0.01 * i);
    const dy = 0.05 * Math.sin(p.headingRad + k * 0.01 * i);
    p.posM = [p.posM[0] + dx, p.posM[1] + dy];
    p.headM = [p.headM[0] + dx, p.headM[1] + dy, p.headM[2]];
    for (const h of p.hands) h.posM = [h.posM[0] + dx, h.posM[1] + dy, h.posM[2]];
  }
};

let renderMs = 0;
let encodeMs = 0;
let renderCpuMs = 0;
let encodeCpuMs = 0;
const cpuMsSince = (c: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(c);
  return (d.user + d.system) / 1000;
};
let bytes = 0;
let labels = 0;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
for (let k = 0; k < frames; k++) {
  step(k);
  t = performance.now();
  let c = process.cpuUsage();
  const rendered = renderer.cameraIds.map((id) => renderer.render(id, crowd, 1_000 + k * 100, k + 1));
  renderMs += performance.now() - t;
  renderCpuMs += cpuMsSince(c);
  t = performance.now();
  c = process.cpuUsage();
  const jpegs = await Promise.all(rendered.map((r) => renderer.encodeJpeg(r.rgb, r.width, r.height)));
  encodeMs += performance.now() - t;
  encodeCpuMs += cpuMsSince(c);
  for (const j of jpegs) bytes += j.length;
  for (const r of rendered) labels += r.labels.labels.length;
}
const wallMs = performance.now() - wall0;
const cpu = process.cpuUsage(cpu0);
const n = frames * renderer.cameraIds.length;
const cpuMs = (cpu.user + cpu.system) / 1000;
const out = {
  cameras: renderer.cameraIds.length,
  persons,
  frames: n,
  backgroundMsAllCameras: Math.round(bgMs),
  renderMsPerFrame: +(renderMs / n).toFixed(2),
  renderCpuMsPerFrame: +(renderCpuMs / n).toFixed(2),
  /** Encoding runs on libuv's threads, several frames at once: wall time per frame is below its CPU time. */
  encodeMsPerFrame: +(encodeMs / n).toFixed(2),
  encodeCpuMsPerFrame: +(encodeCpuMs / n).toFixed(2),
  wallMsPerFrame: +(wallMs / n).toFixed(2),
  cpuMsPerFrame: +(cpuMs / n).toFixed(2),
  /** CPU needed for 8 cameras at 10 frames/s, in cores (1.0 = one core busy). */
  cpuShareAt10Fps: +(((cpuMs / n) * renderer.cameraIds.length * 10) / 1000).toFixed(3),
  meanJpegKB: +(bytes / n / 1024).toFixed(1),
  meanLabelsPerFrame: +(labels / n).toFixed(1),
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
