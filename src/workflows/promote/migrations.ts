/**
 * Promotion by migrations: prod keeps its data and gets only the migrations of dev's ledger it has not applied, in
 * order, each in its own transaction. A snapshot of prod taken first is the rollback anchor: a migration that fails,
 * or a check that fails after them, puts prod back to it, and prod's writes since the anchor are counted, carried or
 * kept on the backup (anchor-writes.ts).
 */
import { ActivityFailure, ApplicationFailure, workflowInfo } from '@temporalio/workflow';
import type { ApplyMigrationResult, MigrationPlan, MigrationSource } from '../../activities/contract';
import { databaseRefOf } from '../contract/database-ref';
import type { PromoteOptions } from '../contract/inputs';
import { resourceName } from '../contract/names';
import { databaseWrites, neonMutations } from '../runtime/activity-options';
import type { Run } from '../runtime/run';
import type { PromoteOutcome, PromoteResult } from './promote';
import { Saga, isCancellation, shielded } from '../runtime/saga';
import { judged, orConnect, verify } from '../steps/checks';
import { keepBackup, retireBackup } from '../steps/cleanup';
import { restoreBack } from '../steps/restore';
import { retainRollbackSnapshot } from '../steps/retention';
import { describeAnchorWrites, leftOnBackup, settleAnchorWrites, type AnchorWrites } from './anchor-writes';

/**
 * `writesSinceAnchor`, `carried` and `writesProblem` (anchor-writes.ts) are set once the anchor was restored: prod's
 * writes since the anchor (the anchor is their `forkPoint`; `result.writes` stays null, it is the snapshot strategy's
 * window) and what became of them. Writes neither carried nor discarded keep the backup without expiry.
 */
export type MigrationsReport = AnchorWrites & {
  plan: MigrationPlan;
  applied: ApplyMigrationResult[];
  /** The migration that failed (nothing of it is applied: it ran in one transaction), or null. */
  failed: { id: string; message: string } | null;
  /** Prod after the anchor was restored: the replaced prod, with the writes it took since the anchor. */
  restoredFrom: { snapshotId: string; backupBranchId: string; backupName: string } | null;
};

type Done = (run: Run, result: PromoteResult, outcome: PromoteOutcome, reason: string | null) => PromoteResult;

export async function promoteByMigrations(
  run: Run,
  options: PromoteOptions,
  result: PromoteResult,
  done: Done,
): Promise<PromoteResult> {
  const { projectId } = options;
  const database = databaseRefOf(options);
  const id = workflowInfo().workflowId;
  const prod = { branchId: result.plan.prodBranchId, endpointId: result.plan.prodEndpointId };
  const source: MigrationSource =
    options.migrations.source.kind === 'folder'
      ? options.migrations.source
      : { kind: 'ledger', branchId: result.plan.devBranchId };
  const on = {
    ...database,
    source,
    prodBranchId: prod.branchId,
    prodEndpointId: prod.endpointId,
    ...(options.migrations.ledgerTable ? { ledgerTable: options.migrations.ledgerTable } : {}),
  };
  const plan = await run.step('plan_migrations', async (step) => {
    const migrationPlan = await databaseWrites.planMigrations(on);
    step.detail = migrationPlan.upToDate
      ? 'prod is at the same ledger position'
      : `pending: ${migrationPlan.pending.map((migration) => migration.id).join(', ')}`;
    return migrationPlan;
  });
  const report: MigrationsReport = {
    plan,
    applied: [],
    failed: null,
    restoredFrom: null,
    writesSinceAnchor: null,
    carried: null,
    writesProblem: null,
  };
  result.migrations = report;
  if (options.dryRun) return done(run, result, 'dry_run', null);
  if (plan.upToDate) return done(run, result, 'noop', 'no pending migrations');

  // Without expiry while the migrations and checks run (they may outlast any retention): steps/retention.ts.
  const anchor = await run.step('snapshot_prod', async (step) => {
    const { snapshot } = await neonMutations.ensureSnapshot({
      projectId,
      branchId: prod.branchId,
      name: resourceName('rollback', id),
    });
    step.ids.snapshotId = snapshot.id;
    return snapshot;
  });
  result.rollbackSnapshotId = anchor.id;
  const retainAnchor = async (): Promise<void> => {
    result.rollbackSnapshotExpiresAt = await retainRollbackSnapshot(
      run,
      projectId,
      anchor,
      options.retention.rollbackSnapshot,
    );
  };
  try {
    await run.step('apply_migrations', async (step) => {
      for (const migration of plan.pending) {
        report.applied.push(await databaseWrites.applyMigration({ ...on, migration }));
        step.detail = `applied ${report.applied.map((migration) => migration.id).join(', ')}`;
      }
    });
    const post = await run.step('verify_prod', async (step) =>
      judged(
        step,
        await verify(
          database,
          prod.branchId,
          prod.endpointId,
          orConnect([...options.checks, ...options.postSwapChecks]),
        ),
      ),
    );
    result.verification.prod = post;
    if (post.ok) {
      await retainAnchor();
      return done(run, result, 'promoted', null);
    }
    await restoreAnchor();
    await retainAnchor();
    return done(run, result, 'rolled_back', `check "${post.failedCheck}" failed on prod; ${restored()}`);
  } catch (err) {
    const failure = err instanceof ActivityFailure ? err.cause : undefined;
    if (failure instanceof ApplicationFailure && ['MigrationFailed', 'LedgerDiverged'].includes(failure.type ?? '')) {
      report.failed = { id: plan.pending[report.applied.length]?.id ?? '?', message: failure.message };
      await restoreAnchor();
      await retainAnchor();
      return done(run, result, 'rolled_back', `${failure.message}; ${restored()}`);
    }
    // Anything else (a cancellation included) may leave prod half-migrated: the anchor still goes back.
    const message = err instanceof Error ? err.message : String(err);
    await restoreAnchor();
    await retainAnchor();
    run.finish(isCancellation(err) ? 'cancelled' : 'failed', `${message}; ${restored()}`);
    throw err;
  }

  /**
   * Shielded throughout, cancellation paths included: prod goes back to the anchor, and the writes it took since then
   * are accounted for before the backup that holds them is given an expiry.
   */
  async function restoreAnchor(): Promise<void> {
    const backupName = resourceName('old', id);
    const back = await run.step('restore_anchor', () =>
      shielded(() =>
        restoreBack(projectId, anchor.id, prod.branchId, { restored: resourceName('undo', id), old: backupName }),
      ),
    );
    result.prodBranchId.after = back.restoredBranchId;
    report.restoredFrom = { snapshotId: anchor.id, backupBranchId: back.replacedBranchId, backupName };
    const backup: NonNullable<PromoteResult['backupBranch']> = {
      id: back.replacedBranchId,
      name: backupName,
      expiresAt: null,
    };
    result.backupBranch = backup;
    const saga = new Saga();
    try {
      const ctx = { anchor, swap: back, prodEndpointId: prod.endpointId, migrationsApplied: report.applied.length };
      Object.assign(report, await shielded(() => settleAnchorWrites(run, saga, database, options, ctx)));
    } finally {
      await run.step('clean_up', () =>
        shielded(async () => {
          await saga.compensate();
          if (leftOnBackup(report).length === 0)
            backup.expiresAt = await retireBackup(
              projectId,
              back.replacedBranchId,
              back.restoredBranchId,
              options.retention.backupBranch,
            );
          else await keepBackup(projectId, back.replacedBranchId, back.restoredBranchId);
        }),
      );
    }
  }

  function restored(): string {
    const { backupName, backupBranchId } = report.restoredFrom!;
    return `prod restored to the anchor snapshot; ${describeAnchorWrites(report, `${backupName} (${backupBranchId})`)}`;
  }
}
