import { ApiError } from './http';

/** Where an item sits in a list's order: its sort value, then a unique tie-breaker. */
export type SortKey = [string, string];

/**
 * Keyset pagination, as Neon describes its cursors (spec `Pagination`: "cursor based pagination"; `CursorPagination`:
 * opaque): a page of at most `limit` items after the cursor's key, and the key of its last item as the next cursor.
 * Items changed between two requests are found by their key, not by an offset that shifted.
 */
export function keysetPage<T>(
  items: readonly T[],
  key: (item: T) => SortKey,
  order: { desc: boolean; limit: number; cursor: string | null },
): { page: T[]; last?: string; more: boolean } {
  const sign = order.desc ? -1 : 1;
  const compare = (a: SortKey, b: SortKey): number => sign * (a[0].localeCompare(b[0]) || a[1].localeCompare(b[1]));
  const after = order.cursor === null ? undefined : decodeCursor(order.cursor);
  const sorted = [...items]
    .map((item) => ({ item, key: key(item) }))
    .filter((entry) => !after || compare(entry.key, after) > 0)
    .sort((a, b) => compare(a.key, b.key));
  const page = sorted.slice(0, order.limit);
  const lastKey = page.at(-1)?.key;
  return {
    page: page.map((entry) => entry.item),
    ...(lastKey ? { last: Buffer.from(JSON.stringify(lastKey)).toString('base64url') } : {}),
    more: sorted.length > page.length,
  };
}

function decodeCursor(cursor: string): SortKey {
  try {
    const key: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(key) && key.length === 2 && key.every((part) => typeof part === 'string')) return key as SortKey;
  } catch {
    // refused below
  }
  throw new ApiError(400, 'BAD_REQUEST', 'cursor is not one this list returned');
}

/** A `limit` query parameter within the spec's bounds, or `fallback` when absent. */
export function limitParam(query: URLSearchParams, max: number, fallback: number): number {
  const raw = query.get('limit');
  if (raw === null) return fallback;
  const limit = Number(raw);
  if (!/^\d+$/.test(raw) || limit < 1 || limit > max)
    throw new ApiError(400, 'BAD_REQUEST', `limit must be an integer from 1 to ${max}`);
  return limit;
}
