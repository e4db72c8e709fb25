-- Entries an edge admitted while it could not reach the cloud (OfflineEntry on the edge link).
-- Such a visit has no hold (the gate opened without one): it is charged in full at the close,
-- with the payer's payment method of that moment.
alter table visits
  add column entry text not null default 'gate' check (entry in ('gate', 'offline')),
  -- Why an operator must look before the receipt is charged: the code was used before, or had
  -- expired when it was scanned.
  add column entry_flag text check (entry_flag in ('replayed', 'expired')),
  alter column payment_method_id drop not null;

-- One row per OfflineEntry the cloud received, whatever became of it: what operators reconcile.
create table offline_entries (
  device_id text not null,
  seq bigint not null,
  store_id text not null references stores (id),
  gate_id text not null,
  visit_id uuid,
  shopper_id uuid,
  nonce text,
  entered_at timestamptz not null,
  outcome text not null check (outcome in ('admitted', 'flagged', 'refused')),
  reason text,
  reconciled_at timestamptz not null default now(),
  primary key (device_id, seq)
);
create index offline_entries_store on offline_entries (store_id, entered_at desc);
