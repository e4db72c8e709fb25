import { join } from 'node:path';
import {
  type Catalog,
  loadCatalog,
  loadLayout,
  recordingPaths,
  type StoreLayout,
} from '../../proto/index.ts';

/**
 * The store a recording was made in (its layout.json and catalog.json), validated with proto's
 * schemas and checked against each other, so `--replay DIR` needs no `--layout`. Throws a
 * WalkoutError naming the file and what is wrong with it.
 */
export function loadRecordingStore(dir: string): { layout: StoreLayout; catalog: Catalog } {
  const catalog = loadCatalog(join(dir, recordingPaths.catalog));
  const layout = loadLayout(join(dir, recordingPaths.layout), catalog);
  return { layout, catalog };
}
