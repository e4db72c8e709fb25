/**
 * `npm run cloud:operator -- --email ops@example.com --name "Store ops" --role admin [--stores a,b]`
 * creates an operator account, the way the first admin of a fresh cloud comes to exist. The
 * password is read from OPERATOR_PASSWORD, never from the command line (it would sit in the
 * shell's history).
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createLogger } from '../../platform/log.ts';
import { resolveServices } from '../../platform/services.ts';
import { isWalkoutError, parseWith } from '../../proto/index.ts';
import { loadCloudConfig } from '../config.ts';
import { migrateUp } from '../db/migrate.ts';
import { createPool } from '../db/pool.ts';
import { createOperator } from '../operators/service.ts';

const Args = z.object({
  email: z.email(),
  name: z.string().min(1),
  role: z.enum(['operator', 'admin']),
  stores: z
    .string()
    .default('')
    .transform((s) => s.split(',').filter(Boolean)),
  password: z.string().min(12, 'OPERATOR_PASSWORD must be at least 12 characters'),
});

const log = createLogger('cloud.operator');
try {
  const { values } = parseArgs({
    options: {
      email: { type: 'string' },
      name: { type: 'string' },
      role: { type: 'string' },
      stores: { type: 'string' },
    },
  });
  const args = parseWith(
    Args,
    { ...values, password: process.env.OPERATOR_PASSWORD ?? '' },
    'arguments',
    'CONFIG_INVALID',
  );
  const config = loadCloudConfig();
  const services = await resolveServices({ needDatabase: true, log, persistentDatabase: true });
  const db = createPool(services.databaseUrl!);
  await migrateUp(db, log);
  const id = await createOperator(db, args, config.SCRYPT_COST);
  process.stdout.write(
    `${JSON.stringify({ operatorId: id, email: args.email, role: args.role, stores: args.stores })}\n`,
  );
  await db.end();
  await services.close();
} catch (err) {
  process.stderr.write(`${isWalkoutError(err) ? err.message : String(err)}\n`);
  process.exit(isWalkoutError(err, 'CONFIG_INVALID') ? 2 : 1);
}
