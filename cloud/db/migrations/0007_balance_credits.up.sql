-- A dispute accepted on a receipt that was never paid refunds nothing: it reduces what is owed.
-- What a shopper owes on a balance is amount_minor - credited_minor; a balance credited in full is
-- settled (paid_at set) without a payment.
alter table balances_due
  add column credited_minor bigint not null default 0,
  add constraint balances_due_credit check (credited_minor >= 0 and credited_minor <= amount_minor);
alter table disputes add column credited_minor bigint not null default 0;
