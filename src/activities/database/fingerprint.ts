import { createHash } from 'node:crypto';
import { z } from 'zod';
import { connectionSecrets, redact } from '../../shared/secrets';
import { pgConnector, branchConnectionUri } from './connect';
import type { ActivityDeps, DbSession } from '../deps';
import { activity, failure } from '../failures';
import { neonId } from '../inputs';
import type { CallOptions } from '../../neon';
import type {
  FingerprintBranchInput,
  FingerprintBranchResult,
  TableFingerprint,
  VerificationActivities,
} from '../contract';

const IDENT = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/, 'a plain schema name');

/** `"schema"."table"`, quotes doubled: names come from the catalog, but they go into SQL text. */
const quote = (schema: string, table: string) => `"${schema.replace(/"/g, '""')}"."${table.replace(/"/g, '""')}"`;

/**
 * Per table: the row count and an order-independent hash of the rows' text (md5 of the sorted md5s of each row),
 * computed in the database so no row leaves it.
 */
const tableSql = (name: string) =>
  `SELECT count(*)::bigint AS rows, md5(coalesce(string_agg(h, '' ORDER BY h), '')) AS hash
     FROM (SELECT md5(t::text) AS h FROM ${name} t) r`;

/**
 * A read-only fingerprint of a branch's data: the tables (ordinary and partitioned roots, not partitions) of the given
 * schemas, each with its row count and content hash, and one hash over them all. One repeatable-read, read-only
 * transaction, so every table is read at the same instant; a statement timeout bounds each table. The connection
 * string is fetched here and never leaves this function.
 */
export function fingerprintActivities({ neon, db = pgConnector }: ActivityDeps) {
  return {
    fingerprintBranch: activity(
      z.object({
        projectId: neonId,
        branchId: neonId,
        endpointId: neonId.optional(),
        databaseName: z.string().min(1),
        roleName: z.string().min(1),
        schemas: z.array(IDENT).min(1).max(20).default(['public']),
        statementTimeoutMs: z.number().int().min(100).max(600_000).optional(),
      }),
      (input, call): Promise<FingerprintBranchResult> => fingerprintOf({ neon, db }, input, call),
    ),
  } satisfies Partial<VerificationActivities>;
}

/** The fingerprint itself, also taken by verifyBranch for a branch whose checks passed (one activity for both). */
export async function fingerprintOf(
  { neon, db = pgConnector }: Pick<ActivityDeps, 'neon' | 'db'>,
  input: Omit<FingerprintBranchInput, 'schemas'> & { schemas: string[] },
  call: CallOptions,
): Promise<FingerprintBranchResult> {
  const timeoutMs = input.statementTimeoutMs ?? 60_000;
  const uri = await branchConnectionUri(neon, input, call);
  const secrets = connectionSecrets(uri);
  let session: DbSession | undefined;
  try {
    session = await db(uri, { statementTimeoutMs: timeoutMs });
    const tables = await read(session, input.schemas, timeoutMs);
    return { branchId: input.branchId, schemas: input.schemas, tables, hash: overall(tables) };
  } catch (err) {
    throw failure(
      'DatabaseUnreachable',
      `cannot fingerprint branch ${input.branchId}: ${redact(err instanceof Error ? err.message : String(err), secrets)}`,
    );
  } finally {
    await session?.close().catch(() => undefined);
  }
}

async function read(session: DbSession, schemas: string[], timeoutMs: number): Promise<TableFingerprint[]> {
  await session.query('BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    await session.query(`SET LOCAL statement_timeout = ${Math.trunc(timeoutMs)}`);
    const { rows } = await session.query(
      `SELECT n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY($1::text[])
        ORDER BY 1, 2`,
      [schemas],
    );
    const out: TableFingerprint[] = [];
    for (const { schema, table } of rows as { schema: string; table: string }[]) {
      const [counted] = (await session.query(tableSql(quote(schema, table)))).rows as { rows: string; hash: string }[];
      out.push({ table: `${schema}.${table}`, rows: Number(counted!.rows), hash: counted!.hash });
    }
    return out;
  } finally {
    await session.query('ROLLBACK').catch(() => undefined);
  }
}

function overall(tables: TableFingerprint[]): string {
  const hash = createHash('sha256');
  for (const table of tables) hash.update(`${table.table}\t${table.rows}\t${table.hash}\n`);
  return hash.digest('hex');
}
