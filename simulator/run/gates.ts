import type { GateCommand, GatePassage, GateScan, StoreLayout, Vec2 } from '../../proto/index.ts';
import type { GateDecision, GatePort } from '../agents/ports.ts';
import type { Person } from '../world/types.ts';

/** How long a gate takes to answer a scan when it decides locally (a cloud round trip, roughly). */
const LOCAL_DECISION_MS = 250;

export type GateAuthority =
  | { kind: 'local'; verify(qr: string): unknown | null }
  /** Decisions arrive as GateCommands from elsewhere (the cloud); unanswered scans time out. */
  | { kind: 'remote'; timeoutMs: number };

export type GateTraffic =
  | { kind: 'scan'; gateId: string; payload: GateScan }
  | { kind: 'command'; gateId: string; payload: GateCommand }
  | { kind: 'passage'; gateId: string; payload: GatePassage };

interface PendingScan {
  scan: GateScan;
  decision: GateDecision;
}

/**
 * The gates as devices: scanners that read codes, barriers that open on command, beams that
 * count who crosses. Agents talk to it through GatePort; the engine drains its traffic.
 */
export class GateController implements GatePort {
  private readonly scans = new Map<string, PendingScan>();
  private readonly pending: PendingScan[] = [];
  private traffic: GateTraffic[] = [];
  private counter = 0;
  private readonly lastPos = new Map<string, Vec2>();

  constructor(
    private readonly layout: StoreLayout,
    private readonly authority: GateAuthority,
  ) {}

  scan(gateId: string, _personId: string, qr: string, tsMs: number): string {
    const gate = this.gate(gateId);
    this.counter += 1;
    const scan: GateScan = {
      scanId: `${gateId}-scan-${this.counter}`,
      gateId,
      scannerId: gate.scannerId,
      tsMs,
      qr,
    };
    const entry: PendingScan = { scan, decision: 'pending' };
    this.scans.set(scan.scanId, entry);
    this.pending.push(entry);
    this.traffic.push({ kind: 'scan', gateId, payload: scan });
    return scan.scanId;
  }

  decision(scanId: string): GateDecision {
    return this.scans.get(scanId)?.decision ?? 'deny';
  }

  /** A command from the remote authority. Unknown or already-decided scans are ignored. */
  command(cmd: GateCommand): boolean {
    const entry = cmd.scanId ? this.scans.get(cmd.scanId) : undefined;
    if (entry?.decision !== 'pending') return false;
    entry.decision = cmd.action;
    return true;
  }

  /** Decides due scans (local authority), times out unanswered ones, and watches the beams. */
  step(tsMs: number, persons: Iterable<Person>): void {
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const entry = this.pending[i]!;
      if (entry.decision !== 'pending') {
        this.pending.splice(i, 1);
        continue;
      }
      const age = tsMs - entry.scan.tsMs;
      if (this.authority.kind === 'local' && age >= LOCAL_DECISION_MS) {
        const ok = this.authority.verify(entry.scan.qr) !== null;
        entry.decision = ok ? 'open' : 'deny';
        const cmd: GateCommand = {
          commandId: `${entry.scan.scanId}-cmd`,
          gateId: entry.scan.gateId,
          tsMs,
          action: ok ? 'open' : 'deny',
          scanId: entry.scan.scanId,
          ...(ok ? {} : { reason: 'code not recognised' }),
        };
        this.traffic.push({ kind: 'command', gateId: entry.scan.gateId, payload: cmd });
      } else if (this.authority.kind === 'remote' && age >= this.authority.timeoutMs) {
        entry.decision = 'deny';
      }
    }
    for (const person of persons) this.watchBeams(person, tsMs);
  }

  drain(): GateTraffic[] {
    const out = this.traffic;
    this.traffic = [];
    return out;
  }

  private watchBeams(person: Person, tsMs: number): void {
    const prev = this.lastPos.get(person.personId);
    const now: Vec2 = [person.posM[0], person.posM[1]];
    if (!person.present) {
      this.lastPos.delete(person.personId);
      return;
    }
    this.lastPos.set(person.personId, now);
    if (!prev) return;
    for (const gate of this.layout.gates) {
      const side = crossing(gate.lineM[0], gate.lineM[1], prev, now);
      if (side === 0) continue;
      this.counter += 1;
      this.traffic.push({
        kind: 'passage',
        gateId: gate.id,
        payload: {
          passageId: `${gate.id}-pass-${this.counter}`,
          gateId: gate.id,
          sensorId: gate.sensorId,
          tsMs,
          direction: side > 0 ? 'in' : 'out',
        },
      });
    }
  }

  private gate(gateId: string) {
    const gate = this.layout.gates.find((g) => g.id === gateId);
    if (!gate) throw new Error(`unknown gate ${gateId}`);
    return gate;
  }
}

/** +1 if p→q crosses segment a→b from its right to its left ("in"), -1 the other way, 0 if it does not cross. */
export function crossing(a: Vec2, b: Vec2, p: Vec2, q: Vec2): number {
  const cross = (o: Vec2, u: Vec2, v: Vec2) => (u[0] - o[0]) * (v[1] - o[1]) - (u[1] - o[1]) * (v[0] - o[0]);
  const d1 = cross(a, b, p);
  const d2 = cross(a, b, q);
  const d3 = cross(p, q, a);
  const d4 = cross(p, q, b);
  if (d1 * d2 >= 0 || d3 * d4 > 0) return 0;
  // Counting a start exactly on the line (d1 = 0) would double-count a person who stops on it.
  return d2 > 0 ? 1 : -1;
}
