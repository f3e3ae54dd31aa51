/**
 * Maps `items` through `fn` with at most `limit` calls in flight, keeping the order of results.
 * After the first failure no new call starts; it rejects with that failure once the calls in
 * flight have settled, so a caller cleaning up (aborting an upload, removing a temp file)
 * never races work that is still running.
 * @example await mapConcurrently(keys, 8, (key) => store.head(key))
 */
export async function mapConcurrently<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
