// The default view: every sensor with its latest reading, how long ago that was, and a sparkline.
//
// Built for a thousand sensors and a whole day open: the list is virtualised (only the rows in
// view, plus a few, are in the page), sparklines are fetched only for rows in view, and one watch
// keeps every latest reading current instead of polling.

import { h } from "../dom";
import { type Row, rowKey, toRow } from "../rows";
import { sparkline } from "../sparkline";
import { stateHash } from "../state";
import { celsiusText, formatCelsius } from "../celsius";
import { formatAge } from "../time";
import { coalesce } from "../throttle";
import type { ViewContext } from "../view";
import { follow, wakeRestarts } from "../watch";

/** Past this age a reading is stale: marked in text, not by colour alone. */
export const STALE_AFTER_S = 60;
const SPARK_POINTS = 30;
const SPARK_FETCHERS = 4;
const OVERSCAN = 6;

interface Entry {
  id: string;
  latest?: Row;
  count: bigint;
  /** Recent readings, oldest first, once fetched. */
  spark?: Row[];
  sparkState: "none" | "loading" | "done" | "failed";
  sparkFailedAt?: number;
}

export function sensorsView(ctx: ViewContext): HTMLElement {
  const { admin, signal } = ctx;
  let entries = new Map<string, Entry>();
  let ids: string[] = [];
  let shown: string[] = [];
  let loaded = false;
  let filter = ctx.state.filter;
  let active = 0;

  const filterInput = h("input", {
    id: "sensor-filter",
    type: "search",
    testid: "sensor-filter",
    placeholder: "e.g. lab-1",
    autocomplete: "off",
    spellcheck: false,
    value: filter,
  });
  const count = h("span", { class: "count", testid: "sensor-count", role: "status" }, "Loading sensors…");
  const inner = h("ul", { class: "vlist-inner", "aria-label": "Sensors" });
  const status = h("p", { class: "list-status", testid: "list-status" }, "Loading sensors…");
  const list = h(
    "div",
    { class: "vlist", testid: "sensor-list", "aria-busy": "true" },
    status,
    inner,
  );
  const view = h(
    "section",
    { class: "view sensors-view", testid: "sensors-view", "aria-labelledby": "sensors-title" },
    h("h1", { id: "sensors-title", class: "visually-hidden" }, "Sensors"),
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "sensor-filter" }, "Filter by sensor id"),
      filterInput,
      count,
      h("span", { class: "hint" }, `Stale: no reading for ${STALE_AFTER_S} s or more`),
    ),
    h(
      "div",
      { class: "list-head", "aria-hidden": "true" },
      h("span", {}, "Sensor"),
      h("span", {}, "Latest"),
      h("span", {}, "Measured"),
      h("span", { class: "readings" }, "Readings"),
      h("span", {}, "Recent readings"),
    ),
    list,
  );

  ctx.hooks.sensors = () =>
    ids.flatMap((id) => {
      const l = entries.get(id)?.latest;
      return l ? [{ sensor_id: id, celsius: l.celsius, measured_at: l.measured_at }] : [];
    });

  // ---- the list ----

  const rendered = new Map<string, HTMLLIElement>();

  function refilter() {
    const f = filter.trim().toLowerCase();
    shown = f ? ids.filter((id) => id.toLowerCase().includes(f)) : ids;
    active = Math.min(active, Math.max(0, shown.length - 1));
    const total = ids.length.toLocaleString("en-US");
    count.textContent = !loaded
      ? "Loading sensors…"
      : f
        ? `${shown.length.toLocaleString("en-US")} of ${total} sensors`
        : `${total} sensors`;
    status.hidden = loaded && shown.length > 0;
    if (loaded && shown.length === 0) {
      status.textContent = f ? `No sensor id contains “${filter.trim()}”.` : "No sensor has stored a reading yet.";
    }
    render();
  }

  function rowHeight(): number {
    return parseFloat(getComputedStyle(list).getPropertyValue("--row-h")) || 48;
  }

  function render() {
    const rh = rowHeight();
    inner.style.height = `${shown.length * rh}px`;
    const first = Math.max(0, Math.floor(list.scrollTop / rh) - OVERSCAN);
    const last = Math.min(shown.length, Math.ceil((list.scrollTop + list.clientHeight) / rh) + OVERSCAN);
    const want: string[] = shown.slice(first, last);
    const focused = document.activeElement?.closest<HTMLElement>("[data-sensor-id]")?.dataset.sensorId;
    const focusedAt = focused ? shown.indexOf(focused) : -1;
    if (focused && focusedAt >= 0 && (focusedAt < first || focusedAt >= last)) want.push(focused);
    const keep = new Set(want);
    for (const [id, li] of rendered) {
      if (!keep.has(id)) {
        li.remove();
        rendered.delete(id);
      }
    }
    let at = inner.firstChild;
    const wanted = want.map((id, i) => {
      const li = rendered.get(id) ?? newRow(id);
      rendered.set(id, li);
      return { li, pos: first + i < last ? first + i : focusedAt };
    });
    wanted.sort((a, b) => a.pos - b.pos);
    for (const { li, pos } of wanted) {
      li.style.transform = `translateY(${pos * rh}px)`;
      li.setAttribute("aria-posinset", String(pos + 1));
      li.setAttribute("aria-setsize", String(shown.length));
      li.dataset.pos = String(pos);
      fill(li, pos);
      if (li !== at) inner.insertBefore(li, at);
      else at = at.nextSibling;
    }
    scheduleSparks();
  }

  function newRow(id: string): HTMLLIElement {
    const a = h(
      "a",
      {
        class: "srow",
        href: stateHash({ view: "live", sensors: [id] }),
        testid: "sensor-row",
        "data-sensor-id": id,
        tabindex: -1,
      },
      h("span", { class: "sid", testid: "sensor-id" }, id),
      h("span", { class: "value", testid: "latest-value" }),
      h(
        "span",
        { class: "when" },
        h("time", { class: "age", testid: "age" }),
        h("span", { class: "stale-badge", testid: "stale", hidden: true }, "⚠ stale"),
      ),
      h(
        "span",
        { class: "readings" },
        h("span", { testid: "reading-count" }),
        h("span", { class: "visually-hidden" }, " readings"),
      ),
      h("span", { class: "spark-box" }),
    );
    return h("li", { "data-id": id }, a);
  }

  /** Writes a row's values, touching the DOM only where they changed. */
  function fill(li: HTMLLIElement, pos: number) {
    const id = li.dataset.id!;
    const e = entries.get(id);
    const a = li.firstElementChild as HTMLAnchorElement;
    a.tabIndex = pos === active ? 0 : -1;
    const latest = e?.latest;
    const value = a.querySelector<HTMLElement>(".value")!;
    const valueText = latest ? formatCelsius(latest.celsius) : "—";
    if (value.textContent !== valueText) value.textContent = valueText;
    // Set on its own: two readings may show the same text (21.501 and 21.504 both show 21.50).
    const data = latest ? celsiusText(latest.celsius) : undefined;
    if (data === undefined) delete value.dataset.celsius;
    else if (value.dataset.celsius !== data) value.dataset.celsius = data;
    const time = a.querySelector("time")!;
    if (latest && time.dateTime !== latest.measured_at) {
      time.dateTime = latest.measured_at;
      time.title = `measured at ${latest.measured_at}`;
    }
    tickAge(a, latest);
    const readings = a.querySelector<HTMLElement>("[data-testid=reading-count]")!;
    const countText = e ? `${e.count.toLocaleString("en-US")}` : "";
    if (readings.textContent !== countText) readings.textContent = countText;
    const box = a.querySelector<HTMLElement>(".spark-box")!;
    const sparkKey = e?.spark ? `${e.spark.length}:${e.spark.at(-1)?.measured_at}` : e?.sparkState ?? "";
    if (box.dataset.key !== sparkKey) {
      box.dataset.key = sparkKey;
      box.replaceChildren(
        e?.spark ? sparkline(e.spark) : h("span", { class: "spark-pending" }, e?.sparkState === "failed" ? "" : "…"),
      );
    }
  }

  function tickAge(a: HTMLElement, latest?: Row) {
    if (!latest) return;
    const ageMs = Date.now() - latest.t * 1000;
    const text = formatAge(ageMs);
    const time = a.querySelector("time")!;
    if (time.textContent !== text) time.textContent = text;
    const stale = ageMs >= STALE_AFTER_S * 1000;
    if (a.classList.contains("stale") !== stale) {
      a.classList.toggle("stale", stale);
      (a.querySelector(".stale-badge") as HTMLElement).hidden = !stale;
    }
  }

  const scheduleRender = coalesce(render, 100, signal);

  list.addEventListener("scroll", () => requestAnimationFrame(render), { passive: true });
  const resize = new ResizeObserver(() => render());
  resize.observe(list);
  signal.addEventListener("abort", () => resize.disconnect());

  const ticker = setInterval(() => {
    for (const li of rendered.values()) {
      const a = li.firstElementChild as HTMLElement;
      tickAge(a, entries.get(li.dataset.id!)?.latest);
    }
  }, 1000);
  signal.addEventListener("abort", () => clearInterval(ticker));

  filterInput.addEventListener("input", () => {
    filter = filterInput.value;
    list.scrollTop = 0;
    active = 0;
    ctx.navigate(stateHash({ view: "sensors", filter: filter.trim() }), { replace: true });
    refilter();
  });
  filterInput.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown" && shown.length) {
      ev.preventDefault();
      moveTo(active);
    } else if (ev.key === "Enter" && shown.length === 1) {
      ctx.navigate(stateHash({ view: "live", sensors: [shown[0]] }));
    }
  });

  // Roving focus: one row is a tab stop; arrows, Page Up/Down, Home and End move between rows.
  function moveTo(index: number) {
    if (!shown.length) return;
    active = Math.max(0, Math.min(shown.length - 1, index));
    const rh = rowHeight();
    const top = active * rh;
    if (top < list.scrollTop) list.scrollTop = top;
    else if (top + rh > list.scrollTop + list.clientHeight) list.scrollTop = top + rh - list.clientHeight;
    render();
    rendered.get(shown[active])?.querySelector<HTMLElement>("a")?.focus({ preventScroll: true });
  }
  inner.addEventListener("keydown", (ev) => {
    const page = Math.max(1, Math.floor(list.clientHeight / rowHeight()) - 1);
    const moves: Record<string, number> = {
      ArrowDown: active + 1,
      ArrowUp: active - 1,
      PageDown: active + page,
      PageUp: active - page,
      Home: 0,
      End: shown.length - 1,
    };
    if (ev.key in moves) {
      ev.preventDefault();
      moveTo(moves[ev.key]);
    }
  });
  inner.addEventListener("focusin", (ev) => {
    const id = (ev.target as HTMLElement).closest<HTMLElement>("[data-sensor-id]")?.dataset.sensorId;
    const index = id ? shown.indexOf(id) : -1;
    if (index >= 0 && index !== active) {
      active = index;
      render();
    }
  });

  // ---- sparklines: fetched for rows in view only, a few at a time ----

  let sparkTimer: ReturnType<typeof setTimeout> | undefined;
  let fetching = 0;
  function scheduleSparks() {
    clearTimeout(sparkTimer);
    sparkTimer = setTimeout(fetchSparks, 150);
  }
  function inView(): string[] {
    const rh = rowHeight();
    const first = Math.floor(list.scrollTop / rh);
    const last = Math.ceil((list.scrollTop + list.clientHeight) / rh);
    return shown.slice(first, last + 1);
  }
  function fetchSparks() {
    if (signal.aborted) return;
    for (const id of inView()) {
      if (fetching >= SPARK_FETCHERS) return;
      const e = entries.get(id);
      if (!e) continue;
      const retry = e.sparkState === "failed" && Date.now() - (e.sparkFailedAt ?? 0) > 10_000;
      if (e.sparkState !== "none" && !retry) continue;
      e.sparkState = "loading";
      fetching++;
      admin
        .listMeasurements({ sensorId: id, pageSize: SPARK_POINTS }, { signal })
        .then(
          (res) => {
            const fetched = res.measurements.map((m) => toRow(m)).reverse();
            e.spark = mergeRecent(e.spark ?? [], fetched);
            e.sparkState = "done";
          },
          () => {
            e.sparkState = "failed";
            e.sparkFailedAt = Date.now();
          },
        )
        .finally(() => {
          fetching--;
          if (!signal.aborted) {
            scheduleRender();
            scheduleSparks();
          }
        });
    }
  }

  // ---- data: one load, then one watch keeping it current ----

  let syncing = false;
  let pending: Row[] = [];

  function apply(rows: Row[], afterLoad: boolean) {
    let added = false;
    for (const row of rows) {
      let e = entries.get(row.sensor_id);
      if (!e) {
        e = { id: row.sensor_id, count: 0n, sparkState: "none" };
        entries.set(row.sensor_id, e);
        added = true;
      }
      const newer = !e.latest || row.t > e.latest.t;
      // Rows that came while the list loaded may already be counted in it; a newer one cannot be.
      if (afterLoad || newer) e.count += 1n;
      if (newer) e.latest = row;
      if (e.spark) e.spark = mergeRecent(e.spark, [row]);
    }
    if (added) {
      ids = [...entries.keys()].sort(byId);
      refilter();
    } else scheduleRender();
  }

  const following = follow(
    admin,
    "",
    {
      async sync(s) {
        syncing = true;
        pending = [];
        try {
          const fresh = new Map<string, Entry>();
          let pageToken = "";
          do {
            const res = await admin.listSensors({ pageSize: 1000, pageToken }, { signal: s });
            for (const sensor of res.sensors) {
              const old = entries.get(sensor.sensorId);
              fresh.set(sensor.sensorId, {
                id: sensor.sensorId,
                latest: sensor.latest ? toRow(sensor.latest) : undefined,
                count: sensor.measurementCount,
                spark: old?.spark,
                sparkState: old?.sparkState === "done" ? "done" : "none",
              });
            }
            pageToken = res.nextPageToken;
            if (pageToken) count.textContent = `Loading sensors… ${fresh.size.toLocaleString("en-US")} so far`;
          } while (pageToken);
          entries = fresh;
          ids = [...entries.keys()].sort(byId);
          loaded = true;
          list.setAttribute("aria-busy", "false");
          apply(pending, false);
          ctx.hooks.ready = true;
          refilter();
        } finally {
          syncing = false;
          pending = [];
        }
      },
      rows(rows) {
        if (syncing) pending.push(...rows);
        else if (loaded) apply(rows, true);
      },
      connection(c) {
        ctx.connection(c, () => following.restart());
        if (c.state === "error" && !loaded) {
          status.textContent = `Could not load the sensors: ${c.reason}`;
          list.setAttribute("aria-busy", "false");
        }
      },
    },
    signal,
  );
  wakeRestarts(following.restart, signal);

  refilter();
  return view;
}

const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The newest SPARK_POINTS readings of both, oldest first, each once. */
function mergeRecent(have: Row[], more: Row[]): Row[] {
  const byKey = new Map<string, Row>();
  for (const r of have) byKey.set(rowKey(r), r);
  for (const r of more) byKey.set(rowKey(r), r);
  return [...byKey.values()].sort((a, b) => a.t - b.t).slice(-SPARK_POINTS);
}
