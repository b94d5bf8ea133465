-- One row per sensor: its newest reading, how many it has and its first, so ListSensors reads a
-- page of sensors without touching measurements (counting a sensor's rows costs what it has).
-- measured_at, celsius, ingested_at and saved_at are those of the sensor's row with the greatest
-- measured_at, named as in measurements.
CREATE TABLE sensor_summaries (
    sensor_id         VARCHAR(64)      PRIMARY KEY,
    measured_at       TIMESTAMPTZ      NOT NULL,
    celsius           DOUBLE PRECISION NOT NULL,
    ingested_at       TIMESTAMPTZ      NOT NULL,
    saved_at          TIMESTAMPTZ      NOT NULL,
    measurement_count BIGINT           NOT NULL,
    first_measured_at TIMESTAMPTZ      NOT NULL
-- Every batch updates its sensors' rows: room on the page keeps those updates HOT (no new index
-- entry, the old version pruned in place).
) WITH (fillfactor = 50);

-- Kept exact by the statement that inserts the rows, in its transaction, whoever runs it (the
-- saver's COPY or its ON CONFLICT DO NOTHING fallback, a test, psql): the transition table holds
-- exactly the rows the statement inserted (not those ON CONFLICT skipped, not those of a
-- statement that failed). Two savers writing the same sensor at once (a rebalance) queue on the
-- sensor's row lock, each adding its own rows; upserting in sensor_id order means two
-- transactions always take those locks in the same order and cannot deadlock on them.
-- Aggregated by hashing, not by DISTINCT ON, which would sort every inserted row by sensor_id under
-- the collation.
CREATE FUNCTION sensor_summaries_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO sensor_summaries AS s (sensor_id, measured_at, celsius, ingested_at, saved_at,
                                       measurement_count, first_measured_at)
    SELECT i.sensor_id, i.measured_at, i.celsius, i.ingested_at, i.saved_at, a.n, a.first
      FROM (SELECT sensor_id, count(*) AS n, min(measured_at) AS first, max(measured_at) AS last
              FROM inserted GROUP BY sensor_id) a
      JOIN inserted i ON i.sensor_id = a.sensor_id AND i.measured_at = a.last
     ORDER BY i.sensor_id
    ON CONFLICT (sensor_id) DO UPDATE SET
        measurement_count = s.measurement_count + excluded.measurement_count,
        first_measured_at = least(s.first_measured_at, excluded.first_measured_at),
        measured_at = greatest(s.measured_at, excluded.measured_at),
        celsius = CASE WHEN excluded.measured_at > s.measured_at
                       THEN excluded.celsius ELSE s.celsius END,
        ingested_at = CASE WHEN excluded.measured_at > s.measured_at
                           THEN excluded.ingested_at ELSE s.ingested_at END,
        saved_at = CASE WHEN excluded.measured_at > s.measured_at
                        THEN excluded.saved_at ELSE s.saved_at END;
    RETURN NULL;
END
$$;

CREATE TRIGGER sensor_summaries_add AFTER INSERT ON measurements
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION sensor_summaries_add();

-- The rows already stored. CREATE TRIGGER waited for running inserts and holds off new ones until
-- this migration commits, so each row is counted once, here or by the trigger, savers running.
INSERT INTO sensor_summaries (sensor_id, measured_at, celsius, ingested_at, saved_at,
                              measurement_count, first_measured_at)
SELECT m.sensor_id, m.measured_at, m.celsius, m.ingested_at, m.saved_at, a.n, a.first
  FROM (SELECT sensor_id, count(*) AS n, min(measured_at) AS first, max(measured_at) AS last
          FROM measurements GROUP BY sensor_id) a
  JOIN measurements m ON m.sensor_id = a.sensor_id AND m.measured_at = a.last;
