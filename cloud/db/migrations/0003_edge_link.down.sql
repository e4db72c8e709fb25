drop table edge_health;
drop table shelf_states;
drop table gate_passages;
drop table cart_events;
alter table visits drop column closed_seq, drop column closed_by;
drop table edge_rejections;
drop table edge_events;
drop table edge_links;
