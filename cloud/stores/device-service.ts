import type { Logger } from '../../platform/log.ts';
import type { MqttAuthority } from '../../platform/mqtt-authority.ts';
import { StoreLayout, WalkoutError } from '../../proto/index.ts';
import type { Db } from '../db/pool.ts';
import { brokerIdentity, placeDevice } from './device-identity.ts';
import { createDevice, type Device, type DeviceKind, revokeDevice } from './devices.ts';

export interface IssuedDevice extends Device {
  secret: string;
  /** The device's broker login (username: its id, password: its secret); null without a broker admin. */
  mqtt: { username: string; password: string } | null;
}

async function latestLayout(db: Db, storeId: string): Promise<StoreLayout | null> {
  const { rows } = await db.query<{ layout: unknown }>(
    'select layout from store_layouts where store_id = $1 order by version desc limit 1',
    [storeId],
  );
  // Layouts are checked on upload; parsing again keeps this module's types honest.
  return rows[0] ? StoreLayout.parse(rows[0].layout) : null;
}

/**
 * A new device with one credential for everything it talks to: Basic id:secret on HTTP and gRPC,
 * and the same pair as its broker login, whose account is made before the credential is shown.
 * A broker that refuses leaves no device behind.
 */
export async function issueDevice(
  deps: { db: Db; broker: MqttAuthority | null; log: Logger },
  storeId: string,
  kind: DeviceKind,
  asked: { gateIds?: string[] | undefined; layoutId?: string | undefined },
): Promise<IssuedDevice> {
  const place = placeDevice(kind, await latestLayout(deps.db, storeId), asked);
  const device = await createDevice(deps.db, storeId, kind, place);
  if (!deps.broker) return { ...device, mqtt: null };
  const mqtt = { username: device.id, password: device.secret };
  try {
    await deps.broker.grant({ ...mqtt, identity: brokerIdentity(device) });
  } catch (err) {
    await deps.db.query('delete from devices where id = $1', [device.id]);
    deps.log.error('broker refused a device account', { deviceId: device.id, err });
    throw err instanceof WalkoutError ? err : new WalkoutError('BROKER_REFUSED', (err as Error).message);
  }
  return { ...device, mqtt };
}

/**
 * Revokes a device's credential and deletes its broker account (which disconnects it). The row is
 * revoked first: a broker that fails then is logged, and the operator's retry finds no live device,
 * so the account is deleted again on every revocation attempt of an already revoked device.
 */
export async function withdrawDevice(
  deps: { db: Db; broker: MqttAuthority | null; log: Logger },
  storeId: string,
  id: string,
  now: Date,
): Promise<boolean> {
  const revoked = await revokeDevice(deps.db, storeId, id, now);
  if (deps.broker) {
    const { rows } = await deps.db.query('select 1 from devices where id = $1 and store_id = $2', [
      id,
      storeId,
    ]);
    if (rows.length > 0) await deps.broker.revoke(id);
  }
  return revoked;
}
