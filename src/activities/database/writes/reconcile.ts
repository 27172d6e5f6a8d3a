import { z } from 'zod';
import type { CallOptions } from '../../../neon';
import type { ActivityDeps } from '../../deps';
import { activity, currentContext, failure } from '../../failures';
import { isoTimestamp, neonId } from '../../inputs';
import { writeFailure } from './failures';
import { decide, lateChanges, type Plan } from './reconcile-diff';
import { planTable, readShape, type TablePlan } from './reconcile-schema';
import * as sql from './reconcile-sql';
import { messageOf, sqlState, withBranch, type BranchSession } from './session';
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

type Sessions = { source: BranchSession; base: BranchSession | null; target: BranchSession };

async function withSessions<T>(
  deps: ActivityDeps,
  i: ReconcileInput,
  call: CallOptions,
  fn: (s: Sessions) => Promise<T>,
): Promise<T> {
  const at = (branchId: string, endpointId?: string) => ({ ...i, branchId, endpointId });
  const opts = { sqlFailure: 'ReconcileFailed' as const, statementTimeoutMs: 600_000 };
  return withBranch(
    deps,
    at(i.sourceBranchId, i.sourceEndpointId),
    call,
    (source) =>
      withBranch(
        deps,
        at(i.targetBranchId, i.targetEndpointId),
        call,
        (target) =>
          i.baseBranchId
            ? withBranch(deps, at(i.baseBranchId, i.baseEndpointId), call, (base) => fn({ source, base, target }), opts)
            : fn({ source, base: null, target }),
        opts,
      ),
    opts,
  );
}

/** Reads each table on all sides (the target inside its transaction) and decides what to write. */
async function planAll(
  s: Sessions,
  i: ReconcileInput,
): Promise<{ p: TablePlan; plan: Plan; late: ReconcileTableResult['lateWrites'] }[]> {
  const out = [];
  for (const t of i.tables) {
    heartbeat(`reading ${t.table}`);
    const p = planTable(t, await readShape(s.source, t.table, 'source'), await readShape(s.target, t.table, 'target'));
    const baseShape = s.base ? await readShape(s.base, t.table, 'base') : null;
    const gone = baseShape ? p.columns.filter((c) => !baseShape.columns.has(c)) : [];
    if (gone.length) throw writeFailure('ReconcileFailed', `${t.table}: no column ${gone.join(', ')} on the base`);
    const base = s.base && baseShape ? await sql.readHashes(s.base, baseShape, p) : null;
    const changes = lateChanges(base, await sql.readHashes(s.source, p.source, p, s.base ? undefined : i.since));
    const target = await sql.readHashesOf(s.target, p.target, p, [...changes.keys()]);
    const late = { inserts: 0, updates: 0, deletes: 0, upserts: 0 };
    for (const c of changes.values()) late[`${c.kind}s`]++;
    out.push({ p, plan: decide(changes, target, i.onConflict), late });
  }
  return out;
}

async function apply(s: Sessions, p: TablePlan, plan: Plan) {
  let deleted = 0;
  let updated = 0;
  let inserted = 0;
  for (let i = 0; i < plan.delete.length; i += sql.BATCH)
    deleted += await sql.deleteRows(s.target, p, plan.delete.slice(i, i + sql.BATCH));
  for (let i = 0; i < plan.update.length; i += sql.BATCH)
    updated += await sql.updateRows(s.target, p, await sql.readRows(s.source, p, plan.update.slice(i, i + sql.BATCH)));
  for (let i = 0; i < plan.insert.length; i += sql.BATCH) {
    heartbeat(`copying ${p.name}: ${i}/${plan.insert.length}`);
    inserted += await sql.insertRows(s.target, p, await sql.readRows(s.source, p, plan.insert.slice(i, i + sql.BATCH)));
  }
  const sequencesAdvanced = inserted > 0 ? await sql.advanceSequences(s.target, p) : [];
  return { inserted, updated, deleted, sequencesAdvanced };
}

/** Reconciliation (issue 7, policy `reconcile`): late writes of the old prod copied into the new one. */
export function reconcileActivities(deps: ActivityDeps) {
  return {
    /**
     * Copies into the new prod (target) the rows the old prod (source, the "(old)" branch) received after the rollback
     * snapshot. With `baseBranchId` (the snapshot restored without finalize) the late inserts, updates and deletes are
     * exact; with only `since` and a timestamp column per table, rows stamped later are upserted and deletes are not
     * seen. Everything is decided before anything is written, and written in one transaction on the target, tables in
     * the order given (parents before children). Triggers on the target fire; rows are matched by key.
     */
    reconcileLateWrites: activity(reconcileInput, async (i, call): Promise<ReconcileResult> => {
      if (!i.baseBranchId && !i.since)
        throw failure('InvalidInput', 'give baseBranchId, or since with timestamp columns', { field: 'baseBranchId' });
      const noStamp = i.tables.find((t) => !i.baseBranchId && !t.timestampColumn);
      if (noStamp)
        throw failure('InvalidInput', `${noStamp.table}: timestampColumn is needed without a base branch`, {
          field: 'tables',
        });
      return withSessions(deps, i, call, async (s) => {
        for (const x of [s.source, s.base, s.target]) await x?.query(sql.SAME_RENDERING);
        await s.target.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        try {
          const planned = await planAll(s, i);
          const conflicted = planned.filter((x) => x.plan.conflicts.length > 0);
          if (i.onConflict === 'fail' && conflicted.length > 0) {
            const conflicts = conflicted.map((x) => ({
              table: x.p.name,
              count: x.plan.conflicts.length,
              sampleKeys: x.plan.conflicts.slice(0, 5),
            }));
            throw writeFailure(
              'ReconcileConflict',
              `late writes conflict with the new prod in ${conflicts.map((c) => `${c.table} (${c.count})`).join(', ')}; nothing was copied`,
              { conflicts },
            );
          }
          const tables: ReconcileTableResult[] = [];
          for (const { p, plan, late } of planned) {
            const done = i.dryRun
              ? {
                  inserted: plan.insert.length,
                  updated: plan.update.length,
                  deleted: plan.delete.length,
                  sequencesAdvanced: [],
                }
              : await apply(s, p, plan);
            tables.push({
              table: p.name,
              lateWrites: late,
              ...done,
              alreadyPresent: plan.alreadyPresent,
              conflicts: plan.conflicts.length,
              sampleConflictKeys: plan.conflicts.slice(0, 5),
              deletesDetected: !!s.base,
            });
          }
          const [t] = await s.target.query<{ at: Date }>('SELECT clock_timestamp() AS at');
          await s.target.query(i.dryRun ? 'ROLLBACK' : 'COMMIT');
          return { mode: s.base ? 'three_way' : 'timestamp', dryRun: !!i.dryRun, tables, at: t!.at.toISOString() };
        } catch (err) {
          await s.target.query('ROLLBACK').catch(() => undefined);
          const code = sqlState(err);
          if (code && RACES.has(code))
            throw writeFailure(
              'ReconcileFailed',
              `the new prod changed while copying (${code}): ${s.target.scrub(messageOf(err))}`,
              { code },
              true,
            );
          throw err;
        }
      });
    }),
  } satisfies Partial<WriteActivities>;
}
