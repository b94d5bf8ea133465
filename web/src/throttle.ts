// Many updates, one redraw: a burst of watched rows costs one render.

/** A function that runs `fn` once, `ms` after its first call since the last run, unless `signal` aborted. */
export function coalesce(fn: () => void, ms: number, signal: AbortSignal): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    setTimeout(() => {
      pending = false;
      if (!signal.aborted) fn();
    }, ms);
  };
}
