-- Catalogue, prices and promotions over time; receipts; the review policy.

create table products (
  store_id text not null references stores (id),
  sku text not null,
  name text not null,
  sold_by text not null default 'unit' check (sold_by in ('unit', 'weight')),
  primary key (store_id, sku)
);

-- A price holds from valid_from until the next price of the same SKU begins (valid_to null: open).
create table prices (
  store_id text not null,
  sku text not null,
  -- Per unit, or per kilogram for items sold by weight.
  price_minor bigint not null check (price_minor >= 0),
  valid_from timestamptz not null,
  valid_to timestamptz,
  primary key (store_id, sku, valid_from),
  foreign key (store_id, sku) references products (store_id, sku),
  check (valid_to is null or valid_to > valid_from)
);

-- Multibuy: every `buy_qty` units of the SKU cost `bundle_minor` together.
create table promotions (
  id uuid primary key default gen_random_uuid(),
  store_id text not null,
  sku text not null,
  name text not null,
  buy_qty int not null check (buy_qty >= 2),
  bundle_minor bigint not null check (bundle_minor >= 0),
  valid_from timestamptz not null,
  valid_to timestamptz,
  foreign key (store_id, sku) references products (store_id, sku)
);

alter table stores
  -- Receipts with a line below this confidence wait for an operator before any capture; null: never.
  add column review_below_confidence real check (review_below_confidence between 0 and 1),
  add column points_per_major_unit int not null default 1 check (points_per_major_unit >= 0);

create table receipts (
  id uuid primary key default gen_random_uuid(),
  visit_id uuid not null unique references visits (id),
  store_id text not null references stores (id),
  shopper_id uuid not null references shoppers (id),
  -- review: waiting for an operator; priced: ready to charge; issued: charged (or balance due) and sent.
  status text not null check (status in ('review', 'priced', 'issued')),
  currency text not null,
  subtotal_minor bigint not null,
  discount_minor bigint not null,
  total_minor bigint not null,
  points_earned bigint not null,
  amount_due_minor bigint not null default 0,
  priced_at timestamptz not null,
  issued_at timestamptz
);
create index receipts_shopper on receipts (shopper_id, priced_at desc);
create index receipts_review on receipts (store_id) where status = 'review';

create table receipt_lines (
  receipt_id uuid not null references receipts (id),
  line_no int not null,
  sku text not null,
  name text not null,
  quantity int not null,
  grams double precision,
  unit_price_minor bigint not null,
  amount_minor bigint not null,
  discount_minor bigint not null,
  promotion text,
  confidence real not null,
  evidence text[] not null,
  primary key (receipt_id, line_no)
);

create unique index balances_due_visit on balances_due (visit_id);
