/**
 * A process for kill tests: appends reports one after another and prints each one's index once
 * it is durable (`report` or `append` resolved), until it is killed. With LINK_ADDRESS it runs the
 * whole EdgeLink client, so the kill also cuts a live stream; without, the outbox alone.
 *
 * With CHECKPOINT_BATCH=n the outbox alone takes reports n at a time with a checkpoint (appendAll)
 * naming the last report's index, and prints that index once the batch is durable.
 *
 * Env: OUTBOX_DIR, REPORTS_FILE (a JSON array of Report), TIME_MS, and for the link LINK_ADDRESS and
 * WALKOUT_EDGE_CREDENTIALS.
 */
import { readFileSync } from 'node:fs';
import { createLogger } from '../../../platform/log.ts';
import type { Report } from '../../stages.ts';
import { EdgeLinkClient } from '../client.ts';
import { loadLinkConfig } from '../config.ts';
import { Outbox } from '../outbox.ts';

const reports = JSON.parse(readFileSync(process.env.REPORTS_FILE!, 'utf8')) as Report[];
const timeMs = Number(process.env.TIME_MS);
const dir = process.env.OUTBOX_DIR!;
let append: (r: Report) => Promise<unknown>;
if (process.env.LINK_ADDRESS) {
  const link = EdgeLinkClient.start(loadLinkConfig({ address: process.env.LINK_ADDRESS, outboxDir: dir }), {
    log: createLogger('edge-link-child', { level: 'warn' }),
  });
  append = (r) => link.report(r, timeMs);
} else {
  const outbox = Outbox.open(dir);
  append = (r) => outbox.append(r, timeMs);
  const batch = Number(process.env.CHECKPOINT_BATCH ?? 0);
  if (batch > 0) {
    for (let i = batch - 1; i < reports.length; i += batch) {
      const items = reports.slice(i - batch + 1, i + 1).map((report) => ({ report, timeMs }));
      await outbox.appendAll(items, Buffer.from(String(i)));
      process.stdout.write(`${i}\n`);
    }
    reports.length = 0;
  }
}
for (let i = 0; i < reports.length; i++) {
  await append(reports[i]!);
  process.stdout.write(`${i}\n`);
}
process.stdout.write('done\n');
// Stays up (its link still sending) until the test kills it.
setInterval(() => {}, 1000);
