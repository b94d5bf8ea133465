// The whole view lives in the URL's fragment, so a copied link reopens exactly the same view:
//   #view=sensors&filter=lab
//   #view=live&sensors=lab-1,lab-2&window=1h
//   #view=table&sensor=lab-1&start=2026-11-27T10:00:00Z&end=...&size=100&pages=<token>,<token>
// The query string is left to the `api` override, which is about where to call, not what to show.
// Sensor ids and page tokens never hold a comma, so lists are comma-separated.

export type ViewName = "sensors" | "live" | "table";

export const WINDOWS: Record<string, { label: string; seconds: number }> = {
  "5m": { label: "last 5 min", seconds: 300 },
  "15m": { label: "last 15 min", seconds: 900 },
  "1h": { label: "last hour", seconds: 3600 },
  "6h": { label: "last 6 hours", seconds: 6 * 3600 },
  "24h": { label: "last 24 hours", seconds: 24 * 3600 },
};
export const DEFAULT_WINDOW = "15m";
/** The table's rows per page when the URL says nothing; the API takes 1 to 1,000 (0: its default). */
export const DEFAULT_PAGE_SIZE = 100;

export interface ViewState {
  view: ViewName;
  /** Sensors view: the id filter. */
  filter: string;
  /** Live view: the charted sensors. */
  sensors: string[];
  /** Live view: a key of WINDOWS. */
  window: string;
  /** Table view: its filter, page size and the page tokens that led to the current page. */
  sensor: string;
  start: string;
  end: string;
  size: number;
  pages: string[];
}

const list = (v: string | null) => (v ? v.split(",").filter(Boolean) : []);

export function parseState(hash: string): ViewState {
  const p = new URLSearchParams(hash.replace(/^#/, ""));
  const view = p.get("view");
  const size = Number(p.get("size") ?? NaN);
  const window = p.get("window") ?? "";
  return {
    view: view === "live" || view === "table" ? view : "sensors",
    filter: p.get("filter") ?? "",
    sensors: [...new Set(list(p.get("sensors")))],
    window: window in WINDOWS ? window : DEFAULT_WINDOW,
    sensor: p.get("sensor") ?? "",
    start: p.get("start") ?? "",
    end: p.get("end") ?? "",
    // Any integer is kept: one the API refuses is shown with its error next to the input.
    size: Number.isInteger(size) ? size : DEFAULT_PAGE_SIZE,
    pages: list(p.get("pages")),
  };
}

/** The fragment for a state, holding only what the view uses and what differs from defaults. */
export function stateHash(s: Partial<ViewState> & { view: ViewName }): string {
  const p = new URLSearchParams({ view: s.view });
  const set = (key: string, value: string | undefined) => value && p.set(key, value);
  if (s.view === "sensors") set("filter", s.filter);
  if (s.view === "live") {
    set("sensors", s.sensors?.join(","));
    if (s.window !== DEFAULT_WINDOW) set("window", s.window);
  }
  if (s.view === "table") {
    set("sensor", s.sensor);
    set("start", s.start);
    set("end", s.end);
    if (s.size !== undefined && s.size !== DEFAULT_PAGE_SIZE) set("size", String(s.size));
    set("pages", s.pages?.join(","));
  }
  return `#${p.toString()}`;
}
