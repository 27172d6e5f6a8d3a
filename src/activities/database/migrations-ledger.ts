import { createHash } from 'node:crypto';
import { open, readdir } from 'node:fs/promises';
import path from 'node:path';
import { failure } from '../failures';
import type { BranchSession } from './writes/session';
import { writeFailure } from './writes/failures';
import type { MigrationPlan, MigrationRef } from '../contract';

export type Migration = MigrationRef & { sql: string };

export const DEFAULT_LEDGER = 'public.neon_promote_migrations';
const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/** "schema.table" or "table", lower-case plain identifiers only, quoted: the name goes into SQL text. */
export function ledgerName(table: string = DEFAULT_LEDGER): string {
  const parts = table.split('.');
  if (parts.length > 2 || !parts.every((part) => IDENT.test(part)))
    throw failure('InvalidInput', `ledger table "${table}" is not a plain [schema.]table name`, {
      field: 'ledgerTable',
    });
  return parts.map((part) => `"${part}"`).join('.');
}

/** The ledger's shape; dev's migration runner writes it, applyMigration writes prod's. checksum = sha256 of sql. */
export const ledgerDdl = (table: string = DEFAULT_LEDGER): string =>
  `CREATE TABLE IF NOT EXISTS ${ledgerName(table)} (id text PRIMARY KEY, checksum text NOT NULL, sql text NOT NULL,
     applied_at timestamptz NOT NULL DEFAULT clock_timestamp())`;

export const checksumOf = (sql: string): string => createHash('sha256').update(sql, 'utf8').digest('hex');

/** A ledger's rows in the order they were applied; null when the table does not exist. */
export async function readLedger(session: BranchSession, table: string, withSql: boolean): Promise<Migration[] | null> {
  const [found] = await session.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [ledgerName(table)]);
  if (!found?.t) return null;
  return session.query<Migration>(
    `SELECT id, checksum, ${withSql ? 'sql' : "'' AS sql"} FROM ${ledgerName(table)} ORDER BY applied_at, id`,
  );
}

/**
 * The most a folder of migrations may hold: each is read whole into the worker's memory and sent to prod in one
 * query, and the folder is read again by every plan and apply.
 */
export const FOLDER_LIMITS = { files: 1000, fileBytes: 1024 * 1024, totalBytes: 16 * 1024 * 1024 };

/**
 * `<id>.sql` files of a folder on the worker, in name order (zero-padded numbers or timestamps sort right). Whatever
 * stops the read (no such path, not a folder, no permission, a `.sql` that is no regular file) gets one answer that
 * names only the path given: the caller learns nothing of which other paths exist on the worker.
 */
export async function readFolder(dir: string): Promise<Migration[]> {
  const refuse = (why: string) =>
    failure('InvalidInput', `migrations folder ${JSON.stringify(dir)}: ${why}`, { field: 'source.path' });
  const unreadable = () => refuse('not a readable folder of .sql files on the worker');
  const names = await readdir(dir).catch(() => {
    throw unreadable();
  });
  const files = names.filter((name) => name.endsWith('.sql')).sort();
  if (files.length > FOLDER_LIMITS.files)
    throw refuse(`${files.length} .sql files, more than the ${FOLDER_LIMITS.files} a folder may hold`);
  const migrations: Migration[] = [];
  let total = 0;
  for (const file of files) {
    const sql = await readBounded(path.join(dir, file), FOLDER_LIMITS.fileBytes).catch(() => {
      throw unreadable();
    });
    if (sql === null) throw refuse(`${file} is larger than ${FOLDER_LIMITS.fileBytes} bytes`);
    total += Buffer.byteLength(sql);
    if (total > FOLDER_LIMITS.totalBytes)
      throw refuse(`its .sql files hold more than ${FOLDER_LIMITS.totalBytes} bytes`);
    migrations.push({ id: file.slice(0, -'.sql'.length), checksum: checksumOf(sql), sql });
  }
  return migrations;
}

/** A regular file's text, or null when it holds more than `most` bytes (read no further than that). */
async function readBounded(file: string, most: number): Promise<string | null> {
  const handle = await open(file, 'r');
  try {
    if (!(await handle.stat()).isFile()) throw new Error('not a regular file');
    const buffer = Buffer.alloc(most + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > most) return null;
    }
    return buffer.subarray(0, length).toString('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Which migrations prod lacks. Refuses (LedgerDiverged) when prod has one the source lacks, when a checksum differs,
 * or when prod applied a later migration without an earlier one: applying around such gaps would guess at history.
 */
export function planFrom(source: readonly MigrationRef[], prod: readonly MigrationRef[] | null): MigrationPlan {
  const index = new Map(source.map((migration, i) => [migration.id, i]));
  let last = -1;
  for (const applied of prod ?? []) {
    const i = index.get(applied.id);
    if (i === undefined)
      throw writeFailure('LedgerDiverged', `prod has migration "${applied.id}" that the source does not`, {
        migrationId: applied.id,
      });
    if (source[i]!.checksum !== applied.checksum)
      throw writeFailure('LedgerDiverged', `migration "${applied.id}" differs between the source and prod (checksum)`, {
        migrationId: applied.id,
      });
    last = Math.max(last, i);
  }
  const applied = new Set((prod ?? []).map((migration) => migration.id));
  const gap = source.slice(0, last + 1).find((migration) => !applied.has(migration.id));
  if (gap)
    throw writeFailure('LedgerDiverged', `prod lacks "${gap.id}" but has the later "${source[last]!.id}"`, {
      migrationId: gap.id,
    });
  const pending = source.slice(last + 1).map(({ id, checksum }) => ({ id, checksum }));
  return {
    pending,
    upToDate: pending.length === 0,
    sourcePosition: source.at(-1)?.id ?? null,
    prodPosition: last >= 0 ? source[last]!.id : null,
    prodLedgerExists: prod !== null,
  };
}
