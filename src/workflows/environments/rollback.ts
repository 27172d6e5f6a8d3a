/**
 * Phase 5: put prod back to a snapshot: the one named, or by default the newest pre-promotion (rollback) snapshot
 * this product took. Prod keeps its endpoint; the replaced prod is kept as a backup for the configured time.
 */
import { workflowInfo } from '@temporalio/workflow';
import { CONNECTIVITY_CHECK, rollbackInput, type RollbackInput } from '../contract/inputs';
import { isOwned, resourceName } from '../contract/names';
import { Run } from '../runtime/run';
import { isCancellation, shielded } from '../runtime/saga';
import {
  liftFenceOf,
  readWriteEndpoint,
  refuse,
  requireBranch,
  requireReadOnlyChecks,
  resolveEnvironment,
  restoreOnto,
  retireBackup,
  verify,
} from '../steps/neon';
import { parseInput } from '../contract/validate';

export type RollbackResult = {
  outcome: 'rolled_back';
  projectId: string;
  snapshot: { id: string; name: string; createdAt: string };
  prodBranchId: { before: string; after: string };
  backupBranch: { id: string; expiresAt: string | null };
};

export async function rollback(raw: RollbackInput): Promise<RollbackResult> {
  const run = new Run('rollback');
  const o = parseInput(rollbackInput(), raw);
  run.begin(o.projectId);
  await run.waitForTurn(raw);
  const { projectId } = o;
  const id = workflowInfo().workflowId;
  try {
    const plan = await run.step('plan', async (s) => {
      const env = await resolveEnvironment(o);
      const prod = requireBranch(env.prod, 'prod', o.prodBranchName);
      const snapshot = o.snapshotId
        ? env.snapshots.find((x) => x.id === o.snapshotId)
        : o.snapshotName
          ? env.snapshots.find((x) => x.name === o.snapshotName)
          : env.snapshots
              .filter((x) => isOwned(x.name, 'rollback'))
              .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      if (!snapshot) {
        const what = o.snapshotId ?? o.snapshotName ?? 'a pre-promotion snapshot';
        throw refuse(`project ${projectId} has no snapshot ${what}`, 'SnapshotMissing');
      }
      s.ids = { prodBranchId: prod.id, snapshotId: snapshot.id };
      const where = { projectId, databaseName: o.databaseName, roleName: o.roleName };
      await requireReadOnlyChecks(where, { id: prod.id, endpointId: readWriteEndpoint(prod) }, { checks: o.checks });
      return { prod, snapshot, endpointId: readWriteEndpoint(prod) };
    });
    const swap = await run.step('swap', (s) =>
      shielded(async () => {
        const r = await restoreOnto(projectId, plan.snapshot.id, plan.prod.id, {
          restored: resourceName('restore', id),
          old: resourceName('old', id),
        });
        s.ids = { prodBranchId: r.restoredBranchId, backupBranchId: r.replacedBranchId };
        // A rollback snapshot taken under the write fence carries it (on Neon): prod must take writes again.
        await liftFenceOf(o, o.prodBranchName);
        return r;
      }),
    );
    const check = await run.step('verify_prod', () =>
      verify(o, swap.restoredBranchId, plan.endpointId, o.checks.length ? o.checks : [CONNECTIVITY_CHECK]),
    );
    if (!check.ok) {
      // There is no safer state to go back to than the one asked for: keep the replaced prod and say where it is.
      throw refuse(
        `prod failed check "${check.failedCheck}" after the rollback; the replaced prod is kept as ${resourceName('old', id)} (${swap.replacedBranchId})`,
        'VerificationFailed',
      );
    }
    const expiresAt = await run.step('clean_up', () =>
      retireBackup(projectId, swap.replacedBranchId, o.backupRetention),
    );
    run.finish('rolled_back');
    return {
      outcome: 'rolled_back',
      projectId,
      snapshot: { id: plan.snapshot.id, name: plan.snapshot.name, createdAt: plan.snapshot.createdAt },
      prodBranchId: { before: plan.prod.id, after: swap.restoredBranchId },
      backupBranch: { id: swap.replacedBranchId, expiresAt },
    };
  } catch (err) {
    run.finish(isCancellation(err) ? 'cancelled' : 'failed', err instanceof Error ? err.message : String(err));
    throw err;
  }
}
