// Scenario: with auth on, a page on an origin the admin allows (`--cors-allowed-origins`) calls it
// across origins with the token: the refusal without a token reaches the page (the form shows),
// the preflight lets `authorization` through, and the data shows. A page on an origin the admin
// does not allow gets nothing from it: no form, and a banner that names the origin as a cause.
//
// Input (argv[2]): {
//   "allowed_page_url": the dashboard's page on an allowed origin (e.g. "http://localhost:PORT/"),
//   "api_url": the admin's base URL on another origin (e.g. "http://127.0.0.1:PORT"),
//   "screenshot": PNG path, "phone_screenshot"?: PNG path }
//   The page on a refused origin is served by this script on another loopback port (the same
//   files, fetched from allowed_page_url), so only admin's origin list can refuse it.
// stdin: first {"tokens": {"read"}} (tokens never go on a command line).
// stdout: only {"event":"failed",...} on failure (see driver.mjs).
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { log, messages, scenario, view, waitFor, waitReady } from "./driver.mjs";

/** Serves the files of `base` on 127.0.0.1 at a port of its own; resolves its origin and a stop. */
async function mirror(base) {
  const server = createServer(async (req, res) => {
    try {
      const r = await fetch(new URL(req.url, base));
      res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/octet-stream" });
      res.end(Buffer.from(await r.arrayBuffer()));
    } catch (e) {
      res.writeHead(502).end(String(e));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const stop = () => {
    server.closeAllConnections();
    server.close();
  };
  return { origin: `http://127.0.0.1:${server.address().port}`, stop };
}

scenario(async ({ input, context, page }) => {
  const { value } = await messages()[Symbol.asyncIterator]().next();
  const read = value?.tokens?.read;
  assert.ok(read, "the first stdin line holds the read token");
  const api = new URL(input.api_url);
  const allowed = new URL(input.allowed_page_url);
  assert.notEqual(allowed.origin, api.origin, "the page and the API must be on different origins");
  const pageAt = (base) => {
    const u = new URL(base);
    u.searchParams.set("api", api.origin);
    u.hash = view({ view: "sensors" }).slice(1);
    return u.toString();
  };

  // The preflights Chromium sends, with the request headers they ask for.
  const preflights = [];
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  cdp.on("Network.requestWillBeSent", (e) => {
    if (e.type === "Preflight" || e.request.method === "OPTIONS") {
      const asked = e.request.headers["Access-Control-Request-Headers"] ?? e.request.headers["access-control-request-headers"] ?? "";
      preflights.push({ origin: e.request.headers.Origin ?? e.request.headers.origin, asked: asked.toLowerCase() });
    }
  });

  // 1. The allowed origin: the form, then the data with the token.
  await page.goto(pageAt(allowed));
  await waitFor(page, "the sign-in form, across origins", () => window.__dashboard.auth() === "signin");
  await page.fill("[data-testid=token-input]", read);
  await page.click("[data-testid=signin-submit]");
  await waitFor(page, "the sensors view", () => window.__dashboard.view() === "sensors");
  await waitReady(page, "the sensors view across origins with the token");
  await waitFor(page, "the watch live", () => window.__dashboard.connection() === "live", undefined, 30_000);
  assert.equal(await page.isVisible("[data-testid=banner]"), false, "no error banner");
  log("preflights:", JSON.stringify(preflights));
  assert.ok(
    preflights.some((p) => p.origin === allowed.origin && p.asked.split(",").map((h) => h.trim()).includes("authorization")),
    "a preflight asked for the authorization header from the allowed origin",
  );

  // 2. A refused origin: no answer of the admin is readable there (the preflight gets no CORS
  //    headers), so no form either; the banner says the origin may be the cause.
  const refused = await mirror(allowed);
  try {
    await page.goto(pageAt(`${refused.origin}/`));
    await waitFor(page, "the banner on the refused origin", () => !document.querySelector("[data-testid=banner]").hidden, undefined, 20_000);
    const banner = await page.textContent("[data-testid=banner-message]");
    log("banner on the refused origin:", banner);
    assert.ok(banner.includes(`may not allow calls from this page's origin, ${refused.origin} (admin: --cors-allowed-origins)`), "the banner names the origin");
    assert.equal(await page.evaluate(() => window.__dashboard.auth()), "open", "no form: the admin's answer never reached the page");
    assert.equal(await page.evaluate(() => window.__dashboard.ready()), false, "no data on the refused origin");
  } finally {
    refused.stop();
  }
});
