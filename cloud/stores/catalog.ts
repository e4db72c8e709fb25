import type { Catalog } from '../../proto/index.ts';
import { type Db, inTransaction } from '../db/pool.ts';

/**
 * Loads a store's catalogue as of `validFrom`: products are upserted, and each price that changes
 * closes the SKU's open price at that instant, so a visit is always priced as of its own time.
 */
export async function importCatalog(
  db: Db,
  storeId: string,
  catalog: Catalog,
  validFrom: Date,
): Promise<number> {
  return inTransaction(db, async (tx) => {
    let changed = 0;
    for (const item of catalog.items) {
      await tx.query(
        `insert into products (store_id, sku, name, sold_by) values ($1, $2, $3, $4)
         on conflict (store_id, sku) do update set name = excluded.name, sold_by = excluded.sold_by`,
        [storeId, item.sku, item.name, item.soldBy],
      );
      const open = await tx.query<{ price_minor: number }>(
        'select price_minor from prices where store_id = $1 and sku = $2 and valid_to is null',
        [storeId, item.sku],
      );
      if (open.rows[0]?.price_minor === item.priceMinor) continue;
      await tx.query(
        'update prices set valid_to = $3 where store_id = $1 and sku = $2 and valid_to is null and valid_from < $3',
        [storeId, item.sku, validFrom],
      );
      await tx.query(
        `insert into prices (store_id, sku, price_minor, valid_from) values ($1, $2, $3, $4)
         on conflict (store_id, sku, valid_from) do update set price_minor = excluded.price_minor`,
        [storeId, item.sku, item.priceMinor, validFrom],
      );
      changed += 1;
    }
    return changed;
  });
}

export async function addMultibuy(
  db: Db,
  p: {
    storeId: string;
    sku: string;
    name: string;
    buyQty: number;
    bundleMinor: number;
    validFrom: Date;
    validTo?: Date;
  },
): Promise<void> {
  await db.query(
    `insert into promotions (store_id, sku, name, buy_qty, bundle_minor, valid_from, valid_to)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [p.storeId, p.sku, p.name, p.buyQty, p.bundleMinor, p.validFrom, p.validTo ?? null],
  );
}
