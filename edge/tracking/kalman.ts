/**
 * Kalman filter on the floor plane: constant velocity, plus how far the person's head is below or
 * above the head plane observations were placed at (a crouching shopper's head is 0.8 m lower).
 *
 * Why the head term: a head box's floor point is its ray cut at an assumed head height. A head
 * lower by δ lands farther along the ray, at floor point + δ·g, where g (`gradM` of an
 * observation) is the ray's horizontal run per metre of drop, pointing from the head back to the
 * camera's nadir. The observation is then linear in (x, y, δ): z = (x, y) + δ·g. One camera
 * cannot tell δ from position; two cameras with different g can, so a crouching shopper is placed
 * right instead of being pulled towards each camera in turn (0.9 m errors at shelves without it).
 *
 * State (x, y, vx, vy, δ), full 5×5 covariance. The matrix arithmetic is written out: it is a
 * few fixed-size products, where a matrix package would add allocation and indirection.
 */
import type { Vec2 } from '../../proto/layout/schema.ts';

const N = 5;

export interface FloorState {
  xyM: Vec2;
  velocityMps: Vec2;
  /** Head height minus the plane its observations assumed, metres (negative: crouching). */
  headDeltaM: number;
  /** Covariance, row-major 5×5 over (x, y, vx, vy, δ). */
  p: number[];
  tMs: number;
}

export interface KalmanNoise {
  /** White acceleration spectral density, m²/s³. */
  accel: number;
  /** Random walk of δ, m²/s. */
  headWalk: number;
}

export function initialState(
  xyM: Vec2,
  sigmaM: number,
  speedSigmaMps: number,
  headSigmaM: number,
  tMs: number,
): FloorState {
  const p = new Array<number>(N * N).fill(0);
  p[0] = sigmaM * sigmaM;
  p[6] = sigmaM * sigmaM;
  p[12] = speedSigmaMps ** 2;
  p[18] = speedSigmaMps ** 2;
  p[24] = headSigmaM ** 2;
  return { xyM: [xyM[0], xyM[1]], velocityMps: [0, 0], headDeltaM: 0, p, tMs };
}

/** Moves the state to `tMs`; a time at or before the state's own (a late frame) leaves it as is. */
export function predict(s: FloorState, tMs: number, noise: KalmanNoise): void {
  const dt = (tMs - s.tMs) / 1000;
  if (dt <= 0) return;
  s.xyM = [s.xyM[0] + s.velocityMps[0] * dt, s.xyM[1] + s.velocityMps[1] * dt];
  // P ← F P Fᵀ + Q with F = I + dt·(e0 e2ᵀ + e1 e3ᵀ).
  const p = s.p;
  const fp = p.slice();
  for (let c = 0; c < N; c++) {
    fp[0 * N + c] = p[0 * N + c]! + dt * p[2 * N + c]!;
    fp[1 * N + c] = p[1 * N + c]! + dt * p[3 * N + c]!;
  }
  const out = fp.slice();
  for (let r = 0; r < N; r++) {
    out[r * N + 0] = fp[r * N + 0]! + dt * fp[r * N + 2]!;
    out[r * N + 1] = fp[r * N + 1]! + dt * fp[r * N + 3]!;
  }
  const q = noise.accel;
  for (const [pos, vel] of [
    [0, 2],
    [1, 3],
  ] as const) {
    out[pos * N + pos] = out[pos * N + pos]! + (q * dt ** 3) / 3;
    out[pos * N + vel] = out[pos * N + vel]! + (q * dt * dt) / 2;
    out[vel * N + pos] = out[vel * N + pos]! + (q * dt * dt) / 2;
    out[vel * N + vel] = out[vel * N + vel]! + q * dt;
  }
  out[24] = out[24]! + noise.headWalk * dt;
  s.p = out;
  s.tMs = tMs;
}

/** Where an observation with head gradient `gradM` is expected: (x, y) + δ·g. */
export function expectedAt(s: FloorState, gradM: Vec2): Vec2 {
  return [s.xyM[0] + s.headDeltaM * gradM[0], s.xyM[1] + s.headDeltaM * gradM[1]];
}

/**
 * Folds in an observation z = (x, y) + δ·g of noise `sigmaM` (1σ per axis). Clips the speed to
 * `maxSpeedMps` and δ to `headDeltaRangeM`.
 */
export function correct(
  s: FloorState,
  zM: Vec2,
  gradM: Vec2,
  sigmaM: number,
  limits: { maxSpeedMps: number; headDeltaRangeM: readonly [number, number] },
): void {
  const p = s.p;
  // H rows: h0 = (1, 0, 0, 0, gx), h1 = (0, 1, 0, 0, gy). PHᵀ columns:
  const ph0 = new Array<number>(N);
  const ph1 = new Array<number>(N);
  for (let r = 0; r < N; r++) {
    ph0[r] = p[r * N + 0]! + gradM[0] * p[r * N + 4]!;
    ph1[r] = p[r * N + 1]! + gradM[1] * p[r * N + 4]!;
  }
  // S = H P Hᵀ + R (2×2).
  const r2 = sigmaM * sigmaM;
  const s00 = ph0[0]! + gradM[0] * ph0[4]! + r2;
  const s01 = ph1[0]! + gradM[0] * ph1[4]!;
  const s10 = ph0[1]! + gradM[1] * ph0[4]!;
  const s11 = ph1[1]! + gradM[1] * ph1[4]! + r2;
  const det = s00 * s11 - s01 * s10;
  if (!(Math.abs(det) > 1e-12)) return;
  const i00 = s11 / det;
  const i01 = -s01 / det;
  const i10 = -s10 / det;
  const i11 = s00 / det;
  // K = P Hᵀ S⁻¹ (5×2).
  const k0 = ph0.map((a, r) => a * i00 + ph1[r]! * i10);
  const k1 = ph0.map((a, r) => a * i01 + ph1[r]! * i11);
  const [ex, ey] = ((e) => [zM[0] - e[0], zM[1] - e[1]])(expectedAt(s, gradM));
  const x = [s.xyM[0], s.xyM[1], s.velocityMps[0], s.velocityMps[1], s.headDeltaM];
  for (let r = 0; r < N; r++) x[r] = x[r]! + k0[r]! * ex + k1[r]! * ey;
  // P ← P − K (H P) with H P rows = PHᵀ columns (P symmetric).
  const next = p.slice();
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) next[r * N + c] = p[r * N + c]! - k0[r]! * ph0[c]! - k1[r]! * ph1[c]!;
  }
  // Kept exactly symmetric: rounding left in P − KHP otherwise grows through the δ terms
  // (measured: x–y covariances of ±1e-7 with opposite signs, tracks pulled 0.3 m off).
  for (let r = 0; r < N; r++) {
    for (let c = r + 1; c < N; c++) {
      const m = (next[r * N + c]! + next[c * N + r]!) / 2;
      next[r * N + c] = m;
      next[c * N + r] = m;
    }
  }
  s.p = next;
  let [vx, vy] = [x[2]!, x[3]!];
  const speed = Math.hypot(vx, vy);
  if (speed > limits.maxSpeedMps) {
    vx *= limits.maxSpeedMps / speed;
    vy *= limits.maxSpeedMps / speed;
  }
  s.xyM = [x[0]!, x[1]!];
  s.velocityMps = [vx, vy];
  s.headDeltaM = Math.min(limits.headDeltaRangeM[1], Math.max(limits.headDeltaRangeM[0], x[4]!));
}

/** Where the state puts the person at `tMs`, without changing it. */
export function positionAt(s: FloorState, tMs: number): Vec2 {
  const dt = Math.max(0, (tMs - s.tMs) / 1000);
  return [s.xyM[0] + s.velocityMps[0] * dt, s.xyM[1] + s.velocityMps[1] * dt];
}
