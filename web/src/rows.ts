// The one shape every view works with: a measurement with its times as the API's RFC 3339 text.

import type { Measurement } from "./gen/sensorpipe/v1/admin_pb";
import { celsiusText } from "./celsius";
import { epochSeconds, rfc3339 } from "./time";

export interface Row {
  sensor_id: string;
  measured_at: string;
  celsius: number;
  ingested_at: string;
  saved_at: string;
  /** `measured_at` as epoch seconds, for drawing and for age. */
  t: number;
}

export function toRow(m: Measurement): Row {
  return {
    sensor_id: m.sensorId,
    measured_at: rfc3339(m.measuredAt),
    celsius: m.celsius,
    ingested_at: rfc3339(m.ingestedAt),
    saved_at: rfc3339(m.savedAt),
    t: epochSeconds(m.measuredAt),
  };
}

/** The idempotency key of a reading, as in the table's primary key. */
export function rowKey(row: { sensor_id: string; measured_at: string }): string {
  return `${row.sensor_id}\u0000${row.measured_at}`;
}

export const CSV_HEADER = "sensor_id,measured_at,celsius,ingested_at,saved_at";

/**
 * One CSV line. Sensor ids and RFC 3339 times never hold a comma or a quote: nothing to escape.
 * The temperature is the API's exact number, -0 as "-0".
 */
export function csvLine(row: Row): string {
  return `${row.sensor_id},${row.measured_at},${celsiusText(row.celsius)},${row.ingested_at},${row.saved_at}`;
}
