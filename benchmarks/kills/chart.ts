/** The run over time: what was admitted and settled, the kills, and what the edges waited for. */
import { lineChart } from '../lib/svg-chart.ts';

export interface Sample {
  /** Seconds since the first kill's cloud started. */
  t: number;
  visits: number;
  receipts: number;
  kills: number;
  unacked: number;
}

export function killsChart(samples: readonly Sample[], title: string): string {
  const s = (pick: (x: Sample) => number): [number, number][] => samples.map((x) => [x.t, pick(x)]);
  return lineChart({
    title,
    xLabel: 'seconds since the start of the workload',
    series: [
      { name: 'visits admitted', unit: 'count', colour: '#2a7', points: s((x) => x.visits) },
      { name: 'receipts issued', unit: 'count', colour: '#27a', points: s((x) => x.receipts) },
      { name: 'SIGKILLs of the cloud', unit: 'count', colour: '#c33', points: s((x) => x.kills) },
      {
        name: 'reports sent, not yet acknowledged',
        unit: 'reports',
        colour: '#a72',
        points: s((x) => x.unacked),
      },
    ],
  });
}
