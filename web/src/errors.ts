// How a failed call is told to the person: the API's own words, and the input it concerns.

import { Code, ConnectError } from "@connectrpc/connect";

/** The request fields the admin names at the start of an INVALID_ARGUMENT message. */
const FIELDS = new Set(["page_size", "page_token", "sensor_id", "start_time", "end_time", "cursor"]);

export interface Problem {
  code: Code;
  /** The API's message as it stated it, e.g. `end_time: must be after start_time`. */
  message: string;
  /** The request field the message starts with, when the API blamed one. */
  field?: string;
  /** Worth trying again by itself: the service or the network may come back. */
  retryable: boolean;
  /** The request was cancelled by the page itself (view closed, download cancelled). */
  cancelled: boolean;
}

const RETRYABLE = new Set([
  Code.Unavailable,
  Code.Unknown, // what a network failure (fetch's TypeError) becomes
  Code.Internal,
  Code.DeadlineExceeded,
  Code.ResourceExhausted,
  Code.Aborted,
]);

export function problem(error: unknown): Problem {
  const e = ConnectError.from(error);
  const message = e.rawMessage || Code[e.code];
  const prefix = /^([a-z_]+):/.exec(message)?.[1];
  const field = e.code === Code.InvalidArgument && prefix && FIELDS.has(prefix) ? prefix : undefined;
  return {
    code: e.code,
    message,
    field,
    retryable: RETRYABLE.has(e.code),
    cancelled: e.code === Code.Canceled,
  };
}

/** A banner line for a failure no input is to blame for. */
export function describeFailure(p: Problem, baseUrl: string): string {
  if (p.code === Code.Unknown || p.code === Code.Unavailable) {
    return `Cannot reach the admin service at ${baseUrl}: ${p.message}.${originHint(baseUrl)}`;
  }
  return `The admin service refused: ${p.message} (${Code[p.code]}).`;
}

/**
 * For an API on another origin than the page, a sentence saying that it may refuse this origin:
 * a browser hides a CORS refusal from the page as a network failure. "" on the same origin.
 */
export function originHint(baseUrl: string, pageOrigin: string | undefined = globalThis.location?.origin): string {
  let apiOrigin: string;
  try {
    apiOrigin = new URL(baseUrl).origin;
  } catch {
    return "";
  }
  if (!pageOrigin || pageOrigin === "null" || apiOrigin === pageOrigin) return "";
  return ` If it is running, it may not allow calls from this page's origin, ${pageOrigin} (admin: --cors-allowed-origins).`;
}
