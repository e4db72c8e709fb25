/**
 * A dependency-free SVG histogram: one panel per distribution, stacked, each with its own x range
 * (latencies of different models rarely share a scale), marking the median and p99.
 */
export interface Distribution {
  name: string;
  unit: string;
  colour: string;
  values: readonly number[];
}

export function histogramChart(opts: {
  title: string;
  panels: Distribution[];
  bins?: number;
  width?: number;
  panelHeight?: number;
}): string {
  const width = opts.width ?? 760;
  const panelH = opts.panelHeight ?? 120;
  const bins = opts.bins ?? 40;
  const left = 60;
  const right = 20;
  const height = 40 + panelH * opts.panels.length + 10;
  const plotW = width - left - right;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`,
  ];
  opts.panels.forEach((p, i) => {
    const top = 34 + i * panelH;
    const bottom = top + panelH - 32;
    const sorted = [...p.values].sort((a, b) => a - b);
    if (sorted.length === 0) return;
    // The x range stops at p99.5 so that one outlier does not squash the shape; the rest go in the last bin.
    const lo = sorted[0]!;
    const hi = Math.max(quantile(sorted, 0.995), lo + 1e-6);
    const counts = new Array<number>(bins).fill(0);
    for (const v of sorted) counts[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]! += 1;
    const cMax = Math.max(...counts);
    const sx = (v: number) => left + ((Math.min(v, hi) - lo) / (hi - lo)) * plotW;
    const bw = plotW / bins;
    parts.push(`<line x1="${left}" y1="${bottom}" x2="${width - right}" y2="${bottom}" stroke="#999"/>`);
    counts.forEach((c, k) => {
      const h = (c / cMax) * (bottom - top - 26);
      if (c > 0)
        parts.push(
          `<rect x="${(left + k * bw).toFixed(1)}" y="${(bottom - h).toFixed(1)}" width="${Math.max(1, bw - 1).toFixed(1)}" height="${h.toFixed(1)}" fill="${p.colour}"/>`,
        );
    });
    for (const [q, label] of [
      [0.5, 'p50'],
      [0.99, 'p99'],
    ] as const) {
      const v = quantile(sorted, q);
      const x = sx(v).toFixed(1);
      parts.push(
        `<line x1="${x}" y1="${top + 27}" x2="${x}" y2="${bottom}" stroke="#c00" stroke-dasharray="3 2"/>`,
      );
      const anchor = sx(v) > width - right - 40 ? 'end' : 'middle';
      parts.push(
        `<text x="${x}" y="${top + 24}" text-anchor="${anchor}" fill="#c00">${label} ${fmt(v)}</text>`,
      );
    }
    parts.push(`<rect x="${left}" y="${top}" width="10" height="10" fill="${p.colour}"/>`);
    parts.push(
      `<text x="${left + 14}" y="${top + 9}" fill="#333">${esc(`${p.name} (${sorted.length} calls)`)}</text>`,
    );
    parts.push(`<text x="${left}" y="${bottom + 13}" text-anchor="middle">${fmt(lo)}</text>`);
    parts.push(
      `<text x="${width - right}" y="${bottom + 13}" text-anchor="end">${fmt(hi)} ${esc(p.unit)}</text>`,
    );
    parts.push(`<text x="${left - 6}" y="${top + 30}" text-anchor="end">${cMax}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** Nearest-rank quantile of sorted values. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(2);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}
