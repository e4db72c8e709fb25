import { Rng } from '../core/rng.ts';

/** Noise offsets are whole groups of four pixels in [0, NOISE_SHIFTS). */
const NOISE_SHIFTS = 4096;
/** Noise is stored biased by this, so a noisy byte indexes the lighting table directly. */
const BIAS = 64;

// Per-channel lighting tables: LIT[v + noise + BIAS] = clamp((v + noise) · gain). Plain arrays of
// small integers on purpose: once any ArrayBuffer in the process has been detached (tsx and many
// libraries do so), V8 guards every typed-array access, and these look-ups are the hot loop.
// They are refilled per frame; JavaScript runs one frame at a time.
const LIT_R: number[] = new Array(256 + 2 * BIAS).fill(0);
const LIT_G: number[] = new Array(256 + 2 * BIAS).fill(0);
const LIT_B: number[] = new Array(256 + 2 * BIAS).fill(0);
const LITS = [LIT_R, LIT_G, LIT_B] as const;

/**
 * Camera effects applied to a finished frame in one pass: a slow, smooth global gain with a slight
 * colour cast (daylight, doors, auto-exposure) and sensor noise. The noise is a precomputed tile of
 * Gaussian values read at a per-frame offset; the pass works on 32-bit words, four pixels (three
 * words) at a time, with one table look-up per byte.
 */
export class Effects {
  private readonly noise = new Map<number, number[]>();
  private readonly phases: number[];

  constructor(
    private readonly seed: number,
    private readonly amplitude: number,
    private readonly noiseSd: number,
  ) {
    const rng = Rng.stream(seed, 'render:lighting');
    this.phases = Array.from({ length: 8 }, () => rng.range(0, 2 * Math.PI));
  }

  get enabled(): boolean {
    return this.amplitude > 0 || this.noiseSd > 0;
  }

  /** Per-channel gain at a time, the same for every camera but for a small fixed per-camera offset. */
  gains(tsMs: number, cameraIndex: number): [number, number, number] {
    const a = this.amplitude;
    const ph = this.phases;
    const t = tsMs / 1000;
    const g =
      1 +
      a * (0.7 * Math.sin((2 * Math.PI * t) / 47 + ph[0]!) + 0.3 * Math.sin((2 * Math.PI * t) / 13 + ph[1]!));
    const cam = 1 + 0.15 * a * Math.sin(cameraIndex * 2.39996 + ph[2]!);
    const cast = (k: number) => 1 + 0.3 * a * Math.sin((2 * Math.PI * t) / (61 + 17 * k) + ph[3 + k]!);
    return [g * cam * cast(0), g * cam * cast(1), g * cam * cast(2)];
  }

  /**
   * Biased noise bytes, packed four to a word, long enough for a frame at any offset. A plain
   * array (of doubles, as the words exceed small integers), which reads faster than a typed one.
   */
  private tile(bytes: number): number[] {
    let tile = this.noise.get(bytes);
    if (!tile) {
      const n = new Uint8Array(bytes + NOISE_SHIFTS * 12 + 12);
      const rng = Rng.stream(this.seed, `render:noise:${bytes}`);
      const sd = this.noiseSd;
      for (let i = 0; i < n.length; i++)
        n[i] = Math.max(-BIAS, Math.min(BIAS - 1, Math.round(rng.gaussian(0, sd)))) + BIAS;
      tile = Array.from(new Uint32Array(n.buffer, 0, n.length >> 2));
      this.noise.set(bytes, tile);
    }
    return tile;
  }

  apply(rgb: Uint8Array, tsMs: number, cameraIndex: number, frameIndex: number): void {
    if (!this.enabled) return;
    const gains = this.gains(tsMs, cameraIndex);
    for (let c = 0; c < 3; c++) {
      const lit = LITS[c]!;
      const g = gains[c]!;
      for (let i = 0; i < lit.length; i++) lit[i] = Math.max(0, Math.min(255, Math.round((i - BIAS) * g)));
    }
    let off = 0;
    if (this.noiseSd > 0) {
      let h =
        Math.imul((this.seed ^ Math.imul(frameIndex + 1, 0x9e3779b1)) >>> 0, 0x85ebca6b) ^
        Math.imul(cameraIndex + 1, 0xc2b2ae35);
      h = (h ^ (h >>> 15)) >>> 0;
      off = (h % NOISE_SHIFTS) * 3;
    }
    // A tile of constant BIAS words when there is no noise: the same loop then applies the gain alone.
    const noise = this.noiseSd > 0 ? this.tile(rgb.length) : this.flat(rgb.length);
    const whole = rgb.byteOffset % 4 === 0 ? rgb.length - (rgb.length % 12) : 0;
    if (whole > 0) lightWords(new Uint32Array(rgb.buffer, rgb.byteOffset, whole >> 2), noise, off);
    for (let i = whole; i < rgb.length; i++) {
      const word = noise[off + (i >> 2)]!;
      rgb[i] = LITS[i % 3]![rgb[i]! + ((word >>> ((i & 3) * 8)) & 255)]!;
    }
  }

  private flat(bytes: number): number[] {
    let tile = this.noise.get(-bytes);
    if (!tile) {
      tile = new Array((bytes >> 2) + 4).fill(BIAS * 0x01010101);
      this.noise.set(-bytes, tile);
    }
    return tile;
  }
}

/**
 * Little-endian words of packed RGB: word 0 holds r0 g0 b0 r1, word 1 g1 b1 r2 g2, word 2 b2 r3 g3 b3.
 * Each byte goes through its channel's table together with its noise byte.
 */
function lightWords(w: Uint32Array, noise: number[], off: number): void {
  const n = w.length;
  for (let i = 0, o = off; i < n; i += 3, o += 3) {
    const a = w[i]!;
    const b = w[i + 1]!;
    const c = w[i + 2]!;
    const na = noise[o]!;
    const nb = noise[o + 1]!;
    const nc = noise[o + 2]!;
    w[i] =
      LIT_R[(a & 255) + (na & 255)]! |
      (LIT_G[((a >>> 8) & 255) + ((na >>> 8) & 255)]! << 8) |
      (LIT_B[((a >>> 16) & 255) + ((na >>> 16) & 255)]! << 16) |
      (LIT_R[(a >>> 24) + (na >>> 24)]! << 24);
    w[i + 1] =
      LIT_G[(b & 255) + (nb & 255)]! |
      (LIT_B[((b >>> 8) & 255) + ((nb >>> 8) & 255)]! << 8) |
      (LIT_R[((b >>> 16) & 255) + ((nb >>> 16) & 255)]! << 16) |
      (LIT_G[(b >>> 24) + (nb >>> 24)]! << 24);
    w[i + 2] =
      LIT_B[(c & 255) + (nc & 255)]! |
      (LIT_R[((c >>> 8) & 255) + ((nc >>> 8) & 255)]! << 8) |
      (LIT_G[((c >>> 16) & 255) + ((nc >>> 16) & 255)]! << 16) |
      (LIT_B[(c >>> 24) + (nc >>> 24)]! << 24);
  }
}
