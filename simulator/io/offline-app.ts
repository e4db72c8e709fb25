import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ShopperApp } from '../agents/ports.ts';

/**
 * The store app without a cloud: entry codes are signed locally so the simulated gate can tell a
 * real code from a forged one. The cloud issue replaces this with the cloud's public API.
 * Format: WO1.{storeId}.{visitId}.{role}.{signature}
 */
export function createOfflineApp(
  storeId: string,
  secret: string,
): ShopperApp & { verify(qr: string): { visitId: string; role: string } | null } {
  const sign = (body: string) => createHmac('sha256', secret).update(body).digest('base64url').slice(0, 16);
  return {
    requestEntryCode: ({ visitId, role }) => {
      const body = `WO1.${storeId}.${visitId}.${role}`;
      return `${body}.${sign(body)}`;
    },
    verify: (qr) => {
      const parts = qr.split('.');
      if (parts.length !== 5 || parts[0] !== 'WO1' || parts[1] !== storeId) return null;
      const body = parts.slice(0, 4).join('.');
      const given = Buffer.from(parts[4]!);
      const expected = Buffer.from(sign(body));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      return { visitId: parts[2]!, role: parts[3]! };
    },
  };
}
