/**
 * A dependency-free SVG line chart, so benchmark results come with a picture that any browser or
 * code review shows. Each series gets its own y scale (labelled at its own axis tick), since the
 * quantities plotted together rarely share units.
 */
export interface Series {
  name: string;
  unit: string;
  colour: string;
  points: [number, number][];
  /** Draw a dashed horizontal line at this value (a target). */
  target?: number;
}

export function lineChart(opts: {
  title: string;
  xLabel: string;
  series: Series[];
  width?: number;
  height?: number;
}): string {
  const width = opts.width ?? 760;
  const height = opts.height ?? 150 * opts.series.length + 60;
  const left = 70;
  const right = 20;
  const panelH = (height - 60) / opts.series.length;
  const xs = opts.series.flatMap((s) => s.points.map((p) => p[0]));
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs, xMin + 1);
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin)) * (width - left - right);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`,
  ];
  opts.series.forEach((s, i) => {
    const top = 30 + i * panelH;
    const bottom = top + panelH - 25;
    const ys = s.points.map((p) => p[1]).concat(s.target ?? []);
    const yMax = Math.max(...ys, 1e-9) * 1.1;
    const sy = (y: number) => bottom - (y / yMax) * (bottom - top);
    parts.push(`<line x1="${left}" y1="${bottom}" x2="${width - right}" y2="${bottom}" stroke="#999"/>`);
    parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#999"/>`);
    for (const f of [0, 0.5, 1]) {
      parts.push(`<text x="${left - 6}" y="${sy(yMax * f) + 4}" text-anchor="end">${fmt(yMax * f)}</text>`);
    }
    parts.push(
      `<text x="${left + 6}" y="${top + 10}" fill="${s.colour}">${esc(`${s.name} (${s.unit})`)}</text>`,
    );
    if (s.target !== undefined) {
      parts.push(
        `<line x1="${left}" y1="${sy(s.target)}" x2="${width - right}" y2="${sy(s.target)}" stroke="#c00" stroke-dasharray="4 3"/>`,
      );
      parts.push(
        `<text x="${width - right}" y="${sy(s.target) - 3}" text-anchor="end" fill="#c00">target ${fmt(s.target)}</text>`,
      );
    }
    const path = s.points
      .map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`)
      .join('');
    parts.push(`<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>`);
  });
  parts.push(`<text x="${width / 2}" y="${height - 8}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(`<text x="${left}" y="${height - 22}">${fmt(xMin)}</text>`);
  parts.push(`<text x="${width - right}" y="${height - 22}" text-anchor="end">${fmt(xMax)}</text>`);
  parts.push('</svg>');
  return parts.join('\n');
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toFixed(2);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

/**
 * Several series on one pair of axes with fixed ranges (e.g. precision-recall curves, both 0..1),
 * with a legend. Unlike lineChart, the series share one y scale.
 */
export function overlayChart(opts: {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Omit<Series, 'unit' | 'target'>[];
  xRange?: [number, number];
  yRange?: [number, number];
  width?: number;
  height?: number;
}): string {
  const width = opts.width ?? 560;
  const height = opts.height ?? 460;
  const [left, right, top, bottom] = [60, 20, 30, height - 45];
  const [xMin, xMax] = opts.xRange ?? [0, 1];
  const [yMin, yMax] = opts.yRange ?? [0, 1];
  const sx = (x: number) => left + ((x - xMin) / (xMax - xMin || 1)) * (width - left - right);
  const sy = (y: number) => bottom - ((y - yMin) / (yMax - yMin || 1)) * (bottom - top);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="18" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`,
  ];
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const x = xMin + f * (xMax - xMin);
    const y = yMin + f * (yMax - yMin);
    parts.push(`<line x1="${left}" y1="${sy(y)}" x2="${width - right}" y2="${sy(y)}" stroke="#eee"/>`);
    parts.push(`<line x1="${sx(x)}" y1="${top}" x2="${sx(x)}" y2="${bottom}" stroke="#eee"/>`);
    parts.push(`<text x="${left - 6}" y="${sy(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
    parts.push(`<text x="${sx(x)}" y="${bottom + 14}" text-anchor="middle">${fmt(x)}</text>`);
  }
  parts.push(`<line x1="${left}" y1="${bottom}" x2="${width - right}" y2="${bottom}" stroke="#999"/>`);
  parts.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${bottom}" stroke="#999"/>`);
  for (const s of opts.series) {
    if (s.points.length === 0) continue;
    const path = s.points
      .map((p, k) => `${k === 0 ? 'M' : 'L'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`)
      .join('');
    parts.push(`<path d="${path}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>`);
  }
  // The legend, bottom left (where precision-recall curves rarely go), over a light backdrop.
  const legendW = Math.max(0, ...opts.series.map((s) => s.name.length)) * 6.2 + 40;
  parts.push(
    `<rect x="${left + 4}" y="${bottom - 24 - (opts.series.length - 1) * 16}" width="${legendW}" height="${opts.series.length * 16 + 6}" fill="white" fill-opacity="0.85"/>`,
  );
  opts.series.forEach((s, i) => {
    const ly = bottom - 10 - (opts.series.length - 1 - i) * 16;
    parts.push(
      `<line x1="${left + 10}" y1="${ly - 4}" x2="${left + 30}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="2"/>`,
    );
    parts.push(`<text x="${left + 36}" y="${ly}">${esc(s.name)}</text>`);
  });
  parts.push(`<text x="${width / 2}" y="${height - 10}" text-anchor="middle">${esc(opts.xLabel)}</text>`);
  parts.push(
    `<text x="14" y="${(top + bottom) / 2}" text-anchor="middle" transform="rotate(-90 14 ${(top + bottom) / 2})">${esc(opts.yLabel)}</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}
