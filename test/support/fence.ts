/**
 * Helpers of the tests of the write fence's lifetime: whether a database takes writes, the owner's own settings, and a
 * worker whose rollback snapshot (taken under the fence) waits.
 */
import { Context } from '@temporalio/activity';
import type { Worker } from '@temporalio/worker';
import { Client } from 'pg';
import { isOwned } from '../../src/workflows/contract/names';
import { sql } from './postgres';
import { neonActivities, type Stack } from './workflow-stack';

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

/**
 * ALTER DATABASE as the database's owner would, whatever the database's settings (the emulator's physical database
 * name differs from the one Neon shows).
 */
export async function asOwner(connectionString: string, clause: string): Promise<void> {
  const client = new Client({ connectionString });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('SET default_transaction_read_only = off');
    await client.query(`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I ${clause}', current_database()); END $$`);
  } finally {
    await client.end();
  }
}

/** A worker on the emulator whose promotions' rollback snapshot waits at `held` until it is opened or cancelled. */
export async function workerHoldingRollbackSnapshot(
  s: Stack,
): Promise<{ worker: Worker; held: ReturnType<typeof gate> }> {
  const acts = neonActivities(s.emu);
  const held = gate();
  const worker = await s.worker({
    ...acts,
    ensureSnapshot: async (input: Parameters<typeof acts.ensureSnapshot>[0]) => {
      if (isOwned(input.name, 'rollback')) await held.pass();
      return acts.ensureSnapshot(input);
    },
  });
  return { worker, held };
}
