/**
 * Constant-velocity Kalman filter on the floor plane. Process and observation noise are isotropic
 * and every observation is a position, so x and y evolve independently with the same covariance:
 * one 2×2 covariance (position, velocity) serves both axes.
 */
import type { Vec2 } from '../../proto/layout/schema.ts';

export interface FloorState {
  xyM: Vec2;
  velocityMps: Vec2;
  /** Per-axis covariance: position variance (m²), position-velocity (m²/s), velocity variance (m²/s²). */
  pp: number;
  pv: number;
  vv: number;
  tMs: number;
}

export function initialState(xyM: Vec2, sigmaM: number, speedSigmaMps: number, tMs: number): FloorState {
  return {
    xyM: [xyM[0], xyM[1]],
    velocityMps: [0, 0],
    pp: sigmaM * sigmaM,
    pv: 0,
    vv: speedSigmaMps ** 2,
    tMs,
  };
}

/**
 * Moves the state to `tMs` under white acceleration noise of spectral density `accelNoise`
 * (m²/s³). A time at or before the state's own (a late frame of another camera) leaves it as is.
 */
export function predict(s: FloorState, tMs: number, accelNoise: number): void {
  const dt = (tMs - s.tMs) / 1000;
  if (dt <= 0) return;
  s.xyM = [s.xyM[0] + s.velocityMps[0] * dt, s.xyM[1] + s.velocityMps[1] * dt];
  const { pp, pv, vv } = s;
  s.pp = pp + 2 * dt * pv + dt * dt * vv + (accelNoise * dt ** 3) / 3;
  s.pv = pv + dt * vv + (accelNoise * dt * dt) / 2;
  s.vv = vv + accelNoise * dt;
  s.tMs = tMs;
}

/** Folds in a position observation of noise `sigmaM` (1σ per axis); clips the speed to `maxSpeedMps`. */
export function correct(s: FloorState, zM: Vec2, sigmaM: number, maxSpeedMps: number): void {
  const S = s.pp + sigmaM * sigmaM;
  const kp = s.pp / S;
  const kv = s.pv / S;
  const ex = zM[0] - s.xyM[0];
  const ey = zM[1] - s.xyM[1];
  s.xyM = [s.xyM[0] + kp * ex, s.xyM[1] + kp * ey];
  let vx = s.velocityMps[0] + kv * ex;
  let vy = s.velocityMps[1] + kv * ey;
  const speed = Math.hypot(vx, vy);
  if (speed > maxSpeedMps) {
    vx *= maxSpeedMps / speed;
    vy *= maxSpeedMps / speed;
  }
  s.velocityMps = [vx, vy];
  const { pp, pv, vv } = s;
  s.pp = pp - (pp * pp) / S;
  s.pv = pv - (pp * pv) / S;
  s.vv = vv - (pv * pv) / S;
}

/** Where the state puts the person at `tMs`, without changing it. */
export function positionAt(s: FloorState, tMs: number): Vec2 {
  const dt = Math.max(0, (tMs - s.tMs) / 1000);
  return [s.xyM[0] + s.velocityMps[0] * dt, s.xyM[1] + s.velocityMps[1] * dt];
}
