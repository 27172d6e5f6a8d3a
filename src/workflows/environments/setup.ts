/**
 * Setup: make dev an isolated root branch holding prod's data (snapshot prod -> restore without finalize, named
 * dev -> compute endpoint -> keep the snapshot as the fork point) and protect prod. A project that has dev already is
 * left as it is, and the result says so.
 */
import { workflowInfo } from '@temporalio/workflow';
import { neonMutations } from '../runtime/activity-options';
import { setupInput, CONNECTIVITY_CHECK, type SetupInput } from '../contract/inputs';
import { resourceName } from '../contract/names';
import { waitForTurn } from '../coordination/turn';
import { Run } from '../runtime/run';
import { Saga, isCancellation } from '../runtime/saga';
import { limitRefusal, refuse } from '../contract/failures';
import { verify } from '../steps/checks';
import { deleteBranch, deleteSnapshot } from '../steps/cleanup';
import { readWriteEndpoint, requireBranch, resolveEnvironment } from '../steps/environment';
import { adoptForkPoint, currentForkPoint } from '../steps/fork-point';
import type { ForkPoint } from '../contract/definitions';
import { parseInput } from '../contract/validate';
import { requireRoom, SETUP_NEEDS } from '../steps/limits';

export type SetupResult = {
  outcome: 'created' | 'noop';
  reason: string | null;
  projectId: string;
  prodBranchId: string;
  devBranchId: string;
  devEndpointId: string | null;
  prodProtected: boolean;
  /** The state of prod dev was forked from (for a noop: the one kept, or null when none is). */
  forkPoint: ForkPoint | null;
};

export async function setupEnvironments(raw: SetupInput): Promise<SetupResult> {
  const run = new Run('setupEnvironments');
  const options = parseInput(setupInput(), raw);
  run.begin(options.projectId);
  await waitForTurn(run, raw);
  const { projectId } = options;
  const saga = new Saga();
  const env = await run.step('plan', () => resolveEnvironment(options));
  const prod = requireBranch(env.prod, 'prod', options.prodBranchName);
  if (env.dev) {
    if (env.dev.id === prod.id) throw refuse(`prod and dev are the same branch (${prod.id})`, 'SameBranch');
    // A dev that is a child branch could never be promoted (its snapshot would be refused): said now, not then.
    const dev = requireBranch(env.dev, 'dev', options.devBranchName);
    const reason = `dev already exists (${dev.id}); nothing changed`;
    run.finish('noop', reason);
    const devEndpointId = readWriteEndpoint(dev) ?? null;
    return {
      outcome: 'noop',
      reason,
      projectId,
      prodBranchId: prod.id,
      devBranchId: dev.id,
      devEndpointId,
      prodProtected: prod.protected,
      forkPoint: currentForkPoint(env.snapshots),
    };
  }
  requireRoom('a setup', SETUP_NEEDS, env, projectId);
  try {
    const baseline = await run.step('snapshot_prod', async (step) => {
      const name = resourceName('baseline', workflowInfo().workflowId);
      const { snapshot } = await neonMutations.ensureSnapshot({ projectId, branchId: prod.id, name });
      step.ids.snapshotId = snapshot.id;
      return snapshot;
    });
    saga.add('delete_baseline_snapshot', () => deleteSnapshot(projectId, baseline.id));
    // Restored under dev's name directly: a retry finds it by lineage (snapshot and target) instead of restoring twice.
    const dev = await run.step('restore_dev', async (step) => {
      const { branch } = await neonMutations.restoreSnapshot({
        projectId,
        snapshotId: baseline.id,
        targetBranchId: prod.id,
        finalize: false,
        name: options.devBranchName,
      });
      step.ids.branchId = branch.id;
      return branch;
    });
    saga.add('delete_dev', () => deleteBranch(projectId, dev.id));
    const devEndpointId = await run.step('dev_endpoint', async (step) => {
      const { endpoint } = await neonMutations.createEndpoint({ projectId, branchId: dev.id, type: 'read_write' });
      step.ids.endpointId = endpoint.id;
      return endpoint.id;
    });
    const check = await run.step('verify_dev', () => verify(options, dev.id, devEndpointId, [CONNECTIVITY_CHECK]));
    if (!check.ok)
      throw refuse(
        `dev does not answer: ${check.checks.find((checkResult) => !checkResult.ok)?.detail ?? ''}`,
        'VerificationFailed',
      );
    const forkPoint = await run.step('clean_up', async () => {
      saga.drop('delete_dev', 'delete_baseline_snapshot');
      await saga.compensate();
      // Dev holds prod as of the baseline: what a promotion compares prod with to find prod's own writes.
      return adoptForkPoint(projectId, baseline.id, workflowInfo().workflowId, currentForkPoint(env.snapshots));
    });
    if (options.protectProd) {
      await run.step('protect_prod', async () => {
        await neonMutations.protectBranch({ projectId, branchId: prod.id, protected: true });
      });
    } else run.skip('protect_prod', 'not asked');
    run.finish('created');
    return {
      outcome: 'created',
      reason: null,
      projectId,
      prodBranchId: prod.id,
      devBranchId: dev.id,
      devEndpointId,
      prodProtected: options.protectProd || prod.protected,
      forkPoint,
    };
  } catch (err) {
    await run.step('compensate', () => saga.compensate());
    // Neon refused a request for a plan limit and the saga undid what the run made: a refusal, not a failure.
    const refused = limitRefusal(err);
    if (refused) run.finish('refused', refused.message);
    else run.finish(isCancellation(err) ? 'cancelled' : 'failed', err instanceof Error ? err.message : String(err));
    throw refused ?? err;
  }
}
