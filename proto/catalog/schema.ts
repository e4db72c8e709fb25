import { z } from 'zod';
import { Text } from '../text.ts';

const Sku = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 letters, digits, "_", "." or "-"');
const Colour = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be a #rrggbb colour');

/**
 * What an item looks like from above: the renderer draws it and the product classifier learns it.
 * Two SKUs may share a shape and size (weight twins often do); colours and pattern tell them apart.
 */
export const Appearance = z
  .object({
    shape: z.enum(['box', 'bottle', 'can', 'bag', 'jar', 'tray']),
    /** Width, depth, height in metres. */
    sizeM: z.tuple([
      z.number().positive().max(1),
      z.number().positive().max(1),
      z.number().positive().max(1),
    ]),
    primary: Colour,
    secondary: Colour,
    pattern: z.enum(['solid', 'stripes', 'band', 'dots', 'split', 'checker']),
  })
  .strict();

export const CatalogItem = z
  .object({
    sku: Sku,
    name: Text(200),
    /** A real unit rarely weighs its nominal value: mean and spread of what units actually weigh. */
    unitWeightG: z.object({ mean: z.number().positive(), sd: z.number().nonnegative() }).strict(),
    /** Integer minor units (cents). For items sold by weight, the price of one kilogram. */
    priceMinor: z.number().int().nonnegative(),
    soldBy: z.enum(['unit', 'weight']).default('unit'),
    appearance: Appearance,
  })
  .strict();

export const Catalog = z
  .object({
    schemaVersion: z.literal(1),
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR'),
    items: z.array(CatalogItem).min(1),
  })
  .strict()
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.items.forEach((item, i) => {
      if (seen.has(item.sku))
        ctx.addIssue({ code: 'custom', path: ['items', i, 'sku'], message: `duplicate SKU ${item.sku}` });
      seen.add(item.sku);
    });
  });

export type Appearance = z.infer<typeof Appearance>;
export type CatalogItem = z.infer<typeof CatalogItem>;
export type Catalog = z.infer<typeof Catalog>;
