import { createOfflineApp } from '../../simulator/io/offline-app.ts';
import { createRenderer } from '../../simulator/render/renderer.ts';
import { Engine } from '../../simulator/run/engine.ts';
import { loadScenario } from '../../simulator/scenario/load.ts';

/**
 * Real simulator frames for the inference benchmark: the `crowded` scenario stepped until enough
 * people are inside, then every camera rendered and JPEG-encoded at several moments.
 */
export interface Frames {
  jpegs: Buffer[];
  width: number;
  height: number;
  persons: number[];
  simSeconds: number;
}

export async function renderFrames(opts: {
  scenario?: string;
  seed?: number;
  minPersons?: number;
  moments?: number;
  /** Simulated milliseconds between moments. */
  gapMs?: number;
  log?: (line: string) => void;
}): Promise<Frames> {
  const { scenario = 'crowded', seed = 1, minPersons = 20, moments = 13, gapMs = 2_000 } = opts;
  const log = opts.log ?? (() => {});
  const loaded = loadScenario(scenario);
  const app = createOfflineApp(loaded.layout.storeId, `bench-inference-${seed}`);
  const engine = new Engine({
    layout: loaded.layout,
    catalog: loaded.catalog,
    scenario: loaded.scenario,
    seed,
    app,
    authority: { kind: 'local', verify: app.verify },
    minutes: 30,
  });
  let steps = 0;
  const maxSteps = 20 * 60 * 30; // 30 simulated minutes at 50 ms
  while (engine.persons().length < minPersons) {
    if (++steps > maxSteps || engine.done())
      throw new Error(`${scenario}: fewer than ${minPersons} people inside after ${steps} steps`);
    engine.step();
    if (steps % 1200 === 0) log(`  simulated ${steps / 20} s, ${engine.persons().length} people inside`);
  }
  const renderer = createRenderer({
    layout: loaded.layout,
    catalog: loaded.catalog,
    seed,
    lightingVariation: loaded.scenario.cameras.lightingVariation,
    noiseSd: loaded.scenario.cameras.noiseSd,
  });
  const jpegs: Buffer[] = [];
  const persons: number[] = [];
  let width = 0;
  let height = 0;
  for (let k = 0; k < moments; k++) {
    if (k > 0) for (let s = 0; s < gapMs / 50; s++, steps++) engine.step();
    const people = engine.persons();
    persons.push(people.length);
    const tsMs = engine.clock.nowMs();
    for (const id of renderer.cameraIds) {
      const r = renderer.render(id, people, tsMs, k + 1);
      width = r.width;
      height = r.height;
      // encodeJpeg hands the pixels back to the renderer; the JPEG itself is ours to keep.
      jpegs.push(Buffer.from(await renderer.encodeJpeg(r.rgb, r.width, r.height)));
    }
  }
  log(
    `  ${jpegs.length} JPEGs of ${width}×${height}, ${Math.min(...persons)}–${Math.max(...persons)} people inside`,
  );
  return { jpegs, width, height, persons, simSeconds: (steps * 50) / 1000 };
}
