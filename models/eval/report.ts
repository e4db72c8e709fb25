import { isDeepStrictEqual } from 'node:util';
import { overlayChart } from '../../benchmarks/lib/svg-chart.ts';
import type { ClassifierResult, DetectorResult, ReidResult, TargetCheck } from './evaluate.ts';
import { FOUND_IOU } from './localisation.ts';

/** Presenting results: the readable table, the precision-recall chart and manifest updates. */

export interface EvalResults {
  detector?: DetectorResult;
  classifier?: ClassifierResult;
  reid?: ReidResult;
}

/** The results as plain JSON (no chart curves). */
export function resultsJson(r: EvalResults): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.detector) {
    const { curves: _curves, ...detector } = r.detector;
    out.detector = detector;
  }
  if (r.classifier) out.classifier = r.classifier;
  if (r.reid) out.reid = r.reid;
  return out;
}

/**
 * `text` (a JSON object, pretty-printed with 2 spaces) with its top-level `key` set to `value`,
 * every other byte unchanged: the value is replaced in place, or appended as the last field.
 */
export function setTopLevelField(text: string, key: string, value: unknown): string {
  const original = JSON.parse(text) as unknown;
  if (typeof original !== 'object' || original === null || Array.isArray(original))
    throw new Error('not a JSON object');
  const rendered = JSON.stringify(value, null, 2).replace(/\n/g, '\n  ');
  const span = topLevelValueSpan(text, key);
  let out: string;
  if (span) {
    out = text.slice(0, span[0]) + rendered + text.slice(span[1]);
  } else {
    const close = text.lastIndexOf('}');
    let end = close;
    while (end > 0 && /\s/.test(text[end - 1]!)) end--;
    const empty = text[end - 1] === '{';
    out = `${text.slice(0, end)}${empty ? '' : ','}\n  ${JSON.stringify(key)}: ${rendered}\n${text.slice(close)}`;
  }
  const expected = { ...(original as Record<string, unknown>), [key]: JSON.parse(JSON.stringify(value)) };
  if (!isDeepStrictEqual(JSON.parse(out), expected)) throw new Error(`could not set ${key} in place`);
  return out;
}

/** [start, end) of the value of a top-level key, or null if the object has no such key. */
function topLevelValueSpan(text: string, key: string): [number, number] | null {
  let depth = 0;
  let i = 0;
  let expectKey = false;
  const skipString = (at: number): number => {
    let j = at + 1;
    while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      const end = skipString(i);
      if (depth === 1 && expectKey) {
        const name = JSON.parse(text.slice(i, end)) as string;
        let j = end;
        while (/\s/.test(text[j]!)) j++;
        j++; // the colon
        while (/\s/.test(text[j]!)) j++;
        const start = j;
        const stop = valueEnd(text, start, skipString);
        if (name === key) return [start, stop];
        i = stop;
        expectKey = false;
        continue;
      }
      i = end;
      continue;
    }
    if (ch === '{' || ch === '[') {
      depth++;
      if (depth === 1) expectKey = true;
    } else if (ch === '}' || ch === ']') depth--;
    else if (ch === ',' && depth === 1) expectKey = true;
    i++;
  }
  return null;
}

function valueEnd(text: string, start: number, skipString: (at: number) => number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"') {
      i = skipString(i);
      if (depth === 0) return i;
      continue;
    }
    if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') {
      if (depth === 0) return trimEnd(text, i);
      depth--;
      if (depth === 0) return i + 1;
    } else if (ch === ',' && depth === 0) return trimEnd(text, i);
    i++;
  }
  return trimEnd(text, i);
}

function trimEnd(text: string, end: number): number {
  let e = end;
  while (e > 0 && /\s/.test(text[e - 1]!)) e--;
  return e;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

export function prChart(r: DetectorResult, title: string): string {
  return overlayChart({
    title,
    xLabel: 'recall',
    yLabel: 'precision (interpolated)',
    series: r.classes.map((cls, i) => {
      const ap = r.map50[cls];
      const target = (r.targets.find((t) => t.metric === `map50.${cls}`) ?? null)?.target;
      return {
        name: `${cls}: AP50 ${ap === null || ap === undefined ? 'n/a' : ap.toFixed(3)}${target ? ` (target ${target})` : ''}`,
        colour: COLOURS[i % COLOURS.length]!,
        points: r.curves[cls] ?? [],
      };
    }),
  });
}

function num(v: number | null | undefined, digits = 3): string {
  return v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => `  ${r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd()).join('\n');
}

function targetCell(checks: TargetCheck[], metric: string): [string, string] {
  const t = checks.find((c) => c.metric === metric);
  return t ? [`≥${t.target}`, t.pass ? 'pass' : 'FAIL'] : ['', ''];
}

/** The readable report: one table per model, targets with pass or fail. */
export function formatReport(r: EvalResults, split: string): string {
  const out: string[] = [];
  if (r.detector) {
    const d = r.detector;
    out.push(
      `detector — ${split} split, ${d.images} images; AP at IoU ${d.rules.iou}, precision/recall at score ≥ ${d.scoreThreshold}`,
    );
    const rows = [['class', 'AP50', 'target', '', 'precision', 'recall', 'GT', 'ignored GT', 'detections']];
    for (const cls of d.classes) {
      const c = d.perClass[cls]!;
      rows.push([
        cls,
        num(c.ap50),
        ...targetCell(d.targets, `map50.${cls}`),
        num(c.precision),
        num(c.recall),
        String(c.gt),
        String(c.ignoredGt),
        String(c.detections),
      ]);
    }
    rows.push(['mean', num(d.meanAp50), '', '', '', '', '', '', '']);
    out.push(table(rows));
    if (d.heldItem) {
      const h = d.heldItem;
      out.push(
        `  item: two stages, the held-item model boxing the item in a window around each of ${num(h.proposalsPerImage, 1)} proposals an image ` +
          `(precision/recall at score ≥ ${h.scoreThreshold}; ${num(h.timing.meanMs.totalMs, 1)} ms an image); ` +
          `the detector's own item boxes: AP50 ${num(h.oneStage.ap50)}, precision ${num(h.oneStage.precision)}, recall ${num(h.oneStage.recall)}`,
      );
    }
    out.push(
      `  box fit by object size at score ≥ ${d.scoreThreshold} (found: a box at IoU ≥ ${FOUND_IOU}; fit: IoU ≥ ${d.rules.iou}; size: detected ÷ true):`,
    );
    const fitRows = [['class', 'size px', 'objects', 'found', 'fit', 'median IoU', 'size']];
    for (const cls of d.classes)
      for (const b of d.localisation[cls] ?? [])
        fitRows.push([
          cls,
          `${num(b.minPx, 0)}–${num(b.maxPx, 0)}`,
          String(b.objects),
          num(b.found, 2),
          num(b.fit, 2),
          num(b.medianIou, 2),
          b.sizeRatio === null ? '–' : `×${num(b.sizeRatio, 2)}`,
        ]);
    out.push(table(fitRows));
    out.push(
      `  ${num(d.timing.perSecond, 1)} images/s with ${d.timing.concurrency} in flight; mean ${num(d.timing.meanMs.totalMs, 1)} ms, p95 ${num(d.timing.p95TotalMs, 1)} ms per image`,
      '',
    );
  }
  if (r.classifier) {
    const c = r.classifier;
    out.push(`classifier — ${split} split, ${c.known} known and ${c.novel} novel crops`);
    const rows = [
      ['metric', 'value', 'target', ''],
      ['top1', num(c.top1), ...targetCell(c.targets, 'top1')],
      [
        'twin top1',
        c.twinTop1 === null
          ? 'n/a (no twinPairs)'
          : `${num(c.twinTop1)} (${c.twinSkus} SKUs, ${c.twinCrops} crops)`,
        '',
        '',
      ],
      [`falseReject (unknown < ${num(c.unknownThreshold)})`, num(c.falseReject), '', ''],
      ['unknownRejection', num(c.unknownRejection), '', ''],
      ['unknown AUROC', num(c.unknownAuroc), '', ''],
      ['ECE (15 bins)', num(c.ece), '', ''],
    ];
    out.push(table(rows));
    if (c.confusion.length > 0)
      out.push(
        `  most confused: ${c.confusion
          .slice(0, 5)
          .map((e) => `${e.sku}→${e.predicted} ×${e.count}`)
          .join(', ')}`,
      );
    out.push(`  ${num(c.timing.perSecond, 1)} crops/s`, '');
  }
  if (r.reid) {
    const e = r.reid;
    out.push(
      `re-id — ${split} split, ${e.crops} crops with the head in view in ${e.scenes} scenes, ${e.queries} queries (${e.skipped} without a cross-camera match skipped)`,
    );
    out.push(
      table([
        ['metric', 'value', 'target', ''],
        ['rank1', num(e.rank1), ...targetCell(e.targets, 'rank1')],
        ['rank5', num(e.rank5), '', ''],
        ['mAP', num(e.mAP), '', ''],
      ]),
    );
    out.push(
      `  every view (${e.allViews.crops} crops, heads out of view included, ${e.allViews.queries} queries): ` +
        `rank1 ${num(e.allViews.rank1)} rank5 ${num(e.allViews.rank5)} mAP ${num(e.allViews.mAP)}`,
    );
    out.push(`  ${num(e.timing.perSecond, 1)} crops/s`, '');
  }
  const checks = [
    ...(r.detector?.targets ?? []),
    ...(r.classifier?.targets ?? []),
    ...(r.reid?.targets ?? []),
  ];
  const failed = checks.filter((c) => !c.pass);
  out.push(
    failed.length === 0
      ? `all ${checks.length} targets met`
      : `${failed.length} of ${checks.length} targets missed: ${failed.map((f) => `${f.metric} ${num(f.value)} < ${f.target}`).join(', ')}`,
  );
  return out.join('\n');
}
