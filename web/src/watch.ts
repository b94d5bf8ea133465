// Follows WatchMeasurements for as long as a view is open, across disconnects, with no gap and
// no row twice.
//
// The guarantee comes from the cursor: after a disconnect (admin restarted, network blip, laptop
// asleep) the watch resumes right after the last row received. A watch without a cursor starts
// "from now", so whenever one opens without a cursor (the first time, or before any row came) the
// view reloads what it shows (`sync`) AFTER the server has accepted the watch (its response
// headers arrived): every row is then either already visible to that load or delivered by the
// watch, and rows in both are merged by their key (sensor_id, measured_at) by the view.

import { Code, ConnectError } from "@connectrpc/connect";
import type { Admin } from "./api";
import { Backoff, sleep } from "./backoff";
import { problem } from "./errors";
import { type Row, toRow } from "./rows";

export type Connection =
  | { state: "connecting" }
  | { state: "live" }
  | { state: "reconnecting"; retryAt: number; reason: string }
  | { state: "error"; reason: string };

export interface Follower {
  /** Load what the view shows; called once the watch is open and must be (re)joined with it. */
  sync(signal: AbortSignal): Promise<void>;
  /** Rows saved since, oldest first; may repeat rows `sync` loaded. */
  rows(rows: Row[]): void;
  connection(c: Connection): void;
}

export interface Following {
  /** Drop the current stream and resume from the cursor at once (the page woke up or went online). */
  restart(): void;
}

/**
 * One watch per view. With exactly one sensor the server filters (`sensor_id`); with several, or
 * none (the sensors view), one unfiltered watch is filtered here: a browser keeps at most six
 * HTTP/1.1 connections per origin and every open gRPC-Web stream holds one, so a watch per
 * sensor would starve the page's other calls from the sixth sensor on. The price is traffic: the
 * page then receives every saved row (fine at the thousands of rows per second a browser parses;
 * a page that cannot keep up is cut off by the admin and resumes from its cursor).
 */
export function follow(
  admin: Admin,
  sensorId: string,
  follower: Follower,
  signal: AbortSignal,
): Following {
  let current: AbortController | undefined;
  let napping: AbortController | undefined;
  let restarting = false;
  void (async () => {
    const backoff = new Backoff();
    let cursor = "";
    let synced = false;
    while (!signal.aborted) {
      const attempt = new AbortController();
      current = attempt;
      const stop = () => attempt.abort();
      signal.addEventListener("abort", stop, { once: true });
      follower.connection({ state: "connecting" });
      const resumed = cursor !== "";
      let opened!: () => void;
      const open = new Promise<void>((resolve) => (opened = resolve));
      const stream = admin.watchMeasurements(
        { sensorId, cursor },
        { signal: attempt.signal, onHeader: () => opened() },
      );
      const consume = (async () => {
        for await (const response of stream) {
          if (response.measurement) follower.rows([toRow(response.measurement)]);
          cursor = response.cursor;
          backoff.reset();
        }
        throw new ConnectError("the watch ended", Code.Unavailable);
      })();
      consume.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
      try {
        await Promise.race([open, consume]);
        if (!resumed) synced = false; // opened "from now": what came before must come from a load
        if (!synced) {
          await Promise.race([follower.sync(attempt.signal), consume]);
          synced = true;
        }
        follower.connection({ state: "live" });
        await consume;
      } catch (error) {
        attempt.abort();
        if (signal.aborted) return;
        if (restarting) {
          restarting = false;
          continue;
        }
        const p = problem(error);
        if (p.field === "cursor") {
          // The service no longer knows the cursor (its database was replaced): start over.
          cursor = "";
        } else if (!p.retryable) {
          follower.connection({ state: "error", reason: p.message });
          return;
        }
        const wait = backoff.next();
        follower.connection({ state: "reconnecting", retryAt: Date.now() + wait, reason: p.message });
        const nap = new AbortController();
        napping = nap;
        const wake = () => nap.abort();
        signal.addEventListener("abort", wake, { once: true });
        await sleep(wait, nap.signal).catch(() => {});
        signal.removeEventListener("abort", wake);
        napping = undefined;
      } finally {
        signal.removeEventListener("abort", stop);
      }
    }
  })();
  return {
    restart() {
      if (napping) napping.abort();
      else if (current && !current.signal.aborted) {
        restarting = true;
        current.abort();
      }
    },
  };
}

/**
 * A laptop that slept or a network that came back may leave a stream that looks open but is dead:
 * resume from the cursor at once when the page is shown again after a while or goes online.
 */
export function wakeRestarts(restart: () => void, signal: AbortSignal): void {
  let hiddenAt = 0;
  const onVisibility = () => {
    if (document.hidden) hiddenAt = Date.now();
    else if (hiddenAt && Date.now() - hiddenAt > 30_000) restart();
  };
  document.addEventListener("visibilitychange", onVisibility, { signal });
  window.addEventListener("online", restart, { signal });
}
