// Shared driver for the dashboard's browser scenarios (sensors.mjs, live.mjs, table.mjs, cors.mjs,
// auth.mjs, auth-cors.mjs).
//
// PROTOCOL (between the project's test harness and one scenario script)
//   start:   node web/tests/<scenario>.mjs '<one JSON object>'
//            The object holds the URL(s) to open, the truth to compare with and `screenshot`, a
//            path for a PNG of the scenario's view at 1366×768 (optional `phone_screenshot`: the
//            same view at 390×844). What each scenario reads is written at the top of its file.
//   stdout:  JSON lines only, one event each: {"event":"ready"}, {"event":"done"} (live.mjs), and
//            on failure {"event":"failed","message":"..."} just before exiting non-zero.
//   stdin:   JSON lines, read only by scenarios that say so (live.mjs; auth.mjs and auth-cors.mjs
//            take their tokens there, so that no token is ever on a command line).
//   stderr:  human-readable progress and the page's console, for the harness's log.
//   exit:    0 when every assertion held; 1 when one failed (the message says what differed);
//            2 when the input was unusable. A screenshot is saved either way when possible.
// Browser: Debian's chromium through playwright-core; `CHROMIUM` overrides the executable
// (default /usr/bin/chromium). Each scenario gives up after SCENARIO_TIMEOUT_MS (default 120 s).
// TLS: an input's optional `trusted_certificates` (PEM paths of the servers' own certificates) are
// accepted by pinning their keys (--ignore-certificate-errors-spki-list): any other certificate
// still fails, as in a browser that trusts only those servers; node's own requests trust
// NODE_EXTRA_CA_CERTS.

import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

export const LAPTOP = { width: 1366, height: 768 };
export const PHONE = { width: 390, height: 844 };

/** Writes one protocol event to stdout. */
export function emit(event) {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

export function log(...parts) {
  console.error("[scenario]", ...parts);
}

/** The stdin JSON lines, one parsed object at a time (`for await (const msg of messages())`). */
export async function* messages() {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
  for await (const line of lines) {
    if (!line.trim()) continue;
    yield JSON.parse(line);
  }
}

/** Chromium's pin of a certificate: base64 SHA-256 of its SubjectPublicKeyInfo. */
function spkiPin(pemPath) {
  const spki = new X509Certificate(readFileSync(pemPath)).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}

/**
 * Launches chromium headless with the flags that work on this machine kind (as root too),
 * accepting the certificates at `trustedCertificates` (PEM paths).
 */
export async function launch(trustedCertificates = []) {
  const userDataDir = mkdtempSync(join(tmpdir(), "sensorpipe-chromium-"));
  const args = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
  ];
  if (process.getuid?.() === 0) args.push("--no-sandbox");
  if (trustedCertificates.length > 0) {
    args.push(`--ignore-certificate-errors-spki-list=${trustedCertificates.map(spkiPin).join(",")}`);
  }
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args,
    viewport: LAPTOP,
    acceptDownloads: true,
  });
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  };
  return { context, close };
}

/** A new page whose console and errors go to stderr; `page.errors` collects uncaught errors. */
export async function openPage(context) {
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") log(`console.${m.type()}:`, m.text());
  });
  page.on("pageerror", (e) => {
    errors.push(e.message);
    log("page error:", e.message);
  });
  page.errors = errors;
  return page;
}

/** `url` with its fragment replaced by `hash` (the view state), its query (`?api=`) kept. */
export function withHash(url, hash) {
  const u = new URL(url);
  u.hash = hash.replace(/^#/, "");
  return u.toString();
}

/** A view's fragment from its parameters: `view({ view: "table", sensor: "lab-1" })`. */
export function view(params) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") p.set(k, String(v));
  return `#${p}`;
}

/** Waits until `fn(arg)` is truthy in the page; the timeout error says what was awaited. */
export async function waitFor(page, what, fn, arg, timeout = 15_000) {
  try {
    return await page.waitForFunction(fn, arg, { timeout, polling: 100 });
  } catch (e) {
    throw new assert.AssertionError({
      message: `timed out after ${timeout} ms waiting for ${what}: ${e.message.split("\n")[0]}`,
    });
  }
}

/** Waits for the current view's first load to finish (window.__dashboard.ready()). */
export function waitReady(page, what = "the view to load", timeout = 15_000) {
  return waitFor(page, what, () => window.__dashboard?.ready() === true, undefined, timeout);
}

/** Saves PNGs of the page at laptop size (and phone size when asked), restoring the viewport. */
export async function screenshots(page, input) {
  await page.mouse.move(0, 0); // no hover highlight left by the last click
  if (input.screenshot) {
    await page.setViewportSize(LAPTOP);
    await page.screenshot({ path: input.screenshot });
    log("screenshot:", input.screenshot);
  }
  if (input.phone_screenshot) {
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(300); // the layout and the chart follow the resize on the next frames
    await page.screenshot({ path: input.phone_screenshot });
    await page.setViewportSize(LAPTOP);
    log("phone screenshot:", input.phone_screenshot);
  }
}

/** RFC 3339 text (any fraction length, Z or an offset) as integer microseconds since the epoch. */
export function micros(text) {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  assert.ok(m, `not an RFC 3339 time: ${JSON.stringify(text)}`);
  const seconds = BigInt(Date.parse(`${m[1]}${m[3]}`) / 1000);
  return seconds * 1_000_000n + BigInt((m[2] ?? "").padEnd(9, "0").slice(0, 6));
}

/** A temperature's exact text as the page writes it as data (`data-celsius`, CSV): -0 is "-0". */
export function celsiusText(celsius) {
  return Object.is(celsius, -0) ? "-0" : String(celsius);
}

/**
 * Asserts that `text` (a `data-celsius` or a CSV field) is exactly the temperature `want` (a JSON
 * number as the API gave it, or its text): same value and same sign (Object.is, so -0 is not 0),
 * written as the page writes data.
 */
export function assertCelsiusText(text, want, what) {
  const wanted = typeof want === "string" ? Number(want) : want;
  assert.equal(typeof text, "string", `${what}: no temperature text`);
  assert.ok(Object.is(Number(text), wanted), `${what}: ${JSON.stringify(text)}, the API gave ${celsiusText(wanted)}`);
  if (typeof want === "number") assert.equal(text, celsiusText(want), `${what}: the text of ${celsiusText(want)}`);
}

/** Whether a shown temperature ("-0.00 °C") has the sign of the value: a minus for every negative, -0 too. */
export function shownSignOk(shown, celsius) {
  return shown.trim().startsWith("-") === (celsius < 0 || Object.is(celsius, -0));
}

/** A reading's identity (the table's primary key), the same whatever its time's text form. */
export function key(row) {
  const us = micros(row.measured_at);
  const fraction = ((us % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const whole = new Date(Number((us - fraction) / 1_000_000n) * 1000).toISOString().slice(0, 19);
  return `${row.sensor_id} @ ${whole}.${String(fraction).padStart(6, "0")}Z`;
}

/**
 * Runs a scenario: parses argv[2], launches the browser, runs `body({ input, context, page })`,
 * saves the screenshot(s), and exits 0, or 1 with the failure on stderr and stdout.
 */
export async function scenario(body) {
  let input;
  try {
    input = JSON.parse(process.argv[2] ?? "");
  } catch (e) {
    emit({ event: "failed", message: `the argument must be one JSON object: ${e.message}` });
    process.exit(2);
  }
  const timeout = Number(process.env.SCENARIO_TIMEOUT_MS || 120_000);
  const timer = setTimeout(() => {
    emit({ event: "failed", message: `scenario timed out after ${timeout} ms` });
    process.exit(1);
  }, timeout);
  const { context, close } = await launch(input.trusted_certificates ?? []);
  const page = await openPage(context);
  let failure;
  try {
    await body({ input, context, page });
    assert.deepEqual(page.errors, [], "the page threw uncaught errors");
  } catch (e) {
    failure = e;
  }
  await screenshots(page, input).catch((e) => log("no screenshot:", e.message));
  await close();
  clearTimeout(timer);
  if (failure) {
    log(failure.stack ?? failure);
    emit({ event: "failed", message: String(failure.message ?? failure) });
    process.exit(1);
  }
  process.exit(0);
}
