import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// edge, cloud and simulator each deploy on their own; they may share proto/ and platform/ only.
const ISOLATED = ['edge', 'cloud', 'simulator'] as const;
// Not written yet: nothing to scan. Once the folder exists the rule must cover it, so the test
// below fails until it is taken off this list.
const UNWRITTEN: readonly string[] = [];
const WRITTEN = ISOLATED.filter((f) => !UNWRITTEN.includes(f));
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(?:ts|tsx|mts|cts)$/;

// `[^'";]*?` lets the clause span lines (multi-line named imports) without crossing statements.
const IMPORT_PATTERNS = [
  /\b(?:import|export)\s+(?:type\s+)?[^'";]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\s*\(\s*['"`]([^'"`$]+)['"`]\s*[,)]/g,
  /\brequire\s*\(\s*['"`]([^'"`$]+)['"`]\s*\)/g,
];

interface Violation {
  file: string;
  specifier: string;
  target: string;
}

function topFolder(absPath: string): string | undefined {
  const rel = relative(ROOT, absPath);
  if (rel.startsWith('..')) return undefined;
  return rel.split(sep)[0];
}

function findViolations(file: string, source: string): Violation[] {
  const own = topFolder(file);
  const violations: Violation[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const match of source.matchAll(pattern)) {
      const specifier = match[1]!;
      // Bare specifiers are packages; only paths can reach a sibling folder.
      if (!specifier.startsWith('.') && !specifier.startsWith('/')) continue;
      const target = topFolder(resolve(dirname(file), specifier));
      if (target && target !== own && (ISOLATED as readonly string[]).includes(target)) {
        violations.push({ file: relative(ROOT, file), specifier, target });
      }
    }
  }
  return violations;
}

// A missing folder throws: a scan of nothing would pass whatever the imports.
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules' || e.name.startsWith('.')) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return SOURCE.test(e.name) && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

describe('dependency rule: edge, cloud and simulator never import each other', () => {
  it('the scanner catches every import form (guards against a regex that matches nothing)', () => {
    const file = join(ROOT, 'edge', 'fusion', 'tracker.ts');
    const source = [
      "import { a } from '../../cloud/ledger.ts';",
      "import type { B } from '../../simulator/types.ts';",
      'import {\n  c,\n  d,\n} from "../../cloud/multi.ts";',
      "export * from '../../simulator/re-export.ts';",
      "export { e } from '../../cloud/named.ts';",
      "import '../../cloud/side-effect.ts';",
      "const f = await import('../../simulator/lazy.ts');",
      // allowed: own folder, shared folders, packages
      "import { g } from './local.ts';",
      "import { h } from '../../proto/messages.ts';",
      "import { i } from '../../platform/log.ts';",
      "import { z } from 'zod';",
      "const j = await import('./lazy-local.ts');",
    ].join('\n');
    expect(findViolations(file, source).map((v) => v.specifier)).toEqual([
      '../../cloud/ledger.ts',
      '../../simulator/types.ts',
      '../../cloud/multi.ts',
      '../../simulator/re-export.ts',
      '../../cloud/named.ts',
      '../../cloud/side-effect.ts',
      '../../simulator/lazy.ts',
    ]);
    expect(findViolations(join(ROOT, 'cloud', 'x.ts'), "import { a } from './y.ts';")).toEqual([]);
  });

  it('scans every folder it guards, and reads real imports in each', () => {
    for (const folder of UNWRITTEN)
      expect(existsSync(join(ROOT, folder)), `${folder}/ exists: take it off UNWRITTEN`).toBe(false);
    for (const folder of WRITTEN) {
      const files = sourceFiles(join(ROOT, folder));
      expect(files.length, `${folder}/ source files`).toBeGreaterThan(10);
      // Every folder leans on the contracts: the scan that finds those imports would find others.
      const toProto = files.filter((f) =>
        relativeImports(f, readFileSync(f, 'utf8')).some((i) => inside(i.target, join(ROOT, 'proto'))),
      );
      expect(toProto.length, `${folder}/ files importing proto/`).toBeGreaterThan(0);
    }
  });

  it('holds for every source file', () => {
    const violations = WRITTEN.flatMap((folder) =>
      sourceFiles(join(ROOT, folder)).flatMap((file) => findViolations(file, readFileSync(file, 'utf8'))),
    );
    const report = violations.map((v) => `${v.file} imports '${v.specifier}' (inside ${v.target}/)`);
    expect(report, `forbidden cross-imports:\n${report.join('\n')}`).toEqual([]);
  });
});

// The model loader ships inside the edge, so it may lean only on what the edge may: the training
// and evaluation code beside it imports the simulator and must stay out of the edge's reach.
const RUNTIME = join(ROOT, 'models', 'runtime');
const RUNTIME_MAY_IMPORT = [RUNTIME, join(ROOT, 'proto'), join(ROOT, 'platform')];

function relativeImports(file: string, source: string): { specifier: string; target: string }[] {
  return IMPORT_PATTERNS.flatMap((pattern) =>
    [...source.matchAll(pattern)]
      .map((m) => m[1]!)
      .filter((s) => s.startsWith('.') || s.startsWith('/'))
      .map((specifier) => ({ specifier, target: resolve(dirname(file), specifier) })),
  );
}

const inside = (path: string, dir: string) => path === dir || path.startsWith(dir + sep);

function runtimeViolations(file: string, source: string): string[] {
  return relativeImports(file, source)
    .filter((i) => !RUNTIME_MAY_IMPORT.some((dir) => inside(i.target, dir)))
    .map((i) => i.specifier);
}

describe('dependency rule: the model loader is edge-safe', () => {
  it('models/runtime imports only itself, proto/ and platform/', () => {
    const files = sourceFiles(RUNTIME);
    expect(files.length, 'models/runtime source files').toBeGreaterThan(10);
    const report = files.flatMap((file) =>
      runtimeViolations(file, readFileSync(file, 'utf8')).map(
        (s) => `${relative(ROOT, file)} imports '${s}'`,
      ),
    );
    expect(report).toEqual([]);
    expect(runtimeViolations(join(RUNTIME, 'x.ts'), "import { a } from '../data/run.ts';")).toEqual([
      '../data/run.ts',
    ]);
  });

  it('edge, cloud and simulator reach into models/ only through models/runtime', () => {
    const models = join(ROOT, 'models');
    const report = WRITTEN.flatMap((folder) =>
      sourceFiles(join(ROOT, folder)).flatMap((file) =>
        relativeImports(file, readFileSync(file, 'utf8'))
          .filter((i) => inside(i.target, models) && !inside(i.target, RUNTIME))
          .map((i) => `${relative(ROOT, file)} imports '${i.specifier}'`),
      ),
    );
    expect(report).toEqual([]);
  });
});
