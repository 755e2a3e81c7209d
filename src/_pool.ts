// Private helper: bounded concurrency.

/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in item order of start.
 * Rejects with the first failure after the calls in flight settle; no new calls start
 * after a failure.
 */
export async function forEachConcurrent<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  const iterator = items[Symbol.iterator]();
  let index = 0;
  let failure: { error: unknown } | null = null;
  const worker = async () => {
    while (failure === null) {
      const next = iterator.next();
      if (next.done) return;
      const i = index++;
      try {
        await fn(next.value, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (failure !== null) throw (failure as { error: unknown }).error;
}

/**
 * A queue of one: each call's `fn` starts after the previous call's settled. Lets
 * concurrent tasks do their memory-heavy step one at a time (their I/O stays concurrent).
 */
export function oneAtATime(): <T>(fn: () => Promise<T> | T) => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T> | T): Promise<T> => {
    const run = last.then(fn);
    last = run.catch(() => {});
    return run;
  };
}
