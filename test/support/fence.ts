/** Helpers of the tests of the write fence's lifetime: whether a database takes writes, and a held activity. */
import { Context } from '@temporalio/activity';
import { sql } from './postgres';

/** Whether the database behind `uri` takes a write to its `writes` table (false: it is read-only). */
export async function takesWrites(uri: string): Promise<boolean> {
  try {
    await sql(uri, `INSERT INTO writes (id, note) VALUES (${Math.floor(Math.random() * 1e9)}, 'probe')`);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === '25006') return false;
    throw err;
  }
}

/**
 * A gate for an activity of a test's worker: `pass()` (inside the activity) waits until the test calls `open()` or
 * the activity is cancelled; `reached` resolves once an activity waits there.
 */
export function gate(): { pass(): Promise<void>; reached: Promise<void>; open(): void } {
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return {
    reached,
    open,
    async pass() {
      reach();
      await Promise.race([opened, Context.current().cancelled]);
    },
  };
}
