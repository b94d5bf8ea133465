// Scenario: with auth on, the dashboard asks for a read token, tells a wrong token and a token
// without the read scope apart, shows the data with the right one (its live watch included), keeps
// it across a reload of the tab, forgets it on request, and asks again once the token is revoked.
//
// Input (argv[2]): {
//   "url": the dashboard's page URL (the admin's, or Envoy's),
//   "sensors": [{"sensor_id", "celsius", "measured_at"}, ...] every sensor and its latest reading,
//   "live_sensor": a sensor to open the live chart of (the view the page is first opened on),
//   "screenshot": PNG path, "phone_screenshot"?: PNG path }
//   Besides those two (the end: the form after the revocation), it saves the empty form as
//   `<screenshot>-form.png`, the form after a wrong token as `<screenshot>-error.png` and the
//   sensors view once signed in as `<screenshot>-signed-in.png` (and the same after
//   phone_screenshot's name when it is given).
// stdin, JSON lines (tokens never go on a command line):
//   first {"tokens": {"wrong", "no_read", "read"}}: a token admin does not know, one without the
//       read scope, and a read token
//   after {"event":"signed_in"}: {"expect": [{"sensor_id", "measured_at", "celsius"}, ...]} rows
//       of live_sensor saved since, to be charted by the watch opened with the token
//                                                                        -> {"event":"seen"}
//   after {"event":"revoke"}: {"event":"revoked"} once admin refuses the read token
//                                                                        -> {"event":"done"}
// The token never shows in a URL, in the page's text, or in a request's URL; every gRPC-Web call
// after the sign-in carries it as `authorization: Bearer <token>`.
import assert from "node:assert/strict";
import {
  emit,
  key,
  LAPTOP,
  log,
  messages,
  PHONE,
  scenario,
  view,
  waitFor,
  waitReady,
  withHash,
} from "./driver.mjs";

const API_PATH = "/sensorpipe.v1.AdminService/";

/** The sign-in form as a person meets it. */
function form(page) {
  return page.evaluate(() => {
    const q = (id) => document.querySelector(`[data-testid=${id}]`);
    const input = q("token-input");
    const label = input && document.querySelector(`label[for="${input.id}"]`);
    const visible = (el) => Boolean(el && !el.hidden && el.getClientRects().length);
    return {
      shown: visible(q("signin-form")),
      input_type: input?.type,
      label: label?.textContent ?? null,
      hint: q("signin-hint")?.textContent ?? null,
      hint_linked: Boolean(input?.getAttribute("aria-describedby")?.split(" ").includes(q("signin-hint")?.id)),
      error: visible(q("signin-error")) ? q("signin-error").textContent : "",
      notice: visible(q("signin-notice")) ? q("signin-notice").textContent : "",
      forget: visible(q("forget-token")),
      nav: visible(document.querySelector("header nav")),
      auth: window.__dashboard.auth(),
      focused: document.activeElement === input,
    };
  });
}

/** Everything the tab keeps in sessionStorage and localStorage, as text. */
const storage = (page) =>
  page.evaluate(() => ({
    session: Object.keys(sessionStorage).map((k) => `${k}=${sessionStorage.getItem(k)}`).join("\n"),
    local: Object.keys(localStorage).map((k) => `${k}=${localStorage.getItem(k)}`).join("\n"),
  }));

async function shot(page, input, suffix) {
  await page.mouse.move(0, 0);
  const path = (p) => p.replace(/\.png$/, `${suffix}.png`);
  await page.screenshot({ path: path(input.screenshot) });
  log("screenshot:", path(input.screenshot));
  if (input.phone_screenshot) {
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path(input.phone_screenshot) });
    await page.setViewportSize(LAPTOP);
    log("phone screenshot:", path(input.phone_screenshot));
  }
}

async function submit(page, token) {
  await page.fill("[data-testid=token-input]", token);
  await page.click("[data-testid=signin-submit]");
}

scenario(async ({ input, page }) => {
  const inbox = messages()[Symbol.asyncIterator]();
  const next = async (what) => {
    const { value, done } = await inbox.next();
    assert.ok(!done, `stdin closed before ${what}`);
    return value;
  };
  const { tokens } = await next("the tokens");
  assert.ok(tokens?.wrong && tokens?.no_read && tokens?.read, "the first stdin line holds the three tokens");
  /** Whether `text` holds any of the tokens (the message says which kind, never the token). */
  const leaks = (text) => Object.entries(tokens).filter(([, t]) => text.includes(t)).map(([name]) => name);

  // Every call to the API: its URL and whether it carried the read token.
  const calls = [];
  page.on("request", async (r) => {
    if (!r.url().includes(API_PATH) || r.method() !== "POST") return;
    const headers = await r.allHeaders();
    calls.push({ url: r.url(), authorization: headers.authorization ?? "" });
  });

  const live = input.live_sensor;
  const liveUrl = withHash(input.url, view({ view: "live", sensors: live }));
  await page.goto(liveUrl);

  // 1. No token yet: the form, in place of the view, and nothing else to do.
  await waitFor(page, "the sign-in form", () => window.__dashboard.auth() === "signin");
  let f = await form(page);
  log("form:", JSON.stringify(f));
  assert.equal(f.shown, true, "the form is shown");
  assert.equal(f.input_type, "password", "the token input hides what is typed");
  assert.equal(f.label, "Read token", "the input is labelled");
  assert.match(f.hint, /^Ask your operator, or run scripts\/dev up, which prints one\.$/, "the hint");
  assert.ok(f.hint_linked, "the hint describes the input");
  assert.equal(f.error, "", "no error before any token was tried");
  assert.equal(f.forget, false, "nothing to forget yet");
  assert.equal(f.nav, false, "no views to go to before signing in");
  assert.equal(f.focused, true, "the input has the focus");
  assert.equal(await page.evaluate(() => window.__dashboard.view()), "signin");
  await page.waitForTimeout(200); // the request log reads headers asynchronously
  assert.ok(calls.length > 0 && calls.every((c) => c.authorization === ""), "the calls before signing in carried no token");
  await shot(page, input, "-form");

  // 2. A token admin does not know: said so, next to the input; nothing kept.
  await submit(page, tokens.wrong);
  await waitFor(page, "the wrong token's error", () => !document.querySelector("[data-testid=signin-error]").hidden);
  f = await form(page);
  log("after a wrong token:", f.error);
  assert.match(f.error, /did not accept this token \(invalid/, "the error for a wrong token");
  assert.equal(f.auth, "signin", "still signing in");
  assert.equal(f.focused, true, "the input has the focus again");
  assert.equal(await page.getAttribute("[data-testid=token-input]", "aria-invalid"), "true");
  let kept = await storage(page);
  assert.deepEqual(leaks(kept.session + kept.local), [], "a refused token is not kept");
  await shot(page, input, "-error");

  // 3. A known token without the read scope: the form says it lacks the read scope.
  await submit(page, tokens.no_read);
  await waitFor(page, "the scope error", () => /read scope/.test(document.querySelector("[data-testid=signin-error]").textContent));
  f = await form(page);
  log("after a token without read:", f.error);
  assert.match(f.error, /^This token lacks the read scope the dashboard needs \(token `.+` lacks the `read` scope/, "the error for a token without read");
  kept = await storage(page);
  assert.deepEqual(leaks(kept.session + kept.local), [], "a token without read is not kept");

  // 4. The read token: the view in the URL opens, its watch live with the token.
  const before = calls.length;
  await submit(page, tokens.read);
  await waitFor(page, "the live view after signing in", () => window.__dashboard.view() === "live");
  await waitFor(page, "the live chart loaded and its watch live", () => window.__dashboard.ready() && window.__dashboard.connection() === "live", undefined, 30_000);
  f = await form(page);
  assert.equal(f.shown, false, "the form is gone");
  assert.equal(f.auth, "token");
  assert.equal(f.forget, true, "“Forget token” is offered");
  assert.equal(f.nav, true, "the views are offered");
  kept = await storage(page);
  assert.deepEqual(leaks(kept.session), ["read"], "sessionStorage holds the read token");
  assert.deepEqual(leaks(kept.local), [], "localStorage holds no token");
  await page.waitForTimeout(200); // the request log reads headers asynchronously
  const after = calls.slice(before);
  assert.ok(after.some((c) => c.url.endsWith(`${API_PATH}WatchMeasurements`)), "a watch was opened after signing in");
  const bearer = `Bearer ${tokens.read}`;
  assert.ok(after.every((c) => c.authorization === bearer), "every call since carries the read token");
  emit({ event: "signed_in" });

  // 5. Rows saved now come through the watch opened with the token.
  const { expect } = await next("the rows to expect");
  await waitFor(
    page,
    "the rows saved after signing in on the chart",
    (keys) => {
      const drawn = new Set(window.__dashboard.points().map((p) => `${p.sensor_id} ${p.measured_at}`));
      return keys.every((k) => drawn.has(k));
    },
    expect.map((r) => `${r.sensor_id} ${r.measured_at}`),
    30_000,
  );
  log(`seen ${expect.length} rows: ${expect.map(key).join(", ")}`);
  emit({ event: "seen" });

  // 6. The sensors view shows the stored data.
  await page.click("[data-testid=nav-sensors]");
  await waitFor(page, "the sensors view", () => window.__dashboard.view() === "sensors");
  await waitReady(page, "the sensors list with the token");
  const held = await page.evaluate(() => window.__dashboard.sensors());
  const ids = (rows) => rows.map((r) => r.sensor_id).sort();
  assert.deepEqual(ids(held), ids(input.sensors), "the sensors the view holds");

  // 7. A reload of the tab keeps the token: no form.
  const beforeReload = calls.length;
  await page.reload();
  await waitReady(page, "the sensors view after a reload");
  await waitFor(page, "the watch live after a reload", () => window.__dashboard.connection() === "live", undefined, 30_000);
  f = await form(page);
  assert.equal(f.shown, false, "no form after a reload");
  assert.equal(f.auth, "token");
  await page.waitForTimeout(200);
  const reloaded = calls.slice(beforeReload);
  assert.ok(reloaded.length > 0 && reloaded.every((c) => c.authorization === bearer), "every call after the reload carries the token");

  await waitFor(page, "a sparkline in every row in view", () =>
    [...document.querySelectorAll("[data-testid=sensor-row]")].every((a) => a.querySelector("[data-testid=sparkline]")),
  );
  await shot(page, input, "-signed-in");

  // 8. "Forget token": the token leaves the tab, the form is back.
  await page.click("[data-testid=forget-token]");
  await waitFor(page, "the form after forgetting", () => window.__dashboard.auth() === "signin");
  f = await form(page);
  assert.equal(f.shown, true);
  assert.match(f.notice, /Token forgotten/, "the form says the token was forgotten");
  assert.equal(f.error, "");
  assert.equal(f.forget, false);
  assert.equal(await page.evaluate(() => window.__dashboard.connection()), "idle", "no watch while signed out");
  kept = await storage(page);
  assert.deepEqual(leaks(kept.session + kept.local), [], "the token is gone from the tab");

  // 9. Signed in again, the token revoked meanwhile: the next load asks again, saying why.
  const again = calls.length;
  await submit(page, tokens.read);
  await waitReady(page, "the sensors view after signing in again");
  // Every sparkline drawn: no call of the page is under way when the token is revoked, so the
  // reload below is what meets the refusal.
  await waitFor(page, "a sparkline in every row", () =>
    [...document.querySelectorAll("[data-testid=sensor-row]")].every((a) => a.querySelector("[data-testid=sparkline]")),
  );
  emit({ event: "revoke" });
  const revoked = await next("the revocation");
  assert.equal(revoked.event, "revoked", "the message after revoke");
  log(`calls since signing in again: ${calls.slice(again).map((c) => c.url.split("/").at(-1)).join(", ")}`);
  assert.equal(await page.evaluate(() => window.__dashboard.auth()), "token", "no call met the revocation before the reload");
  await page.reload();
  await waitFor(page, "the form after the revocation", () => window.__dashboard.auth() === "signin");
  f = await form(page);
  log("after the revocation:", f.error);
  assert.match(f.error, /no longer accepts the token this tab held \(invalid or revoked token\)/, "the form says the token was refused");
  kept = await storage(page);
  assert.deepEqual(leaks(kept.session + kept.local), [], "the revoked token is dropped");

  // Nowhere in sight: the URL, the page's text, a request's URL.
  assert.deepEqual(leaks(page.url()), [], "no token in the URL");
  assert.deepEqual(leaks(await page.evaluate(() => document.documentElement.outerHTML)), [], "no token in the page");
  assert.deepEqual(leaks(calls.map((c) => c.url).join("\n")), [], "no token in a request's URL");
  emit({ event: "done" });
});
