alter table disputes drop column credited_minor;
alter table balances_due drop constraint balances_due_credit, drop column credited_minor;
