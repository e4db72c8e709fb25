/**
 * Floor zones from the layout's gates: where a track may be born (around the entry gate) and on
 * which side of a gate a point lies (the visit logic ends a track that left through the exit).
 */
import type { Gate, StoreLayout, Vec2 } from '../../proto/layout/schema.ts';
import type { TrackerConfig } from './config.ts';

/**
 * Per entry gate, a rectangle along its line: `birthZoneOutsideM` out to the street,
 * `birthZoneInsideM` into the store and `birthZoneEndM` past its ends. A person is first seen on
 * the street side; reaching far inside would let a second, offset view of someone already tracked
 * start a track of its own. Kept short along the line so it does not reach a neighbouring
 * exit, where a departing person must never start a new track.
 */
export function birthZonesFor(
  layout: Pick<StoreLayout, 'gates'>,
  config: Pick<TrackerConfig, 'birthZoneOutsideM' | 'birthZoneInsideM' | 'birthZoneEndM'>,
): Vec2[][] {
  return layout.gates
    .filter((g) => g.kind === 'entry')
    .map((g) => gateRectangle(g, config.birthZoneOutsideM, config.birthZoneInsideM, config.birthZoneEndM));
}

function gateRectangle(gate: Gate, outsideM: number, insideM: number, endM: number): Vec2[] {
  const [[ax, ay], [bx, by]] = gate.lineM;
  const len = Math.hypot(bx - ax, by - ay);
  const tx = (bx - ax) / len;
  const ty = (by - ay) / len;
  const nx = -ty;
  const ny = tx;
  const corner = (px: number, py: number, along: number, side: number): Vec2 => [
    px + tx * along + nx * side,
    py + ty * along + ny * side,
  ];
  // The normal (−ty, tx) points in: "in" is to the left of a→b.
  return [
    corner(ax, ay, -endM, -outsideM),
    corner(bx, by, endM, -outsideM),
    corner(bx, by, endM, insideM),
    corner(ax, ay, -endM, insideM),
  ];
}

/** True when the point is on the outer side of the gate's line (layout: "in" is to the left of a→b). */
export function outsideGate(gate: Gate, xyM: Vec2): boolean {
  const [[ax, ay], [bx, by]] = gate.lineM;
  return (bx - ax) * (xyM[1] - ay) - (by - ay) * (xyM[0] - ax) < 0;
}

/** True when the point has passed out through the gate: on its outer side and within `reachM` of its line segment. */
export function beyondGate(gate: Gate, xyM: Vec2, reachM: number): boolean {
  if (!outsideGate(gate, xyM)) return false;
  const [[ax, ay], [bx, by]] = gate.lineM;
  const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
  const s = Math.max(0, Math.min(1, ((xyM[0] - ax) * (bx - ax) + (xyM[1] - ay) * (by - ay)) / len2));
  return Math.hypot(xyM[0] - (ax + s * (bx - ax)), xyM[1] - (ay + s * (by - ay))) <= reachM;
}
