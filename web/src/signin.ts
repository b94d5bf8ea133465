// The sign-in form, shown in place of the views while the admin wants a read token this tab does
// not hold (none yet, or the one it held was refused). It checks the token with one small call
// before keeping it, so a wrong token is told here, next to the input, and never stored.

import { Code } from "@connectrpc/connect";
import type { Admin } from "./api";
import { cleanToken, isAuthCode, refusalText } from "./auth";
import { h } from "./dom";
import { describeFailure, problem } from "./errors";

/** Why the form is shown. */
export type SignInReason =
  | { kind: "needed" }
  /** The token the tab held was refused by a call (revoked, or the admin's tokens changed). */
  | { kind: "refused"; code: Code; message: string }
  /** The person chose "Forget token". */
  | { kind: "forgotten" };

export interface SignIn {
  el: HTMLElement;
  focus(): void;
}

/**
 * `probe` is an admin client that sends no token of its own (the form passes the one to check);
 * `accepted` gets a token that the admin accepted for reading.
 */
export function signInView(opts: {
  baseUrl: string;
  probe: Admin;
  reason: SignInReason;
  signal: AbortSignal;
  accepted(token: string): void;
}): SignIn {
  const { baseUrl, probe, reason, signal } = opts;
  const input = h("input", {
    id: "read-token",
    type: "password",
    testid: "token-input",
    autocomplete: "off",
    autocapitalize: "off",
    spellcheck: false,
    required: true,
    "aria-describedby": "token-hint token-error",
  });
  const error = h("p", { class: "field-error", id: "token-error", testid: "signin-error", role: "alert", hidden: true });
  const notice = h("p", { class: "signin-notice", testid: "signin-notice", role: "status" });
  const show = h("input", { id: "show-token", type: "checkbox", testid: "show-token" });
  show.addEventListener("change", () => (input.type = show.checked ? "text" : "password"));
  const submit = h("button", { type: "submit", class: "primary", testid: "signin-submit" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-form", testid: "signin-form", novalidate: true },
    h("label", { for: "read-token" }, "Read token"),
    input,
    h(
      "p",
      { class: "hint", id: "token-hint", testid: "signin-hint" },
      "Ask your operator, or run ",
      h("code", {}, "scripts/dev up"),
      ", which prints one.",
    ),
    error,
    h(
      "div",
      { class: "signin-actions" },
      submit,
      h("label", { class: "check", for: "show-token" }, show, " Show token"),
    ),
  );
  const el = h(
    "section",
    { class: "view signin", testid: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in with a read token"),
    h("p", {}, "The admin service at ", h("code", {}, baseUrl), " shows its data only to callers with a read token."),
    notice,
    form,
    h("p", { class: "hint" }, "The token stays in this browser tab only, until you close the tab or choose “Forget token”."),
  );

  function fail(text: string) {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
    input.select();
  }

  if (reason.kind === "refused") {
    fail(
      reason.code === Code.PermissionDenied
        ? refusalText(reason.code, reason.message)
        : `The admin service no longer accepts the token this tab held (${reason.message}). Enter another read token.`,
    );
  } else if (reason.kind === "forgotten") {
    notice.textContent = "Token forgotten: this tab no longer holds it.";
  }
  notice.hidden = !notice.textContent;

  let checking = false;
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault(); // first: the form must never go anywhere by itself
    if (checking) return;
    notice.hidden = true;
    const token = cleanToken(input.value);
    if (token === null) {
      fail(
        input.value.trim()
          ? "That is not a token: a token has no spaces or special characters. Paste it again."
          : "Paste a read token first.",
      );
      return;
    }
    checking = true;
    submit.disabled = true;
    submit.textContent = "Checking…";
    error.hidden = true;
    input.removeAttribute("aria-invalid");
    try {
      await probe.listMeasurements({ pageSize: 1 }, { signal, headers: { authorization: `Bearer ${token}` } });
      if (!signal.aborted) opts.accepted(token);
    } catch (e) {
      if (signal.aborted) return;
      const p = problem(e);
      fail(isAuthCode(p.code) ? refusalText(p.code, p.message) : describeFailure(p, baseUrl));
    } finally {
      checking = false;
      submit.disabled = false;
      submit.textContent = "Sign in";
    }
  });

  return { el, focus: () => input.focus({ preventScroll: true }) };
}
