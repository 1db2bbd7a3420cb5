/** Polls until `check` returns a truthy value or the timeout passes; returns that value. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  { timeoutMs = 30_000, intervalMs = 100, what = "condition" } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      last = await check();
      if (last) return last as NonNullable<T>;
    } catch (err) {
      lastErr = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)}${lastErr ? `, error: ${String(lastErr)}` : ""})`,
  );
}
