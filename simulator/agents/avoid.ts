import type { Vec2 } from '../../proto/index.ts';
import type { Body } from './body.ts';
import type { NavGrid } from './nav.ts';
import { len } from './pose.ts';

/** Keep this far from other people's torsos when walking, where possible. */
export const PERSONAL_SPACE_M = 0.5;
/** People further ahead than this are not yet in the way. */
const LOOKAHEAD_M = 1.2;

/**
 * Local avoidance for a walker heading along (ux, uy) at `sp`: step aside from people ahead in
 * the way (passing on the right when head on, on the side with room otherwise), slow down
 * before bumping into them, and keep out of everyone's personal space. Returns the velocity.
 */
export function avoid(
  me: Body,
  others: readonly Body[],
  grid: NavGrid,
  ux: number,
  uy: number,
  sp: number,
  nearGoal: boolean,
): Vec2 {
  const speed = me.speedMps;
  const sep = nearGoal ? 0.35 : PERSONAL_SPACE_M;
  let fwd = 1;
  let side = 0;
  let px = 0;
  let py = 0;
  for (const o of others) {
    if (o === me) continue;
    const ox = o.x - me.x;
    const oy = o.y - me.y;
    const d2 = ox * ox + oy * oy;
    if (d2 > LOOKAHEAD_M * LOOKAHEAD_M || d2 < 1e-12) continue;
    const od = Math.sqrt(d2);
    if (od < sep) {
      const k = ((sep - od) / sep) * speed * 1.5;
      px -= (ox / od) * k;
      py -= (oy / od) * k;
    }
    const lon = ox * ux + oy * uy;
    const lat = -ox * uy + oy * ux;
    if (nearGoal || lon <= 0 || Math.abs(lat) >= PERSONAL_SPACE_M) continue;
    const w = 1 - lon / LOOKAHEAD_M;
    let away = lat > 0.05 ? -1 : lat < -0.05 ? 1 : -1;
    // Pass on the side where there is room (not between the other and a shelf).
    if (!grid.isFree(o.x - uy * away * PERSONAL_SPACE_M, o.y + ux * away * PERSONAL_SPACE_M)) away = -away;
    side += away * (PERSONAL_SPACE_M - Math.abs(lat)) * w * 4;
    const oncoming = o.vx * ux + o.vy * uy < speed * 0.5;
    if (oncoming && lon < 0.7 && Math.abs(lat) < 0.35) fwd = Math.min(fwd, 0.2 + lon * 0.6);
  }
  side = Math.max(-speed, Math.min(speed, side));
  let vx = ux * sp * fwd - uy * side + px;
  let vy = uy * sp * fwd + ux * side + py;
  const v = len(vx, vy);
  if (v > speed * 1.2) {
    vx *= (speed * 1.2) / v;
    vy *= (speed * 1.2) / v;
  }
  return [vx, vy];
}
