/** What the fusion says of the plates' health: live state, a report to the cloud, and alerts. Pure. */
import type { Alert } from '../stages.ts';
import type { PlateHealth } from '../types.ts';
import type { FusionOutput } from './outputs.ts';

type Raise = (kind: Alert['kind'], tsMs: number, detail: string, refs: Partial<Alert>) => FusionOutput;

export function healthOutputs(
  health: readonly PlateHealth[],
  faultChanges: readonly { plateId: string; deltaG: number; toMs: number }[],
  alert: Raise,
): FusionOutput[] {
  const out: FusionOutput[] = [];
  for (const f of faultChanges) {
    const detail = `plate ${f.plateId} changed ${f.deltaG.toFixed(0)} g while it could not be read`;
    out.push(alert('sensor-fault', f.toMs, detail, { plateId: f.plateId }));
  }
  for (const h of health) {
    out.push({ kind: 'health', health: h });
    out.push({
      kind: 'report',
      tsMs: h.sinceMs,
      report: {
        body: 'health',
        health: {
          component: `plate:${h.plateId}`,
          // A stuck or dropping cell still reports; a silent one is gone.
          status: h.status === 'ok' ? 'ok' : h.status === 'silent' ? 'down' : 'degraded',
          detail: h.detail ?? h.status,
        },
      },
    });
    if (h.status !== 'ok')
      out.push(alert('sensor-fault', h.sinceMs, `plate ${h.plateId}: ${h.status}`, { plateId: h.plateId }));
  }
  return out;
}
