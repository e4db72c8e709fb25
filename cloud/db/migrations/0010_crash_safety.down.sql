drop index visits_expired;
drop index visits_closed_by;
drop index visits_open_offline;
drop index visits_one_open;
update visits set status = 'cancelled' where status = 'expired';
alter table visits drop constraint visits_status_check;
alter table visits add constraint visits_status_check
  check (status in ('open', 'closed', 'settled', 'cancelled'));
