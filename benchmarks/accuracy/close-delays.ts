/**
 * npx tsx benchmarks/accuracy/close-delays.ts DUMP/{scenario}-{seed} ...
 *
 * How long each visit of kept runs (bench-accuracy --dump) took to close after its last member
 * left, in store time: from the edge's last MEMBER_EXITED report of the visit to its VISIT_CLOSED
 * (edge/reports.jsonl). Prints the count, median, p90, p95, max (ms), how many closed at once and
 * how many waited 700 ms or more (the close wait is 800 ms: edge/fusion/closing.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface Line {
  tsMs: number;
  report: { body: string; visit?: { visitId: string; kind: string } };
}

const delays: number[] = [];
for (const dir of process.argv.slice(2)) {
  const lastExit = new Map<string, number>();
  for (const text of readFileSync(join(dir, 'edge', 'reports.jsonl'), 'utf8')
    .trim()
    .split('\n')) {
    const { tsMs, report } = JSON.parse(text) as Line;
    const v = report.visit;
    if (!v) continue;
    if (v.kind === 'MEMBER_EXITED') lastExit.set(v.visitId, tsMs);
    const exit = lastExit.get(v.visitId);
    if (v.kind === 'VISIT_CLOSED' && exit !== undefined) delays.push(tsMs - exit);
  }
}
if (delays.length === 0) throw new Error('no closed visit with an exit in the dumps given');
delays.sort((a, b) => a - b);
const at = (q: number) => delays[Math.floor(delays.length * q)]!;
console.log(
  JSON.stringify({
    visits: delays.length,
    medianMs: at(0.5),
    p90Ms: at(0.9),
    p95Ms: at(0.95),
    maxMs: delays.at(-1),
    atOnce: delays.filter((d) => d === 0).length,
    waited700MsOrMore: delays.filter((d) => d >= 700).length,
  }),
);
