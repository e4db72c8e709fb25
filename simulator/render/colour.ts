import type { Appearance } from '../../proto/index.ts';

export type Rgb = readonly [number, number, number];

const rgbCache = new Map<string, Rgb>();

/** '#rrggbb' to [r, g, b]; anything unparsable comes out mid grey rather than throwing mid-frame. */
export function hexToRgb(hex: string): Rgb {
  let c = rgbCache.get(hex);
  if (!c) {
    const n = Number.parseInt(hex.slice(1), 16);
    c = /^#[0-9a-fA-F]{6}$/.test(hex) ? [(n >> 16) & 255, (n >> 8) & 255, n & 255] : [128, 128, 128];
    rgbCache.set(hex, c);
  }
  return c;
}

export function scale(c: Rgb, k: number): Rgb {
  return [
    Math.min(255, Math.round(c[0] * k)),
    Math.min(255, Math.round(c[1] * k)),
    Math.min(255, Math.round(c[2] * k)),
  ];
}

/** Texture side, in texels, of a product's top face. */
export const TEX = 16;
/** Sides face away from the overhead light: their print is drawn darker than the top's. */
const SIDE_SHADE = 0.78;

const texCache = new Map<string, Uint8Array>();

/**
 * A product's print as a TEX × TEX RGB texture: s runs along the item's width, t along its depth.
 * The primary colour with the secondary drawn as the pattern; patterns are coarse on purpose,
 * because a held can is only ten or so pixels across in an overhead view. The top (`side`
 * false) shows a bottle's cap; the sides carry the same design, shaded, as real packaging is
 * printed all round.
 */
export function productTexture(a: Appearance, side = false): Uint8Array {
  const key = `${a.primary}${a.secondary}${a.pattern}${a.shape}${side ? 's' : 't'}`;
  let tex = texCache.get(key);
  if (tex) return tex;
  tex = new Uint8Array(TEX * TEX * 3);
  const p = hexToRgb(a.primary);
  const s2 = hexToRgb(a.secondary);
  for (let j = 0; j < TEX; j++) {
    for (let i = 0; i < TEX; i++) {
      const s = (i + 0.5) / TEX;
      const t = (j + 0.5) / TEX;
      let second = false;
      switch (a.pattern) {
        case 'solid':
          break;
        case 'stripes':
          second = Math.floor(s * 4) % 2 === 1;
          break;
        case 'band':
          second = Math.abs(s - 0.5) < 0.17;
          break;
        case 'dots': {
          const ds = (s % 0.5) - 0.25;
          const dt = t - 0.5;
          second = ds * ds + dt * dt < 0.16 * 0.16 * 1.6;
          break;
        }
        case 'split':
          second = s >= 0.5;
          break;
        case 'checker':
          second = s < 0.5 !== t < 0.5;
          break;
      }
      let c = second ? s2 : p;
      // A bottle seen from above shows its cap: a small disc in the secondary colour, dark if that is the pattern.
      if (a.shape === 'bottle' && !side) {
        const dx = s - 0.5;
        const dy = t - 0.5;
        if (dx * dx + dy * dy < 0.13 * 0.13) c = second ? p : s2;
      }
      if (side) c = scale(c, SIDE_SHADE);
      const o = (j * TEX + i) * 3;
      tex[o] = c[0];
      tex[o + 1] = c[1];
      tex[o + 2] = c[2];
    }
  }
  texCache.set(key, tex);
  return tex;
}

/** Whether the footprint is round (cans, bottles, jars) rather than rectangular. */
export function isRound(shape: Appearance['shape']): boolean {
  return shape === 'can' || shape === 'bottle' || shape === 'jar';
}

/** A small deterministic hash of a string, for picking fixed per-person details (basket and cap colours). */
export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
