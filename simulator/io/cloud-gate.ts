import { z } from 'zod';
import type { Logger } from '../../platform/log.ts';
import { type GateCommand, type GateScan, topics } from '../../proto/index.ts';
import type { DeviceMessage } from '../run/engine.ts';
import { cloudCall } from './cloud-http.ts';
import type { DeviceSink } from './device-sink.ts';
import { InFlight } from './in-flight.ts';

/** The cloud's answer to a scan (POST /v1/gates/:gateId/scans); fields the gate does not use are dropped. */
export const CloudGateAnswer = z.discriminatedUnion('decision', [
  z.object({ decision: z.literal('open'), visitId: z.string(), party: z.number().int().min(1) }),
  z.object({ decision: z.literal('deny'), reason: z.string().min(1), message: z.string().optional() }),
]);
export type CloudGateAnswer = z.infer<typeof CloudGateAnswer>;

/** What the gate answers when the cloud does not: it stays shut (fail closed). */
export const CLOUD_UNAVAILABLE = 'cloud_unavailable';

/** The barrier command for one scan, from the cloud's decision (or the gate's own, for a party pass). */
export function commandFor(
  scan: Pick<GateScan, 'scanId' | 'gateId'>,
  answer: { decision: 'open'; visitId: string; party: number } | { decision: 'deny'; reason: string },
  tsMs: number,
): GateCommand {
  // The same fields in the same order as the local authority's commands, then the visit admitted.
  const base = { commandId: `${scan.scanId}-cmd`, gateId: scan.gateId, tsMs };
  return answer.decision === 'open'
    ? { ...base, action: 'open', scanId: scan.scanId, visitId: answer.visitId, party: answer.party }
    : { ...base, action: 'deny', scanId: scan.scanId, reason: answer.reason.slice(0, 200) };
}

/** How long a party's later members have to scan after the cloud let the party in. */
const PASS_MS = 120_000;

/**
 * One code lets a whole party in: the cloud decides once, for the payer and companions, and the
 * gate itself opens for the same code's next `party − 1` scans (asking the cloud again would be a
 * replay). Keyed by gate and code; a pass lapses after PASS_MS.
 */
export class PartyPasses {
  private readonly left = new Map<string, { n: number; untilMs: number; visitId: string; party: number }>();

  grant(gateId: string, qr: string, visit: { visitId: string; party: number }, tsMs: number): void {
    if (visit.party > 1)
      this.left.set(`${gateId}\n${qr}`, { n: visit.party - 1, untilMs: tsMs + PASS_MS, ...visit });
  }

  /** The party's visit when this scan is one of a party already let in (using up one pass). */
  take(gateId: string, qr: string, tsMs: number): { visitId: string; party: number } | null {
    const key = `${gateId}\n${qr}`;
    const pass = this.left.get(key);
    if (!pass) return null;
    if (tsMs > pass.untilMs) {
      this.left.delete(key);
      return null;
    }
    pass.n -= 1;
    if (pass.n === 0) this.left.delete(key);
    return { visitId: pass.visitId, party: pass.party };
  }
}

export interface CloudGateOptions {
  baseUrl: string;
  /** The gate controller's device credential, as created by the cloud. */
  device: { id: string; secret: string };
  storeId: string;
  /** Only entry gates read codes; scans elsewhere are not the cloud's to decide. */
  entryGateIds: ReadonlySet<string>;
  /** Shared with the app, so a run flat out waits for the gates' answers too. */
  inFlight?: InFlight;
  log?: Logger;
}

/**
 * The gate controllers as HTTP clients of the cloud: every scan the simulated scanners publish is
 * also posted to the cloud, and its answer opens or shuts the barrier (through `command`, as a
 * remote authority's would) and goes out as the gate's command message, as a local decision does.
 */
export function withCloudGates(
  inner: DeviceSink,
  gates: { command(cmd: GateCommand): boolean },
  nowMs: () => number,
  opts: CloudGateOptions,
): DeviceSink {
  const passes = new PartyPasses();
  const own = new InFlight();
  let closed = false;
  const answer = (cmd: GateCommand) => {
    if (closed) return;
    gates.command(cmd);
    inner.publish({
      tsMs: cmd.tsMs,
      kind: 'gateCommand',
      deviceId: cmd.gateId,
      topic: topics.gateCommand(opts.storeId, cmd.gateId),
      payload: cmd,
      retain: false,
    });
  };
  const ask = (scan: GateScan): Promise<void> =>
    cloudCall(opts.baseUrl, 'POST', `/v1/gates/${encodeURIComponent(scan.gateId)}/scans`, CloudGateAnswer, {
      body: { qr: scan.qr },
      auth: { basic: opts.device },
    })
      .catch((err: unknown): CloudGateAnswer => {
        opts.log?.warn('no gate decision from the cloud', {
          scanId: scan.scanId,
          err: (err as Error).message,
        });
        return { decision: 'deny', reason: CLOUD_UNAVAILABLE };
      })
      .then((a) => {
        const tsMs = nowMs();
        if (a.decision === 'open') passes.grant(scan.gateId, scan.qr, a, tsMs);
        answer(commandFor(scan, a, tsMs));
      });
  return {
    publish(m: DeviceMessage) {
      inner.publish(m);
      if (m.kind !== 'gateScan') return;
      const scan = m.payload as GateScan;
      if (!opts.entryGateIds.has(scan.gateId)) return;
      const pass = passes.take(scan.gateId, scan.qr, m.tsMs);
      if (pass) {
        answer(commandFor(scan, { decision: 'open', ...pass }, m.tsMs));
        return;
      }
      const done = own.track(ask(scan));
      opts.inFlight?.track(done);
    },
    get published() {
      return inner.published;
    },
    async close() {
      // Answers still on their way are published before the devices say goodbye.
      await own.settled();
      closed = true;
      await inner.close();
    },
  };
}
