/**
 * Training strips for the arm-link model (models/train/arm_link.py), from arm-strips.ts:
 *
 *   npm run models:arm-data -- --out DIR [--plans crowded:113-118:6,baseline:101-106:8] [--keep 0.1]
 *
 * The shipped model's strips are the defaults (--keep 0.1) and `--plans
 * crowded:113-118:6,groups-and-handoffs:119-120:8 --keep 0.03` into the same DIR (models/arm-link/CARD.md).
 * Writes DIR/NAME.bin (strips) and DIR/NAME.csv (label, reaching, dist, handPx, hot, hand) per run,
 * NAME = scenario-seed.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { armStrips, parsePlans } from './arm-strips.ts';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    plans: {
      type: 'string',
      default: 'baseline:101-106:8,crowded:107-110:6,groups-and-handoffs:111-112:6,baseline:1-2:5',
    },
    keep: { type: 'string', default: '0.1' },
  },
});
if (!values.out) throw new Error('--out DIR is required');
const keep = Number(values.keep);
if (!(keep >= 0 && keep <= 1)) throw new Error(`--keep must be within 0..1, got ${values.keep}`);
mkdirSync(values.out, { recursive: true });
const plans = parsePlans(values.plans!);
for (const [i, plan] of plans.entries()) {
  const t0 = Date.now();
  const base = join(values.out, `${plan.scenario}-${plan.seed}`);
  writeFileSync(`${base}.bin`, '');
  writeFileSync(`${base}.csv`, 'label,reaching,dist,handPx,hot,hand\n');
  let n = 0;
  for await (const s of armStrips(plan, keep)) {
    appendFileSync(`${base}.bin`, s.strip);
    appendFileSync(
      `${base}.csv`,
      `${s.same ? 1 : 0},${s.reaching ? 1 : 0},${s.px.toFixed(1)},${s.handPx},${s.hot ? 1 : 0},${s.hand}\n`,
    );
    n++;
  }
  console.log(
    `${i + 1}/${plans.length} ${plan.scenario}-${plan.seed}: ${n} strips in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}
