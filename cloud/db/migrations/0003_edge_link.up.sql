-- What edges report over the EdgeLink stream, each (device, seq) stored once.

create table edge_links (
  device_id text primary key references devices (id),
  -- Every seq up to this one is stored; the edge resumes after it.
  acked_seq bigint not null default 0,
  connected_at timestamptz,
  last_seen_at timestamptz
);

-- The dedupe key of every accepted message; the payload lives in the domain tables below.
create table edge_events (
  device_id text not null,
  seq bigint not null,
  kind text not null,
  received_at timestamptz not null default now(),
  primary key (device_id, seq)
);

-- Messages refused for their meaning (unknown visit, another store's visit): kept, never applied.
create table edge_rejections (
  device_id text not null,
  seq bigint not null,
  code text not null,
  reason text not null,
  message jsonb not null,
  received_at timestamptz not null default now(),
  primary key (device_id, seq)
);

alter table visits add column closed_seq bigint, add column closed_by text;

-- Time series (hypertables under TimescaleDB).
create table cart_events (
  time timestamptz not null,
  store_id text not null,
  visit_id uuid not null,
  member_no int not null,
  sku text not null,
  quantity int not null,
  grams double precision not null default 0,
  confidence real not null,
  evidence text[] not null,
  device_id text not null,
  seq bigint not null
);
create index cart_events_visit on cart_events (visit_id, time);

create table gate_passages (
  time timestamptz not null,
  store_id text not null,
  visit_id uuid not null,
  member_no int not null,
  direction text not null check (direction in ('in', 'out'))
);
create index gate_passages_store_time on gate_passages (store_id, time desc);

create table shelf_states (
  time timestamptz not null,
  store_id text not null,
  plate_id text not null,
  grams double precision not null,
  stable boolean not null
);
create index shelf_states_plate_time on shelf_states (store_id, plate_id, time desc);

create table edge_health (
  time timestamptz not null,
  store_id text not null,
  device_id text not null,
  component text not null,
  status text not null,
  detail text not null
);
create index edge_health_store_time on edge_health (store_id, time desc);
