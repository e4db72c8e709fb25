/**
 * One run's receipts scored (score.ts) from what a run leaves: the truth's visits and events, the
 * edge's reports and weight events, the store's plates and catalogue. Shared by run-one.ts, which
 * scores a run as it ends, and rescore.ts, which scores kept runs again after the scorer changed.
 */
import { FusionConfig } from '../../edge/fusion/config.ts';
import type { Report } from '../../edge/stages.ts';
import type { WeightEvent } from '../../edge/types.ts';
import { localVisitId } from '../../edge/visits/book.ts';
import type { Catalog } from '../../proto/catalog/schema.ts';
import type { StoreLayout } from '../../proto/layout/schema.ts';
import { type Score, type ScoredReport, score, type TruthEvent, type TruthVisit } from './score.ts';

export interface RunOutcome {
  truthVisits: TruthVisit[];
  truthEvents: TruthEvent[];
  reports: readonly Report[];
  weightEvents: readonly WeightEvent[];
  layout: Pick<StoreLayout, 'plates'>;
  catalog: Catalog;
}

export function scoreRun(run: RunOutcome): Score {
  // Visits the gate opened by itself are named by their code (edge/visits/book.ts).
  const byEdgeId = new Map(
    run.truthVisits.flatMap((v) => (v.qr ? [[localVisitId(v.qr), v.visitId] as const] : [])),
  );
  const shelfOf = new Map(run.layout.plates.map((p) => [p.id, p.shelfId]));
  return score({
    truthVisits: run.truthVisits,
    truthEvents: run.truthEvents,
    reports: run.reports.filter((r): r is ScoredReport => r.body === 'visit' || r.body === 'cart'),
    visitOf: (id) => byEdgeId.get(id),
    soldByWeight: new Set(run.catalog.items.filter((i) => i.soldBy === 'weight').map((i) => i.sku)),
    shelfOf: (p) => shelfOf.get(p),
    weightEvents: run.weightEvents.map((e) => ({
      shelfId: e.shelfId,
      plateIds: e.plates.map((p) => p.plateId),
      startMs: e.startMs,
      settledMs: e.settledMs,
    })),
    reviewBelow: FusionConfig.parse({}).reviewBelow,
    // The scale's tolerance for loose items: a few grams of noise and settling.
    gramsTolerance: 10,
  });
}
