import { importCatalog } from '../../cloud/stores/catalog.ts';
import { createDevice, createStore } from '../../cloud/stores/devices.ts';
import { Catalog } from '../../proto/catalog/schema.ts';
import { loadJsonFile } from '../../proto/index.ts';
import { newShopper, type TestCloud } from './cloud.ts';
import { connectEdge, type EdgeClient } from './edge-client.ts';

export const referenceCatalog = loadJsonFile(
  new URL('../../proto/stores/reference/catalog.json', import.meta.url).pathname,
  Catalog,
);

/** A store in a test cloud with a gate controller and one edge node, driven as the real ones would. */
export interface TestStore {
  gate: string;
  edge: EdgeClient;
  /** A new shopper with a sandbox card enters through the gate; returns the open visit. */
  enter(card?: string): Promise<{ shopper: { id: string; token: string }; visitId: string }>;
  /** Any report (`{ cart: … }`, `{ offlineEntry: … }`) under the edge's next seq, which it returns. */
  report(body: Record<string, unknown>, timeMs?: number): number;
  take(visitId: string, sku: string, quantity: number, confidence?: number): void;
  close(visitId: string): void;
  /** Resolves once the cloud has stored everything sent so far. */
  flushed(): Promise<void>;
  disconnect(): void;
}

export async function setUpStore(cloud: TestCloud, storeId = 'reference'): Promise<TestStore> {
  await createStore(cloud.ctx.db, { id: storeId, name: storeId });
  await importCatalog(cloud.ctx.db, storeId, referenceCatalog, new Date(cloud.clock.ms - 3_600_000));
  const g = await createDevice(cloud.ctx.db, storeId, 'gate');
  const e = await createDevice(cloud.ctx.db, storeId, 'edge');
  const gate = `${g.id}:${g.secret}`;
  const edge = connectEdge(cloud.grpcAddress, e.id, e.secret);
  let seq = (await edge.welcome()).ackedSeq;
  const report = (body: Record<string, unknown>, timeMs = cloud.clock.ms) => {
    seq += 1;
    edge.send({ seq, timeMs, ...body });
    return seq;
  };
  return {
    gate,
    edge,
    enter: async (card = '4242424242424242') => {
      const shopper = await newShopper(cloud, card);
      const code = await cloud.call('POST', '/v1/me/entry-codes', { token: shopper.token, body: {} });
      const r = await cloud.call('POST', '/v1/gates/g1/scans', { basic: gate, body: { qr: code.body.code } });
      if (r.body.decision !== 'open') throw new Error(`gate denied: ${JSON.stringify(r.body)}`);
      return { shopper, visitId: r.body.visitId };
    },
    report,
    take: (visitId, sku, quantity, confidence = 0.98) => {
      report({
        cart: { visitId, memberNo: 0, sku, quantity, confidence, evidence: [`clip-${seq + 1}`], grams: 0 },
      });
    },
    close: (visitId) => {
      report({ visit: { visitId, kind: 'VISIT_CLOSED' } });
    },
    flushed: () => edge.waitForAck(seq),
    disconnect: () => edge.close(),
  };
}

/** Another device of a store, with its secret, as the operators' device API issues them. */
export function addDevice(
  cloud: TestCloud,
  storeId: string,
  kind: 'edge' | 'gate',
): Promise<{ id: string; secret: string }> {
  return createDevice(cloud.ctx.db, storeId, kind);
}
