// The dashboard's shell: header, banner, the router between the three views, and the test hooks.
//
// Test hooks (stable; browser tests rely on them, see tests/driver.mjs):
//   data-testid on the main elements:
//     shell:   connection (data-state = live | connecting | reconnecting | error | idle), banner,
//              banner-message, nav-sensors, nav-live, nav-table, forget-token (visible while the
//              tab holds a token)
//     sign-in: signin, signin-form, token-input (type=password), signin-hint, signin-submit,
//              signin-error (visible when the last token was refused), signin-notice, show-token
//     sensors: sensors-view, sensor-filter, sensor-count, sensor-list (aria-busy while loading),
//              list-status, sensor-row (data-sensor-id), sensor-id, latest-value (data-celsius,
//              exact), age (a <time> whose datetime is the reading's measured_at), stale
//              (visible when stale), sparkline
//     live:    live-view, sensor-picker, add-sensor-form, window-select, chosen-sensors, chip
//              (data-sensor-id), chip-value, chart-status, live-chart
//     table:   table-view, table-filter, filter-sensor, filter-start, filter-end, filter-size,
//              apply, clear, field-error (data-field = the API's field name), page-info,
//              prev-page, next-page, measurements-table (aria-busy while loading),
//              measurement-row (data-sensor-id), cell-sensor, cell-measured, cell-celsius
//              (data-celsius), cell-ingested, cell-saved, table-status, csv-download,
//              csv-cancel, csv-progress
//   window.__dashboard (read-only):
//     points()        what the live chart draws: [{sensor_id, measured_at, celsius}], measured_at
//                     as RFC 3339 UTC with six fraction digits, exactly as the API's JSON gives it
//     sensors()       what the sensors view holds: [{sensor_id, celsius, measured_at}] by id
//     connection()    the current view's watch: live | connecting | reconnecting | error | idle
//     connectionLog() every state the watch went through since the view opened, oldest first
//     ready()         the view's first load is done (and, with a watch, the watch is open)
//     window()        live view: {start_time, seconds} of the loaded window, else null
//     view()          sensors | live | table, or signin while the sign-in form is shown
//     auth()          open (no token held, none asked for) | signin (the form is shown) |
//                     token (the tab holds a token the admin accepted)

import "uplot/dist/uPlot.min.css";
import "./app.css";
import { apiBaseUrl, createAdmin } from "./api";
import { type AuthRefusal, authInterceptor, sessionTokens } from "./auth";
import { Banner, h } from "./dom";
import { originHint } from "./errors";
import { type SignInReason, signInView } from "./signin";
import { parseState, type ViewName } from "./state";
import { connectionText, emptyHooks, type HookData, secondsUntil, type ViewContext } from "./view";
import { liveView } from "./views/live";
import { sensorsView } from "./views/sensors";
import { tableView } from "./views/table";
import type { Connection } from "./watch";

const baseUrl = apiBaseUrl(window.location);
const tokens = sessionTokens(baseUrl);
const admin = createAdmin(baseUrl, [authInterceptor(tokens, refused)]);
/** For the sign-in form's check of a token it is given: sends no token of its own, reports nothing. */
const probe = createAdmin(baseUrl);
const banner = new Banner();

const TITLES: Record<ViewName, string> = { sensors: "Sensors", live: "Live chart", table: "Measurements" };
const navLinks = (Object.keys(TITLES) as ViewName[]).map((v) =>
  h("a", { href: `#view=${v}`, testid: `nav-${v}`, "data-view": v }, TITLES[v]),
);
const nav = h("nav", { "aria-label": "Views" }, ...navLinks);
const connEl = h("span", { class: "conn", testid: "connection", "data-state": "idle", role: "status" });
const forgetButton = h(
  "button",
  { type: "button", class: "forget", testid: "forget-token", hidden: true, onclick: forget },
  "Forget token",
);
const main = h("main", { id: "main", tabindex: -1 });
document.getElementById("app")!.append(
  h("a", { class: "skip", href: "#main", onclick: skipToMain }, "Skip to content"),
  h(
    "header",
    { class: "top" },
    h("a", { class: "brand", href: "#view=sensors" }, "sensorpipe"),
    nav,
    connEl,
    forgetButton,
  ),
  banner.el,
  main,
  h("footer", {}, "Admin API: ", h("code", { testid: "api-base" }, baseUrl)),
);

function skipToMain(ev: Event) {
  ev.preventDefault();
  main.focus();
}

// ---- the watch's state, shown in the header and, while it is down, in the banner ----

let connection: Connection | null = null;
let connectionLog: string[] = [];
let retryNow: (() => void) | undefined;
let bannerIsConnection = false;

function showConnection() {
  const state = connection?.state ?? "idle";
  connEl.dataset.state = state;
  connEl.hidden = !connection;
  connEl.textContent = connection ? connectionText(connection) : "";
  if (connection?.state === "reconnecting" || connection?.state === "error") {
    const what = connection.state === "reconnecting" ? "No connection to" : "Stopped following";
    const hint = connection.state === "reconnecting" ? originHint(baseUrl) : "";
    banner.show(
      `${what} the admin service at ${baseUrl}: ${connection.reason}.${hint}`,
      connection.state === "reconnecting" ? `Reconnecting in ${secondsUntil(connection.retryAt)} s…` : "",
      connection.state === "reconnecting" && retryNow ? { label: "Retry now", run: retryNow } : undefined,
    );
    bannerIsConnection = true;
  } else if (bannerIsConnection) {
    banner.clear();
    bannerIsConnection = false;
  }
}
setInterval(() => connection?.state === "reconnecting" && showConnection(), 1000);

// ---- the read token: asked for when a call is refused for its credentials ----

/** Set while the sign-in form is shown (instead of any view); aborts when it goes. */
let signingIn: AbortController | null = null;

function showAuth() {
  forgetButton.hidden = signingIn !== null || !tokens.get();
  nav.hidden = signingIn !== null;
}

/** A call was refused for its token (or for having none): ask for one, once. */
function refused(r: AuthRefusal) {
  if (signingIn) return; // asked already
  if (r.token !== tokens.get()) return; // sent before the token changed: the current one may do
  if (r.token) tokens.clear(); // refused or not allowed to read: useless to the dashboard
  signIn(r.token ? { kind: "refused", code: r.code, message: r.message } : { kind: "needed" });
}

function forget() {
  tokens.clear();
  signIn({ kind: "forgotten" });
}

function signIn(reason: SignInReason) {
  leaveView();
  const stop = new AbortController();
  signingIn = stop;
  const form = signInView({
    baseUrl,
    probe,
    reason,
    signal: stop.signal,
    accepted(token) {
      tokens.set(token);
      stop.abort();
      signingIn = null;
      showAuth();
      route();
      // The form (and the focus in it) is gone: start reading and tabbing from the view's heading.
      const heading = main.querySelector<HTMLElement>("h1");
      heading?.setAttribute("tabindex", "-1");
      heading?.focus({ preventScroll: true });
    },
  });
  document.title = "Sign in · sensorpipe";
  main.replaceChildren(form.el);
  showAuth();
  if (reason.kind !== "needed" || document.activeElement === document.body || document.activeElement === main) {
    form.focus();
  }
}

// ---- routing ----

let hooks: HookData = emptyHooks();
let current: { name: ViewName; stop: AbortController; update?: (s: ReturnType<typeof parseState>) => void } | undefined;

function navigate(hash: string, opts: { replace?: boolean } = {}) {
  if (opts.replace) history.replaceState(null, "", hash);
  else if (location.hash === hash) route();
  else location.hash = hash;
}

/** Stops the current view, its calls and its watch, and clears what it showed in the shell. */
function leaveView() {
  current?.stop.abort();
  current = undefined;
  banner.clear();
  bannerIsConnection = false;
  connection = null;
  connectionLog = [];
  retryNow = undefined;
  showConnection();
  hooks = emptyHooks();
}

function route() {
  const state = parseState(location.hash);
  for (const a of navLinks) a.toggleAttribute("aria-current", a.dataset.view === state.view);
  if (signingIn) return; // the view in the URL opens once a token is accepted
  if (current?.name === state.view && current.update) {
    current.update(state);
    return;
  }
  const moved = current !== undefined;
  leaveView();
  const stop = new AbortController();
  const ctx: ViewContext = {
    admin,
    baseUrl,
    banner,
    signal: stop.signal,
    state,
    navigate,
    hooks,
    connection(c, retry) {
      if (stop.signal.aborted) return;
      connection = c;
      retryNow = retry;
      if (c && connectionLog.at(-1) !== c.state) connectionLog.push(c.state);
      showConnection();
    },
  };
  document.title = `${TITLES[state.view]} · sensorpipe`;
  if (state.view === "table") {
    const view = tableView(ctx);
    main.replaceChildren(view.el);
    current = { name: state.view, stop, update: view.update };
  } else {
    main.replaceChildren(state.view === "live" ? liveView(ctx) : sensorsView(ctx));
    current = { name: state.view, stop };
  }
  // After a click that replaced the view, start reading and tabbing from its heading.
  if (moved) main.querySelector<HTMLElement>("h1")?.setAttribute("tabindex", "-1");
  if (moved) main.querySelector<HTMLElement>("h1")?.focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
showAuth();
route();

Object.defineProperty(window, "__dashboard", {
  value: Object.freeze({
    points: () => hooks.points(),
    sensors: () => hooks.sensors(),
    connection: () => connection?.state ?? "idle",
    connectionLog: () => [...connectionLog],
    ready: () => hooks.ready,
    window: () => hooks.window,
    view: () => (signingIn ? "signin" : current?.name),
    auth: () => (signingIn ? "signin" : tokens.get() ? "token" : "open"),
  }),
});
