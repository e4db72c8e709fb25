drop table offline_entries;
alter table visits drop column entry_flag, drop column entry;
-- Refused (and the revert with it) while a visit an edge admitted offline has no payment method.
alter table visits alter column payment_method_id set not null;
