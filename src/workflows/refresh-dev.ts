/**
 * Phase 4: rewrite dev with prod's current data (snapshot prod -> restore onto dev with finalize -> wait -> verify ->
 * clean up). Dev keeps its endpoint and connection string. Refuses when dev has schema changes prod lacks (work that
 * was never promoted would be lost), unless forced.
 */
import { workflowInfo } from '@temporalio/workflow';
import { mutation, read, settle } from './proxies';
import { CONNECTIVITY_CHECK, refreshInput, type RefreshInput } from './inputs';
import { isoAfter, resourceName } from './names';
import { Run } from './progress';
import { Saga, isCancellation, shielded } from './saga';
import {
  deleteSnapshot,
  readWriteEndpoint,
  refuse,
  requireBranch,
  resolveEnvironment,
  restoreOnto,
  retireBackup,
  verify,
} from './steps';
import { parseInput } from './validate';

export type RefreshResult = {
  outcome: 'refreshed';
  projectId: string;
  devBranchId: { before: string; after: string };
  /** Dev's schema differed from prod's and `force` discarded it. */
  discardedSchemaChanges: boolean;
  backupBranch: { id: string; expiresAt: string | null };
};

export async function refreshDev(raw: RefreshInput): Promise<RefreshResult> {
  const run = new Run('refreshDev');
  const o = parseInput(refreshInput, raw);
  run.begin(o.projectId);
  await run.waitForTurn();
  const { projectId } = o;
  const id = workflowInfo().workflowId;
  const saga = new Saga();
  try {
    const plan = await run.step('plan', async (s) => {
      const env = await resolveEnvironment(o);
      const prod = requireBranch(env.prod, 'prod', o.prodBranchName);
      const dev = requireBranch(env.dev, 'dev', o.devBranchName);
      if (prod.id === dev.id) throw refuse(`prod and dev are the same branch (${prod.id})`, 'SameBranch');
      const diff = await read.compareSchema({
        projectId,
        branchId: dev.id,
        baseBranchId: prod.id,
        databaseName: o.databaseName,
      });
      if (!diff.identical && !o.force) {
        throw refuse(
          `dev has schema changes that prod does not have (never promoted); promote them or refresh with force:\n${diff.diff.slice(0, 2000)}`,
          'UnpromotedChanges',
        );
      }
      s.ids = { prodBranchId: prod.id, devBranchId: dev.id };
      return { prod, dev, devEndpointId: readWriteEndpoint(dev), discarded: !diff.identical };
    });
    const snap = await run.step('snapshot_prod', async (s) => {
      const name = resourceName('refresh', id);
      const r = await mutation.ensureSnapshot({
        projectId,
        branchId: plan.prod.id,
        name,
        expiresAt: isoAfter(Date.now(), 86_400_000),
      });
      await settle(projectId, r);
      s.ids.snapshotId = r.snapshot.id;
      return r.snapshot;
    });
    saga.add('delete_refresh_snapshot', () => deleteSnapshot(projectId, snap.id));
    const swap = await run.step('swap', (s) =>
      shielded(async () => {
        const r = await restoreOnto(projectId, snap.id, plan.dev.id, {
          restored: resourceName('restore', id),
          old: resourceName('old', id),
        });
        s.ids = { devBranchId: r.restoredBranchId, backupBranchId: r.replacedBranchId };
        return r;
      }),
    );
    const check = await run.step('verify_dev', () =>
      verify(o, swap.restoredBranchId, plan.devEndpointId, o.checks.length ? o.checks : [CONNECTIVITY_CHECK]),
    );
    if (!check.ok) {
      // Dev is not production: the old dev stays (without expiry) for whoever looks into it.
      throw refuse(
        `dev failed check "${check.failedCheck}" after the refresh; the old dev is kept as ${resourceName('old', id)}`,
        'VerificationFailed',
      );
    }
    const expiresAt = await run.step('clean_up', async () => {
      await saga.compensate();
      return retireBackup(projectId, swap.replacedBranchId, o.backupRetention);
    });
    run.finish('refreshed');
    return {
      outcome: 'refreshed',
      projectId,
      devBranchId: { before: plan.dev.id, after: swap.restoredBranchId },
      discardedSchemaChanges: plan.discarded,
      backupBranch: { id: swap.replacedBranchId, expiresAt },
    };
  } catch (err) {
    await run.step('compensate', () => saga.compensate());
    run.finish(isCancellation(err) ? 'cancelled' : 'failed', err instanceof Error ? err.message : String(err));
    throw err;
  }
}
