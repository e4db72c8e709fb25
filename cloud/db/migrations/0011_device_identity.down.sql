delete from devices where kind not in ('edge', 'gate');
alter table devices drop column layout_id;
alter table devices drop column gate_ids;
alter table devices drop constraint devices_kind_check;
alter table devices add constraint devices_kind_check check (kind in ('edge', 'gate'));
