/**
 * A dependency-free SVG grouped bar chart for fractions (0..1): one group per category (a
 * scenario), one bar per measure, each measure's target drawn as a tick on its bars.
 */
export interface BarMeasure {
  name: string;
  colour: string;
  /** A dashed tick at this value on every bar of the measure. */
  target?: number;
}

export function barChart(opts: {
  title: string;
  categories: string[];
  measures: BarMeasure[];
  /** values[category][measure], fractions 0..1; null where not measured. */
  values: (number | null)[][];
  width?: number;
  height?: number;
}): string {
  const width = opts.width ?? 900;
  const height = opts.height ?? 340;
  const left = 50;
  const right = 160;
  const top = 36;
  const bottom = 46;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const groupW = plotW / Math.max(1, opts.categories.length);
  const barW = (groupW * 0.8) / Math.max(1, opts.measures.length);
  const y = (v: number) => top + plotH * (1 - Math.max(0, Math.min(1, v)));
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    '<rect width="100%" height="100%" fill="white"/>',
    `<text x="${left + plotW / 2}" y="20" text-anchor="middle" font-size="14">${esc(opts.title)}</text>`,
  ];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    parts.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y(tick)}" y2="${y(tick)}" stroke="#ddd"/>`,
      `<text x="${left - 6}" y="${y(tick) + 4}" text-anchor="end">${tick.toFixed(2)}</text>`,
    );
  }
  opts.categories.forEach((cat, ci) => {
    const x0 = left + ci * groupW + groupW * 0.1;
    opts.measures.forEach((m, mi) => {
      const v = opts.values[ci]?.[mi];
      const x = x0 + mi * barW;
      if (v === null || v === undefined) return;
      parts.push(
        `<rect x="${x}" y="${y(v)}" width="${barW - 1}" height="${top + plotH - y(v)}" fill="${m.colour}"><title>${esc(`${cat} ${m.name}: ${v.toFixed(4)}`)}</title></rect>`,
      );
      if (m.target !== undefined)
        parts.push(
          `<line x1="${x}" x2="${x + barW - 1}" y1="${y(m.target)}" y2="${y(m.target)}" stroke="black" stroke-dasharray="2,1"/>`,
        );
    });
    parts.push(
      `<text x="${x0 + (barW * opts.measures.length) / 2}" y="${top + plotH + 16}" text-anchor="middle">${esc(cat)}</text>`,
    );
  });
  opts.measures.forEach((m, mi) => {
    const ly = top + 10 + mi * 16;
    parts.push(
      `<rect x="${left + plotW + 14}" y="${ly - 9}" width="10" height="10" fill="${m.colour}"/>`,
      `<text x="${left + plotW + 28}" y="${ly}">${esc(m.name)}${m.target !== undefined ? ` (target ${m.target})` : ''}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
