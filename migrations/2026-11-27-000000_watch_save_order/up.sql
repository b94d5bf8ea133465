-- The save order WatchMeasurements streams in. A row's save_xid is the id of the transaction that
-- saved it. Every transaction older than the oldest one still running (pg_snapshot_xmin) has
-- ended, so rows with save_xid below that horizon are final: none can appear later behind a
-- watcher's cursor. A timestamp or a sequence cannot promise that: concurrent writers commit out
-- of their order.
ALTER TABLE measurements ADD COLUMN save_xid xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE INDEX measurements_save_order ON measurements (save_xid);
