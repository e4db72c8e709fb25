import { describe, expect, it } from 'vitest';
import { isWalkoutError } from '../proto/index.ts';
import { loadCloudConfig } from './config.ts';

describe('cloud configuration', () => {
  it('defaults to the documented ports and a 30-second entry code', () => {
    const c = loadCloudConfig({});
    expect([c.PORT, c.GRPC_PORT, c.ENTRY_CODE_TTL_S]).toEqual([8080, 50051, 30]);
  });

  it('refuses a bad value naming the variable, and ignores the rest of the environment', () => {
    expect(loadCloudConfig({ HOME: '/root', PORT: '9000' }).PORT).toBe(9000);
    for (const [key, value] of [
      ['ENTRY_CODE_TTL_S', '60'],
      ['PORT', 'eighty'],
      ['CURRENCY', 'euro'],
      ['SCRYPT_COST', '3000'],
      ['DATABASE_URL', 'mysql://x'],
      ['MQTT_URL', 'http://broker'],
      ['MQTT_ADMIN', 'no-password'],
    ] as const) {
      try {
        loadCloudConfig({ [key]: value });
        expect.unreachable(`${key}=${value} was accepted`);
      } catch (err) {
        expect(isWalkoutError(err, 'CONFIG_INVALID')).toBe(true);
        expect((err as Error).message).toContain(key);
      }
    }
  });

  it('takes broker admin credentials only with the broker they are for', () => {
    expect(() => loadCloudConfig({ MQTT_ADMIN: 'admin:pw' })).toThrow(/MQTT_URL/);
    const c = loadCloudConfig({ MQTT_URL: 'mqtt://127.0.0.1:1883', MQTT_ADMIN: 'admin:pw' });
    expect([c.MQTT_URL, c.MQTT_ADMIN]).toEqual(['mqtt://127.0.0.1:1883', 'admin:pw']);
  });
});
