import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Catalog,
  loadCatalog,
  loadJsonFile,
  loadLayout,
  type StoreLayout,
  WalkoutError,
} from '../../proto/index.ts';
import { Scenario } from './schema.ts';

const SCENARIO_DIR = fileURLToPath(new URL('../scenarios/', import.meta.url));
const REFERENCE_DIR = fileURLToPath(new URL('../../proto/stores/reference/', import.meta.url));

export interface LoadedScenario {
  scenario: Scenario;
  layout: StoreLayout;
  catalog: Catalog;
  paths: { scenario: string; layout: string; catalog: string };
}

/** A shipped scenario by name, or any scenario file by path. */
export function scenarioPath(nameOrPath: string): string {
  if (nameOrPath.endsWith('.json') || nameOrPath.includes('/')) return resolve(nameOrPath);
  const shipped = resolve(SCENARIO_DIR, `${nameOrPath}.json`);
  if (!existsSync(shipped))
    throw new WalkoutError('SCENARIO_INVALID', `no scenario named ${nameOrPath} (looked for ${shipped})`);
  return shipped;
}

/**
 * Loads a scenario with its store: layout and catalogue from flags, else from the scenario file,
 * else the reference store. Everything is validated before anything starts.
 */
export function loadScenario(
  nameOrPath: string,
  overrides: { layout?: string; catalog?: string } = {},
): LoadedScenario {
  const scenarioFile = scenarioPath(nameOrPath);
  const scenario = loadJsonFile(scenarioFile, Scenario);
  const rel = (p: string | undefined, fallback: string) =>
    p ? (isAbsolute(p) ? p : resolve(dirname(scenarioFile), p)) : fallback;
  const catalogPath = overrides.catalog
    ? resolve(overrides.catalog)
    : rel(scenario.catalog, resolve(REFERENCE_DIR, 'catalog.json'));
  const layoutPath = overrides.layout
    ? resolve(overrides.layout)
    : rel(scenario.layout, resolve(REFERENCE_DIR, 'layout.json'));
  const catalog = loadCatalog(catalogPath);
  const layout = loadLayout(layoutPath, catalog);
  return {
    scenario,
    layout,
    catalog,
    paths: { scenario: scenarioFile, layout: layoutPath, catalog: catalogPath },
  };
}
