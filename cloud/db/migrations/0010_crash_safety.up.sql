-- An open visit that no edge ever reported on (the gate's answer was lost, the shopper never
-- came in) ends `expired` after OPEN_VISIT_TIMEOUT_MIN, and its hold is released
-- (entry/expire.ts).
alter table visits drop constraint visits_status_check;
alter table visits add constraint visits_status_check
  check (status in ('open', 'closed', 'settled', 'cancelled', 'expired'));

-- A shopper is in one visit at a time. Visits left open beside a newer one, with nothing ever
-- reported on them, are what lost gate answers made: they expire, and the sweep releases their
-- holds. An entry the edge admitted offline opened a gate already and is not held to the rule.
update visits v set status = 'expired', closed_at = now()
where v.status = 'open' and v.entry = 'gate'
  and exists (select 1 from visits n where n.payer_id = v.payer_id and n.status = 'open' and n.entry = 'gate'
              and (n.opened_at, n.id) > (v.opened_at, v.id))
  and not exists (select 1 from visit_members m
                  where m.visit_id = v.id and (m.entered_at is not null or m.exited_at is not null))
  and not exists (select 1 from cart_events c where c.visit_id = v.id);
create unique index visits_one_open on visits (payer_id) where status = 'open' and entry = 'gate';
-- The admission asks both whether a shopper is inside (entry/admission.ts): two small indexes.
create index visits_open_offline on visits (payer_id) where status = 'open' and entry = 'offline';

-- The closes an edge's reconnect looks up (link/store.ts resumePoint).
create index visits_closed_by on visits (closed_by, closed_seq) where status = 'closed';

-- Expired visits whose hold is still to be released (settlement/expire.ts).
create index visits_expired on visits (closed_at) where status = 'expired';
