// A few lines instead of a framework: build elements, and the page's shared banner.

type Child = Node | string | number | null | undefined | false;
type Props = Record<string, unknown>;
/** Names that must be set as attributes: their properties are read-only or named otherwise. */
const ATTRIBUTES = new Set(["role", "for", "list", "style"]);

/**
 * `h("button", { class: "x", testid: "next", onclick: f, "aria-label": "Next" }, "Next")`.
 * `testid` becomes `data-testid`; `on*` functions become listeners; `aria-*`, `data-*`, `role`,
 * `for`, `list`, `style` and other dashed names become attributes; the rest are properties.
 */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Props = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = String(value);
    else if (key === "testid") el.setAttribute("data-testid", String(value));
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value as EventListener);
    } else if (key.includes("-") || ATTRIBUTES.has(key)) {
      el.setAttribute(key, value === true ? "" : String(value));
    } else (el as unknown as Props)[key] = value;
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
  }
}

/** An inline SVG element (sparklines). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
): SVGElementTagNameMap[K] {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export interface BannerAction {
  label: string;
  run: () => void;
}

/**
 * The one place for failures that no input is to blame for (admin unreachable, a refused call):
 * a message at the top (announced once), a detail that may tick (a retry countdown, not
 * announced every second) and an optional action such as "Retry now". Updating keeps the button,
 * so keyboard focus stays on it.
 */
export class Banner {
  private readonly message = h("span", { class: "message", role: "alert", testid: "banner-message" });
  /** A timer: read when reached, never announced on its own each second. */
  private readonly detail = h("span", { class: "detail", role: "timer", testid: "banner-detail" });
  private readonly button = h("button", { type: "button", hidden: true, testid: "banner-action" });
  // The spaces between the parts keep them apart for anything that reads the text as one string
  // (screen readers' reading of the region, copy and paste); the layout separates them visually.
  readonly el = h(
    "div",
    { class: "banner", testid: "banner", hidden: true },
    this.message,
    " ",
    this.detail,
    " ",
    this.button,
  );
  private action?: BannerAction;

  constructor() {
    this.button.addEventListener("click", () => this.action?.run());
  }

  show(message: string, detail = "", action?: BannerAction): void {
    if (this.message.textContent !== message) this.message.textContent = message;
    this.detail.textContent = detail;
    this.detail.hidden = !detail;
    this.action = action;
    this.button.hidden = !action;
    if (action) this.button.textContent = action.label;
    this.el.hidden = false;
  }

  clear(): void {
    this.el.hidden = true;
    this.message.textContent = "";
    this.action = undefined;
  }
}
