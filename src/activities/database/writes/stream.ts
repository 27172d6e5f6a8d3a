import type { BranchSession } from './session';

/** Rows per FETCH: a few MB of keys and hashes at most, whatever the table's size. */
export const FETCH_ROWS = 5000;

/**
 * Orders strings as Postgres orders them under COLLATE "C" in a UTF-8 database: by bytes of UTF-8, which is code
 * point order. JS `<` compares UTF-16 code units, which puts U+10000 and above (surrogate pairs, 0xD800-0xDFFF) before
 * U+E000-U+FFFF; shifting the units at the first difference restores code point order.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

const codePointRank = (unit: number) => (unit < 0xd800 ? unit : unit < 0xe000 ? unit + 0x2000 : unit - 0x800);

/**
 * A query's rows in order through a server-side cursor (the session must be inside a transaction), one batch held
 * and the next one already asked for, so the worker holds two batches whatever the table's size and both databases
 * work while the worker merges.
 */
export class CursorRows<R> {
  private rows: R[] = [];
  private at = 0;
  private read = 0;
  private pending: Promise<R[]> | null = null;

  private constructor(
    private readonly session: BranchSession,
    private readonly name: string,
    private readonly onBatch?: (rowsRead: number) => void,
  ) {}

  /** `name` is a plain identifier of the caller's, unique in the session while the cursor is open. */
  static async open<R extends Record<string, unknown>>(
    session: BranchSession,
    cursor: { name: string; sql: string; params?: unknown[]; onBatch?: (rowsRead: number) => void },
  ): Promise<CursorRows<R>> {
    await session.query(`DECLARE ${cursor.name} NO SCROLL CURSOR FOR ${cursor.sql}`, cursor.params);
    const rows = new CursorRows<R>(session, cursor.name, cursor.onBatch);
    rows.pending = rows.fetch();
    return rows;
  }

  private fetch(): Promise<R[]> {
    return this.session.query<R & Record<string, unknown>>(`FETCH ${FETCH_ROWS} FROM ${this.name}`);
  }

  /** The current row, or undefined at the end; waits only when the batch in hand is used up. */
  async current(): Promise<R | undefined> {
    while (this.at >= this.rows.length) {
      if (!this.pending) return undefined;
      this.rows = await this.pending;
      this.at = 0;
      this.read += this.rows.length;
      this.onBatch?.(this.read);
      this.pending = this.rows.length < FETCH_ROWS ? null : this.fetch();
    }
    return this.rows[this.at];
  }

  /** The current row without waiting, when the batch in hand has one: the merges' fast path. */
  ready(): R | undefined {
    return this.rows[this.at];
  }

  /** Moves past the current row (call `current` first). */
  advance(): void {
    this.at++;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<R> {
    for (let row = await this.current(); row !== undefined; row = await this.current()) {
      this.advance();
      yield row;
    }
  }

  async close(): Promise<void> {
    await this.pending?.catch(() => undefined);
    this.pending = null;
    await this.session.query(`CLOSE ${this.name}`);
  }
}

/** A row of a keyed stream: the key's jsonb text and the md5 of the row's text. */
export type KeyedRow = { k: string; h: string };

/** A key whose row is only on one side, or differs: the rows as read (an insert has no base, a delete no source). */
export type KeyedChange = { kind: 'insert' | 'update' | 'delete'; key: string; base?: KeyedRow; source?: KeyedRow };

/**
 * Merges two streams ordered by key (code point order) and reports each key whose row is only on one side or differs.
 * Equal keys are paired in the order of their hashes, so a key that is not unique (nulls in a unique index) pairs
 * the same way on both sides.
 */
export async function mergeKeyed(
  base: CursorRows<KeyedRow>,
  source: CursorRows<KeyedRow>,
  emit: (change: KeyedChange) => void,
): Promise<void> {
  for (;;) {
    const b = base.ready() ?? (await base.current());
    const s = source.ready() ?? (await source.current());
    if (!b && !s) return;
    const order = !b ? 1 : !s ? -1 : compareCodePoints(b.k, s.k);
    if (order === 0) {
      if (b!.h !== s!.h) emit({ kind: 'update', key: s!.k, base: b!, source: s! });
      base.advance();
      source.advance();
    } else if (order < 0) {
      emit({ kind: 'delete', key: b!.k, base: b! });
      base.advance();
    } else {
      emit({ kind: 'insert', key: s!.k, source: s! });
      source.advance();
    }
  }
}

/**
 * Merges two ordered streams of row hashes as multisets (a table without a key): a hash more often on the source is
 * an insert, more often on the base a delete. An update shows as one of each.
 */
export async function mergeMultiset(
  base: CursorRows<{ h: string }>,
  source: CursorRows<{ h: string }>,
): Promise<{ inserts: number; deletes: number }> {
  let inserts = 0;
  let deletes = 0;
  for (;;) {
    const b = base.ready() ?? (await base.current());
    const s = source.ready() ?? (await source.current());
    if (!b && !s) return { inserts, deletes };
    const order = !b ? 1 : !s ? -1 : compareCodePoints(b.h, s.h);
    if (order <= 0) base.advance();
    if (order >= 0) source.advance();
    if (order < 0) deletes++;
    if (order > 0) inserts++;
  }
}
