/**
 * A* on an 8-connected grid (octile distance, no cutting corners past blocked cells), with its
 * scratch arrays kept between searches so that a search allocates nothing.
 */
export class AStar {
  private readonly g: Float64Array;
  private readonly came: Int32Array;
  private readonly seen: Uint32Array;
  private readonly shut: Uint32Array;
  private stamp = 0;
  private heap = new Int32Array(1024);
  private heapF = new Float64Array(1024);
  searches = 0;

  constructor(
    readonly nx: number,
    readonly ny: number,
  ) {
    const n = nx * ny;
    this.g = new Float64Array(n);
    this.came = new Int32Array(n);
    this.seen = new Uint32Array(n);
    this.shut = new Uint32Array(n);
  }

  /** Cells from s to goal (both included) through cells where `blocked` is 0, or null. */
  run(blocked: Uint8Array, s: number, goal: number): number[] | null {
    this.searches += 1;
    this.stamp += 1;
    const { nx, g, came, seen, shut, stamp } = this;
    const gx = goal % nx;
    const gy = Math.floor(goal / nx);
    const h = (c: number) => {
      const dx = Math.abs((c % nx) - gx);
      const dy = Math.abs(Math.floor(c / nx) - gy);
      return Math.max(dx, dy) + 0.41421356 * Math.min(dx, dy);
    };
    let size = 0;
    const push = (c: number, f: number) => {
      if (size === this.heap.length) {
        const nh = new Int32Array(size * 2);
        nh.set(this.heap);
        this.heap = nh;
        const nf = new Float64Array(size * 2);
        nf.set(this.heapF);
        this.heapF = nf;
      }
      const heap = this.heap;
      const hf = this.heapF;
      let i = size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (hf[p]! <= f) break;
        heap[i] = heap[p]!;
        hf[i] = hf[p]!;
        i = p;
      }
      heap[i] = c;
      hf[i] = f;
    };
    const pop = (): number => {
      const heap = this.heap;
      const hf = this.heapF;
      const top = heap[0]!;
      size -= 1;
      const lastC = heap[size]!;
      const lastF = hf[size]!;
      let i = 0;
      for (;;) {
        let child = 2 * i + 1;
        if (child >= size) break;
        if (child + 1 < size && hf[child + 1]! < hf[child]!) child += 1;
        if (hf[child]! >= lastF) break;
        heap[i] = heap[child]!;
        hf[i] = hf[child]!;
        i = child;
      }
      heap[i] = lastC;
      hf[i] = lastF;
      return top;
    };
    g[s] = 0;
    came[s] = -1;
    seen[s] = stamp;
    push(s, h(s));
    while (size > 0) {
      const c = pop();
      if (shut[c] === stamp) continue;
      shut[c] = stamp;
      if (c === goal) {
        const path: number[] = [];
        for (let k = c; k >= 0; k = came[k]!) path.push(k);
        return path.reverse();
      }
      const ci = c % nx;
      const cj = Math.floor(c / nx);
      for (let dj = -1; dj <= 1; dj++) {
        for (let di = -1; di <= 1; di++) {
          if (di === 0 && dj === 0) continue;
          const ni = ci + di;
          const nj = cj + dj;
          if (ni < 0 || nj < 0 || ni >= nx || nj >= this.ny) continue;
          const n = nj * nx + ni;
          if (blocked[n] || shut[n] === stamp) continue;
          // No cutting corners past a blocked cell.
          if (di !== 0 && dj !== 0 && (blocked[cj * nx + ni] || blocked[nj * nx + ci])) continue;
          const cost = g[c]! + (di !== 0 && dj !== 0 ? Math.SQRT2 : 1);
          if (seen[n] === stamp && cost >= g[n]!) continue;
          seen[n] = stamp;
          g[n] = cost;
          came[n] = c;
          push(n, cost + h(n));
        }
      }
    }
    return null;
  }
}
