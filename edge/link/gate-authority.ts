/**
 * The edge as the gate's authority (docs/edge.md): every GateScan from the store's broker is asked
 * of the cloud over the EdgeLink; when the cloud cannot answer in time the code is checked against
 * the entry keys kept at the edge, and an offline entry is stored for the cloud before the gate
 * opens. The command goes out on the gate's command topic and into the edge's own fusion once: it
 * is handed to the loop as an input right after it is published, and its echo from the broker
 * (the edge subscribes to the whole store) is dropped here.
 *
 * It wraps the store's InputSource, so the loop needs nothing of its own for it: the scan reaches
 * the fusion as it came, and the command follows as soon as it is decided.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Logger } from '../../platform/log.ts';
import { parseWith } from '../../proto/index.ts';
import type { GateCommand, GateScan } from '../../proto/mqtt/payloads.ts';
import { WrappedInput } from '../io/wrapped-input.ts';
import type { CloudLink, EdgeInput, InputSource } from '../stages.ts';
import {
  cloudDecided,
  decideGate,
  deny,
  OFFLINE_UNRECORDED_REASON,
  PARTY_PASS_AFTER_EXPIRY_MS,
} from './gate-decision.ts';
import type { OfflineGate } from './offline-gate.ts';

export const GateAuthorityConfig = z
  .object({
    askTimeoutMs: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(1_000)
      .describe(
        'how long a scan waits for the cloud’s answer over the link before the code is checked at the edge; the shopper stands at the barrier meanwhile (the cloud answers in tens of ms)',
      ),
    memory: z
      .number()
      .int()
      .min(16)
      .default(10_000)
      .describe(
        'scan and command ids remembered: a scan redelivered by the broker is decided once, and the edge’s own commands coming back from the broker are dropped',
      ),
  })
  .strict();
export type GateAuthorityConfig = z.infer<typeof GateAuthorityConfig>;

export function gateAuthorityConfig(raw: unknown): GateAuthorityConfig {
  return parseWith(GateAuthorityConfig, raw ?? {}, 'edge configuration: gate', 'CONFIG_INVALID');
}

export interface GateAuthorityDeps {
  link: Pick<CloudLink, 'askGate' | 'report'>;
  offline: Pick<OfflineGate, 'check' | 'passFor' | 'keepPass' | 'usePass'>;
  /** Publishes the command on its gate's command topic (QoS 1); resolves when the broker has it. */
  publish(command: GateCommand): Promise<void>;
  log: Logger;
  /** Epoch ms: a code's validity offline and the command's time. */
  nowMs?: () => number;
  newVisitId?: () => string;
}

/** Decisions by how they were made: `cloud`, `offline` (opened offline), `denied` (offline denials). */
export type GateDecisionCounts = Record<'cloud' | 'offline' | 'offlineDenied' | 'unrecorded', number>;

export class GateAuthorityInput extends WrappedInput {
  /** Commands decided, for the loop before any other input. */
  private readonly ready: EdgeInput[] = [];
  private wake: (() => void) | null = null;
  private innerNext: Promise<EdgeInput | null> | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  /** Scan ids decided and command ids published (insertion order: the oldest goes first). */
  private readonly seen = new Set<string>();
  private readonly counts: GateDecisionCounts = { cloud: 0, offline: 0, offlineDenied: 0, unrecorded: 0 };
  private readonly nowMs: () => number;
  private readonly newVisitId: () => string;

  constructor(
    inner: InputSource,
    private readonly cfg: GateAuthorityConfig,
    private readonly deps: GateAuthorityDeps,
  ) {
    super(inner);
    this.nowMs = deps.nowMs ?? Date.now;
    this.newVisitId = deps.newVisitId ?? randomUUID;
  }

  async next(): Promise<EdgeInput | null> {
    for (;;) {
      const command = this.ready.shift();
      if (command) return command;
      this.innerNext ??= this.inner.next();
      const woken = new Promise<'woken'>((resolve) => {
        this.wake = () => resolve('woken');
      });
      const got = await Promise.race([this.innerNext.then((input) => ({ input })), woken]);
      this.wake = null;
      if (got === 'woken') continue;
      this.innerNext = null;
      const { input } = got;
      if (input === null) {
        // The store's input ended: the scans being decided still get their commands.
        if (this.inFlight.size === 0 && this.ready.length === 0) return null;
        await Promise.all([...this.inFlight]);
        this.innerNext = Promise.resolve(null);
        continue;
      }
      if (input.kind !== 'device') return input;
      const m = input.message;
      // Its own command, back from the broker: the fusion had it when it was published.
      if (m.kind === 'gateCommand' && this.seen.has(`c:${m.payload.commandId}`)) continue;
      if (m.kind === 'gateScan' && !this.remember(`s:${m.payload.scanId}`)) this.decide(m.payload, m.storeId);
      return input;
    }
  }

  /** How the gate's decisions were made since start. */
  decisions(): GateDecisionCounts {
    return { ...this.counts };
  }

  /** Closes the store's input once the scans being decided have their commands out. */
  override async close(): Promise<void> {
    await Promise.all([...this.inFlight]);
    await this.inner.close();
  }

  private decide(scan: GateScan, storeId: string): void {
    const p = this.answer(scan)
      .catch((err: unknown) => {
        // The gate stays shut: a scan this edge could not decide is a denial, never an opening.
        this.deps.log.error('gate scan not decided', { scanId: scan.scanId, err });
        return deny(scan, 'unavailable', this.nowMs());
      })
      .then((command) => this.command(command, storeId));
    this.inFlight.add(p);
    p.finally(() => this.inFlight.delete(p));
  }

  private async answer(scan: GateScan): Promise<GateCommand> {
    const { scanId, gateId, qr } = scan;
    const answer = cloudDecided(await this.deps.link.askGate({ scanId, gateId, qr }, this.cfg.askTimeoutMs));
    const scanMs = this.nowMs();
    const pass = answer ? undefined : this.deps.offline.passFor(qr, scanMs);
    // A code with passes left is no replay: it is not checked (and used up) again.
    const check = answer || pass ? null : await this.deps.offline.check(qr, scanMs);
    const { command, report } = decideGate(
      scan,
      answer,
      check,
      { tsMs: this.nowMs(), offlineVisitId: this.newVisitId() },
      pass,
    );
    if (answer) this.counts.cloud += 1;
    else if (pass && command.action === 'open') {
      this.deps.offline.usePass(qr);
      this.counts.offline += 1;
      this.deps.log.warn('gate opened offline for a party member', {
        scanId,
        gateId,
        visitId: command.visitId,
      });
      return command;
    } else if (!report) {
      this.counts.offlineDenied += 1;
      this.deps.log.warn('gate scan denied offline', { scanId, gateId, reason: command.reason });
    }
    if (!report) return command;
    try {
      // Stored before the gate opens: an entry the cloud would never hear of is not let in.
      await this.deps.link.report(report, scanMs);
    } catch (err) {
      this.counts.unrecorded += 1;
      this.deps.log.error('offline entry not stored; the gate stays shut', { scanId, err });
      return deny(scan, OFFLINE_UNRECORDED_REASON, this.nowMs());
    }
    this.counts.offline += 1;
    if (check?.ok && command.visitId && (command.party ?? 1) > 1)
      this.deps.offline.keepPass(qr, {
        visitId: command.visitId,
        gateId,
        party: command.party!,
        left: command.party! - 1,
        untilMs: check.claims.exp * 1000 + PARTY_PASS_AFTER_EXPIRY_MS,
      });
    this.deps.log.warn('gate opened offline: the cloud did not answer', {
      scanId,
      gateId,
      visitId: command.visitId,
    });
    return command;
  }

  private async command(command: GateCommand, storeId: string): Promise<void> {
    this.remember(`c:${command.commandId}`);
    this.ready.push({
      kind: 'device',
      message: { kind: 'gateCommand', storeId, id: command.gateId, payload: command },
      tsMs: command.tsMs,
    });
    this.wake?.();
    try {
      await this.deps.publish(command);
    } catch (err) {
      this.deps.log.error('gate command not published', { commandId: command.commandId, err });
    }
  }

  /** Adds an id; true when it was already there. */
  private remember(id: string): boolean {
    if (this.seen.has(id)) return true;
    this.seen.add(id);
    if (this.seen.size > this.cfg.memory) this.seen.delete(this.seen.values().next().value as string);
    return false;
  }
}
