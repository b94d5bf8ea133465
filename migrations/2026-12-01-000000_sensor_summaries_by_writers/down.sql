DROP FUNCTION sensor_summaries_refresh(varchar[]);

-- The trigger of migration 2026-11-30-000000_sensor_summaries, as it was.
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
