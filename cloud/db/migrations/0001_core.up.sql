-- Stores, shoppers and their payment methods, entry, visits and holds: what a gate decision needs.

create table stores (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  name text not null,
  timezone text not null default 'UTC',
  -- People inside at once, companions included; null for no limit.
  capacity int check (capacity > 0),
  is_open boolean not null default true,
  created_at timestamptz not null default now()
);

-- Credentials of an edge node or gate controller: it speaks for its store and nothing else.
create table devices (
  id text primary key,
  store_id text not null references stores (id),
  kind text not null check (kind in ('edge', 'gate')),
  secret_hash text not null,
  created_at timestamptz not null default now(),
  revoked_at timestamptz
);

create table shoppers (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  password_hash text not null,
  name text not null,
  created_at timestamptz not null default now()
);
create unique index shoppers_email on shoppers (lower(email));

create table refresh_tokens (
  token_hash text primary key,
  shopper_id uuid not null references shoppers (id),
  expires_at timestamptz not null,
  -- Set when the token is exchanged: a second use of the same token is refused.
  used_at timestamptz
);

create table loyalty_accounts (
  shopper_id uuid primary key references shoppers (id),
  points bigint not null default 0 check (points >= 0)
);

-- Provider tokens only: the card number never reaches us.
create table payment_methods (
  id uuid primary key default gen_random_uuid(),
  shopper_id uuid not null references shoppers (id),
  provider text not null,
  provider_token text not null,
  brand text not null,
  last4 text not null check (last4 ~ '^[0-9]{4}$'),
  created_at timestamptz not null default now(),
  removed_at timestamptz
);
create index payment_methods_shopper on payment_methods (shopper_id) where removed_at is null;

-- Keys the cloud made for itself (entry-code signing, access tokens), kept so restarts honour
-- codes and tokens already handed out.
create table signing_keys (
  kid text primary key,
  purpose text not null check (purpose in ('entry', 'access')),
  private_key text not null,
  public_key text,
  created_at timestamptz not null default now()
);

create table visits (
  id uuid primary key default gen_random_uuid(),
  store_id text not null references stores (id),
  payer_id uuid not null references shoppers (id),
  payment_method_id uuid not null references payment_methods (id),
  -- entering: admitted, hold not yet confirmed (the gate is still closed); cancelled: the hold
  -- failed or the cloud crashed before it was confirmed, and the gate never opened.
  status text not null check (status in ('entering', 'open', 'closed', 'settled', 'cancelled')),
  companions int not null check (companions >= 0),
  opened_at timestamptz not null,
  closed_at timestamptz
);
create index visits_inside on visits (store_id) where status in ('entering', 'open');
create index visits_entering on visits (opened_at) where status = 'entering';
create index visits_payer on visits (payer_id, opened_at desc);

create table visit_members (
  visit_id uuid not null references visits (id),
  member_no int not null check (member_no >= 0),
  role text not null check (role in ('payer', 'companion')),
  entered_at timestamptz,
  exited_at timestamptz,
  primary key (visit_id, member_no)
);

-- One row per entry code that opened a gate: the primary key is what makes a code single-use.
create table entry_redemptions (
  nonce text primary key,
  shopper_id uuid not null references shoppers (id),
  visit_id uuid not null references visits (id),
  gate_id text not null,
  redeemed_at timestamptz not null
);

-- Every movement of money the provider was asked for, keyed by the idempotency key sent with it.
create table payments (
  id uuid primary key default gen_random_uuid(),
  idempotency_key text not null unique,
  visit_id uuid references visits (id),
  shopper_id uuid not null references shoppers (id),
  kind text not null check (kind in ('hold', 'capture', 'charge', 'release', 'refund')),
  amount_minor bigint not null check (amount_minor >= 0),
  currency text not null,
  provider text not null,
  provider_ref text,
  status text not null check (status in ('pending', 'succeeded', 'declined', 'failed')),
  failure text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index payments_visit on payments (visit_id);

-- Money a shopper owes after a failed capture; an unpaid row blocks the next entry.
create table balances_due (
  id uuid primary key default gen_random_uuid(),
  shopper_id uuid not null references shoppers (id),
  visit_id uuid references visits (id),
  amount_minor bigint not null check (amount_minor > 0),
  currency text not null,
  created_at timestamptz not null default now(),
  paid_at timestamptz
);
create index balances_due_unpaid on balances_due (shopper_id) where paid_at is null;

-- Time series: every gate decision (TimescaleDB hypertable when the extension is there).
create table gate_decisions (
  time timestamptz not null,
  store_id text not null,
  gate_id text not null,
  decision text not null check (decision in ('open', 'deny')),
  reason text,
  shopper_id uuid,
  visit_id uuid,
  latency_ms real not null
);
create index gate_decisions_store_time on gate_decisions (store_id, time desc);

create table audit_log (
  id bigint generated always as identity primary key,
  time timestamptz not null default now(),
  actor text not null,
  store_id text,
  action text not null,
  subject text,
  details jsonb not null default '{}'
);
create index audit_log_store_time on audit_log (store_id, time desc);
