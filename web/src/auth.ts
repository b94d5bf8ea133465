// The read token: asked for when the admin wants one, sent on every call, kept for this tab only.
//
// - Kept in sessionStorage (it leaves with the tab; a reload in the same tab keeps it), under a key
//   naming the API's base URL: a token entered for one admin is never sent to another one (a link
//   with another `?api=` would otherwise receive it).
// - Sent as `authorization: Bearer <token>` by a connect interceptor, on unary calls and watches.
// - Never logged, never put in the URL or the page's text.
// - A call refused for its credentials (UNAUTHENTICATED, PERMISSION_DENIED) is reported, with the
//   token it carried, so that the shell can ask for a token again.

import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

export interface TokenStore {
  /** The token this tab holds for the API, or "" for none. */
  get(): string;
  set(token: string): void;
  clear(): void;
}

/** What an `authorization` header can carry: visible ASCII, no spaces (tokens read `sp_<id>_<secret>`). */
const TOKEN_SHAPE = /^[\x21-\x7e]{1,4096}$/;

/**
 * A pasted token as it is to be sent: surrounding spaces and a pasted `Bearer ` dropped. `null`
 * when it cannot be one (empty, inner spaces, characters a header cannot carry).
 */
export function cleanToken(text: string): string | null {
  const token = text.trim().replace(/^bearer\s+/i, "");
  return TOKEN_SHAPE.test(token) ? token : null;
}

/** The tab's token for `baseUrl`; in memory only when the browser refuses sessionStorage. */
export function sessionTokens(baseUrl: string, storage: Storage | null = sessionStore()): TokenStore {
  const key = `sensorpipe.read-token ${baseUrl}`;
  let memory = "";
  return {
    get() {
      let token = memory;
      try {
        token = storage?.getItem(key) ?? memory;
      } catch {
        // storage blocked after all: the memory copy
      }
      return cleanToken(token) ?? "";
    },
    set(token) {
      memory = token;
      try {
        storage?.setItem(key, token);
      } catch {
        // full or blocked: the token lives in memory until the page goes
      }
    },
    clear() {
      memory = "";
      try {
        storage?.removeItem(key);
      } catch {
        // nothing stored
      }
    },
  };
}

function sessionStore(): Storage | null {
  try {
    return globalThis.sessionStorage ?? null;
  } catch {
    return null; // a sandboxed frame, or storage switched off
  }
}

export interface AuthRefusal {
  code: Code.Unauthenticated | Code.PermissionDenied;
  /** The API's message, e.g. "invalid or revoked token". */
  message: string;
  /** The token the refused call carried, "" when it carried none. */
  token: string;
}

export function isAuthCode(code: Code): code is AuthRefusal["code"] {
  return code === Code.Unauthenticated || code === Code.PermissionDenied;
}

/**
 * Sends the held token on every call and reports every call refused for its credentials, whether
 * the refusal comes at once or ends a watch later.
 */
export function authInterceptor(tokens: TokenStore, refused: (r: AuthRefusal) => void): Interceptor {
  return (next) => async (req) => {
    const token = tokens.get();
    if (token) req.header.set("authorization", `Bearer ${token}`);
    const report = (error: unknown) => {
      const e = ConnectError.from(error);
      if (isAuthCode(e.code)) refused({ code: e.code, message: e.rawMessage || Code[e.code], token });
    };
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: reporting(res.message, report) };
    } catch (error) {
      report(error);
      throw error;
    }
  };
}

async function* reporting<T>(messages: AsyncIterable<T>, report: (error: unknown) => void): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (error) {
    report(error);
    throw error;
  }
}

/** What the sign-in form says about a refusal: the token is unknown, or may not read. */
export function refusalText(code: Code, message: string): string {
  if (code === Code.PermissionDenied) {
    return `This token lacks the read scope the dashboard needs (${message}). Use a token made with --scope read.`;
  }
  return `The admin service did not accept this token (${message}). Check that it was copied whole, or ask for a new one.`;
}
