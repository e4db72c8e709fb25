drop index balances_due_visit;
drop table receipt_lines;
drop table receipts;
alter table stores drop column review_below_confidence, drop column points_per_major_unit;
drop table promotions;
drop table prices;
drop table products;
