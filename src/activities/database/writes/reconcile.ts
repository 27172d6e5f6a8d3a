import { z } from 'zod';
import type { CallOptions } from '../../../neon';
import type { ActivityDeps } from '../../deps';
import { activity, currentContext, failure } from '../../failures';
import { isoTimestamp, neonId } from '../../inputs';
import { writeFailure } from './failures';
import type { RowPlan } from './reconcile-diff';
import { describeProblems, planAll, type Sessions } from './reconcile-plan';
import type { TablePlan } from './reconcile-schema';
import * as sql from './reconcile-sql';
import { withBranches } from './branches';
import { messageOf, sqlState } from './session';
import type { ReconcileInput, ReconcileResult, ReconcileTableResult, WriteActivities } from '../../contract';

const reconcileInput = z.object({
  projectId: neonId,
  databaseName: z.string().min(1).max(63),
  roleName: z.string().min(1).max(63),
  sourceBranchId: neonId,
  sourceEndpointId: neonId.optional(),
  baseBranchId: neonId.optional(),
  baseEndpointId: neonId.optional(),
  since: isoTimestamp.optional(),
  targetBranchId: neonId,
  targetEndpointId: neonId.optional(),
  tables: z
    .array(
      z.object({
        table: z.string().min(1).max(127),
        key: z.array(z.string().min(1).max(63)).min(1).max(32),
        timestampColumn: z.string().min(1).max(63).optional(),
      }),
    )
    .min(1)
    .max(200),
  onConflict: z.enum(['keep_prod', 'keep_dev', 'fail']),
  dryRun: z.boolean().optional(),
});

/** Lost races with the application writing to the new prod meanwhile: a retry reads the new state and decides again. */
const RACES = new Set(['40001', '40P01', '23505']);
const heartbeat = (detail: string) => currentContext()?.heartbeat(detail);

async function withSessions<T>(
  deps: ActivityDeps,
  input: ReconcileInput,
  call: CallOptions,
  fn: (sessions: Sessions) => Promise<T>,
): Promise<T> {
  const on = (branchId: string, endpointId?: string) => ({ ...input, branchId, endpointId });
  const branches = [
    on(input.sourceBranchId, input.sourceEndpointId),
    on(input.targetBranchId, input.targetEndpointId),
    input.baseBranchId ? on(input.baseBranchId, input.baseEndpointId) : null,
  ];
  const options = { sqlFailure: 'ReconcileFailed' as const, statementTimeoutMs: 600_000 };
  return withBranches(deps, call, branches, options, ([source, target, base]) =>
    fn({ source: source!, target: target!, base: base ?? null }),
  );
}

async function apply({ source, target }: Sessions, table: TablePlan, rows: RowPlan) {
  let deleted = 0;
  let updated = 0;
  let inserted = 0;
  for (let i = 0; i < rows.delete.length; i += sql.BATCH)
    deleted += await sql.deleteRows(target, table, rows.delete.slice(i, i + sql.BATCH));
  for (let i = 0; i < rows.update.length; i += sql.BATCH)
    updated += await sql.updateRows(
      target,
      table,
      await sql.readRows(source, table, rows.update.slice(i, i + sql.BATCH)),
    );
  for (let i = 0; i < rows.insert.length; i += sql.BATCH) {
    heartbeat(`copying ${table.name}: ${i}/${rows.insert.length}`);
    inserted += await sql.insertRows(
      target,
      table,
      await sql.readRows(source, table, rows.insert.slice(i, i + sql.BATCH)),
    );
  }
  const sequencesAdvanced = inserted > 0 ? await sql.advanceSequences(target, table) : [];
  return { inserted, updated, deleted, sequencesAdvanced };
}

/** Reconciliation (write policy `reconcile`, and the carry of prod's writes since the fork) into dev's data. */
export function reconcileActivities(deps: ActivityDeps) {
  return {
    /**
     * Copies into the target (the new prod, or the candidate in a dry run before the swap) the rows prod (source)
     * received since the base: the rollback snapshot or the fork point, restored without finalize. With
     * `baseBranchId` the inserts, updates and deletes are exact; with only `since` and a timestamp column per table,
     * rows stamped later are upserted and deletes are not seen. Source and base are streamed in key order and merged,
     * so memory grows with the changes, not the tables. The target's schema rules: its own columns take their
     * defaults, prod's columns it dropped or retyped are left out, and prod's data in them since the base (or a table
     * it dropped) fails the run with ReconcileSchemaConflict, a dry run too. Everything is decided before anything is
     * written, and written in one transaction on the target, tables in the order given (parents before children).
     * Triggers on the target fire; rows are matched by key.
     */
    reconcileLateWrites: activity(reconcileInput, async (input, call): Promise<ReconcileResult> => {
      if (!input.baseBranchId && !input.since)
        throw failure('InvalidInput', 'give baseBranchId, or since with timestamp columns', { field: 'baseBranchId' });
      const noStamp = input.tables.find((table) => !input.baseBranchId && !table.timestampColumn);
      if (noStamp)
        throw failure('InvalidInput', `${noStamp.table}: timestampColumn is needed without a base branch`, {
          field: 'tables',
        });
      return withSessions(deps, input, call, async (sessions) => {
        const { base, target } = sessions;
        for (const session of [sessions.source, base, target]) await session?.query(sql.SAME_RENDERING);
        // One snapshot per side: prod may still take writes (a dry run before the swap); cursors need a transaction.
        for (const session of [sessions.source, base]) await session?.query(sql.READ_ONLY_SNAPSHOT);
        await target.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        try {
          const { planned, problems } = await planAll(sessions, input);
          if (problems.length > 0)
            throw writeFailure(
              'ReconcileSchemaConflict',
              `dev's schema cannot take what prod wrote since the base: ${describeProblems(problems)}; nothing was copied`,
              { schemaConflicts: problems },
            );
          const conflicted = planned.filter(({ rows }) => rows.conflicts.length > 0);
          if (input.onConflict === 'fail' && conflicted.length > 0) {
            const conflicts = conflicted.map(({ table, rows }) => ({
              table: table.name,
              count: rows.conflicts.length,
              sampleKeys: rows.conflicts.slice(0, 5),
            }));
            throw writeFailure(
              'ReconcileConflict',
              `late writes conflict with the new prod in ${conflicts.map((conflict) => `${conflict.table} (${conflict.count})`).join(', ')}; nothing was copied`,
              { conflicts },
            );
          }
          const tables: ReconcileTableResult[] = [];
          for (const { table, rows, late, columnsLeftOut } of planned) {
            const done = input.dryRun
              ? {
                  inserted: rows.insert.length,
                  updated: rows.update.length,
                  deleted: rows.delete.length,
                  sequencesAdvanced: [],
                }
              : await apply(sessions, table, rows);
            tables.push({
              table: table.name,
              lateWrites: late,
              ...done,
              alreadyPresent: rows.alreadyPresent,
              conflicts: rows.conflicts.length,
              sampleConflictKeys: rows.conflicts.slice(0, 5),
              deletesDetected: !!base,
              columnsLeftOut,
            });
          }
          const [committed] = await target.query<{ at: Date }>('SELECT clock_timestamp() AS at');
          await target.query(input.dryRun ? 'ROLLBACK' : 'COMMIT');
          const mode = base ? 'three_way' : 'timestamp';
          return { mode, dryRun: !!input.dryRun, tables, at: committed!.at.toISOString() };
        } catch (err) {
          await target.query('ROLLBACK').catch(() => undefined);
          const code = sqlState(err);
          if (code && RACES.has(code))
            throw writeFailure(
              'ReconcileFailed',
              `the new prod changed while copying (${code}): ${target.scrub(messageOf(err))}`,
              { code },
              true,
            );
          throw err;
        }
      });
    }),
  } satisfies Partial<WriteActivities>;
}
