import { TEX } from './colour.ts';
import { ELLIPSE, type Prim } from './prim.ts';

/**
 * The frame being drawn: colour, per-pixel part id, the background depth that hides people behind
 * fixtures, and per label a coverage mask that counts every pixel the label's parts cover whether
 * or not anything ends up in front. Visible pixels are counted as they are won and lost, which
 * together makes visibility exact.
 *
 * Bookkeeping lives in plain arrays of small integers rather than typed arrays: once any
 * ArrayBuffer in the process has been detached (tsx, many libraries), V8 guards every
 * typed-array access, and these are touched per pixel.
 */
export class Raster {
  rgb: Uint8Array = new Uint8Array(0);
  /** Per pixel: frameStamp · 2¹⁶ + part id, so the buffer never needs clearing; see owner(). */
  readonly ids: number[];
  /** Per pixel: the background's distance in mm. */
  depth: number[] = [];
  private frameStamp = 0;
  /** Per part (1-based; 0 is the background): its top-level label and its sub-label or -1. */
  partTop: number[] = [-1];
  partSub: number[] = [-1];
  parts = 0;
  labels = 0;
  /** Per label: predicted bounds (mask extent), mask offset, drawn count, drawn bounds, visible count. */
  px0: number[] = [];
  py0: number[] = [];
  px1: number[] = [];
  py1: number[] = [];
  maskAt: number[] = [];
  drawn: number[] = [];
  bx0: number[] = [];
  by0: number[] = [];
  bx1: number[] = [];
  by1: number[] = [];
  visible: number[] = [];
  /** Coverage masks of all labels, back to back; a cell is set when it holds this frame's stamp. */
  private arena: number[] = new Array(1 << 16).fill(0);
  private stamp = 0;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.ids = new Array(width * height).fill(0);
  }

  begin(rgb: Uint8Array, depth: number[]): void {
    this.rgb = rgb;
    this.depth = depth;
    this.frameStamp++;
    if (this.frameStamp >= 1 << 14) {
      this.ids.fill(0);
      this.frameStamp = 1;
    }
    this.parts = 0;
    this.labels = 0;
    this.stamp++;
    if (this.stamp >= 1 << 30) {
      this.arena.fill(0);
      this.stamp = 1;
    }
  }

  addLabel(): number {
    const l = this.labels++;
    this.px0[l] = this.width;
    this.py0[l] = this.height;
    this.px1[l] = -1;
    this.py1[l] = -1;
    this.bx0[l] = this.width;
    this.by0[l] = this.height;
    this.bx1[l] = -1;
    this.by1[l] = -1;
    this.drawn[l] = 0;
    this.visible[l] = 0;
    return l;
  }

  addPart(top: number, sub: number): number {
    const p = ++this.parts;
    if (p >= 65535) throw new Error('too many parts in one frame');
    this.partTop[p] = top;
    this.partSub[p] = sub;
    return p;
  }

  /** Widens the predicted bounds of a label by a shape's bounds, before masks are allocated. */
  extend(l: number, p: Prim): void {
    if (p.x0 < this.px0[l]!) this.px0[l] = p.x0;
    if (p.y0 < this.py0[l]!) this.py0[l] = p.y0;
    if (p.x1 > this.px1[l]!) this.px1[l] = p.x1;
    if (p.y1 > this.py1[l]!) this.py1[l] = p.y1;
  }

  allocMasks(): void {
    let used = 0;
    for (let l = 0; l < this.labels; l++) {
      this.maskAt[l] = used;
      if (this.px1[l]! >= this.px0[l]!)
        used += (this.px1[l]! - this.px0[l]! + 1) * (this.py1[l]! - this.py0[l]! + 1);
    }
    if (used > this.arena.length) {
      const grown = new Array(Math.max(used, this.arena.length * 2)).fill(0);
      for (let i = 0; i < this.arena.length; i++) grown[i] = this.arena[i];
      this.arena = grown;
    }
  }

  private mark(l: number, y: number, xl: number, xr: number): void {
    const m = this.arena;
    const stamp = this.stamp;
    const base = this.maskAt[l]! + (y - this.py0[l]!) * (this.px1[l]! - this.px0[l]! + 1) - this.px0[l]!;
    let c = 0;
    for (let i = base + xl, end = base + xr; i <= end; i++) {
      if (m[i] !== stamp) {
        m[i] = stamp;
        c++;
      }
    }
    this.drawn[l] = this.drawn[l]! + c;
    if (xl < this.bx0[l]!) this.bx0[l] = xl;
    if (xr > this.bx1[l]!) this.bx1[l] = xr;
    if (y < this.by0[l]!) this.by0[l] = y;
    if (y > this.by1[l]!) this.by1[l] = y;
  }

  draw(p: Prim): void {
    const top = this.partTop[p.part]!;
    const sub = this.partSub[p.part]!;
    const xs = p.xs;
    const ys = p.ys;
    const n = xs.length;
    for (let y = p.y0; y <= p.y1; y++) {
      const yc = y + 0.5;
      let lo: number;
      let hi: number;
      if (p.kind === ELLIPSE) {
        const dy = yc - p.cy;
        const disc = p.qb * p.qb * dy * dy - p.qa * (p.qc * dy * dy - 1);
        if (disc < 0) continue;
        const sq = Math.sqrt(disc);
        lo = p.cx + (-p.qb * dy - sq) / p.qa;
        hi = p.cx + (-p.qb * dy + sq) / p.qa;
      } else {
        lo = Infinity;
        hi = -Infinity;
        for (let i = 0, j = n - 1; i < n; j = i++) {
          const ya = ys[j]!;
          const yb = ys[i]!;
          if (ya <= yc === yb <= yc) continue;
          const x = xs[j]! + ((yc - ya) * (xs[i]! - xs[j]!)) / (yb - ya);
          if (x < lo) lo = x;
          if (x > hi) hi = x;
        }
      }
      const xl = Math.max(p.x0, Math.ceil(lo - 0.5));
      const xr = Math.min(p.x1, Math.floor(hi - 0.5));
      if (xl > xr) continue;
      this.mark(top, y, xl, xr);
      if (sub >= 0) this.mark(sub, y, xl, xr);
      const won = p.tex
        ? this.spanTextured(p, y, xl, xr)
        : p.shade > 0
          ? this.spanShaded(p, y, xl, xr)
          : this.spanFlat(p, y, xl, xr);
      this.visible[top] = this.visible[top]! + won;
      if (sub >= 0) this.visible[sub] = this.visible[sub]! + won;
    }
  }

  /**
   * The bounds of the pixels label l still owns once everything is drawn: what a camera shows of
   * it, where bx0…by1 also span the pixels hidden behind other shapes. Null when it owns none.
   * Looks at the finished frame, per row up to the first owned pixel from each side.
   */
  visibleBounds(l: number): { x0: number; y0: number; x1: number; y1: number } | null {
    const bx0 = this.bx0[l]!;
    const bx1 = this.bx1[l]!;
    if (this.visible[l] === this.drawn[l]) return { x0: bx0, y0: this.by0[l]!, x1: bx1, y1: this.by1[l]! };
    const { ids, partTop, partSub, width } = this;
    const stamp = this.frameStamp;
    const owns = (i: number): boolean => {
      const v = ids[i]!;
      if (v >>> 16 !== stamp) return false;
      const part = v & 0xffff;
      return partTop[part] === l || partSub[part] === l;
    };
    let x0 = width;
    let y0 = this.height;
    let x1 = -1;
    let y1 = -1;
    for (let y = this.by0[l]!; y <= this.by1[l]!; y++) {
      const row = y * width;
      let a = bx0;
      while (a <= bx1 && !owns(row + a)) a++;
      if (a > bx1) continue;
      let b = bx1;
      while (!owns(row + b)) b--;
      if (a < x0) x0 = a;
      if (b > x1) x1 = b;
      if (y0 > y) y0 = y;
      y1 = y;
    }
    return x1 < 0 ? null : { x0, y0, x1, y1 };
  }

  /** The part drawn last at a pixel in this frame, 0 for the background. */
  owner(i: number): number {
    const v = this.ids[i]!;
    return v >>> 16 === this.frameStamp ? v & 0xffff : 0;
  }

  /** The pixel changes hands: its previous owner (if any) loses it. */
  private lose(old: number): void {
    const t = this.partTop[old]!;
    this.visible[t] = this.visible[t]! - 1;
    const s = this.partSub[old]!;
    if (s >= 0) this.visible[s] = this.visible[s]! - 1;
  }

  private spanFlat(p: Prim, y: number, xl: number, xr: number): number {
    const { rgb, ids, depth } = this;
    const stamp = this.frameStamp;
    const tag = stamp * 65536 + p.part;
    const { depthMm: dmm, r, g, b } = p;
    const row = y * this.width;
    let won = 0;
    for (let i = row + xl, end = row + xr; i <= end; i++) {
      if (dmm >= depth[i]!) continue;
      const old = ids[i]!;
      if (old >>> 16 === stamp) this.lose(old & 0xffff);
      ids[i] = tag;
      won++;
      rgb[i * 3] = r;
      rgb[i * 3 + 1] = g;
      rgb[i * 3 + 2] = b;
    }
    return won;
  }

  private spanShaded(p: Prim, y: number, xl: number, xr: number): number {
    const { rgb, ids, depth } = this;
    const stamp = this.frameStamp;
    const tag = stamp * 65536 + p.part;
    const { depthMm: dmm, r, g, b, qa, shade } = p;
    const row = y * this.width;
    const dy = y + 0.5 - p.cy;
    const bq = 2 * p.qb * dy;
    const cq = p.qc * dy * dy;
    let won = 0;
    for (let x = xl; x <= xr; x++) {
      const i = row + x;
      if (dmm >= depth[i]!) continue;
      const old = ids[i]!;
      if (old >>> 16 === stamp) this.lose(old & 0xffff);
      ids[i] = tag;
      won++;
      const dx = x + 0.5 - p.cx;
      const q = qa * dx * dx + bq * dx + cq;
      const k = 1 - shade * (q > 1 ? 1 : q);
      rgb[i * 3] = r * k;
      rgb[i * 3 + 1] = g * k;
      rgb[i * 3 + 2] = b * k;
    }
    return won;
  }

  private spanTextured(p: Prim, y: number, xl: number, xr: number): number {
    const { rgb, ids, depth } = this;
    const stamp = this.frameStamp;
    const tag = stamp * 65536 + p.part;
    const tex = p.tex!;
    const dmm = p.depthMm;
    const row = y * this.width;
    const yc = y + 0.5;
    let won = 0;
    for (let x = xl; x <= xr; x++) {
      const i = row + x;
      if (dmm >= depth[i]!) continue;
      const old = ids[i]!;
      if (old >>> 16 === stamp) this.lose(old & 0xffff);
      ids[i] = tag;
      won++;
      const xc = x + 0.5;
      let s = ((p.s0 + p.su * xc + p.sv * yc) * TEX) | 0;
      let t = ((p.t0 + p.tu * xc + p.tv * yc) * TEX) | 0;
      s = s < 0 ? 0 : s >= TEX ? TEX - 1 : s;
      t = t < 0 ? 0 : t >= TEX ? TEX - 1 : t;
      const o = (t * TEX + s) * 3;
      rgb[i * 3] = tex[o]!;
      rgb[i * 3 + 1] = tex[o + 1]!;
      rgb[i * 3 + 2] = tex[o + 2]!;
    }
    return won;
  }
}
