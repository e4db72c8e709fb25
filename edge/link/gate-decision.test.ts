import { describe, expect, it } from 'vitest';
import { GateCommand } from '../../proto/mqtt/payloads.ts';
import { cloudDecided, commandIdFor, decideGate } from './gate-decision.ts';
import type { OfflineCheck } from './offline-gate.ts';

const scan = { scanId: 'gate-in-scan-7', gateId: 'gate-in', qr: 'eyJ.a.b' };
const at = { tsMs: 1_767_603_601_500, offlineVisitId: '0f8fad5b-d9cb-469f-a165-70867728950e' };
const good: OfflineCheck = {
  ok: true,
  claims: { sub: 'shopper-1', nonce: 'n-1', iat: 1_767_603_590, exp: 1_767_603_620, companions: 1 } as never,
};

describe('the gate decision at the edge', () => {
  it('follows the cloud’s answer and reports nothing', () => {
    const open = decideGate(scan, { open: true, reason: '', visitId: 'v-1', party: 2 }, null, at);
    expect(open).toEqual({
      command: {
        commandId: 'gate-in-scan-7-cmd',
        gateId: 'gate-in',
        tsMs: at.tsMs,
        scanId: 'gate-in-scan-7',
        action: 'open',
        visitId: 'v-1',
        party: 2,
      },
      report: null,
    });
    const denied = decideGate(scan, { open: false, reason: 'replayed', visitId: '', party: 0 }, good, at);
    expect(denied.command).toMatchObject({ action: 'deny', reason: 'replayed' });
    expect(denied.report).toBeNull();
  });

  it('opens on a good offline check under the given visit id, with the entry to report', () => {
    const { command, report } = decideGate(scan, null, good, at);
    expect(command).toMatchObject({
      action: 'open',
      reason: 'offline',
      visitId: at.offlineVisitId,
      party: 2,
    });
    expect(report).toEqual({
      body: 'offlineEntry',
      offlineEntry: { visitId: at.offlineVisitId, gateId: 'gate-in', qr: scan.qr },
    });
  });

  it('lets a party’s later members through offline on the entry’s pass, reporting nothing more', () => {
    const pass = { visitId: 'v-off', gateId: 'gate-in', party: 2, left: 1, untilMs: at.tsMs + 1000 };
    expect(decideGate(scan, null, null, at, pass)).toMatchObject({
      command: { action: 'open', reason: 'offline', visitId: 'v-off', party: 2 },
      report: null,
    });
    // Used up, out of time, or at another gate: the code is checked as any other.
    for (const p of [
      { ...pass, left: 0 },
      { ...pass, untilMs: at.tsMs - 1 },
      { ...pass, gateId: 'gate-2' },
    ])
      expect(decideGate(scan, null, null, at, p).command).toMatchObject({ action: 'deny' });
    // The cloud's answer comes first.
    const denied = { open: false, reason: 'capacity', visitId: '', party: 0 };
    expect(decideGate(scan, denied, null, at, pass).command).toMatchObject({ reason: 'capacity' });
  });

  it('denies, with the check’s reason, a code that fails offline, and fails closed without a check', () => {
    const bad: OfflineCheck = { ok: false, reason: 'bad_signature', detail: 'x' };
    expect(decideGate(scan, null, bad, at)).toMatchObject({
      command: { action: 'deny', reason: 'bad_signature' },
      report: null,
    });
    expect(decideGate(scan, null, null, at).command).toMatchObject({ action: 'deny', reason: 'unavailable' });
  });

  it('treats the cloud’s “unavailable” as no answer, so the code is checked offline', () => {
    expect(cloudDecided({ open: false, reason: 'unavailable', visitId: '', party: 0 })).toBeNull();
    expect(cloudDecided({ open: false, reason: 'capacity', visitId: '', party: 0 })).not.toBeNull();
    expect(cloudDecided(null)).toBeNull();
  });

  it('makes commands that pass the MQTT schema, also from the longest scan id', () => {
    const long = { ...scan, scanId: 'x'.repeat(64) };
    for (const s of [scan, long]) {
      for (const o of [decideGate(s, null, good, at), decideGate(s, null, null, at)])
        expect(GateCommand.safeParse(o.command).success).toBe(true);
    }
    expect(commandIdFor(long.scanId)).toBe(commandIdFor(long.scanId));
    expect(commandIdFor(long.scanId)).not.toBe(commandIdFor('y'.repeat(64)));
  });
});
