// Development stand-in for the project's test harness: runs the browser scenarios in tests/
// against a real admin on a fresh database, speaking their protocol (see tests/driver.mjs).
//   npm run build && node tools/try-scenarios.mjs [sensors|live|table|cors ...]
// (Not auth.mjs nor auth-cors.mjs: services/e2e/tests/dashboard.rs runs those, with tokens.)
// Needs: psql, DATABASE_URL (a role that may create databases; `scripts/stack env`), the admin
// binary (ADMIN_BIN, default ../target/debug/admin) and chromium (CHROMIUM). Screenshots go to
// OUT (default /tmp/sensorpipe-web). The admin does not serve dist/ here: a static server does, and
// the page calls the admin through `?api=`, as it would from any other origin.
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { PassThrough } from "node:stream";

const web = new URL("..", import.meta.url).pathname;
const adminBin = process.env.ADMIN_BIN || `${web}../target/debug/admin`;
const out = process.env.OUT || "/tmp/sensorpipe-web";
const base = new URL(process.env.DATABASE_URL ?? "postgres://sensorpipe:sensorpipe@127.0.0.1:5432/cloud_db");
const dbName = `web_try_${process.pid}`;
const dbUrl = Object.assign(new URL(base), { pathname: `/${dbName}` }).toString();
mkdirSync(out, { recursive: true });

const psql = (url, sql) => execFileSync("psql", ["-qAtX", "-v", "ON_ERROR_STOP=1", url, "-c", sql], { encoding: "utf8" }).trim();
const RFC = (col) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

/** Inserts readings (sensor_id, seconds ago, celsius) and returns them as the API shows them. */
function insert(rows) {
  const values = rows.map(([id, ago, c]) => `('${id}', date_trunc('milliseconds', now()) - interval '${ago} seconds', ${c}, now())`).join(",");
  return JSON.parse(
    psql(dbUrl, `WITH ins AS (INSERT INTO measurements (sensor_id, measured_at, celsius, ingested_at) VALUES ${values} RETURNING *)
      SELECT json_agg(json_build_object('sensor_id', sensor_id, 'measured_at', ${RFC("measured_at")}, 'celsius', celsius,
        'ingested_at', ${RFC("ingested_at")}, 'saved_at', ${RFC("saved_at")})) FROM ins`),
  );
}

let admin;
let adminAddr = "127.0.0.1:0";
/** Starts the admin (on the same address as before, after the first time); resolves its URL. */
function startAdmin() {
  // Open, as these scenarios are about everything but auth (auth.mjs and auth-cors.mjs run through
  // the project's harness, services/e2e/tests/dashboard.rs, which makes their tokens).
  admin = spawn(adminBin, ["--listen-addr", adminAddr, "--insecure-no-auth"], { env: { ...process.env, DATABASE_URL: dbUrl }, stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    const logs = new PassThrough();
    admin.stdout.pipe(logs, { end: false });
    admin.stderr.pipe(logs, { end: false });
    createInterface({ input: logs }).on("line", (line) => {
      const m = /admin listening.*addr=(\S+)/.exec(line.replace(/\x1b\[[0-9;]*m/g, ""));
      if (m) {
        adminAddr = m[1];
        resolve(`http://${adminAddr}`);
      }
    });
    admin.once("exit", () => reject(new Error("admin exited")));
  });
}
async function stopAdmin(signal = "SIGTERM") {
  const exited = new Promise((r) => admin.once("exit", r));
  admin.kill(signal);
  await exited;
}

async function get(api, path) {
  const res = await fetch(`${api}${path}`);
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** JSON as serde_json writes it (the project's harness): -0 stays -0.0, where JSON.stringify writes 0. */
function toJson(value) {
  const mark = "\u0000negative-zero";
  return JSON.stringify(value, (_k, v) => (Object.is(v, -0) ? mark : v)).replaceAll(JSON.stringify(mark), "-0.0");
}

/** Runs one scenario; `talk(child, events)` drives its stdin when it has a dialogue. */
function run(name, input, talk) {
  return new Promise((resolve) => {
    console.error(`--- ${name}`);
    const child = spawn(process.execPath, [`${web}tests/${name}.mjs`, toJson(input)], { stdio: ["pipe", "pipe", "inherit"] });
    const events = createInterface({ input: child.stdout });
    const queue = [];
    let wake;
    events.on("line", (line) => {
      console.error(`${name} > ${line}`);
      queue.push(JSON.parse(line));
      wake?.();
    });
    const next = async () => {
      while (!queue.length) await new Promise((r) => (wake = r));
      return queue.shift();
    };
    child.on("exit", (code) => {
      console.error(`--- ${name}: exit ${code}`);
      queue.push({ event: "exit", code });
      wake?.();
      resolve(code);
    });
    if (talk) talk(child, next).catch((e) => console.error(`${name}: harness error`, e));
    else child.stdin.end();
  });
}

const say = (child, msg) => {
  console.error(`< ${JSON.stringify(msg)}`);
  child.stdin.write(`${JSON.stringify(msg)}\n`);
};

// ---- set up ----
psql(base.toString(), `CREATE DATABASE ${dbName}`);
const results = {};
let server;
try {
  for (const f of readdirSync(`${web}../migrations`).sort()) psql(dbUrl, readFileSync(`${web}../migrations/${f}/up.sql`, "utf8"));
  const seed = [];
  for (let s = 1; s <= 5; s++) for (let i = 0; i < 40; i++) seed.push([`lab-${s}`, 20 + i * 15, (18 + s + Math.sin(i / 5)).toFixed(2)]);
  seed.push(["old-1", 3600, 12.5]);
  // Around zero: roof-0's latest reading is -0.004 (shown "-0.00 °C"), with a -0.0 and a 0 before it.
  // Not a -0.0 as a latest value or in the table: admin's gRPC answers (what the page reads) drop the
  // sign of zero, because prost leaves out a double equal to its default; HTTP JSON keeps it.
  seed.push(["roof-0", 40, "'-0'::float8"], ["roof-0", 25, 0], ["roof-0", 10, -0.004]);
  insert(seed);
  const api = await startAdmin();
  server = spawn(process.execPath, [`${web}tools/serve.mjs`], { stdio: ["ignore", "pipe", "inherit"] });
  const pageOrigin = JSON.parse((await createInterface({ input: server.stdout })[Symbol.asyncIterator]().next()).value).url;
  const url = `${pageOrigin}?api=${encodeURIComponent(api)}`;
  const want = process.argv.slice(2);
  const wanted = (n) => want.length === 0 || want.includes(n);

  if (wanted("sensors")) {
    const truth = (await get(api, "/sensors?limit=1000")).sensors.map((s) => ({ sensor_id: s.sensor_id, celsius: s.latest.celsius, measured_at: s.latest.measured_at }));
    results.sensors = await run("sensors", { url, sensors: truth, screenshot: `${out}/sensors.png`, phone_screenshot: `${out}/sensors-phone.png` });
  }

  if (wanted("table")) {
    const filter = { sensor_id: "lab-2", start_time: new Date(Date.now() - 300_000).toISOString(), page_size: 7 };
    const q = (extra) => new URLSearchParams({ sensor_id: filter.sensor_id, start_time: filter.start_time, ...extra });
    const pages = [];
    let token = "";
    do {
      const res = await get(api, `/measurements?${q({ limit: filter.page_size, page_token: token })}`);
      pages.push(res.measurements);
      token = res.next_page_token;
    } while (token);
    const csv = (await get(api, `/measurements?${q({ limit: 1000 })}`)).measurements;
    results.table = await run("table", {
      url,
      pages,
      filter,
      bad_range: { start_time: "2026-11-27T11:00:00Z", end_time: "2026-11-27T10:00:00Z", field: "end_time", message_prefix: "end_time:" },
      csv_rows: csv,
      screenshot: `${out}/table.png`,
      phone_screenshot: `${out}/table-phone.png`,
    });
  }

  if (wanted("live")) {
    results.live = await run("live", { url, sensors: ["lab-1", "lab-3"], screenshot: `${out}/live.png`, phone_screenshot: `${out}/live-phone.png` }, async (child, next) => {
      const expectReply = async (want) => {
        const e = await next();
        if (e.event !== want) throw new Error(`expected ${want}, got ${JSON.stringify(e)}`);
      };
      await expectReply("ready");
      // Down before the page got any row (no cursor yet): the page must reload its window.
      await stopAdmin();
      say(child, { event: "admin_down" });
      await expectReply("reconnecting");
      const beforeAnyRow = insert([["lab-1", 1, 30.5], ["lab-3", 1, 31.25], ["lab-2", 1, 99]]).filter((r) => r.sensor_id !== "lab-2");
      await startAdmin();
      say(child, { event: "admin_up" });
      await expectReply("live");
      say(child, { expect: beforeAnyRow });
      await expectReply("seen");
      say(child, { expect: insert([["lab-1", 0, 32.5], ["lab-2", 0, 98]]).filter((r) => r.sensor_id !== "lab-2") });
      await expectReply("seen");
      // Killed with a cursor held: the page resumes from it.
      await stopAdmin("SIGKILL");
      say(child, { event: "admin_down" });
      await expectReply("reconnecting");
      const whileDown = insert([["lab-1", 0, 33.5], ["lab-3", 0, 33.75]]);
      await startAdmin();
      say(child, { event: "admin_up" });
      await expectReply("live");
      say(child, { expect: [...whileDown, ...insert([["lab-1", 0, 34.5]])] });
      await expectReply("seen");
      say(child, { event: "end" });
      await expectReply("done");
    });
  }

  if (wanted("cors")) {
    results.cors = await run("cors", { page_origin_url: pageOrigin, api_url: api, screenshot: `${out}/cors.png` });
  }
} finally {
  server?.kill();
  if (admin) await stopAdmin().catch(() => {});
  psql(base.toString(), `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
}
console.error(results);
process.exit(Object.values(results).every((c) => c === 0) ? 0 : 1);
