-- Operators, store layouts and their versions, disputes.

create table operators (
  id uuid primary key default gen_random_uuid(),
  email text not null,
  password_hash text not null,
  name text not null,
  role text not null check (role in ('operator', 'admin')),
  created_at timestamptz not null default now()
);
create unique index operators_email on operators (lower(email));

-- The stores an operator acts for; no row, no access.
create table operator_stores (
  operator_id uuid not null references operators (id),
  store_id text not null references stores (id),
  primary key (operator_id, store_id)
);

create table store_layouts (
  store_id text not null references stores (id),
  version int not null check (version > 0),
  layout jsonb not null,
  created_at timestamptz not null default now(),
  created_by uuid references operators (id),
  primary key (store_id, version)
);

create table disputes (
  id uuid primary key default gen_random_uuid(),
  receipt_id uuid not null references receipts (id),
  shopper_id uuid not null references shoppers (id),
  store_id text not null references stores (id),
  status text not null check (status in ('open', 'accepted', 'rejected')),
  comment text not null,
  refund_minor bigint not null default 0,
  decided_by uuid references operators (id),
  decision_reason text,
  created_at timestamptz not null default now(),
  decided_at timestamptz
);
create index disputes_store_open on disputes (store_id) where status = 'open';
-- One open dispute per receipt at a time.
create unique index disputes_receipt_open on disputes (receipt_id) where status = 'open';

create table dispute_lines (
  dispute_id uuid not null references disputes (id),
  line_no int not null,
  -- Units the shopper says they did not take.
  quantity int not null check (quantity > 0),
  primary key (dispute_id, line_no)
);
