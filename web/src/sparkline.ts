// A sparkline as one SVG polyline: cheap enough to draw for every visible row of a long list.

import { svg } from "./dom";
import type { Row } from "./rows";

const W = 120;
const H = 28;
const PAD = 2;

/** The recent readings (oldest first) as a line scaled to the box; a flat line when constant. */
export function sparkline(rows: Row[]): SVGSVGElement {
  const el = svg("svg", {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    class: "spark",
    preserveAspectRatio: "none",
    "aria-hidden": "true",
    "data-testid": "sparkline",
  });
  if (rows.length === 0) return el;
  const t0 = rows[0].t;
  const t1 = rows[rows.length - 1].t;
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    lo = Math.min(lo, r.celsius);
    hi = Math.max(hi, r.celsius);
  }
  const x = (t: number) => (t1 > t0 ? PAD + ((t - t0) / (t1 - t0)) * (W - 2 * PAD) : W / 2);
  const y = (c: number) => (hi > lo ? H - PAD - ((c - lo) / (hi - lo)) * (H - 2 * PAD) : H / 2);
  const points = rows.map((r) => `${x(r.t).toFixed(1)},${y(r.celsius).toFixed(1)}`).join(" ");
  el.appendChild(svg("polyline", { points, fill: "none", "stroke-width": 1.5 }));
  return el;
}
