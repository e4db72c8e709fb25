import { describe, expect, it } from 'vitest';
import type { DetectorResult } from './evaluate.ts';
import { formatReport, prChart, resultsJson, setTopLevelField } from './report.ts';

const MANIFEST = `{
  "schemaVersion": 1,
  "name": "walkout-detector",
  "input": {
    "mean": [0.0, 0, 0],
    "std": [255.0, 255, 255]
  },
  "training": {
    "metrics": { "loss": 1.50 },
    "note": "a \\"quoted\\" }, brace"
  },
  "classes": ["person", "head"]
}
`;

describe('setTopLevelField', () => {
  it('appends the field, leaving every other byte as it was', () => {
    const out = setTopLevelField(MANIFEST, 'metrics', { map50: { person: 0.9 }, split: 'test' });
    expect(out).toBe(
      MANIFEST.replace(
        '"classes": ["person", "head"]\n}',
        `"classes": ["person", "head"],
  "metrics": {
    "map50": {
      "person": 0.9
    },
    "split": "test"
  }
}`,
      ),
    );
  });

  it('replaces the top-level field in place, not a nested one of the same name', () => {
    const once = setTopLevelField(MANIFEST, 'metrics', { a: 1 });
    const twice = setTopLevelField(once, 'metrics', { b: [1, 2] });
    expect(twice).toBe(once.replace('"a": 1', '"b": [\n      1,\n      2\n    ]'));
    expect(twice).toContain('"metrics": { "loss": 1.50 }');
    const middle = '{\n  "metrics": null,\n  "name": "x"\n}\n';
    expect(setTopLevelField(middle, 'metrics', { c: 'd' })).toBe(
      '{\n  "metrics": {\n    "c": "d"\n  },\n  "name": "x"\n}\n',
    );
  });

  it('handles an empty object', () => {
    expect(setTopLevelField('{}\n', 'metrics', 1)).toBe('{\n  "metrics": 1\n}\n');
  });
});

const detector: DetectorResult = {
  images: 10,
  classes: ['person', 'head'],
  map50: { person: 0.97, head: 0.9 },
  meanAp50: 0.935,
  scoreThreshold: 0.25,
  perClass: {
    person: {
      ap50: 0.97,
      gt: 20,
      ignoredGt: 1,
      detections: 40,
      ignoredDetections: 0,
      tp: 19,
      fp: 2,
      precision: 19 / 21,
      recall: 0.95,
    },
    head: {
      ap50: 0.9,
      gt: 18,
      ignoredGt: 3,
      detections: 30,
      ignoredDetections: 2,
      tp: 16,
      fp: 1,
      precision: 16 / 17,
      recall: 16 / 18,
    },
  },
  unknownClassDetections: 0,
  rules: { iou: 0.5, ignoreMinVisibility: 0.3, ignoreMinSizePx: 3, ignoreInsideFraction: 0.5 },
  timing: {
    meanMs: { decodeMs: 0, preprocessMs: 2, inferMs: 30, postprocessMs: 1, totalMs: 33 },
    p50TotalMs: 32,
    p95TotalMs: 40,
    perSecond: 55,
    concurrency: 2,
  },
  targets: [
    { metric: 'map50.person', value: 0.97, target: 0.95, pass: true },
    { metric: 'map50.head', value: 0.9, target: 0.95, pass: false },
  ],
  localisation: {
    person: [{ minPx: 30, maxPx: 140, objects: 20, found: 1, fit: 0.95, medianIou: 0.8, sizeRatio: 1.02 }],
    head: [
      { minPx: 5, maxPx: 28, objects: 8, found: 0.9, fit: 0.5, medianIou: 0.49, sizeRatio: 1.4 },
      { minPx: 28, maxPx: 60, objects: 10, found: 1, fit: 1, medianIou: null, sizeRatio: null },
    ],
  },
  heldItem: null,
  curves: {
    person: [
      [0, 1],
      [0.5, 1],
      [1, 0.9],
    ],
    head: [],
  },
};

describe('report', () => {
  it('leaves chart curves out of the JSON', () => {
    const json = resultsJson({ detector });
    expect(json.detector).not.toHaveProperty('curves');
    expect(json.detector).toMatchObject({ map50: { person: 0.97, head: 0.9 } });
    expect(json).not.toHaveProperty('classifier');
  });

  it('prints targets with pass or fail', () => {
    const text = formatReport({ detector }, 'test');
    expect(text).toMatch(/person\s+0\.970\s+≥0\.95\s+pass/);
    expect(text).toMatch(/head\s+0\.900\s+≥0\.95\s+FAIL/);
    expect(text).toContain('1 of 2 targets missed: map50.head 0.900 < 0.95');
  });

  it('prints how the boxes fit by object size', () => {
    const text = formatReport({ detector }, 'test');
    expect(text).toMatch(/head\s+5–28\s+8\s+0\.90\s+0\.50\s+0\.49\s+×1\.40/);
    expect(text).toMatch(/head\s+28–60\s+10\s+1\.00\s+1\.00\s+n\/a\s+–/);
  });

  it('draws one precision-recall curve per class', () => {
    const svg = prChart(detector, 'PR <test>');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('PR &lt;test>');
    expect(svg).toContain('person: AP50 0.970 (target 0.95)');
    expect(svg.match(/<path /g)).toHaveLength(1);
  });
});
