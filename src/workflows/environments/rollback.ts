/**
 * Rollback: put prod back to a snapshot: the one named, or by default the newest pre-promotion (rollback) snapshot
 * this product took. Prod keeps its endpoint; the replaced prod is kept as a backup for the configured time. The fork
 * point is forgotten: prod now descends from another state than the one dev was forked from, and a promotion that
 * compared prod with it would take the difference for prod's own writes (steps/fork-point.ts).
 */
import { workflowInfo } from '@temporalio/workflow';
import { rollbackInput, type RollbackInput } from '../contract/inputs';
import { isOwned, resourceName } from '../contract/names';
import { waitForTurn } from '../coordination/turn';
import { Run } from '../runtime/run';
import { isCancellation, shielded } from '../runtime/saga';
import { limitRefusal, refuse } from '../contract/failures';
import { judged, orConnect, requireReadOnlyChecks, verify } from '../steps/checks';
import { keepBackup, liftFenceOf, retireBackup } from '../steps/cleanup';
import { readWriteEndpoint, requireBranch, resolveEnvironment } from '../steps/environment';
import { restoreOnto } from '../steps/restore';
import { forgetForkPoint } from '../steps/fork-point';
import { databaseRefOf } from '../contract/database-ref';
import { parseInput } from '../contract/validate';
import { requireRoom, ROLLBACK_NEEDS } from '../steps/limits';

export type RollbackResult = {
  outcome: 'rolled_back';
  projectId: string;
  snapshot: { id: string; name: string; createdAt: string };
  prodBranchId: { before: string; after: string };
  backupBranch: { id: string; expiresAt: string | null };
  /** The fork points deleted: a promotion finds none until a refresh records one (or it discards on purpose). */
  forgottenForkPoints: string[];
};

/**
 * The snapshot of that name, if any. Neon does not keep snapshot names unique: when several carry the name, which one
 * is meant is the caller's to say (by ID), so the run is refused naming them all.
 */
function onlySnapshotNamed<S extends { id: string; name: string; createdAt: string }>(
  snapshots: S[],
  name: string,
  projectId: string,
): S | undefined {
  const named = snapshots.filter((snapshot) => snapshot.name === name);
  if (named.length > 1) {
    const ids = named.map((snapshot) => `${snapshot.id} (taken ${snapshot.createdAt})`).join(', ');
    throw refuse(
      `project ${projectId} has ${named.length} snapshots named ${name}: ${ids}; give the one to restore by its ID (--snapshot)`,
      'SnapshotAmbiguous',
    );
  }
  return named[0];
}

export async function rollback(raw: RollbackInput): Promise<RollbackResult> {
  const run = new Run('rollback');
  const options = parseInput(rollbackInput(), raw);
  run.begin(options.projectId);
  await waitForTurn(run, raw);
  const { projectId } = options;
  const id = workflowInfo().workflowId;
  try {
    const plan = await run.step('plan', async (step) => {
      const env = await resolveEnvironment(options);
      const prod = requireBranch(env.prod, 'prod', options.prodBranchName);
      const snapshot = options.snapshotId
        ? env.snapshots.find((snapshot) => snapshot.id === options.snapshotId)
        : options.snapshotName
          ? onlySnapshotNamed(env.snapshots, options.snapshotName, projectId)
          : env.snapshots
              .filter((snapshot) => isOwned(snapshot.name, 'rollback'))
              .sort((older, newer) => newer.createdAt.localeCompare(older.createdAt))[0];
      if (!snapshot) {
        const what = options.snapshotId ?? options.snapshotName ?? 'a pre-promotion snapshot';
        throw refuse(`project ${projectId} has no snapshot ${what}`, 'SnapshotMissing');
      }
      step.ids = { prodBranchId: prod.id, snapshotId: snapshot.id };
      requireRoom('a rollback', ROLLBACK_NEEDS, env, projectId);
      const database = databaseRefOf(options);
      await requireReadOnlyChecks(
        database,
        { id: prod.id, endpointId: readWriteEndpoint(prod) },
        { checks: options.checks },
      );
      return { prod, snapshot, endpointId: readWriteEndpoint(prod), snapshots: env.snapshots };
    });
    const swap = await run.step('swap', (step) =>
      shielded(async () => {
        const swapped = await restoreOnto(projectId, plan.snapshot.id, plan.prod.id, {
          restored: resourceName('restore', id),
          old: resourceName('old', id),
        });
        step.ids = { prodBranchId: swapped.restoredBranchId, backupBranchId: swapped.replacedBranchId };
        // A rollback snapshot taken under the write fence carries it (on Neon): prod must take writes again.
        await liftFenceOf(options, options.prodBranchName);
        return swapped;
      }),
    );
    const check = await run.step('verify_prod', async (step) =>
      judged(step, await verify(options, swap.restoredBranchId, plan.endpointId, orConnect(options.checks))),
    );
    if (!check.ok) {
      // There is no safer state to go back to than the one asked for: keep the replaced prod and say where it is.
      await run.step('keep_backup', () => keepBackup(projectId, swap.replacedBranchId, swap.restoredBranchId));
      throw refuse(
        `prod failed check "${check.failedCheck}" after the rollback; the replaced prod is kept as ${resourceName('old', id)} (${swap.replacedBranchId})`,
        'VerificationFailed',
      );
    }
    const { expiresAt, forgotten } = await run.step('clean_up', async () => ({
      expiresAt: await retireBackup(projectId, swap.replacedBranchId, swap.restoredBranchId, options.backupRetention),
      forgotten: await forgetForkPoint(projectId, plan.snapshots),
    }));
    run.finish('rolled_back');
    return {
      outcome: 'rolled_back',
      projectId,
      snapshot: { id: plan.snapshot.id, name: plan.snapshot.name, createdAt: plan.snapshot.createdAt },
      prodBranchId: { before: plan.prod.id, after: swap.restoredBranchId },
      backupBranch: { id: swap.replacedBranchId, expiresAt },
      forgottenForkPoints: forgotten,
    };
  } catch (err) {
    // Neon refused the restore for the root-branch limit: nothing was made, so a refusal, not a failure.
    const refused = limitRefusal(err);
    if (refused) run.finish('refused', refused.message);
    else run.finish(isCancellation(err) ? 'cancelled' : 'failed', err instanceof Error ? err.message : String(err));
    throw refused ?? err;
  }
}
