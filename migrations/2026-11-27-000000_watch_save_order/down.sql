DROP INDEX measurements_save_order;
ALTER TABLE measurements DROP COLUMN save_xid;
