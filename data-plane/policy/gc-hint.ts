/**
 * One full garbage collection after a large policy change (issue 18: proxy RSS at 500,000
 * bindings). Applying a bulk change leaves ~100 MiB of garbage — the received message
 * buffers (twice the message: gRPC's chunks and their concatenation) and what decoding and
 * indexing made — and an otherwise idle proxy allocates too little for V8 to collect it for
 * a long time, so the RSS stays at its peak. A large change is rare and already costs
 * seconds of work; one full GC (tens of ms) after it returns that memory.
 *
 * Uses `gc` when the process runs with --expose-gc; otherwise takes V8's gc function once
 * through a throwaway context created with the flag briefly on (the flag is turned off
 * again, so no other code sees a global `gc`). Never throws: without it, nothing happens.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let collect: (() => void) | null | undefined;

function collector(): (() => void) | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === "function") return (collect = exposed as () => void);
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    collect = typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    collect = null;
  } finally {
    setFlagsFromString("--no-expose-gc");
  }
  return collect;
}

let pending: NodeJS.Timeout | undefined;

/** Runs one full GC shortly (after the current task, so what it was doing is dead); calls in between coalesce. */
export function collectGarbageSoon(delayMs = 50): void {
  if (pending !== undefined) return;
  pending = setTimeout(() => {
    pending = undefined;
    collector()?.();
  }, delayMs);
  pending.unref();
}
