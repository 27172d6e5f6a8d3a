/**
 * Phase 1: make dev an isolated root branch holding prod's data (snapshot prod -> restore without finalize, named
 * dev -> compute endpoint -> delete the baseline snapshot) and protect prod. A project that has dev already is left
 * as it is, and the result says so.
 */
import { workflowInfo } from '@temporalio/workflow';
import { neonMutations } from '../runtime/activity-options';
import { setupInput, CONNECTIVITY_CHECK, type SetupInput } from '../contract/inputs';
import { resourceName } from '../contract/names';
import { Run } from '../runtime/run';
import { Saga, isCancellation } from '../runtime/saga';
import { deleteBranch, deleteSnapshot, refuse, requireBranch, resolveEnvironment, verify } from '../steps/neon';
import { parseInput } from '../contract/validate';

export type SetupResult = {
  outcome: 'created' | 'noop';
  reason: string | null;
  projectId: string;
  prodBranchId: string;
  devBranchId: string;
  devEndpointId: string | null;
  prodProtected: boolean;
};

export async function setupEnvironments(raw: SetupInput): Promise<SetupResult> {
  const run = new Run('setupEnvironments');
  const o = parseInput(setupInput(), raw);
  run.begin(o.projectId);
  await run.waitForTurn(raw);
  const { projectId } = o;
  const saga = new Saga();
  const env = await run.step('plan', () => resolveEnvironment(o));
  const prod = requireBranch(env.prod, 'prod', o.prodBranchName);
  if (env.dev) {
    if (env.dev.id === prod.id) throw refuse(`prod and dev are the same branch (${prod.id})`, 'SameBranch');
    const reason = `dev already exists (${env.dev.id}); nothing changed`;
    run.finish('noop', reason);
    const devEndpointId = env.dev.endpoints.find((e) => e.type === 'read_write')?.id ?? null;
    return {
      outcome: 'noop',
      reason,
      projectId,
      prodBranchId: prod.id,
      devBranchId: env.dev.id,
      devEndpointId,
      prodProtected: prod.protected,
    };
  }
  try {
    const baseline = await run.step('snapshot_prod', async (s) => {
      const name = resourceName('baseline', workflowInfo().workflowId);
      const r = await neonMutations.ensureSnapshot({ projectId, branchId: prod.id, name });
      s.ids.snapshotId = r.snapshot.id;
      return r.snapshot;
    });
    saga.add('delete_baseline_snapshot', () => deleteSnapshot(projectId, baseline.id));
    // Restored under dev's name directly: a retry finds it by lineage (snapshot and target) instead of restoring twice.
    const dev = await run.step('restore_dev', async (s) => {
      const r = await neonMutations.restoreSnapshot({
        projectId,
        snapshotId: baseline.id,
        targetBranchId: prod.id,
        finalize: false,
        name: o.devBranchName,
      });
      s.ids.branchId = r.branch.id;
      return r.branch;
    });
    saga.add('delete_dev', () => deleteBranch(projectId, dev.id));
    const devEndpointId = await run.step('dev_endpoint', async (s) => {
      const r = await neonMutations.createEndpoint({ projectId, branchId: dev.id, type: 'read_write' });
      s.ids.endpointId = r.endpoint.id;
      return r.endpoint.id;
    });
    const check = await run.step('verify_dev', () => verify(o, dev.id, devEndpointId, [CONNECTIVITY_CHECK]));
    if (!check.ok)
      throw refuse(`dev does not answer: ${check.checks.find((c) => !c.ok)?.detail ?? ''}`, 'VerificationFailed');
    await run.step('clean_up', async () => {
      saga.drop('delete_dev');
      await saga.compensate(); // the baseline snapshot has served its purpose
    });
    if (o.protectProd) {
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
      prodProtected: o.protectProd || prod.protected,
    };
  } catch (err) {
    await run.step('compensate', () => saga.compensate());
    run.finish(isCancellation(err) ? 'cancelled' : 'failed', err instanceof Error ? err.message : String(err));
    throw err;
  }
}
