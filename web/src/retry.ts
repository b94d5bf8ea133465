// Loads that keep trying while the admin is unreachable, saying so in the banner, instead of a
// silent spinner or a blank page.

import { Backoff, sleep } from "./backoff";
import type { Banner } from "./dom";
import { describeFailure, type Problem, problem } from "./errors";

export class Refused extends Error {
  constructor(readonly problem: Problem) {
    super(problem.message);
  }
}

/**
 * Runs `load` until it succeeds. A retryable failure is shown in the banner with a countdown and a
 * "Retry now" button; any other failure is thrown as `Refused` for the caller to show where it
 * belongs (next to the input the API blamed, say).
 */
export async function retrying<T>(
  load: (signal: AbortSignal) => Promise<T>,
  ctx: { signal: AbortSignal; banner: Banner; baseUrl: string },
): Promise<T> {
  const backoff = new Backoff();
  for (;;) {
    try {
      const result = await load(ctx.signal);
      ctx.banner.clear();
      return result;
    } catch (error) {
      const p = problem(error);
      if (ctx.signal.aborted) throw error;
      if (!p.retryable) throw new Refused(p);
      const wait = backoff.next();
      const nap = new AbortController();
      const wake = () => nap.abort();
      ctx.signal.addEventListener("abort", wake, { once: true });
      const until = Date.now() + wait;
      const tell = () => {
        const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        ctx.banner.show(describeFailure(p, ctx.baseUrl), `Retrying in ${s} s…`, {
          label: "Retry now",
          run: wake,
        });
      };
      tell();
      const ticker = setInterval(tell, 1000);
      await sleep(wait, nap.signal).catch(() => {});
      clearInterval(ticker);
      ctx.signal.removeEventListener("abort", wake);
      if (ctx.signal.aborted) throw error;
    }
  }
}
