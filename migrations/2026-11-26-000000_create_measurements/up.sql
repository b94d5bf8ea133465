-- One row per reading. (sensor_id, measured_at) is the idempotency key from sensor to table:
-- resends and redeliveries hit the primary key and are skipped with ON CONFLICT DO NOTHING.
CREATE TABLE measurements (
    sensor_id   VARCHAR(64)      NOT NULL
        CONSTRAINT measurements_sensor_id_format CHECK (sensor_id ~ '^[A-Za-z0-9._:-]{1,64}$'),
    measured_at TIMESTAMPTZ      NOT NULL,
    -- PostgreSQL sorts NaN above Infinity, so this one check excludes NaN and both infinities.
    celsius     DOUBLE PRECISION NOT NULL
        CONSTRAINT measurements_celsius_finite CHECK (celsius > '-Infinity' AND celsius < 'Infinity'),
    ingested_at TIMESTAMPTZ      NOT NULL,
    saved_at    TIMESTAMPTZ      NOT NULL DEFAULT now(),
    -- Also serves newest-first listing of one sensor (scanned backwards).
    PRIMARY KEY (sensor_id, measured_at)
);

-- Newest-first listing across all sensors, with sensor_id as the keyset tie-breaker.
CREATE INDEX measurements_newest ON measurements (measured_at DESC, sensor_id DESC);
