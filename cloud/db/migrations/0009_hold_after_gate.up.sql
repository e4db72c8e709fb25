-- The gate opens on the admission alone and the hold is asked for just after (entry/hold.ts), so
-- a visit is created `open` and never waits `entering`. Visits a crash left entering never had
-- their gate opened: they become cancelled (no deployment predates this; a hold the provider
-- placed for one would have to be released by hand).
update visits set status = 'cancelled' where status = 'entering';
alter table visits drop constraint visits_status_check;
alter table visits add constraint visits_status_check
  check (status in ('open', 'closed', 'settled', 'cancelled'));
drop index visits_entering;
drop index visits_inside;
create index visits_inside on visits (store_id) where status = 'open';

-- A hold's answer updates its row moments after the insert; room left on each page lets that
-- update stay on the page (HOT) instead of adding an entry to each of the table's three indexes.
alter table payments set (fillfactor = 80);

-- A decision whose row a restart rebuilds (entry/recover.ts) has no measured latency.
alter table gate_decisions alter column latency_ms drop not null;
