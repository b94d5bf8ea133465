-- sensor_summaries is kept by whoever inserts into measurements, in the inserting transaction, from
-- the rows it inserted: the saver adds one aggregated row per sensor after its COPY or its
-- ON CONFLICT DO NOTHING (services/saver/src/summary.rs). The statement-level trigger did the same
-- inside PostgreSQL, but its transition table copies every inserted row once more and aggregates
-- them again (2-9 % of a COPY's throughput, docs/performance.md, "Saver"), while the saver has the
-- rows in memory already and sends one row per sensor.
DROP TRIGGER sensor_summaries_add ON measurements;
DROP FUNCTION sensor_summaries_add();

-- For every other writer (tests, psql, a backfill): insert the rows, then recompute the summaries
-- of the sensors touched, in the same transaction: SELECT sensor_summaries_refresh(ARRAY['a', 'b']),
-- or SELECT sensor_summaries_refresh() for all. It recomputes from the stored rows, so it also
-- repairs a summary that went wrong (rows deleted or changed by hand).
-- The table lock waits for the savers' transactions that already added to a summary and holds off
-- new additions until this transaction ends: a saver's rows are then either committed before the
-- recount, and counted by it, or added after it, never both or neither.
CREATE FUNCTION sensor_summaries_refresh(sensors varchar[] DEFAULT NULL) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE sensor_summaries IN SHARE ROW EXCLUSIVE MODE;
    DELETE FROM sensor_summaries WHERE sensors IS NULL OR sensor_id = ANY (sensors);
    INSERT INTO sensor_summaries (sensor_id, measured_at, celsius, ingested_at, saved_at,
                                  measurement_count, first_measured_at)
    SELECT m.sensor_id, m.measured_at, m.celsius, m.ingested_at, m.saved_at, a.n, a.first
      FROM (SELECT sensor_id, count(*) AS n, min(measured_at) AS first, max(measured_at) AS last
              FROM measurements
             WHERE sensors IS NULL OR sensor_id = ANY (sensors)
             GROUP BY sensor_id) a
      JOIN measurements m ON m.sensor_id = a.sensor_id AND m.measured_at = a.last;
END
$$;
