// The live chart: chosen sensors on a time axis, the window loaded first, then every saved row as
// it comes, across admin restarts and network blips (see watch.ts for how no row is missed).

import uPlot from "uplot";
import type { Admin } from "../api";
import { h } from "../dom";
import { type Row, rowKey, toRow } from "../rows";
import { stateHash, WINDOWS } from "../state";
import { formatCelsius } from "../celsius";
import { formatAge, rfc3339, timestampFromMillis } from "../time";
import { coalesce } from "../throttle";
import type { ViewContext } from "../view";
import { follow, wakeRestarts } from "../watch";

/** Distinct hues that stay apart for colour-blind eyes too; dashes tell series apart beyond 4. */
const PALETTE = ["#0b6bcb", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#087f5b", "#5f3dc4", "#e67700"];
const DASHES = [[], [], [], [], [6, 3], [6, 3], [2, 3], [2, 3]];

export function liveView(ctx: ViewContext): HTMLElement {
  const { admin, signal, state } = ctx;
  const chosen = state.sensors;
  const win = WINDOWS[state.window];
  /** Everything held for the chart, by (sensor_id, measured_at): a row arriving twice is kept once. */
  const points = new Map<string, Row>();
  let drawn: Row[] = [];
  let loaded = false;

  // ---- controls ----

  const picker = h("input", {
    id: "add-sensor",
    list: "known-sensors",
    testid: "sensor-picker",
    placeholder: "sensor id",
    autocomplete: "off",
    spellcheck: false,
  });
  const known = h("datalist", { id: "known-sensors" });
  const addForm = h(
    "form",
    { class: "add-sensor", testid: "add-sensor-form" },
    h("label", { for: "add-sensor" }, "Add a sensor"),
    picker,
    h("button", { type: "submit" }, "Add"),
    known,
  );
  addForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const id = picker.value.trim();
    if (id && !chosen.includes(id)) go([...chosen, id], state.window);
    else picker.value = "";
  });

  const windowSelect = h(
    "select",
    { id: "window", testid: "window-select" },
    ...Object.entries(WINDOWS).map(([key, w]) =>
      h("option", { value: key, selected: key === state.window }, w.label),
    ),
  );
  windowSelect.addEventListener("change", () => go(chosen, windowSelect.value));

  const chips = h(
    "ul",
    { class: "chips", testid: "chosen-sensors", "aria-label": "Charted sensors" },
    ...chosen.map((id, i) =>
      h(
        "li",
        { class: "chip", "data-sensor-id": id, testid: "chip" },
        h("span", { class: "swatch", style: `--c:${PALETTE[i % PALETTE.length]}`, "aria-hidden": "true" }),
        h("span", { class: "chip-id" }, id),
        h("span", { class: "chip-value", testid: "chip-value" }, ""),
        h(
          "button",
          {
            type: "button",
            class: "chip-remove",
            "aria-label": `Remove ${id}`,
            title: `Remove ${id}`,
            onclick: () => go(chosen.filter((c) => c !== id), state.window),
          },
          "×",
        ),
      ),
    ),
  );

  const status = h("p", { class: "chart-status", testid: "chart-status", role: "status" });
  const plotHost = h("div", { class: "plot" });
  const chartBox = h(
    "div",
    {
      class: "chart",
      testid: "live-chart",
      role: "img",
      "aria-label": `Temperature of ${chosen.join(", ")} over the ${win.label}, times in UTC`,
    },
    plotHost,
  );

  const view = h(
    "section",
    { class: "view live-view", testid: "live-view", "aria-labelledby": "live-title" },
    h("h1", { id: "live-title" }, chosen.length ? `Live: ${chosen.join(", ")}` : "Live chart"),
    h(
      "div",
      { class: "toolbar" },
      addForm,
      h("span", { class: "field" }, h("label", { for: "window" }, "Time window"), windowSelect),
    ),
    chips,
    status,
    chartBox,
  );

  function go(sensors: string[], window: string) {
    ctx.navigate(stateHash({ view: "live", sensors, window }));
  }

  loadKnownSensors(admin, known, signal);

  ctx.hooks.points = () =>
    drawn.map((r) => ({ sensor_id: r.sensor_id, measured_at: r.measured_at, celsius: r.celsius }));

  if (chosen.length === 0) {
    status.textContent = "Choose one or more sensors to chart: type an id above, or open one from the Sensors view.";
    chartBox.hidden = true;
    ctx.hooks.ready = true;
    return view;
  }
  status.textContent = `Loading the ${win.label}…`;
  chartBox.setAttribute("aria-busy", "true");

  // ---- the chart ----

  const wanted = new Set(chosen);
  const cutoff = () => Date.now() / 1000 - win.seconds;
  let newest = 0;
  const plot = new uPlot(
    {
      width: 800,
      height: 360,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: {
        x: { time: true, range: () => [cutoff(), Math.max(Date.now() / 1000, newest)] },
      },
      series: [
        { label: "Time (UTC)", value: (_u, v) => (v == null ? "–" : rfc3339(timestampFromMillis(v * 1000)).slice(0, 19).replace("T", " ")) },
        ...chosen.map((id, i) => ({
          label: id,
          stroke: PALETTE[i % PALETTE.length],
          dash: DASHES[i % DASHES.length],
          width: 1.5,
          // Missing (undefined) values, where another sensor has a point, are bridged; the
          // explicit nulls that draw() puts into long silences break the line.
          spanGaps: false,
          points: { size: 4 },
          value: (_u: uPlot, v: number | null) => (v == null ? "–" : formatCelsius(v)),
        })),
      ],
      axes: [
        {
          stroke: "currentColor",
          grid: { stroke: "rgba(128,128,128,.2)" },
          // Ticks at least TICK_SPACE px apart, on round UTC steps: at any width and window (5 min
          // to 24 h) the widest label ("15:17:30") fits between two ticks with room to spare.
          values: (_u, splits, _axis, _space, step) => splits.map((t) => clock(t, step)),
          space: TICK_SPACE,
          incrs: TIME_INCRS,
          label: `Time (UTC), ${new Date().toISOString().slice(0, 10)}`,
          labelSize: 20,
        },
        {
          stroke: "currentColor",
          grid: { stroke: "rgba(128,128,128,.2)" },
          label: "°C",
          size: 56,
          values: (_u, vals) => vals.map((v) => v.toLocaleString("en-US")),
        },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    },
    [[], ...chosen.map(() => [])],
    plotHost,
  );
  signal.addEventListener("abort", () => plot.destroy());
  const resize = new ResizeObserver(() => {
    const width = Math.max(200, plotHost.clientWidth);
    const height = Math.max(200, Math.min(460, Math.round(window.innerHeight * 0.5)));
    plot.setSize({ width, height });
  });
  resize.observe(plotHost);
  signal.addEventListener("abort", () => resize.disconnect());

  /**
   * Rebuilds the aligned series from the held rows: one x per distinct time, where a sensor
   * without a reading at that time has `undefined` (bridged), and a null in the middle of each
   * silence much longer than the sensor's usual interval (the line breaks there).
   */
  function draw() {
    const rows = [...points.values()].sort((a, b) => a.t - b.t);
    const times = new Set(rows.map((r) => r.t));
    for (const id of chosen) for (const t of silences(rows.filter((r) => r.sensor_id === id))) times.add(t);
    const xs = [...times].sort((a, b) => a - b);
    const at = new Map(xs.map((t, i) => [t, i]));
    const ys: (number | null | undefined)[][] = chosen.map(() => new Array(xs.length));
    const col = new Map(chosen.map((id, i) => [id, i]));
    for (const id of chosen) {
      for (const t of silences(rows.filter((r) => r.sensor_id === id))) ys[col.get(id)!][at.get(t)!] = null;
    }
    for (const r of rows) ys[col.get(r.sensor_id)!][at.get(r.t)!] = r.celsius;
    newest = xs.length ? xs[xs.length - 1] : 0;
    plot.setData([xs, ...ys] as uPlot.AlignedData);
    drawn = rows;
    latest.clear();
    for (const r of rows) latest.set(r.sensor_id, r);
    showLatest();
    if (loaded) {
      status.textContent = `${rows.length.toLocaleString("en-US")} readings in the ${win.label} (times in UTC).`;
    }
  }

  /** Each chip: the sensor's latest reading in the window and how long ago it was measured. */
  const latest = new Map<string, Row>();
  function showLatest() {
    chips.querySelectorAll<HTMLElement>("li.chip").forEach((li) => {
      const last = latest.get(li.dataset.sensorId!);
      li.querySelector(".chip-value")!.textContent = last
        ? `${formatCelsius(last.celsius)} · ${formatAge(Date.now() - last.t * 1000)}`
        : loaded
          ? `no reading in the ${win.label}`
          : "";
    });
  }

  const scheduleDraw = coalesce(draw, 50, signal);

  /** Each second: slide the window, dropping what fell out of it (the page stays open all day). */
  const ticker = setInterval(() => {
    const edge = cutoff();
    let dropped = false;
    for (const [key, r] of points) {
      if (r.t < edge) {
        points.delete(key);
        dropped = true;
      }
    }
    if (dropped) draw();
    else {
      plot.setScale("x", { min: edge, max: Math.max(Date.now() / 1000, newest) });
      showLatest();
    }
  }, 1000);
  signal.addEventListener("abort", () => clearInterval(ticker));

  function hold(rows: Row[]) {
    const edge = cutoff();
    for (const r of rows) if (wanted.has(r.sensor_id) && r.t >= edge) points.set(rowKey(r), r);
  }

  const following = follow(
    admin,
    chosen.length === 1 ? chosen[0] : "",
    {
      async sync(s) {
        const startMs = Date.now() - win.seconds * 1000;
        const startTime = timestampFromMillis(startMs);
        let count = 0;
        await Promise.all(
          chosen.map(async (sensorId) => {
            let pageToken = "";
            do {
              const res = await admin.listMeasurements(
                { sensorId, startTime, pageSize: 1000, pageToken },
                { signal: s },
              );
              const rows = res.measurements.map(toRow);
              hold(rows);
              count += rows.length;
              if (!loaded) status.textContent = `Loading the ${win.label}… ${count.toLocaleString("en-US")} readings`;
              pageToken = res.nextPageToken;
            } while (pageToken);
          }),
        );
        loaded = true;
        chartBox.setAttribute("aria-busy", "false");
        ctx.hooks.window = { start_time: rfc3339(startTime), seconds: win.seconds };
        draw();
        ctx.hooks.ready = true;
      },
      rows(rows) {
        hold(rows);
        if (loaded) scheduleDraw();
      },
      connection(c) {
        ctx.connection(c, () => following.restart());
        if (c.state === "error") {
          status.textContent = `Cannot chart: ${c.reason}`;
          chartBox.hidden = true;
        }
      },
    },
    signal,
  );
  wakeRestarts(following.restart, signal);
  return view;
}

/** Fills the picker's suggestions with every known sensor id; the picker works without them. */
function loadKnownSensors(admin: Admin, list: HTMLDataListElement, signal: AbortSignal) {
  void (async () => {
    let pageToken = "";
    do {
      const res = await admin.listSensors({ pageSize: 1000, pageToken }, { signal });
      list.append(...res.sensors.map((s) => h("option", { value: s.sensorId })));
      pageToken = res.nextPageToken;
    } while (pageToken);
  })().catch(() => {});
}

/** The middle of each pause longer than 4 times the sensor's median interval (and than 15 s). */
function silences(rows: Row[]): number[] {
  if (rows.length < 3) return [];
  const deltas = rows.slice(1).map((r, i) => r.t - rows[i].t);
  const median = [...deltas].sort((a, b) => a - b)[deltas.length >> 1];
  const limit = Math.max(15, 4 * median);
  return deltas.flatMap((d, i) => (d > limit ? [rows[i].t + d / 2] : []));
}

/** The least distance between two time ticks, in CSS px: "00:00:00" is about 55 px wide. */
const TICK_SPACE = 85;
/** The time axis' tick steps in seconds: round on a 24-hour UTC clock. */
const TIME_INCRS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * A tick label on the UTC time axis: 24-hour clock, seconds only when the ticks are that close,
 * and the date ("30 Nov") in place of 00:00 on hourly ticks, so a 24 h window says where the day
 * turns. Never wider than "00:00:00".
 */
function clock(t: number, step: number): string {
  const d = new Date(t * 1000);
  const iso = d.toISOString();
  if (step >= 3600 && iso.slice(11, 19) === "00:00:00") return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
  return step < 60 ? iso.slice(11, 19) : iso.slice(11, 16);
}
