/**
 * Wraps an async callback so only its first call runs; later calls resolve at once. Used for
 * `release()` and `settle()`, which callers reach from `finally` blocks and error paths alike.
 */
export function once<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  let done = false;
  return (...args: A) => {
    if (done) return Promise.resolve();
    done = true;
    return fn(...args);
  };
}
