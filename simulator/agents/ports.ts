/**
 * What shopper agents may use of the world outside their heads. The engine implements these;
 * agents never touch MQTT, HTTP or the clock directly.
 */

/** The shopper's phone app: asks for an entry QR code (signed offline, or by the cloud's API). */
export interface ShopperApp {
  /** Resolves to the QR text to show at the gate. May be synchronous (offline) or a promise (remote). */
  requestEntryCode(request: {
    personId: string;
    visitId: string;
    role: 'shopper' | 'staff';
    /** The rest of the party, whom the payer pays for: one code lets them all in. */
    companions: number;
    tsMs: number;
  }): string | Promise<string>;
  /**
   * The visit this app asked a code for is over: its whole party has walked out. The app may then
   * wait for the visit's receipt (the cloud's app does; it must not hold the caller up).
   */
  visitOver?(visit: { visitId: string; tsMs: number }): void;
}

export type GateDecision = 'pending' | 'open' | 'deny';

/** The entry and exit gates as a person meets them. */
export interface GatePort {
  /** Holds a QR code under a gate's scanner; returns the scan id to wait on. */
  scan(gateId: string, personId: string, qr: string, tsMs: number): string;
  decision(scanId: string): GateDecision;
}
