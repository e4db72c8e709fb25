drop table sandbox_payments;
drop table sandbox_operations;
