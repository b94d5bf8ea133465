// Scenario: the live chart loads its window, then follows every saved row exactly once, across an
// admin restart, showing that it is reconnecting while the admin is down.
//
// Input (argv[2]): {
//   "url": the dashboard's page URL (may carry ?api=...),
//   "sensors": ["lab-1", ...]  the sensors to chart,
//   "initial"?: [{"sensor_id", "measured_at", "celsius"}, ...]  when given, the window must hold exactly these,
//   "screenshot": PNG path, "phone_screenshot"?: PNG path }
// stdout, once the window is loaded and the watch is open: {"event":"ready"}
// stdin, one JSON line at a time, each answered on stdout once it holds:
//   {"expect": [{"sensor_id", "measured_at", "celsius"}, ...]}  rows saved since (maybe while the
//       admin was down): within 30 s each is on the chart exactly once, and no point exists outside
//       the initial window and every row expected so far      -> {"event":"seen","rows":N}
//       (rows must be of charted sensors, measured inside the chart's window: the last 15 minutes)
//   {"event":"admin_down"}  the admin is stopped: within 15 s the page shows it is reconnecting
//                                                             -> {"event":"reconnecting"}
//   {"event":"admin_up"}    the admin is back: within 30 s the page is live again -> {"event":"live"}
//   {"event":"end"}         -> {"event":"done"}, then exit 0
import assert from "node:assert/strict";
import { emit, key, log, messages, micros, scenario, view, waitFor, waitReady, withHash } from "./driver.mjs";

const points = (page) => page.evaluate(() => window.__dashboard.points());

/** What differs between the chart and what it may hold; empty when `must` are all there once. */
function differences(drawn, allowed, must) {
  const counts = new Map();
  for (const p of drawn) counts.set(key(p), (counts.get(key(p)) ?? 0) + 1);
  const problems = [];
  for (const [k, n] of counts) if (n > 1) problems.push(`${k} drawn ${n} times`);
  for (const k of counts.keys()) if (!allowed.has(k)) problems.push(`${k} drawn but neither in the window nor expected`);
  for (const [k, row] of must) {
    if (!counts.has(k)) problems.push(`${k} expected but not drawn`);
    else {
      const p = drawn.find((d) => key(d) === k);
      if (p.celsius !== Number(row.celsius)) problems.push(`${k} drawn at ${p.celsius} °C, saved at ${row.celsius}`);
    }
  }
  return problems;
}

scenario(async ({ input, page }) => {
  const chosen = input.sensors;
  assert.ok(Array.isArray(chosen) && chosen.length > 0, "input.sensors must name at least one sensor");
  await page.goto(withHash(input.url, view({ view: "live", sensors: chosen.join(",") })));
  await waitFor(page, "the window to load and the watch to be live", () => window.__dashboard.ready() && window.__dashboard.connection() === "live", undefined, 30_000);
  assert.equal(await page.getAttribute("[data-testid=connection]", "data-state"), "live");
  assert.match(await page.textContent("[data-testid=connection]"), /Live/);

  const initial = await points(page);
  const win = await page.evaluate(() => window.__dashboard.window());
  assert.ok(win?.start_time, "the live view reports its window");
  assert.deepEqual(differences(initial, new Set(initial.map(key)), new Map()), [], "the initial window");
  for (const p of initial) {
    assert.ok(chosen.includes(p.sensor_id), `${key(p)}: not a charted sensor`);
    assert.ok(micros(p.measured_at) >= micros(win.start_time), `${key(p)}: before the window's start ${win.start_time}`);
  }
  if (input.initial) {
    assert.deepEqual(initial.map(key).sort(), input.initial.map(key).sort(), "the initial window holds exactly `initial`");
  }
  log(`ready: ${initial.length} points in the window from ${win.start_time}`);
  emit({ event: "ready" });

  const allowed = new Set(initial.map(key));
  const expected = new Map();
  let logSeen = (await page.evaluate(() => window.__dashboard.connectionLog())).length;
  let adminDown = false;
  for await (const msg of messages()) {
    if (msg.expect) {
      for (const row of msg.expect) {
        assert.ok(chosen.includes(row.sensor_id), `expected ${key(row)} is not of a charted sensor`);
        allowed.add(key(row));
        expected.set(key(row), row);
      }
      const deadline = Date.now() + 30_000;
      let problems;
      for (;;) {
        problems = differences(await points(page), allowed, new Map(msg.expect.map((r) => [key(r), r])));
        if (problems.length === 0 || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.deepEqual(problems, [], `the chart 30 s after ${msg.expect.length} expected rows`);
      log(`seen ${msg.expect.length} rows`);
      emit({ event: "seen", rows: msg.expect.length });
    } else if (msg.event === "admin_down") {
      adminDown = true;
      await waitFor(page, "the page to show it is reconnecting", (from) => window.__dashboard.connectionLog().slice(from).includes("reconnecting"), logSeen, 15_000);
      const shown = await page.evaluate(() => ({
        state: window.__dashboard.connection(),
        text: document.querySelector("[data-testid=connection]").textContent,
        banner: document.querySelector("[data-testid=banner]").hidden ? "" : document.querySelector("[data-testid=banner]").textContent,
      }));
      if (shown.state === "reconnecting") {
        assert.match(shown.text, /^Reconnecting in \d+ s$/, "the connection state says it is reconnecting");
        assert.match(shown.banner, /No connection to the admin service at /, "the banner says the admin is unreachable");
      }
      log(`reconnecting: ${JSON.stringify(shown)}`);
      emit({ event: "reconnecting" });
    } else if (msg.event === "admin_up") {
      adminDown = false;
      await waitFor(page, "the watch to be live again", () => window.__dashboard.connection() === "live", undefined, 30_000);
      await waitFor(page, "the banner to go", () => document.querySelector("[data-testid=banner]").hidden);
      logSeen = (await page.evaluate(() => window.__dashboard.connectionLog())).length;
      emit({ event: "live" });
    } else if (msg.event === "end") {
      if (!adminDown) {
        assert.deepEqual(differences(await points(page), allowed, expected), [], "the chart at the end");
      }
      emit({ event: "done" });
      return;
    } else {
      assert.fail(`unknown message on stdin: ${JSON.stringify(msg)}`);
    }
  }
  assert.fail('stdin closed before {"event":"end"}');
});
