drop table dispute_lines;
drop table disputes;
drop table store_layouts;
drop table operator_stores;
drop table operators;
