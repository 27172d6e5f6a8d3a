import { z } from 'zod';
import type { ActivityDeps } from '../../deps';
import { activity } from '../../failures';
import { neonId } from '../../inputs';
import { writeFailure } from './failures';
import { compareWritePositions } from './position';
import { withBranch, type BranchSession } from './session';
import type { RecordWritePositionResult, TableWriteCounters, WriteActivities, WritePosition } from '../../contract';

const MAX_TABLES = 5000;

export const writeTarget = z.object({
  projectId: neonId,
  branchId: neonId,
  endpointId: neonId.optional(),
  databaseName: z.string().min(1).max(63),
  roleName: z.string().min(1).max(63),
});

const counters = z.object({ inserts: z.number(), updates: z.number(), deletes: z.number(), liveRows: z.number() });
const position = z.object({
  branchId: z.string(),
  lsn: z.string(),
  tables: z.record(z.string(), counters),
  at: z.string(),
  otherSessions: z.number(),
  databaseReadOnly: z.boolean(),
  tablesTruncated: z.boolean(),
});

/** Client sessions of this database other than ours. Background workers have no role and are not counted. */
export const OTHER_SESSIONS = `SELECT count(*)::int AS n FROM pg_stat_activity
  WHERE datname = current_database() AND pid <> pg_backend_pid() AND usesysid IS NOT NULL`;

/** default_transaction_read_only as the database's own setting (pg_db_role_setting, not this session's value). */
export const DATABASE_READ_ONLY = `SELECT coalesce(bool_or(lower(split_part(c, '=', 2)) IN ('on', 'true', 'yes', '1')), false) AS ro
  FROM pg_db_role_setting s, unnest(s.setconfig) c
  WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()) AND s.setrole = 0
    AND split_part(c, '=', 1) = 'default_transaction_read_only'`;

/** Reads the branch's write position on an open session. Each statement is its own transaction: fresh statistics. */
export async function readPosition(session: BranchSession): Promise<WritePosition> {
  const [head] = await session.query<{ lsn: string; at: Date; others: number; ro: boolean }>(
    `SELECT pg_current_wal_lsn()::text AS lsn, clock_timestamp() AS at, (${OTHER_SESSIONS}) AS others,
       (${DATABASE_READ_ONLY}) AS ro`,
  );
  const rows = await session.query<{ name: string; ins: string; upd: string; del: string; live: string }>(
    `SELECT format('%s.%s', quote_ident(schemaname), quote_ident(relname)) AS name, n_tup_ins::text AS ins,
       n_tup_upd::text AS upd, n_tup_del::text AS del, n_live_tup::text AS live
     FROM pg_stat_user_tables ORDER BY schemaname, relname LIMIT ${MAX_TABLES + 1}`,
  );
  const tables: Record<string, TableWriteCounters> = {};
  for (const row of rows.slice(0, MAX_TABLES))
    tables[row.name] = { inserts: +row.ins, updates: +row.upd, deletes: +row.del, liveRows: +row.live };
  return {
    branchId: session.branchId,
    lsn: head!.lsn,
    tables,
    at: head!.at.toISOString(),
    otherSessions: head!.others,
    databaseReadOnly: head!.ro,
    tablesTruncated: rows.length > MAX_TABLES,
  };
}

/** Write detection: every promotion records prod's write position, whatever its write policy. */
export function detectActivities(deps: ActivityDeps) {
  return {
    /**
     * Records prod's write position: its LSN and per-table write counters. With `since`, also compares with an earlier
     * position (see `compareWritePositions` for what the counters can prove: they lag up to about a second behind
     * sessions that are still open, and are exact once those sessions have ended, as after `fenceWrites`).
     */
    recordWritePosition: activity(
      writeTarget.extend({ since: position.optional(), failOnWrites: z.boolean().optional() }),
      async (input, call): Promise<RecordWritePositionResult> => {
        const now = await withBranch(deps, input, call, readPosition, { sqlFailure: 'DetectionFailed' });
        const comparison = input.since ? compareWritePositions(input.since, now) : null;
        if (comparison?.writesDetected && input.failOnWrites) {
          const what = comparison.uncertain.length
            ? comparison.uncertain.join('; ')
            : `${comparison.rowsChanged} row(s) in ${Object.keys(comparison.rowsChangedByTable).length} table(s)`;
          throw writeFailure(
            'WritesDetected',
            `branch ${input.branchId} received writes since ${input.since!.at}: ${what}`,
            {
              writes: comparison,
            },
          );
        }
        return { ...now, comparison };
      },
    ),
  } satisfies Partial<WriteActivities>;
}
