// What every view gets from the shell, and the read-only test hooks.

import type { Admin } from "./api";
import type { Banner } from "./dom";
import type { ViewState } from "./state";
import type { Connection } from "./watch";

export interface ViewContext {
  admin: Admin;
  baseUrl: string;
  banner: Banner;
  /** Aborts when the view is left: every call and timer of the view stops with it. */
  signal: AbortSignal;
  state: ViewState;
  /** Go to a fragment: `replace` rewrites the current history entry without leaving the view. */
  navigate(hash: string, opts?: { replace?: boolean }): void;
  /** The state of the view's watch, for the header's indicator and the test hooks. */
  connection(c: Connection | null, retryNow?: () => void): void;
  hooks: HookData;
}

export interface PointOut {
  sensor_id: string;
  measured_at: string;
  celsius: number;
}

/** What views report to `window.__dashboard`. */
export interface HookData {
  points: () => PointOut[];
  sensors: () => PointOut[];
  ready: boolean;
  window: { start_time: string; seconds: number } | null;
}

export function emptyHooks(): HookData {
  return { points: () => [], sensors: () => [], ready: false, window: null };
}

/** Seconds, e.g. 3 → "3 s", for countdowns. */
export function secondsUntil(at: number): number {
  return Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/** One line saying how the watch is, for the header and the banner. */
export function connectionText(c: Connection): string {
  switch (c.state) {
    case "connecting":
      return "Connecting…";
    case "live":
      return "Live";
    case "reconnecting":
      return `Reconnecting in ${secondsUntil(c.retryAt)} s`;
    case "error":
      return "Stopped"; // the banner holds the reason
  }
}
