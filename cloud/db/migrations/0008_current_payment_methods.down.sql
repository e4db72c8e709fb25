drop view current_payment_methods;
