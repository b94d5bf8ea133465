// The measurements table: ListMeasurements page by page with its keyset tokens, filtered by sensor
// and time range, all of it in the URL; and a CSV of everything the filter matches.

import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { celsiusText, exact2 } from "../celsius";
import { h } from "../dom";
import { Refused, retrying } from "../retry";
import { CSV_HEADER, csvLine, type Row, toRow } from "../rows";
import { stateHash, type ViewState } from "../state";
import { parseTime } from "../time";
import type { ViewContext } from "../view";

const TIME_HELP =
  "Times are UTC, written RFC 3339: 2026-11-27T10:00:00Z, or shorter (2026-11-27 10:00, 2026-11-27); an offset such as +01:00 is honoured.";

interface Filter {
  sensorId: string;
  startTime?: Timestamp;
  endTime?: Timestamp;
}

export interface TableView {
  el: HTMLElement;
  update(state: ViewState): void;
}

export function tableView(ctx: ViewContext): TableView {
  const { admin, signal } = ctx;
  let state = ctx.state;

  // ---- the filter form, each input with the place for its error ----

  const errors = new Map<string, HTMLElement>();
  const inputs = new Map<string, HTMLInputElement>();
  function field(name: string, label: string, input: HTMLInputElement) {
    const err = h("p", {
      class: "field-error",
      id: `error-${name}`,
      testid: "field-error",
      "data-field": name,
      hidden: true,
    });
    input.id = `input-${name}`;
    input.setAttribute("aria-describedby", `error-${name}`);
    errors.set(name, err);
    inputs.set(name, input);
    return h("div", { class: "field", "data-field": name }, h("label", { for: input.id }, label), input, err);
  }
  const text = (testid: string, placeholder: string) =>
    h("input", { type: "text", testid, placeholder, autocomplete: "off", spellcheck: false });
  const sensorInput = text("filter-sensor", "any sensor");
  const startInput = text("filter-start", "any time");
  const endInput = text("filter-end", "any time");
  const sizeInput = h("input", {
    type: "number",
    testid: "filter-size",
    min: 1,
    max: 1000,
    step: 1,
    inputMode: "numeric",
  });
  const form = h(
    "form",
    { class: "filters", testid: "table-filter", novalidate: true },
    field("sensor_id", "Sensor id", sensorInput),
    field("start_time", "From (UTC, inclusive)", startInput),
    field("end_time", "To (UTC, exclusive)", endInput),
    field("page_size", "Rows per page", sizeInput),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", testid: "apply", class: "primary" }, "Apply"),
      h("button", { type: "button", testid: "clear", onclick: () => go({ sensor: "", start: "", end: "", pages: [] }) }, "Clear"),
    ),
    h("p", { class: "hint", id: "time-help" }, TIME_HELP),
  );
  startInput.setAttribute("aria-describedby", "error-start_time time-help");
  endInput.setAttribute("aria-describedby", "error-end_time time-help");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    go({
      sensor: sensorInput.value.trim(),
      start: startInput.value.trim(),
      end: endInput.value.trim(),
      size: sizeInput.value.trim() === "" ? 0 : Number(sizeInput.value),
      pages: [],
    });
  });

  // ---- paging, CSV and the table ----

  const pageInfo = h("span", { class: "page-info", testid: "page-info", role: "status" });
  const prev = h("button", { type: "button", testid: "prev-page", disabled: true }, "‹ Previous");
  const next = h("button", { type: "button", testid: "next-page", disabled: true }, "Next ›");
  const csvButton = h("button", { type: "button", testid: "csv-download" }, "Download CSV");
  const csvProgress = h("span", { class: "csv-progress", testid: "csv-progress", role: "status" });
  const csvCancel = h("button", { type: "button", testid: "csv-cancel", hidden: true }, "Cancel");
  const tbody = h("tbody", { role: "rowgroup" });
  const table = h(
    "table",
    { class: "measurements", testid: "measurements-table", "aria-busy": "true", role: "table" },
    h("caption", { class: "visually-hidden" }, "Measurements, newest first"),
    h(
      "thead",
      { role: "rowgroup" },
      h(
        "tr",
        { role: "row" },
        ...["Sensor", "Measured at (UTC)", "°C", "Ingested at (UTC)", "Saved at (UTC)"].map((c) =>
          h("th", { scope: "col", role: "columnheader" }, c),
        ),
      ),
    ),
    tbody,
  );
  const empty = h("p", { class: "table-status", testid: "table-status" });

  const el = h(
    "section",
    { class: "view table-view", testid: "table-view", "aria-labelledby": "table-title" },
    h("h1", { id: "table-title" }, "Measurements"),
    form,
    h(
      "div",
      { class: "table-bar" },
      h("div", { class: "pager" }, prev, pageInfo, next),
      h("div", { class: "csv" }, csvButton, csvCancel, csvProgress),
    ),
    h("div", { class: "table-wrap", tabindex: 0, "aria-label": "Measurements table" }, table),
    empty,
  );

  let nextToken = "";
  prev.addEventListener("click", () => go({ pages: state.pages.slice(0, -1) }));
  next.addEventListener("click", () => nextToken && go({ pages: [...state.pages, nextToken] }));

  function go(change: Partial<ViewState>) {
    ctx.navigate(stateHash({ ...state, ...change, view: "table" }));
  }

  /** A pager button that just became disabled would drop keyboard focus: hand it to the other. */
  function keepFocus() {
    if (document.activeElement === next && next.disabled && !prev.disabled) prev.focus();
    if (document.activeElement === prev && prev.disabled && !next.disabled) next.focus();
  }

  function showErrors(byField: Record<string, string>) {
    for (const [name, err] of errors) {
      const message = byField[name];
      err.hidden = !message;
      err.textContent = message ?? "";
      inputs.get(name)!.toggleAttribute("aria-invalid", Boolean(message));
    }
  }

  /** The filter as the API takes it, or the fields whose text is not a time. */
  function filterOf(s: ViewState): Filter | Record<string, string> {
    const bad: Record<string, string> = {};
    const time = (name: string, text: string) => {
      if (!text) return undefined;
      const ts = parseTime(text);
      if (!ts) bad[name] = `${name}: not a time: “${text}” (use RFC 3339, e.g. 2026-11-27T10:00:00Z)`;
      return ts ?? undefined;
    };
    const startTime = time("start_time", s.start);
    const endTime = time("end_time", s.end);
    return Object.keys(bad).length ? bad : { sensorId: s.sensor, startTime, endTime };
  }
  const isFilter = (f: Filter | Record<string, string>): f is Filter => "sensorId" in f;

  // ---- loading a page ----

  let loading: AbortController | undefined;
  async function load() {
    loading?.abort();
    const mine = new AbortController();
    loading = mine;
    signal.addEventListener("abort", () => mine.abort(), { once: true });
    const filter = filterOf(state);
    const pageNo = state.pages.length + 1;
    prev.disabled = state.pages.length === 0;
    next.disabled = true;
    nextToken = "";
    if (!isFilter(filter)) {
      showErrors(filter);
      setRows([]);
      table.setAttribute("aria-busy", "false");
      pageInfo.textContent = `Page ${pageNo}`;
      empty.textContent = "Fix the filter above to see measurements.";
      ctx.hooks.ready = true;
      return;
    }
    showErrors({});
    ctx.hooks.ready = false;
    table.setAttribute("aria-busy", "true");
    table.classList.add("loading");
    pageInfo.textContent = `Page ${pageNo}, loading…`;
    empty.textContent = tbody.rows.length ? "" : "Loading measurements…";
    try {
      const res = await retrying(
        (s) =>
          admin.listMeasurements(
            { ...filter, pageSize: state.size, pageToken: state.pages.at(-1) ?? "" },
            { signal: s },
          ),
        { signal: mine.signal, banner: ctx.banner, baseUrl: ctx.baseUrl },
      );
      const rows = res.measurements.map(toRow);
      setRows(rows);
      nextToken = res.nextPageToken;
      next.disabled = !nextToken;
      keepFocus();
      pageInfo.textContent = `Page ${pageNo} · ${rows.length.toLocaleString("en-US")} rows${nextToken ? "" : " · last page"}`;
      empty.textContent = rows.length ? "" : pageNo === 1 ? "No measurements match this filter." : "No more measurements.";
    } catch (error) {
      if (mine.signal.aborted) return;
      if (!(error instanceof Refused)) throw error;
      const p = error.problem;
      setRows([]);
      pageInfo.textContent = `Page ${pageNo}`;
      if (p.field && p.field !== "page_token" && errors.has(p.field)) {
        showErrors({ [p.field]: p.message });
        empty.textContent = "Fix the filter above to see measurements.";
      } else if (p.field === "page_token") {
        empty.textContent = "";
        ctx.banner.show(`This page's link no longer works: ${p.message}`, "", {
          label: "Go to the first page",
          run: () => go({ pages: [] }),
        });
      } else {
        empty.textContent = "";
        ctx.banner.show(`The admin service refused: ${p.message}`);
      }
    } finally {
      if (loading === mine) {
        table.setAttribute("aria-busy", "false");
        table.classList.remove("loading");
        ctx.hooks.ready = true;
      }
    }
  }

  function setRows(rows: Row[]) {
    tbody.replaceChildren(
      ...rows.map((r) =>
        h(
          "tr",
          { testid: "measurement-row", "data-sensor-id": r.sensor_id, role: "row" },
          h("td", { role: "cell", class: "c-sensor", testid: "cell-sensor" }, r.sensor_id),
          h("td", { role: "cell", class: "c-measured" }, h("time", { testid: "cell-measured", datetime: r.measured_at }, r.measured_at)),
          h("td", { role: "cell", class: "num c-celsius", testid: "cell-celsius", "data-celsius": celsiusText(r.celsius) }, exact2(r.celsius)),
          h("td", { role: "cell", class: "c-more", "data-label": "Ingested" }, h("time", { testid: "cell-ingested", datetime: r.ingested_at }, r.ingested_at)),
          h("td", { role: "cell", class: "c-more", "data-label": "Saved" }, h("time", { testid: "cell-saved", datetime: r.saved_at }, r.saved_at)),
        ),
      ),
    );
  }

  // ---- CSV: every page of the applied filter, one by one, cancelable ----

  let download: AbortController | undefined;
  csvCancel.addEventListener("click", () => download?.abort());
  csvButton.addEventListener("click", async () => {
    const filter = filterOf(state);
    if (download) return;
    if (!isFilter(filter)) {
      csvProgress.textContent = "Fix the filter above first.";
      return;
    }
    const mine = new AbortController();
    download = mine;
    signal.addEventListener("abort", () => mine.abort(), { once: true });
    csvButton.disabled = true;
    csvCancel.hidden = false;
    // One part per page: the Blob joins them, so the file is never one huge string in memory.
    const parts = [`${CSV_HEADER}\n`];
    let rows = 0;
    let pageToken = "";
    let pages = 0;
    csvProgress.textContent = "Preparing CSV…";
    try {
      do {
        const res = await retrying(
          (s) => admin.listMeasurements({ ...filter, pageSize: 1000, pageToken }, { signal: s }),
          { signal: mine.signal, banner: ctx.banner, baseUrl: ctx.baseUrl },
        );
        parts.push(res.measurements.map((m) => `${csvLine(toRow(m))}\n`).join(""));
        rows += res.measurements.length;
        pageToken = res.nextPageToken;
        pages++;
        csvProgress.textContent = `Fetched ${rows.toLocaleString("en-US")} rows (${pages} ${pages === 1 ? "page" : "pages"})…`;
      } while (pageToken);
      save(parts, csvName(state));
      csvProgress.textContent = `Downloaded ${rows.toLocaleString("en-US")} rows.`;
    } catch (error) {
      if (mine.signal.aborted) csvProgress.textContent = "CSV download cancelled.";
      else if (error instanceof Refused) csvProgress.textContent = `CSV download failed: ${error.problem.message}`;
      else throw error;
    } finally {
      download = undefined;
      csvButton.disabled = false;
      csvCancel.hidden = true;
    }
  });

  function update(s: ViewState) {
    state = s;
    sensorInput.value = s.sensor;
    startInput.value = s.start;
    endInput.value = s.end;
    sizeInput.value = String(s.size);
    void load();
  }
  update(state);
  return { el, update };
}

function csvName(s: ViewState): string {
  const part = (v: string) => v.replace(/[^A-Za-z0-9._-]+/g, "");
  return ["measurements", part(s.sensor), part(s.start), part(s.end)].filter(Boolean).join("_") + ".csv";
}

function save(parts: string[], name: string) {
  const url = URL.createObjectURL(new Blob(parts, { type: "text/csv;charset=utf-8" }));
  const a = h("a", { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
