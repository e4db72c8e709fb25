/**
 * How fast a full store of shoppers simulates: keeps ~30 people in the reference store (arrivals
 * far above capacity) and reports simulated seconds per wall second for the crowd alone.
 * Run: npx tsx benchmarks/sim/bench-crowd.ts [simMinutes=20] [seed=1]
 */
import { Crowd } from '../../simulator/agents/crowd.ts';
import {
  DelayGate,
  referenceWorld,
  START_MS,
  scenarioWith,
  syncApp,
} from '../../simulator/agents/harness.ts';

const minutes = Number(process.argv[2] ?? 20);
const seed = Number(process.argv[3] ?? 1);
const world = referenceWorld(seed);
const gate = new DelayGate();
const scenario = scenarioWith({
  arrivals: {
    shoppersPerHour: 3000,
    maxInStore: 30,
    groupProbability: 0.1,
    tailgateProbability: 0.02,
    staffVisitsPerHour: 4,
  },
  behaviour: { itemsPerVisit: { mean: 6, max: 12 }, popularity: 0.4 },
});
const crowd = new Crowd({ world, scenario, seed, app: syncApp, gates: gate, startMs: START_MS });

let t = START_MS;
const step = (n: number) => {
  for (let i = 0; i < n; i++) {
    t += 50;
    gate.now = t;
    crowd.step(t, 50);
  }
};
// Warm up until the store is full.
step(20 * 90);
const steps = (minutes * 60_000) / 50;
let presentSum = 0;
const t0 = performance.now();
for (let i = 0; i < steps; i++) {
  step(1);
  presentSum += crowd.agents.length;
}
const wallS = (performance.now() - t0) / 1000;
const simS = steps * 0.05;
console.log(
  JSON.stringify({
    simSeconds: simS,
    wallSeconds: Math.round(wallS * 1000) / 1000,
    speedX: Math.round(simS / wallS),
    meanPresent: Math.round((presentSum / steps) * 10) / 10,
    aStarSearches: crowd.store.plan.searches + crowd.store.comfort.searches,
    picks: crowd.stats.picks,
    exited: crowd.stats.exited,
  }),
);
