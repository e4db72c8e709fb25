// The worker thread's entry, in plain JavaScript: on Node 20 a worker does not inherit the parent's
// module hooks, so it registers tsx (a runtime dependency: the edge runs TypeScript through it, see
// docs/architecture.md) before importing the TypeScript worker. Node resolves `tsx/esm/api` from
// this file by the package's own exports, so nothing here depends on tsx's internal layout.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
