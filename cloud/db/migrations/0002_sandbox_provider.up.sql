-- The sandbox payment provider's own books. They share the database for convenience only: the
-- cloud never writes them inside its own transactions, so they behave like an outside party that
-- remembers what it was asked when the cloud crashes.
create table sandbox_operations (
  idempotency_key text primary key,
  operation text not null,
  request jsonb not null,
  outcome jsonb not null,
  created_at timestamptz not null default now()
);

create table sandbox_payments (
  ref text primary key,
  kind text not null check (kind in ('hold', 'charge')),
  token text not null,
  amount_minor bigint not null,
  captured_minor bigint not null default 0,
  refunded_minor bigint not null default 0,
  released boolean not null default false,
  created_at timestamptz not null default now()
);
