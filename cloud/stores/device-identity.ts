import type { BrokerIdentity, StoreLayout } from '../../proto/index.ts';
import { WalkoutError } from '../../proto/index.ts';
import type { Device, DeviceKind } from './devices.ts';

export interface DevicePlace {
  gateIds: string[] | null;
  layoutId: string | null;
}

const bad = (message: string) => new WalkoutError('BAD_REQUEST', message);

/**
 * Where a new device sits in its store, checked against the store's layout: a gate controller's
 * gates (all of the store's by default), and for a plate, scanner, beam sensor or camera its id in
 * the layout (a scanner's or beam's gate follows from it). Only an edge or authority needs no layout.
 */
export function placeDevice(
  kind: DeviceKind,
  layout: StoreLayout | null,
  asked: { gateIds?: string[] | undefined; layoutId?: string | undefined },
): DevicePlace {
  if (kind === 'edge' || kind === 'authority') {
    if (asked.gateIds || asked.layoutId)
      throw bad(`an ${kind} has no gates or layout id: it serves the whole store`);
    return { gateIds: null, layoutId: null };
  }
  if (kind === 'gate') {
    if (asked.layoutId) throw bad('a gate controller is named by its gates, not a layout id');
    const known = layout?.gates.map((g) => g.id);
    if (!asked.gateIds) {
      if (!known?.length) throw bad('name the gates (gateIds): the store has no layout with gates');
      return { gateIds: known, layoutId: null };
    }
    const unknown = known ? asked.gateIds.filter((g) => !known.includes(g)) : [];
    if (unknown.length > 0) throw bad(`gates not in the store's layout: ${unknown.join(', ')}`);
    return { gateIds: [...new Set(asked.gateIds)], layoutId: null };
  }
  if (asked.gateIds) throw bad(`a ${kind}'s gate follows from its layout id; do not give gateIds`);
  if (!asked.layoutId) throw bad(`a ${kind} needs its id in the store's layout (layoutId)`);
  if (!layout) throw bad(`the store has no layout to place a ${kind} in`);
  const id = asked.layoutId;
  const gate =
    kind === 'scanner'
      ? layout.gates.find((g) => g.scannerId === id)
      : kind === 'gate-sensor'
        ? layout.gates.find((g) => g.sensorId === id)
        : undefined;
  const found =
    kind === 'plate'
      ? layout.plates.some((p) => p.id === id)
      : kind === 'camera'
        ? layout.cameras.some((c) => c.id === id)
        : gate !== undefined;
  if (!found) throw bad(`the store's layout has no ${kind} "${id}"`);
  return { gateIds: gate ? [gate.id] : null, layoutId: id };
}

/**
 * The device's broker account: its username is its device id; its topics are those of its layout
 * id where it has one (a plate publishes under the plate's id, not the credential's).
 */
export function brokerIdentity(device: Device): BrokerIdentity {
  return {
    role: device.kind,
    storeId: device.storeId,
    deviceId: device.layoutId ?? device.id,
    ...(device.gateIds ? { gateIds: device.gateIds } : {}),
  };
}
