export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export type PollOptions = { timeoutMs?: number; intervalMs?: number };

/**
 * Polls `read` until `ok` holds for what it returned, for up to `timeoutMs` (60 s by default). A read that throws
 * counts as not yet: visibility, schedules, progress queries and table statistics all lag by a moment. The timeout's
 * error names what was awaited and the last read's error.
 */
export async function until<T>(
  what: string,
  read: () => T | Promise<T>,
  ok: (value: T) => boolean,
  { timeoutMs = 60_000, intervalMs = 50 }: PollOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await read();
      if (ok(value)) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? lastError.message : JSON.stringify(lastError);
      throw new Error(`timed out waiting for ${what}${lastError === undefined ? '' : ` (last read failed: ${why})`}`);
    }
    await sleep(intervalMs);
  }
}

/** Polls `read` until it returns something other than undefined, and returns that. */
export function untilDefined<T>(
  what: string,
  read: () => T | undefined | Promise<T | undefined>,
  options?: PollOptions,
): Promise<T> {
  return until(what, read, (value) => value !== undefined, options) as Promise<T>;
}
