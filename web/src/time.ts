// Timestamps exactly as the admin API gives them: RFC 3339 in UTC with six fraction digits
// (`2026-11-27T11:00:00.000000Z`), the same text the HTTP JSON and the CSV carry, so what the page
// shows, what it downloads and what a test compares are one string, with no float rounding.

import { create } from "@bufbuild/protobuf";
import { type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";

/** `2026-11-27T11:00:00.000000Z` for a protobuf timestamp (microseconds, as stored). */
export function rfc3339(ts: Timestamp | undefined): string {
  if (!ts) return "";
  const whole = new Date(Number(ts.seconds) * 1000).toISOString().slice(0, 19);
  const micros = Math.floor(ts.nanos / 1000);
  return `${whole}.${String(micros).padStart(6, "0")}Z`;
}

/** Seconds since the epoch as a float: the x value uPlot draws (sub-microsecond error is fine there). */
export function epochSeconds(ts: Timestamp | undefined): number {
  return ts ? Number(ts.seconds) + ts.nanos / 1e9 : 0;
}

export function timestampFromMillis(ms: number): Timestamp {
  const seconds = Math.floor(ms / 1000);
  return create(TimestampSchema, { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1e6 });
}

const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}:?\d{2})?$/;

/**
 * Parses what a person types into a time input: RFC 3339 (`2026-11-27T10:00:00Z`,
 * `2026-11-27T10:00:00.123456+01:00`) and its shorter forms (`2026-11-27 10:00`, `2026-11-27`),
 * read as UTC when no offset is given. Exact to the nanosecond; null when it is not a time.
 */
export function parseTime(text: string): Timestamp | null {
  const m = RFC3339.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "", zone = "Z"] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return null;
  }
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null; // 31 February
  let offset = 0;
  if (zone !== "Z" && zone !== "z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offset = sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
  }
  return create(TimestampSchema, {
    seconds: BigInt(ms / 1000 - offset),
    nanos: Number(frac.padEnd(9, "0")),
  });
}

/** "just now", "12 s ago", "3 min ago", "5 h ago", "2 d ago": how long ago, for a glance. */
export function formatAge(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 1) return "just now";
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}
