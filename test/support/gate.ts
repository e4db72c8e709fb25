import type { TestCloud } from './cloud.ts';

/** A fresh entry code of a signed-in shopper, as the app asks for it. */
export async function entryCode(cloud: TestCloud, token: string, companions = 0): Promise<string> {
  const r = await cloud.call('POST', '/v1/me/entry-codes', { token, body: { companions } });
  if (r.status !== 201) throw new Error(`entry code refused: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.code;
}

/** A shopper's visits as payer, oldest first, with how many holds each has. */
export async function visitsOf(cloud: TestCloud, shopperId: string) {
  const { rows } = await cloud.ctx.db.query<{ id: string; status: string; holds: number }>(
    `select v.id, v.status, (select count(*)::int from payments p where p.visit_id = v.id and p.kind = 'hold') as holds
     from visits v where v.payer_id = $1 order by v.opened_at`,
    [shopperId],
  );
  return rows;
}
