import type { Camera, Vec3 } from './schema.ts';

/**
 * Pinhole model of an overhead camera. Camera axes follow the usual vision convention (x right,
 * y down, z forward along the optical axis), so pixel coordinates come out as any OpenCV-style
 * consumer expects. Lens distortion is not modelled: the layout carries none.
 */
export interface CameraModel {
  readonly id: string;
  readonly width: number;
  readonly height: number;
  readonly fxPx: number;
  readonly fyPx: number;
  readonly cxPx: number;
  readonly cyPx: number;
  readonly positionM: Vec3;
  /** World-to-camera rotation, row-major 3×3. Rows are the camera axes in world coordinates. */
  readonly rWorldToCam: readonly number[];
}

export interface Projected {
  u: number;
  v: number;
  /** Distance along the optical axis in metres; positive in front of the camera. */
  depthM: number;
}

const DEG = Math.PI / 180;

function mul3(a: readonly number[], b: readonly number[]): number[] {
  const out = new Array<number>(9);
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      out[r * 3 + c] = a[r * 3]! * b[c]! + a[r * 3 + 1]! * b[3 + c]! + a[r * 3 + 2]! * b[6 + c]!;
    }
  }
  return out;
}

function transpose3(m: readonly number[]): number[] {
  return [m[0]!, m[3]!, m[6]!, m[1]!, m[4]!, m[7]!, m[2]!, m[5]!, m[8]!];
}

export function cameraModel(camera: Camera): CameraModel {
  const { width, height } = camera.resolution;
  let fxPx: number;
  let fyPx: number;
  let cxPx: number;
  let cyPx: number;
  if ('hfovDeg' in camera.lens) {
    fxPx = width / 2 / Math.tan((camera.lens.hfovDeg * DEG) / 2);
    fyPx = fxPx;
    cxPx = width / 2;
    cyPx = height / 2;
  } else {
    ({ fxPx, fyPx, cxPx, cyPx } = camera.lens);
  }
  const yaw = camera.yawDeg * DEG;
  const pitch = camera.pitchDeg * DEG;
  const roll = camera.rollDeg * DEG;
  // Camera-to-world: columns are camera axes in world coordinates. Straight down with north up
  // has x = east, y = south, z = down; yaw turns that about world z, then pitch tilts the optical
  // axis towards image-up (about camera x), then roll turns about the optical axis.
  const rzYaw = [Math.cos(yaw), -Math.sin(yaw), 0, Math.sin(yaw), Math.cos(yaw), 0, 0, 0, 1];
  const down = [1, 0, 0, 0, -1, 0, 0, 0, -1];
  const rxPitch = [1, 0, 0, 0, Math.cos(pitch), -Math.sin(pitch), 0, Math.sin(pitch), Math.cos(pitch)];
  const rzRoll = [Math.cos(roll), -Math.sin(roll), 0, Math.sin(roll), Math.cos(roll), 0, 0, 0, 1];
  const camToWorld = mul3(mul3(mul3(rzYaw, down), rxPitch), rzRoll);
  return {
    id: camera.id,
    width,
    height,
    fxPx,
    fyPx,
    cxPx,
    cyPx,
    positionM: camera.positionM,
    rWorldToCam: transpose3(camToWorld),
  };
}

/** World point to camera coordinates (metres). */
export function toCameraFrame(m: CameraModel, p: Vec3): Vec3 {
  const r = m.rWorldToCam;
  const dx = p[0] - m.positionM[0];
  const dy = p[1] - m.positionM[1];
  const dz = p[2] - m.positionM[2];
  return [
    r[0]! * dx + r[1]! * dy + r[2]! * dz,
    r[3]! * dx + r[4]! * dy + r[5]! * dz,
    r[6]! * dx + r[7]! * dy + r[8]! * dz,
  ];
}

/** Projects a world point to pixels; null when the point is behind the camera. */
export function project(m: CameraModel, p: Vec3): Projected | null {
  const [x, y, z] = toCameraFrame(m, p);
  if (z <= 1e-6) return null;
  return { u: m.fxPx * (x / z) + m.cxPx, v: m.fyPx * (y / z) + m.cyPx, depthM: z };
}

export function inImage(m: CameraModel, q: { u: number; v: number }): boolean {
  return q.u >= 0 && q.v >= 0 && q.u < m.width && q.v < m.height;
}

/** Direction (world, unit length) of the ray through a pixel. */
export function pixelRay(m: CameraModel, u: number, v: number): Vec3 {
  const xc = (u - m.cxPx) / m.fxPx;
  const yc = (v - m.cyPx) / m.fyPx;
  const r = m.rWorldToCam;
  // camToWorld = transpose(r): world = r^T · (xc, yc, 1)
  const dx = r[0]! * xc + r[3]! * yc + r[6]!;
  const dy = r[1]! * xc + r[4]! * yc + r[7]!;
  const dz = r[2]! * xc + r[5]! * yc + r[8]!;
  const n = Math.hypot(dx, dy, dz);
  return [dx / n, dy / n, dz / n];
}

/** Back-projects a pixel onto the horizontal plane z = zM (the floor, a shelf); null if the ray misses it. */
export function unprojectToPlane(m: CameraModel, u: number, v: number, zM: number): Vec3 | null {
  const d = pixelRay(m, u, v);
  if (Math.abs(d[2]) < 1e-9) return null;
  const t = (zM - m.positionM[2]) / d[2];
  if (t <= 0) return null;
  return [m.positionM[0] + t * d[0], m.positionM[1] + t * d[1], zM];
}
