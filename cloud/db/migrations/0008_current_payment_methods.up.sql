-- A shopper's payment method is the newest one they have not removed: the one the gate holds
-- on, an offline visit is charged to and a balance is paid with. One definition for all of them.
create view current_payment_methods as
  select distinct on (shopper_id) * from payment_methods where removed_at is null
  order by shopper_id, created_at desc;
