update gate_decisions set latency_ms = 0 where latency_ms is null;
alter table gate_decisions alter column latency_ms set not null;
alter table payments reset (fillfactor);
drop index visits_inside;
create index visits_inside on visits (store_id) where status in ('entering', 'open');
create index visits_entering on visits (opened_at) where status = 'entering';
alter table visits drop constraint visits_status_check;
alter table visits add constraint visits_status_check
  check (status in ('entering', 'open', 'closed', 'settled', 'cancelled'));
