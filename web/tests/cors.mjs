// Scenario: a page served from one origin calls the admin on another (`?api=`): the browser's CORS
// preflight is answered and the sensors view loads.
//
// Input (argv[2]): {
//   "page_origin_url": where the dashboard's page is served (another origin than the API),
//   "api_url": the admin's base URL (e.g. "http://127.0.0.1:50052"),
//   "screenshot"?: PNG path, "phone_screenshot"?: PNG path }
// stdin: not read. stdout: only {"event":"failed",...} on failure (see driver.mjs).
import assert from "node:assert/strict";
import { log, scenario, waitFor, waitReady } from "./driver.mjs";

scenario(async ({ input, context, page }) => {
  const pageUrl = new URL(input.page_origin_url);
  const api = new URL(input.api_url);
  assert.notEqual(pageUrl.origin, api.origin, "the page and the API must be on different origins");
  pageUrl.searchParams.set("api", api.origin + api.pathname.replace(/\/+$/, ""));
  pageUrl.hash = "view=sensors";

  // Chromium reports preflights to the DevTools protocol as requests of type "Preflight".
  const preflights = [];
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.requestWillBeSent", (e) => {
    if (e.type === "Preflight" || e.request.method === "OPTIONS") preflights.push({ method: e.request.method, url: e.request.url });
  });
  const calls = [];
  page.on("requestfinished", async (r) => {
    if (r.url().startsWith(api.origin)) calls.push({ method: r.method(), url: r.url(), status: (await r.response())?.status() });
  });

  await page.goto(pageUrl.toString());
  await waitReady(page, "the sensors view to load from the other origin");
  await waitFor(page, "the sensor count", () => /^\d[\d,]* sensors?$/.test(document.querySelector("[data-testid=sensor-count]").textContent));
  assert.equal(await page.isVisible("[data-testid=banner]"), false, "no error banner");
  assert.equal(await page.textContent("[data-testid=api-base]"), pageUrl.searchParams.get("api"), "the page says where it calls");
  log("preflights:", JSON.stringify(preflights), "calls:", JSON.stringify(calls));
  assert.ok(
    preflights.some((p) => p.method === "OPTIONS" && p.url.startsWith(`${api.origin}/sensorpipe.v1.AdminService/`)),
    `a preflight (OPTIONS) to ${api.origin} was seen: ${JSON.stringify(preflights)}`,
  );
  assert.ok(
    calls.some((c) => c.method === "POST" && c.url.endsWith("/sensorpipe.v1.AdminService/ListSensors") && c.status === 200),
    `a gRPC-Web ListSensors call to ${api.origin} answered 200: ${JSON.stringify(calls)}`,
  );

  // The screenshot shows the list as a person sees it: every row in view with its sparkline drawn
  // (they are fetched across the origins too, after the list, for the rows in view only).
  await waitFor(page, "a sparkline in every row in view", () => {
    const list = document.querySelector("[data-testid=sensor-list]").getBoundingClientRect();
    const rows = [...document.querySelectorAll("[data-testid=sensor-row]")].filter((a) => {
      const box = a.getBoundingClientRect();
      return box.bottom > list.top && box.top < list.bottom;
    });
    return rows.length > 0 && rows.every((a) => a.querySelector("[data-testid=sparkline]"));
  }, undefined, 30_000);
  assert.equal(await page.isVisible("[data-testid=banner]"), false, "no error banner after the sparklines");
});
