// Scenario: the measurements table pages exactly as the API does (Next through every page, then
// Previous back), a copied URL reopens the same page, a bad time range shows the API's error next
// to the input it names, and the CSV download holds exactly the rows of the filter.
//
// Input (argv[2]): {
//   "url": the dashboard's page URL (may carry ?api=...),
//   "pages": [[row, ...], ...]  the API's pages for `filter`, in order; a row is
//            {"sensor_id", "measured_at", "celsius", "ingested_at", "saved_at"} as the HTTP JSON gives,
//   "filter": {"sensor_id"?, "start_time"?, "end_time"?, "page_size"}  typed into the form as given,
//   "bad_range": {"start_time", "end_time", "field", "message_prefix"}  a range the API refuses,
//   "csv_rows": [row, ...] or ["sensor_id,measured_at,...", ...]  every row of `filter`, in order,
//   "screenshot": PNG path, "phone_screenshot"?: PNG path }
// stdin: not read. stdout: only {"event":"failed",...} on failure (see driver.mjs).
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { assertCelsiusText, log, micros, scenario, view, waitFor, waitReady, withHash } from "./driver.mjs";

const HEADER = "sensor_id,measured_at,celsius,ingested_at,saved_at";
const TIMES = ["measured_at", "ingested_at", "saved_at"];
const API_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The rows the table shows, as its cells say. */
function shownRows(page) {
  return page.$$eval("[data-testid=measurement-row]", (trs) =>
    trs.map((tr) => ({
      sensor_id: tr.querySelector("[data-testid=cell-sensor]").textContent,
      measured_at: tr.querySelector("[data-testid=cell-measured]").textContent,
      celsius: tr.querySelector("[data-testid=cell-celsius]").dataset.celsius,
      celsius_text: tr.querySelector("[data-testid=cell-celsius]").textContent,
      ingested_at: tr.querySelector("[data-testid=cell-ingested]").textContent,
      saved_at: tr.querySelector("[data-testid=cell-saved]").textContent,
    })),
  );
}

function assertSameRows(actual, expected, what) {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} rows shown, ${expected.length} expected`);
  expected.forEach((want, i) => {
    const got = actual[i];
    const where = `${what}, row ${i + 1}`;
    assert.equal(got.sensor_id, want.sensor_id, `${where}: sensor_id`);
    for (const t of TIMES) {
      assert.match(got[t], API_TIME, `${where}: ${t} is RFC 3339 UTC with microseconds`);
      assert.equal(micros(got[t]), micros(want[t]), `${where}: ${t} ${got[t]} vs ${want[t]}`);
    }
    // Exact, sign included: -0 is not 0 (assert/strict's equal is Object.is, which tells them apart).
    assertCelsiusText(got.celsius, want.celsius, `${where}: celsius`);
    if (got.celsius_text !== undefined) assert.equal(Number(got.celsius_text), Number(want.celsius), `${where}: celsius shown (${got.celsius_text})`);
  });
}

/** Waits for the table to settle and checks it shows `rows` as page `n` (1-based). */
async function expectPage(page, rows, n, last, what = `page ${n}`) {
  await waitFor(page, `${what} to load`, (p) => {
    const table = document.querySelector("[data-testid=measurements-table]");
    return table?.getAttribute("aria-busy") === "false" && document.querySelector("[data-testid=page-info]").textContent.startsWith(`Page ${p}`);
  }, n);
  assertSameRows(await shownRows(page), rows, what);
  assert.equal(await page.isDisabled("[data-testid=prev-page]"), n === 1, `${what}: Previous is ${n === 1 ? "disabled" : "enabled"}`);
  assert.equal(await page.isDisabled("[data-testid=next-page]"), last, `${what}: Next is ${last ? "disabled" : "enabled"}`);
}

async function fillFilter(page, f) {
  await page.fill("[data-testid=filter-sensor]", f.sensor_id ?? "");
  await page.fill("[data-testid=filter-start]", f.start_time ?? "");
  await page.fill("[data-testid=filter-end]", f.end_time ?? "");
  await page.fill("[data-testid=filter-size]", String(f.page_size ?? ""));
  await page.click("[data-testid=apply]");
}

scenario(async ({ input, context, page }) => {
  const { pages, filter, bad_range: bad } = input;
  assert.ok(Array.isArray(pages) && pages.length > 0, "input.pages must hold at least one page");
  await page.goto(withHash(input.url, view({ view: "table" })));
  await waitReady(page, "the table to load");

  // Through the form: page 1, then Next through every page, then Previous back to page 1.
  await fillFilter(page, filter);
  for (let i = 0; i < pages.length; i++) {
    await expectPage(page, pages[i], i + 1, i === pages.length - 1);
    if (i < pages.length - 1) await page.click("[data-testid=next-page]");
  }
  for (let i = pages.length - 2; i >= 0; i--) {
    await page.click("[data-testid=prev-page]");
    await expectPage(page, pages[i], i + 1, i === pages.length - 1, `page ${i + 1} (back)`);
  }
  log(`paged through ${pages.length} pages and back`);

  // The URL holds the whole view: a new page opened on it shows the same page and filter.
  const at = Math.min(1, pages.length - 1);
  if (at === 1) await page.click("[data-testid=next-page]");
  await expectPage(page, pages[at], at + 1, at === pages.length - 1);
  const link = page.url();
  const other = await context.newPage();
  await other.goto(link);
  await waitReady(other, "the reopened link to load");
  await expectPage(other, pages[at], at + 1, at === pages.length - 1, `page ${at + 1} reopened from its link`);
  assert.equal(await other.inputValue("[data-testid=filter-sensor]"), filter.sensor_id ?? "", "reopened: sensor input");
  assert.equal(await other.inputValue("[data-testid=filter-start]"), filter.start_time ?? "", "reopened: start input");
  assert.equal(await other.inputValue("[data-testid=filter-end]"), filter.end_time ?? "", "reopened: end input");
  await other.close();

  // A range the API refuses: its message, next to the input of the field it names.
  await fillFilter(page, { ...filter, start_time: bad.start_time, end_time: bad.end_time });
  const error = `[data-testid=field-error][data-field="${bad.field}"]`;
  await waitFor(page, `the ${bad.field} error`, (sel) => document.querySelector(sel)?.hidden === false, error);
  const message = (await page.textContent(error)).trim();
  assert.ok(message.startsWith(bad.message_prefix), `the ${bad.field} error “${message}” starts with “${bad.message_prefix}”`);
  const placement = await page.evaluate((sel) => {
    const err = document.querySelector(sel);
    const fieldBox = err.closest(".field");
    const inputEl = fieldBox?.querySelector("input");
    return {
      sameField: fieldBox?.dataset.field,
      describedBy: inputEl?.getAttribute("aria-describedby")?.split(" ").includes(err.id),
      invalid: inputEl?.hasAttribute("aria-invalid"),
      others: [...document.querySelectorAll("[data-testid=field-error]")].filter((e) => !e.hidden && e !== err).map((e) => e.dataset.field),
    };
  }, error);
  assert.deepEqual(placement, { sameField: bad.field, describedBy: true, invalid: true, others: [] }, "where the error is shown");
  assert.equal(await page.isVisible("[data-testid=banner]"), false, "a field error is not a banner");

  // CSV of the filter: every row, in order, nothing else.
  await fillFilter(page, filter);
  await expectPage(page, pages[0], 1, pages.length === 1);
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 30_000 }), page.click("[data-testid=csv-download]")]);
  const text = await readFile(await download.path(), "utf8");
  assert.ok(text.endsWith("\n"), "the CSV ends with a newline");
  const [header, ...lines] = text.slice(0, -1).split("\n");
  assert.equal(header, HEADER, "the CSV header");
  // Rows given as objects keep their celsius a JSON number (a join would write -0 as "0"): each CSV
  // field is then compared with exactly the text of that number; lines given as text, by value and sign.
  const parse = (line) => {
    const [sensor_id, measured_at, celsius, ingested_at, saved_at, ...rest] = line.split(",");
    assert.deepEqual(rest, [], `a CSV line has five fields: ${line}`);
    return { sensor_id, measured_at, celsius, ingested_at, saved_at };
  };
  const got = lines.map(parse);
  got.forEach((r, i) => TIMES.forEach((t) => assert.match(r[t], API_TIME, `CSV row ${i + 1}: ${t} ${r[t]}`)));
  assertSameRows(got, input.csv_rows.map((r) => (typeof r === "string" ? parse(r) : r)), "the CSV");
  await waitFor(page, "the CSV progress to say it is done", () => /^Downloaded /.test(document.querySelector("[data-testid=csv-progress]").textContent));
  log(`CSV: ${got.length} rows`);
});
