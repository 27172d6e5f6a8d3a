/**
 * The backups runs keep on purpose outlive the janitor, however old: the replaced prod after a rollback whose
 * verification failed, the old dev after a refresh whose verification failed, and the pre-promotion prod after a
 * promotion whose own rollback failed. Each is the way back (or what someone has to look into), so it has no expiry
 * and the janitor, two days on, lists it as skipped instead of deleting it. So does the rollback snapshot of a
 * promotion terminated while it could still need it.
 */
import { Context } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { resourceName } from '../../../src/workflows/contract/names';
import { api, inventory } from '../../support/emulator-api';
import { sleep, until } from '../../support/polling';
import { neonActivities, projectWithChange, type Stack, startStack } from '../../support/workflow-stack';

let s: Stack;
beforeAll(async () => {
  s = await startStack(__filename);
});
afterAll(async () => s?.stop());

const DAY = 86_400_000;
const FAILING = [{ kind: 'sql' as const, name: 'never true', sql: 'SELECT 1', expect: { value: 2 } }];

/** What the test's activities do otherwise than the emulator's: set by each test. */
const twist = { surveyDaysOn: 0, prodDownAfterRollback: false, held: false };
beforeEach(() => Object.assign(twist, { surveyDaysOn: 0, prodDownAfterRollback: false, held: false }));

/**
 * The emulator's activities, with a survey `twist.surveyDaysOn` later, prod not answering after a promotion's rollback,
 * and a check named `held` waiting (heartbeating) while `twist.held`.
 */
function activities() {
  const real = neonActivities(s.emu);
  return {
    ...real,
    resolveEnvironment: async (input: Parameters<typeof real.resolveEnvironment>[0]) => {
      const env = await real.resolveEnvironment(input);
      return { ...env, observedAt: new Date(Date.parse(env.observedAt) + twist.surveyDaysOn * DAY).toISOString() };
    },
    verifyBranch: async (input: Parameters<typeof real.verifyBranch>[0]) => {
      // A promotion's rollback checks only that prod answers, on the branch it restored (named prod by then); the
      // candidate's own check of that kind comes before the swap, on a branch of another name.
      const { branch } = (await api(s.emu, 'GET', `/projects/${input.projectId}/branches/${input.branchId}`)) as {
        branch: { name: string };
      };
      while (twist.held && input.checks.some((check) => check.name === 'held')) {
        Context.current().heartbeat();
        await sleep(200);
      }
      const connectOnly = input.checks.length === 1 && input.checks[0]!.name === 'connect';
      if (twist.prodDownAfterRollback && connectOnly && branch.name === 'prod')
        return {
          ok: false,
          checks: [{ name: 'connect', kind: 'sql' as const, ok: false, detail: 'held down by the test' }],
          failedCheck: 'connect',
          durationMs: 0,
        };
      return real.verifyBranch(input);
    },
  };
}

/** The janitor, two days on, keeps the branch `name` and lists it as skipped. */
async function janitorKeeps(projectId: string, name: string): Promise<void> {
  twist.surveyDaysOn = 2;
  const result = await (await s.client.startJanitor({ projectId })).result();
  expect(result.deletedBranches.map((deleted) => deleted.name)).not.toContain(name);
  expect(result.skipped).toContainEqual(expect.objectContaining({ name }));
  expect((await inventory(s.emu, projectId)).branches.map((branch) => branch.name)).toContain(name);
}

const failure = async (result: Promise<unknown>): Promise<string> => {
  const err = (await result.then(
    () => null,
    (e: unknown) => e,
  )) as WorkflowFailedError | null;
  expect(err).toBeInstanceOf(WorkflowFailedError);
  return String((err!.cause as Error).message);
};

test('a rollback whose verification failed: its replaced prod stays', async () => {
  const worker = await s.worker(activities());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    expect((await (await s.client.startPromotion({ projectId: p.projectId })).result()).outcome).toBe('promoted');
    const run = await s.client.startRollback({ projectId: p.projectId, checks: FAILING });
    expect(await failure(run.result())).toContain('is kept as');
    await janitorKeeps(p.projectId, resourceName('old', run.workflowId));
  });
}, 180_000);

test('a refresh whose verification failed: the old dev stays', async () => {
  const worker = await s.worker(activities());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    const run = await s.client.startRefresh({ projectId: p.projectId, force: true, checks: FAILING });
    expect(await failure(run.result())).toContain('the old dev is kept');
    await janitorKeeps(p.projectId, resourceName('old', run.workflowId));
  });
}, 180_000);

test('a promotion whose rollback failed: the pre-promotion prod stays, and so does the rollback snapshot', async () => {
  const worker = await s.worker(activities());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    twist.prodDownAfterRollback = true;
    const run = await s.client.startPromotion({ projectId: p.projectId, postSwapChecks: FAILING });
    expect(await failure(run.result())).toContain('could not be rolled back');
    const snapshotId = (await s.client.getProgress(run.workflowId)).steps.find((step) => step.name === 'snapshot_prod')!
      .ids.snapshotId!;
    await janitorKeeps(p.projectId, resourceName('old', run.workflowId));
    expect((await inventory(s.emu, p.projectId)).snapshots.map((snapshot) => snapshot.id)).toContain(snapshotId);
  });
}, 180_000);

test('a promotion terminated while it could still roll back: its rollback snapshot, without expiry, stays', async () => {
  const worker = await s.worker(activities());
  await worker.runUntil(async () => {
    const p = await projectWithChange(s);
    twist.held = true;
    const run = await s.client.startPromotion({
      projectId: p.projectId,
      retention: { rollbackSnapshot: 60_000 },
      postSwapChecks: [{ kind: 'sql', name: 'held', sql: 'SELECT 1', expect: { value: 1 } }],
    });
    const progress = await until(
      'the promotion to verify prod',
      () => s.client.getProgress(run.workflowId),
      (read) => read.currentStep === 'verify_prod',
    );
    const snapshotId = progress.steps.find((step) => step.name === 'snapshot_prod')!.ids.snapshotId!;
    await s.t.client.workflow.getHandle(run.workflowId).terminate('the operator gave up on it');
    twist.held = false;
    twist.surveyDaysOn = 2;
    const result = await (await s.client.startJanitor({ projectId: p.projectId })).result();
    expect(result.deletedSnapshots.map((deleted) => deleted.id)).not.toContain(snapshotId);
    const snapshots = (await api(s.emu, 'GET', `/projects/${p.projectId}/snapshots`)).snapshots as {
      id: string;
      expires_at?: string;
    }[];
    expect(snapshots.find((snapshot) => snapshot.id === snapshotId)).toMatchObject({ id: snapshotId });
    expect(snapshots.find((snapshot) => snapshot.id === snapshotId)!.expires_at).toBeUndefined();
  });
}, 180_000);
