import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../platform/log.ts';
import { startTestCloud, type TestCloud } from '../../test/support/cloud.ts';
import { referenceCatalog, setUpStore, type TestStore } from '../../test/support/store.ts';
import { enforceRetention } from './retention.ts';

let cloud: TestCloud;
let store: TestStore;
const sku = referenceCatalog.items[0]!.sku;

beforeAll(async () => {
  cloud = await startTestCloud('retention');
  store = await setUpStore(cloud);
});
afterAll(async () => {
  store?.disconnect();
  await cloud?.stop();
});

const evidence = async (visitId: string) =>
  (
    await cloud.ctx.db.query<{ e: string[] }>(
      `select coalesce(array_agg(x), '{}') as e from (
         select unnest(evidence) as x from cart_events where visit_id = $1
         union all select unnest(l.evidence) from receipt_lines l join receipts r on r.id = l.receipt_id where r.visit_id = $1) u`,
      [visitId],
    )
  ).rows[0]!.e;

describe('retention of personal data', () => {
  it('clears evidence and passages past the period, except under an open dispute, and keeps the receipts', async () => {
    const plain = await store.enter();
    const disputed = await store.enter();
    for (const v of [plain, disputed]) {
      store.take(v.visitId, sku, 1);
      store.close(v.visitId);
    }
    await store.flushed();
    await cloud.settlement.idle();
    const [receipt] = (await cloud.call('GET', '/v1/me/receipts', { token: disputed.shopper.token })).body;
    const d = await cloud.call('POST', `/v1/me/receipts/${receipt.id}/disputes`, {
      token: disputed.shopper.token,
      body: { lines: [{ lineNo: 1, quantity: 1 }], comment: 'not mine' },
    });
    expect(d.status).toBe(201);
    await cloud.ctx.db.query(
      "insert into gate_passages (time, store_id, visit_id, member_no, direction) values ($1, 'reference', $2, 0, 'in')",
      [new Date(cloud.clock.ms), plain.visitId],
    );
    const log = createLogger('retention-test');

    expect(await enforceRetention(cloud.ctx.db, cloud.clock.now(), 30, log)).toEqual({
      cartEvidenceCleared: 0,
      receiptEvidenceCleared: 0,
      passagesDeleted: 0,
    });
    expect((await evidence(plain.visitId)).length).toBe(2);

    cloud.clock.advance(31 * 86_400_000);
    const result = await enforceRetention(cloud.ctx.db, cloud.clock.now(), 30, log);
    expect(result).toMatchObject({ cartEvidenceCleared: 1, receiptEvidenceCleared: 1, passagesDeleted: 1 });
    expect(await evidence(plain.visitId)).toEqual([]);
    expect((await evidence(disputed.visitId)).length).toBe(2);
    const kept = await cloud.ctx.db.query('select total_minor from receipts where visit_id = $1', [
      plain.visitId,
    ]);
    expect(kept.rows).toEqual([{ total_minor: referenceCatalog.items[0]!.priceMinor }]);
  });
});
