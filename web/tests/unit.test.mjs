// Unit tests of the dashboard's logic that needs no browser: time text, URL state, CSV lines,
// error fields, backoff, the resumable watch against a scripted fake admin, and the read token
// (kept per API, sent on every call, refusals reported).
// The TypeScript sources are bundled for Node by esbuild first (needs `npm run generate`).
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { test } from "node:test";
import { build } from "esbuild";
import { Code, ConnectError } from "@connectrpc/connect";

const entry = `
export * from "./src/time";
export * from "./src/celsius";
export * from "./src/state";
export * from "./src/rows";
export * from "./src/errors";
export * from "./src/backoff";
export { follow } from "./src/watch";
export * from "./src/auth";
export { create, fromBinary, toBinary } from "@bufbuild/protobuf";
export { MeasurementSchema } from "./src/gen/sensorpipe/v1/admin_pb";
`;
const out = await build({
  stdin: { contents: entry, resolveDir: new URL("..", import.meta.url).pathname, loader: "ts" },
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
  external: ["@connectrpc/connect"],
});
// Written inside node_modules so that the bundle's bare imports resolve as the sources' do.
const bundled = new URL("../node_modules/.cache/sensorpipe-unit.mjs", import.meta.url);
mkdirSync(new URL(".", bundled), { recursive: true });
writeFileSync(bundled, out.outputFiles[0].text);
const m = await import(bundled.href);

test("timestamps print as the API's RFC 3339 with six fraction digits", () => {
  const ts = m.parseTime("2026-11-27T11:00:00.261347Z");
  assert.equal(m.rfc3339(ts), "2026-11-27T11:00:00.261347Z");
  assert.equal(m.rfc3339(m.parseTime("2026-11-27T11:00:00Z")), "2026-11-27T11:00:00.000000Z");
  assert.equal(m.rfc3339(m.parseTime("2026-11-27 12:30+01:00")), "2026-11-27T11:30:00.000000Z");
  assert.equal(m.rfc3339(m.parseTime("2026-11-27")), "2026-11-27T00:00:00.000000Z");
  assert.equal(m.rfc3339(m.parseTime("1969-12-31T23:59:59.5Z")), "1969-12-31T23:59:59.500000Z");
  for (const bad of ["", "yesterday", "2026-02-31T00:00:00Z", "2026-11-27T25:00:00Z", "2026-11-27T10:00:00Q"]) {
    assert.equal(m.parseTime(bad), null, `${JSON.stringify(bad)} is not a time`);
  }
});

test("ages and temperatures read at a glance", () => {
  assert.equal(m.formatAge(400), "just now");
  assert.equal(m.formatAge(12_300), "12 s ago");
  assert.equal(m.formatAge(185_000), "3 min ago");
  assert.equal(m.formatAge(2 * 3600_000), "2 h ago");
  assert.equal(m.formatCelsius(21.5), "21.50 °C");
  assert.equal(m.formatCelsius(-3.14159), "-3.14 °C");
  assert.equal(m.formatCelsius(1234.5), "1234.50 °C");
});

test("a temperature's data text keeps its sign; its display shows a minus for every negative", () => {
  assert.equal(m.celsiusText(-0), "-0");
  assert.equal(m.celsiusText(0), "0");
  assert.equal(m.celsiusText(-0.5), "-0.5");
  assert.equal(m.celsiusText(22.9), "22.9");
  assert.ok(Object.is(Number(m.celsiusText(-0)), -0), "the text reads back as -0");
  assert.equal(m.formatCelsius(-0), "-0.00 °C");
  assert.equal(m.formatCelsius(-0.004), "-0.00 °C");
  assert.equal(m.formatCelsius(0), "0.00 °C");
  assert.equal(m.formatCelsius(0.004), "0.00 °C");
  assert.equal(m.exact2(-0), "-0.00");
  assert.equal(m.exact2(0), "0.00");
  assert.equal(m.exact2(-1.5), "-1.50");
  assert.equal(m.exact2(21.125), "21.125");
  assert.equal(m.exact2(-0.004), "-0.004");
  const row = (celsius) => m.toRow(m.create(m.MeasurementSchema, { sensorId: "roof-4", celsius }));
  assert.equal(m.csvLine(row(-0)).split(",")[2], "-0");
  assert.equal(m.csvLine(row(0)).split(",")[2], "0");
});

test("-0.0 survives the protobuf wire both ways", () => {
  const bytes = m.toBinary(m.MeasurementSchema, m.create(m.MeasurementSchema, { celsius: -0 }));
  assert.ok(bytes.length > 0, "-0.0 is written, not skipped as the default");
  assert.ok(Object.is(m.fromBinary(m.MeasurementSchema, bytes).celsius, -0));
});

test("the view state round-trips through the URL fragment", () => {
  const table = m.parseState("#view=table&sensor=lab-1&start=2026-11-27T10%3A00%3A00Z&size=25&pages=abc,def");
  assert.equal(table.view, "table");
  assert.equal(table.sensor, "lab-1");
  assert.equal(table.start, "2026-11-27T10:00:00Z");
  assert.equal(table.size, 25);
  assert.deepEqual(table.pages, ["abc", "def"]);
  assert.deepEqual(m.parseState(m.stateHash(table)), table);
  const live = m.parseState("#view=live&sensors=a:1,b.2,a:1&window=1h");
  assert.deepEqual(live.sensors, ["a:1", "b.2"]);
  assert.equal(live.window, "1h");
  assert.deepEqual(m.parseState(m.stateHash(live)), live);
  const fallback = m.parseState("#view=nope&size=x&window=2y");
  assert.equal(fallback.view, "sensors");
  assert.equal(fallback.size, 100);
  assert.equal(fallback.window, "15m");
});

test("a CSV line is the API's fields in the header's order", () => {
  const row = m.toRow(
    m.create(m.MeasurementSchema, {
      sensorId: "lab-1",
      measuredAt: m.parseTime("2026-11-27T11:00:00Z"),
      celsius: 22.9,
      ingestedAt: m.parseTime("2026-11-27T11:00:00.2Z"),
      savedAt: m.parseTime("2026-11-27T11:00:00.261347Z"),
    }),
  );
  assert.equal(m.CSV_HEADER, "sensor_id,measured_at,celsius,ingested_at,saved_at");
  assert.equal(
    m.csvLine(row),
    "lab-1,2026-11-27T11:00:00.000000Z,22.9,2026-11-27T11:00:00.200000Z,2026-11-27T11:00:00.261347Z",
  );
  assert.equal(m.rowKey(row), "lab-1\u00002026-11-27T11:00:00.000000Z");
});

test("an INVALID_ARGUMENT names its field; network failures are retryable", () => {
  const p = m.problem(new ConnectError("end_time: must not be before start_time", Code.InvalidArgument));
  assert.equal(p.field, "end_time");
  assert.equal(p.message, "end_time: must not be before start_time");
  assert.equal(p.retryable, false);
  assert.equal(m.problem(new ConnectError("other: x", Code.InvalidArgument)).field, undefined);
  assert.equal(m.problem(new TypeError("Failed to fetch")).retryable, true);
  assert.equal(m.problem(new ConnectError("down", Code.Unavailable)).retryable, true);
});

test("backoff doubles from 0.5 s to a 10 s cap and starts over after a success", () => {
  const b = new m.Backoff();
  const waits = Array.from({ length: 8 }, () => b.next());
  const bases = [500, 1000, 2000, 4000, 8000, 10000, 10000, 10000];
  waits.forEach((w, i) => assert.ok(w <= bases[i] && w >= bases[i] * 0.8, `wait ${i}: ${w} for ${bases[i]}`));
  b.reset();
  assert.ok(b.next() <= 500);
});

/** A fake admin whose watch calls follow a script: each call gets the next step. */
function fakeAdmin(steps) {
  const calls = [];
  return {
    calls,
    watchMeasurements(req, opts) {
      calls.push({ ...req });
      const step = steps.shift() ?? { hang: true };
      return (async function* () {
        if (step.refuse) throw step.refuse;
        opts.onHeader?.(new Headers());
        for (const [i, row] of (step.rows ?? []).entries()) {
          yield { measurement: row, cursor: `${step.name}-${i}` };
        }
        if (step.fail) throw step.fail;
        await new Promise((_, reject) => opts.signal.addEventListener("abort", () => reject(new ConnectError("aborted", Code.Canceled))));
      })();
    },
  };
}

function reading(sensorId, second) {
  return m.create(m.MeasurementSchema, { sensorId, measuredAt: m.parseTime(`2026-11-27T11:00:${String(second).padStart(2, "0")}Z`), celsius: second });
}

test("the watch resumes from the last cursor, syncs only when it opened without one", async () => {
  const down = new ConnectError("the admin service is shutting down", Code.Unavailable);
  const admin = fakeAdmin([
    { name: "a", refuse: down }, // admin not up yet: no cursor, nothing synced
    { name: "b", rows: [], fail: down }, // opened, then cut before any row: still no cursor
    { name: "c", rows: [reading("x", 1), reading("x", 2)], fail: down },
    { name: "d", rows: [reading("x", 3)] },
  ]);
  const seen = [];
  const states = [];
  let syncs = 0;
  const stop = new AbortController();
  const done = new Promise((resolve) => {
    m.follow(admin, "x", {
      async sync() {
        syncs++;
      },
      rows(rows) {
        seen.push(...rows.map((r) => r.measured_at));
        if (seen.length === 3) resolve();
      },
      connection(c) {
        states.push(c.state);
      },
    }, stop.signal);
  });
  await done;
  stop.abort();
  assert.deepEqual(admin.calls.map((c) => c.cursor), ["", "", "", "c-1"]);
  assert.ok(admin.calls.every((c) => c.sensorId === "x"));
  assert.equal(syncs, 2, "a sync after each open without a cursor (b and c), none after resuming");
  assert.deepEqual(seen.map((t) => t.slice(17, 19)), ["01", "02", "03"]);
  assert.ok(states.includes("reconnecting") && states.includes("live"), states.join(","));
});

test("a cursor the service no longer knows starts over with a sync; other refusals stop", async () => {
  const admin = fakeAdmin([
    { name: "a", rows: [reading("x", 1)], fail: new ConnectError("gone", Code.Unavailable) },
    { name: "b", refuse: new ConnectError("cursor: not issued by this service", Code.InvalidArgument) },
    { name: "c", refuse: new ConnectError("sensor_id: must be 1 to 64 of ...", Code.InvalidArgument) },
  ]);
  const states = [];
  let syncs = 0;
  const stop = new AbortController();
  await new Promise((resolve) => {
    m.follow(admin, "x", {
      async sync() {
        syncs++;
      },
      rows() {},
      connection(c) {
        states.push(c);
        if (c.state === "error") resolve();
      },
    }, stop.signal);
  });
  stop.abort();
  assert.deepEqual(admin.calls.map((c) => c.cursor), ["", "a-0", ""]);
  assert.equal(syncs, 1);
  assert.equal(states.at(-1).reason, "sensor_id: must be 1 to 64 of ...");
});

/** A Storage stand-in: a Map behind the methods the dashboard uses. */
function memoryStorage() {
  const items = new Map();
  return {
    items,
    getItem: (k) => (items.has(k) ? items.get(k) : null),
    setItem: (k, v) => void items.set(k, String(v)),
    removeItem: (k) => void items.delete(k),
  };
}

test("a pasted token is cleaned; what a header cannot carry is not a token", () => {
  assert.equal(m.cleanToken("  sp_0a1b_c2d3\n"), "sp_0a1b_c2d3");
  assert.equal(m.cleanToken("Bearer sp_0a1b_c2d3"), "sp_0a1b_c2d3");
  assert.equal(m.cleanToken("bearer   sp_0a1b_c2d3"), "sp_0a1b_c2d3");
  for (const bad of ["", "   ", "sp_0a1b c2d3", "sp_é", "sp_\u0000", "x".repeat(5000)]) {
    assert.equal(m.cleanToken(bad), null, `${JSON.stringify(bad.slice(0, 20))} is not a token`);
  }
});

test("the token is kept in the tab's storage per API: another ?api= never gets it", () => {
  const storage = memoryStorage();
  const a = m.sessionTokens("http://127.0.0.1:50052", storage);
  const b = m.sessionTokens("http://elsewhere.example", storage);
  assert.equal(a.get(), "");
  a.set("sp_a_1");
  assert.equal(a.get(), "sp_a_1");
  assert.equal(b.get(), "", "the other API's store holds nothing");
  assert.equal(m.sessionTokens("http://127.0.0.1:50052", storage).get(), "sp_a_1", "a reload finds it");
  a.clear();
  assert.equal(a.get(), "");
  assert.equal(storage.items.size, 0, "nothing left in storage");
  // Storage refused (a sandboxed frame, storage switched off): the token lives in memory.
  const broken = { getItem() { throw new Error("denied"); }, setItem() { throw new Error("denied"); }, removeItem() { throw new Error("denied"); } };
  const c = m.sessionTokens("http://x", broken);
  c.set("sp_c_3");
  assert.equal(c.get(), "sp_c_3");
  c.clear();
  assert.equal(c.get(), "");
  assert.equal(m.sessionTokens("http://x", null).get(), "");
});

test("every call carries the held token; refusals for credentials are reported, others not", async () => {
  const storage = memoryStorage();
  const tokens = m.sessionTokens("http://admin", storage);
  const reports = [];
  const intercept = m.authInterceptor(tokens, (r) => reports.push(r));
  const request = (stream) => ({ stream, header: new Headers(), url: "http://admin/x", message: {} });
  let seen;
  const ok = intercept(async (req) => {
    seen = req.header.get("authorization");
    return { stream: false, message: {} };
  });

  await ok(request(false));
  assert.equal(seen, null, "no token held: no header");
  tokens.set("sp_t_1");
  await ok(request(false));
  assert.equal(seen, "Bearer sp_t_1");

  const refusing = (code, message) =>
    intercept(async () => {
      throw new ConnectError(message, code);
    });
  await assert.rejects(refusing(Code.Unauthenticated, "invalid or revoked token")(request(false)), ConnectError);
  await assert.rejects(refusing(Code.Unavailable, "admin is down")(request(false)), ConnectError);
  assert.deepEqual(reports, [{ code: Code.Unauthenticated, message: "invalid or revoked token", token: "sp_t_1" }]);

  // A watch refused after it opened: reported when the stream ends with the refusal.
  const watch = intercept(async () => ({
    stream: true,
    message: (async function* () {
      yield 1;
      throw new ConnectError("token `d` lacks the `read` scope this call needs", Code.PermissionDenied);
    })(),
  }));
  const res = await watch(request(true));
  const got = [];
  await assert.rejects(async () => {
    for await (const x of res.message) got.push(x);
  }, ConnectError);
  assert.deepEqual(got, [1]);
  assert.equal(reports.length, 2);
  assert.equal(reports[1].code, Code.PermissionDenied);
  assert.equal(reports[1].token, "sp_t_1");

  // Refused while holding none: reported with an empty token (the form asks for one).
  tokens.clear();
  await assert.rejects(refusing(Code.Unauthenticated, "missing bearer token")(request(false)));
  assert.deepEqual(reports[2], { code: Code.Unauthenticated, message: "missing bearer token", token: "" });
});

test("the sign-in form tells a wrong token from one without the read scope", () => {
  assert.match(m.refusalText(Code.Unauthenticated, "invalid or revoked token"), /did not accept this token \(invalid or revoked token\)/);
  assert.match(m.refusalText(Code.PermissionDenied, "token `d` lacks the `read` scope this call needs"), /^This token lacks the read scope/);
});

test("an unreachable API on another origin may be refusing this origin: the banner says so", () => {
  assert.equal(m.originHint("http://127.0.0.1:50052", "http://127.0.0.1:50052"), "");
  assert.equal(m.originHint("http://127.0.0.1:50052/", undefined), "");
  assert.equal(m.originHint("not a url", "http://localhost:8080"), "");
  assert.match(m.originHint("http://127.0.0.1:50052", "http://localhost:8080"), /may not allow calls from this page's origin, http:\/\/localhost:8080 \(admin: --cors-allowed-origins\)/);
});
