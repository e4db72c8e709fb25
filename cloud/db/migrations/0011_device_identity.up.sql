-- Every device of a store is a device row: the broker account it connects with is made from it.
-- gate_ids: the gates a gate controller, scanner or beam sensor belongs to (null: a controller of
-- every gate of its store, as rows made before this were). layout_id: the id the store's layout
-- gives a plate, scanner, beam sensor or camera, which is its level in the MQTT topics.
alter table devices drop constraint devices_kind_check;
alter table devices add constraint devices_kind_check
  check (kind in ('edge', 'gate', 'plate', 'scanner', 'gate-sensor', 'camera', 'authority'));
alter table devices add column gate_ids text[];
alter table devices add column layout_id text;
