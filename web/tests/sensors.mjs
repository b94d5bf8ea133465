// Scenario: the sensors view lists exactly the stored sensors with their latest readings, the id
// filter narrows it, and a row opens that sensor's live chart by click and by keyboard.
//
// Input (argv[2]): {
//   "url": the dashboard's page URL (e.g. "http://127.0.0.1:50052/", may carry ?api=...),
//   "sensors": [{"sensor_id", "celsius", "measured_at"}, ...] every sensor and its latest reading,
//   "screenshot": PNG path, "phone_screenshot"?: PNG path }
// stdin: not read. stdout: only {"event":"failed",...} on failure (see driver.mjs).
import assert from "node:assert/strict";
import { assertCelsiusText, celsiusText, log, micros, scenario, shownSignOk, view, waitFor, waitReady, withHash } from "./driver.mjs";

/** Every row of the virtualised list, scrolling it from top to bottom. */
function allRows(page) {
  return page.evaluate(async () => {
    const list = document.querySelector("[data-testid=sensor-list]");
    const frame = () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    const seen = new Map();
    list.scrollTop = 0;
    for (;;) {
      await frame();
      for (const a of list.querySelectorAll("[data-testid=sensor-row]")) {
        const box = a.getBoundingClientRect();
        const outer = list.getBoundingClientRect();
        if (box.bottom <= outer.top || box.top >= outer.bottom) continue; // overscan, not in view
        seen.set(a.dataset.sensorId, {
          sensor_id: a.dataset.sensorId,
          id_text: a.querySelector("[data-testid=sensor-id]").textContent,
          value_text: a.querySelector("[data-testid=latest-value]").textContent,
          celsius: a.querySelector("[data-testid=latest-value]").dataset.celsius,
          measured_at: a.querySelector("[data-testid=age]").dateTime,
          age_text: a.querySelector("[data-testid=age]").textContent,
          stale: !a.querySelector("[data-testid=stale]").hidden,
        });
      }
      if (list.scrollTop + list.clientHeight >= list.scrollHeight - 1) break;
      list.scrollTop += list.clientHeight;
    }
    list.scrollTop = 0;
    return [...seen.values()];
  });
}

const ids = (rows) => rows.map((r) => r.sensor_id).sort();

scenario(async ({ input, page }) => {
  const truth = input.sensors;
  assert.ok(Array.isArray(truth) && truth.length > 0, "input.sensors must list at least one sensor");
  const started = Date.now();
  await page.goto(withHash(input.url, view({ view: "sensors" })));
  await waitReady(page, "the sensors list to load");
  await waitFor(page, "the first rows", () => document.querySelector("[data-testid=sensor-row]"));
  log(`${truth.length} sensors listed after ${Date.now() - started} ms`);

  // What the view holds, exactly.
  const held = await page.evaluate(() => window.__dashboard.sensors());
  assert.deepEqual(ids(held), ids(truth), "the sensors the view holds");
  const heldById = new Map(held.map((h) => [h.sensor_id, h]));
  for (const t of truth) {
    const c = heldById.get(t.sensor_id).celsius;
    assert.ok(Object.is(c, Number(t.celsius)), `${t.sensor_id}: the view holds ${celsiusText(c)} °C, stored ${celsiusText(t.celsius)}`);
  }

  // What it shows: every sensor once, with its latest reading as stored.
  const rows = await allRows(page);
  assert.deepEqual(ids(rows), ids(truth), "the sensors listed");
  const byId = new Map(rows.map((r) => [r.sensor_id, r]));
  for (const t of truth) {
    const r = byId.get(t.sensor_id);
    assert.equal(r.id_text, t.sensor_id, "the id shown");
    const shown = Number.parseFloat(r.value_text);
    assert.ok(Math.abs(shown - t.celsius) <= 0.0051, `${t.sensor_id}: shows ${r.value_text}, stored ${t.celsius}`);
    assert.match(r.value_text, /°C$/, `${t.sensor_id}: the unit`);
    assert.ok(shownSignOk(r.value_text, t.celsius), `${t.sensor_id}: shows ${r.value_text}, the sign of ${celsiusText(t.celsius)}`);
    assertCelsiusText(r.celsius, t.celsius, `${t.sensor_id}: data-celsius`);
    assert.equal(micros(r.measured_at), micros(t.measured_at), `${t.sensor_id}: measured_at ${r.measured_at} vs ${t.measured_at}`);
    assert.match(r.age_text, /^(just now|\d+ (s|min|h|d) ago)$/, `${t.sensor_id}: age text ${r.age_text}`);
    const ageS = (Date.now() * 1000 - Number(micros(t.measured_at))) / 1e6;
    if (ageS > 65) assert.ok(r.stale, `${t.sensor_id} is ${Math.round(ageS)} s old and must be marked stale`);
    if (ageS < 55) assert.ok(!r.stale, `${t.sensor_id} is ${Math.round(ageS)} s old and must not be marked stale`);
  }
  const countText = await page.textContent("[data-testid=sensor-count]");
  assert.match(countText, new RegExp(`^${truth.length.toLocaleString("en-US")} sensors?$`), "the count");

  // The filter narrows the list to the ids that contain its text (any case), and says so in the URL.
  const target = truth[truth.length >> 1].sensor_id;
  const expected = (text) => truth.filter((t) => t.sensor_id.toLowerCase().includes(text.toLowerCase()));
  for (const text of [target, target.slice(0, Math.max(1, target.length - 1)).toUpperCase()]) {
    await page.fill("[data-testid=sensor-filter]", text);
    await waitFor(page, `the filter “${text}”`, (n) => document.querySelectorAll("[data-testid=sensor-row]").length <= n, expected(text).length);
    assert.deepEqual(ids(await allRows(page)), ids(expected(text)), `the rows for the filter “${text}”`);
    assert.equal(new URL(page.url()).hash.includes(`filter=${encodeURIComponent(text)}`), true, "the filter is in the URL");
  }
  await page.fill("[data-testid=sensor-filter]", "no-such-sensor-id-at-all");
  await waitFor(page, "the no-match message", () => !document.querySelector("[data-testid=list-status]").hidden);
  assert.match(await page.textContent("[data-testid=list-status]"), /No sensor id contains/);

  // A click opens the live chart of that sensor.
  await page.fill("[data-testid=sensor-filter]", target);
  await page.click(`[data-testid=sensor-row][data-sensor-id="${target}"]`);
  await waitFor(page, "the live view", () => window.__dashboard.view() === "live");
  assert.equal(new URLSearchParams(new URL(page.url()).hash.slice(1)).get("sensors"), target, "the live view's sensors");
  await waitFor(page, `the chip of ${target}`, (id) => document.querySelector(`[data-testid=chip][data-sensor-id="${id}"]`), target);
  await waitReady(page, "the live chart to load");
  const charted = await page.evaluate(() => window.__dashboard.points());
  assert.ok(charted.every((p) => p.sensor_id === target), "the chart holds only the chosen sensor");

  // So does the keyboard: back, down from the filter box into the list, Enter.
  await page.goBack();
  await waitReady(page, "the sensors list again");
  await page.fill("[data-testid=sensor-filter]", "");
  await page.focus("[data-testid=sensor-filter]");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  const focused = await page.evaluate(() => document.activeElement?.dataset.sensorId);
  assert.equal(focused, ids(truth)[Math.min(1, truth.length - 1)], "ArrowDown moves through the rows");
  await page.keyboard.press("Enter");
  await waitFor(page, "the live view from the keyboard", () => window.__dashboard.view() === "live");
  assert.equal(new URLSearchParams(new URL(page.url()).hash.slice(1)).get("sensors"), focused);

  // The screenshot shows the whole list, sparklines drawn (they are fetched for rows in view).
  await page.goto(withHash(input.url, view({ view: "sensors" })));
  await waitReady(page, "the sensors list for the screenshot");
  await waitFor(page, "a sparkline in every row in view", () =>
    [...document.querySelectorAll("[data-testid=sensor-row]")].every((a) => a.querySelector("[data-testid=sparkline]")),
  );
});
