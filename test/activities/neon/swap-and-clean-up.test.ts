/**
 * A promotion's swap (finalizeRestore with the candidate's endpoint to delete first) and its clean-up (cleanUpSwap)
 * against the emulator: each several Neon mutations in one activity, so a retry after any part's lost answer must
 * finish the rest, and nothing may take effect twice.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { SENDS_AFTER_FAILED_OPERATION } from '../../../src/shared/failure-types';
import { type Harness, failureOf, startHarness } from '../../support/activity-harness';
import { fileLogger } from '../../support/runtime-log';
import { currentTestLog } from '../../support/test-logs';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ operationDelayMs: 5, detachingMs: { afterFinalize: 0 } });
});
afterAll(() => h.stop());
afterEach(() => h.emu.setFaults({ rules: [] }));

const DELETE_ENDPOINT = 'DELETE /projects/{project_id}/endpoints/{endpoint_id}';
const FINALIZE = 'POST /projects/{project_id}/branches/{branch_id}/finalize_restore';
const DELETE_BRANCH = 'DELETE /projects/{project_id}/branches/{branch_id}';
const RENAME_SNAPSHOT = 'PATCH /projects/{project_id}/snapshots/{snapshot_id}';
const DELETE_SNAPSHOT = 'DELETE /projects/{project_id}/snapshots/{snapshot_id}';
const UPDATE_BRANCH = 'PATCH /projects/{project_id}/branches/{branch_id}';
const LIST_SNAPSHOTS = 'GET /projects/{project_id}/snapshots';

/**
 * Requests per route since the log was reset that changed something: answered with a change (200, 201, 202) or whose
 * answer was lost (status 0). A delete of what is gone (204, 404) and a refusal change nothing.
 */
function effects(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of h.emu.requestLog())
    if (e.method !== 'GET' && (e.status === 0 || [200, 201, 202].includes(e.status)))
      out[e.route] = (out[e.route] ?? 0) + 1;
  return out;
}

/**
 * A project as a promotion leaves it before its swap: prod (`main`), the fork point before, its restore next to prod
 * (the fork point's branch), the candidate's snapshot restored next to prod with a read-write endpoint of its own.
 */
async function beforeSwap() {
  const { projectId, branchId: prodId, endpointId: prodEndpointId } = await h.createProject();
  const snapshot = async (name: string) =>
    (await h.run(h.activities.ensureSnapshot, { projectId, branchId: prodId, name })).snapshot.id;
  const restore = async (snapshotId: string, name: string) =>
    (
      await h.run(h.activities.restoreSnapshot, {
        projectId,
        snapshotId,
        targetBranchId: prodId,
        finalize: false,
        name,
      })
    ).branch.id;
  const previousForkPointId = await snapshot('np-fork-before');
  const forkBaseBranchId = await restore(previousForkPointId, 'np-base-run');
  const candidateSnapshotId = await snapshot('np-candidate-run');
  const candidateId = await restore(candidateSnapshotId, 'np-candidate-run');
  const candidateEndpoint = await h.run(h.activities.createEndpoint, {
    projectId,
    branchId: candidateId,
    type: 'read_write',
  });
  const swap = {
    projectId,
    branchId: candidateId,
    oldBranchName: 'np-old-run',
    firstExecution: true,
    deleteEndpointId: candidateEndpoint.endpoint.id,
  };
  return { projectId, prodId, prodEndpointId, previousForkPointId, forkBaseBranchId, candidateSnapshotId, swap };
}

/**
 * Runs attempts from `attempt` on as Temporal would, until one does not fail for a passing reason: a retry that finds
 * an earlier attempt's delete done does not wait for its operation, and the next part may meet Neon's 423 meanwhile.
 */
async function retried<I, O>(fn: (input: I) => Promise<O>, input: I, attempt: number): Promise<O> {
  for (; ; attempt++) {
    try {
      return await h.run(fn, input, attempt);
    } catch (err) {
      if ((err as { nonRetryable?: boolean }).nonRetryable !== false || attempt >= 10) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

type Failure = { type: string; message: string; nonRetryable: boolean };

/**
 * Attempts from the first on as Temporal makes them: each starts from the heartbeat details the one before left (its
 * last heartbeat, as a failed attempt's is kept), 100 ms apart, until one does not fail for a passing reason.
 * `beforeRetry` runs before the second. The answer, unless a failure ended them, and each failed attempt's failure.
 */
async function attempts<I, O>(
  fn: (input: I) => Promise<O>,
  input: I,
  beforeRetry: () => void = () => undefined,
): Promise<{ answer?: O; failures: Failure[] }> {
  const failures: Failure[] = [];
  let heartbeatDetails: unknown;
  for (let attempt = 1; attempt <= 10; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 100));
    if (attempt === 2) beforeRetry();
    const env = new MockActivityEnvironment(
      { attempt, activityType: fn.name || 'activity', heartbeatDetails },
      { logger: fileLogger(currentTestLog()) },
    );
    env.on('heartbeat', (details: unknown) => {
      heartbeatDetails = JSON.parse(JSON.stringify(details ?? null));
    });
    try {
      return { answer: await env.run(fn, input), failures };
    } catch (err) {
      failures.push(err as Failure);
      if ((err as Failure).nonRetryable !== false) return { failures };
    }
  }
  return { failures };
}

/** The same project swapped: prod is the candidate, and the clean-up's input. */
async function afterSwap() {
  const p = await beforeSwap();
  await h.run(h.activities.finalizeRestore, p.swap);
  const cleanUp = {
    projectId: p.projectId,
    forkBaseBranchId: p.forkBaseBranchId,
    forkPoint: { snapshotId: p.candidateSnapshotId, name: 'np-fork-run' },
    previousForkPointId: p.previousForkPointId,
    backup: { branchId: p.prodId, servingBranchId: p.swap.branchId, retentionMs: 3_600_000 },
  };
  return { ...p, cleanUp };
}

async function project(projectId: string) {
  const branches = (await h.api('GET', `/projects/${projectId}/branches`)).branches as {
    id: string;
    name: string;
    expires_at?: string;
  }[];
  const snapshots = (await h.api('GET', `/projects/${projectId}/snapshots`)).snapshots as {
    id: string;
    name: string;
  }[];
  const endpoints = (await h.api('GET', `/projects/${projectId}/endpoints`)).endpoints as {
    id: string;
    branch_id: string;
  }[];
  return { branches, snapshots, endpoints };
}

/** What a finished clean-up leaves: prod (the candidate), the backup with its expiry, one snapshot, the fork point. */
async function expectCleanedUp(p: Awaited<ReturnType<typeof afterSwap>>): Promise<void> {
  const { branches, snapshots } = await project(p.projectId);
  expect(branches.map((b) => b.name).sort()).toEqual(['main', 'np-old-run']);
  expect(branches.find((b) => b.id === p.prodId)?.expires_at).toEqual(expect.any(String));
  expect(snapshots).toEqual([expect.objectContaining({ id: p.candidateSnapshotId, name: 'np-fork-run' })]);
}

describe('the swap: the candidate endpoint deleted, then the finalize, in one activity', () => {
  it('prod serves the candidate through its own endpoint; the candidate endpoint is gone', async () => {
    const p = await beforeSwap();
    h.emu.resetRequestLog();
    const done = await h.run(h.activities.finalizeRestore, p.swap);
    expect(done).toMatchObject({ alreadyDone: false, replacedBranchId: null });
    expect(effects()).toEqual({ [DELETE_ENDPOINT]: 1, [FINALIZE]: 1 });
    const { branches, endpoints } = await project(p.projectId);
    expect(branches.find((b) => b.name === 'main')?.id).toBe(p.swap.branchId);
    expect(endpoints.map((e) => [e.id, e.branch_id])).toEqual([[p.prodEndpointId, p.swap.branchId]]);
  });

  it.each([DELETE_ENDPOINT, FINALIZE])('a lost answer of %s: the retry finishes the swap, once', async (route) => {
    const p = await beforeSwap();
    h.emu.resetRequestLog();
    h.emu.setFaults({ rules: [{ kind: 'response_lost', route, times: 1 }] });
    expect(await failureOf(h.run(h.activities.finalizeRestore, p.swap))).toMatchObject({ type: 'NeonUnavailable' });
    h.emu.setFaults({ rules: [] });
    const again = await retried(h.activities.finalizeRestore, p.swap, 2);
    expect(again).toMatchObject({ alreadyDone: route === FINALIZE, replacedBranchId: p.prodId });
    expect(effects()).toEqual({ [DELETE_ENDPOINT]: 1, [FINALIZE]: 1 });
    const { branches, endpoints } = await project(p.projectId);
    expect(branches.find((b) => b.name === 'main')?.id).toBe(p.swap.branchId);
    expect(endpoints.map((e) => [e.id, e.branch_id])).toEqual([[p.prodEndpointId, p.swap.branchId]]);
  });
});

describe('the clean-up after a swap, in one activity', () => {
  it('deletes the fork point branch, names the candidate snapshot the fork point, deletes the one before, gives the backup its expiry', async () => {
    const p = await afterSwap();
    h.emu.resetRequestLog();
    const done = await h.run(h.activities.cleanUpSwap, p.cleanUp);
    expect(done).toMatchObject({
      forkPoint: { id: p.candidateSnapshotId, name: 'np-fork-run' },
      forkBaseLeft: null,
      backupKept: null,
    });
    expect(done.backupExpiresAt).toEqual(expect.any(String));
    expect(effects()).toEqual({ [DELETE_BRANCH]: 1, [RENAME_SNAPSHOT]: 1, [DELETE_SNAPSHOT]: 1, [UPDATE_BRANCH]: 1 });
    await expectCleanedUp(p);
  });

  it.each([DELETE_BRANCH, RENAME_SNAPSHOT, DELETE_SNAPSHOT, UPDATE_BRANCH])(
    'a lost answer of %s, and a retry without its heartbeat details (a crash): it finishes the rest, and nothing takes effect twice',
    async (route) => {
      const p = await afterSwap();
      h.emu.resetRequestLog();
      h.emu.setFaults({ rules: [{ kind: 'response_lost', route, times: 1 }] });
      expect(await failureOf(h.run(h.activities.cleanUpSwap, p.cleanUp))).toMatchObject({
        type: 'NeonUnavailable',
        nonRetryable: false,
      });
      h.emu.setFaults({ rules: [] });
      const done = await retried(h.activities.cleanUpSwap, p.cleanUp, 2);
      expect(done).toMatchObject({ forkPoint: { name: 'np-fork-run' }, forkBaseLeft: null, backupKept: null });
      // The expiry is an absolute value counted from when it is sent: only its own lost answer has it sent again.
      expect(effects()).toEqual({
        [DELETE_BRANCH]: 1,
        [RENAME_SNAPSHOT]: 1,
        [DELETE_SNAPSHOT]: 1,
        [UPDATE_BRANCH]: route === UPDATE_BRANCH ? 2 : 1,
      });
      await expectCleanedUp(p);
    },
  );

  it.each([
    [DELETE_SNAPSHOT, [LIST_SNAPSHOTS, RENAME_SNAPSHOT, DELETE_BRANCH]],
    [RENAME_SNAPSHOT, [DELETE_BRANCH]],
    [UPDATE_BRANCH, [DELETE_SNAPSHOT, LIST_SNAPSHOTS, RENAME_SNAPSHOT, DELETE_BRANCH]],
  ])('a lost answer of %s: the retry sends nothing for the parts finished before it', async (route, finished) => {
    const p = await afterSwap();
    h.emu.setFaults({ rules: [{ kind: 'response_lost', route, times: 1 }] });
    const { answer, failures } = await attempts(h.activities.cleanUpSwap, p.cleanUp, () => {
      h.emu.setFaults({ rules: [] });
      h.emu.resetRequestLog();
    });
    expect(failures[0]).toMatchObject({ type: 'NeonUnavailable', nonRetryable: false });
    expect(answer).toMatchObject({ forkPoint: { name: 'np-fork-run' }, forkBaseLeft: null, backupKept: null });
    const retries = new Set(h.emu.requestLog().map((e) => e.route));
    expect(finished.filter((r) => retries.has(r))).toEqual([]);
    await expectCleanedUp(p);
  });

  it("the fork point branch's failed delete is sent again by a retry; at its last send it is left, reported, and the rest done", async () => {
    const p = await afterSwap();
    h.emu.resetRequestLog();
    h.emu.setFaults({ rules: [{ kind: 'fail_operation', route: DELETE_BRANCH }] });
    const { answer, failures } = await attempts(h.activities.cleanUpSwap, p.cleanUp);
    expect(failures).toEqual(
      Array(SENDS_AFTER_FAILED_OPERATION - 1).fill(
        expect.objectContaining({ type: 'OperationFailed', nonRetryable: false }),
      ),
    );
    expect(answer?.forkBaseLeft).toMatch(/failed/);
    expect(answer?.backupKept).toBeNull();
    expect(effects()).toEqual({
      [DELETE_BRANCH]: SENDS_AFTER_FAILED_OPERATION,
      [RENAME_SNAPSHOT]: 1,
      [DELETE_SNAPSHOT]: 1,
      [UPDATE_BRANCH]: 1,
    });
    const { branches, snapshots } = await project(p.projectId);
    expect(branches.map((b) => b.name).sort()).toEqual(['main', 'np-base-run', 'np-old-run']);
    expect(snapshots.map((s) => s.name)).toEqual(['np-fork-run']);
  });

  it("the old fork point's failed delete fails the attempt, to be sent again, as its own step did", async () => {
    const p = await afterSwap();
    h.emu.setFaults({ rules: [{ kind: 'fail_operation', route: DELETE_SNAPSHOT, times: 1 }] });
    expect(await failureOf(h.run(h.activities.cleanUpSwap, p.cleanUp))).toMatchObject({
      type: 'OperationFailed',
      nonRetryable: false,
    });
    h.emu.setFaults({ rules: [] });
    await retried(h.activities.cleanUpSwap, p.cleanUp, 2);
    await expectCleanedUp(p);
  });

  it("a part's failed-operation limit is its own: attempts that failed on another part's 423 leave the old fork point's re-sends", async () => {
    const p = await afterSwap();
    h.emu.setFaults({
      rules: [
        { kind: 'locked', route: RENAME_SNAPSHOT, times: SENDS_AFTER_FAILED_OPERATION - 1 },
        { kind: 'fail_operation', route: DELETE_SNAPSHOT, times: 1 },
      ],
    });
    const { answer, failures } = await attempts(h.activities.cleanUpSwap, p.cleanUp);
    expect(failures.map((f) => [f.type, f.nonRetryable])).toEqual([
      ...Array<[string, boolean]>(SENDS_AFTER_FAILED_OPERATION - 1).fill(['NeonLocked', false]),
      ['OperationFailed', false],
    ]);
    expect(answer).toMatchObject({ previousForkPointLeft: null, backupKept: null });
    await expectCleanedUp(p);
  });

  it("the old fork point's delete failing at its last send leaves it to the janitor, reported; the backup gets its expiry", async () => {
    const p = await afterSwap();
    h.emu.setFaults({ rules: [{ kind: 'fail_operation', route: DELETE_SNAPSHOT }] });
    const { answer, failures } = await attempts(h.activities.cleanUpSwap, p.cleanUp);
    expect(failures).toHaveLength(SENDS_AFTER_FAILED_OPERATION - 1);
    expect(answer).toMatchObject({ forkPoint: { name: 'np-fork-run' }, forkBaseLeft: null, backupKept: null });
    expect(answer?.previousForkPointLeft).toMatch(/failed/);
    expect(answer?.backupExpiresAt).toEqual(expect.any(String));
    const { branches, snapshots } = await project(p.projectId);
    expect(branches.map((b) => b.name).sort()).toEqual(['main', 'np-old-run']);
    // The janitor deletes an np-fork- snapshot that is not the newest: a superseded fork point.
    expect(snapshots.map((s) => s.name).sort()).toEqual(['np-fork-before', 'np-fork-run']);
  });

  it('an expiry Neon refuses (the backup has a child) keeps the backup for the janitor: reported, not a failure', async () => {
    const p = await afterSwap();
    await h.run(h.activities.createBranch, { projectId: p.projectId, name: 'child-of-backup', parentId: p.prodId });
    const done = await h.run(h.activities.cleanUpSwap, p.cleanUp);
    expect(done).toMatchObject({ forkPoint: { name: 'np-fork-run' }, backupExpiresAt: null });
    expect(done.backupKept).toMatch(/child/);
    const { branches, snapshots } = await project(p.projectId);
    expect(branches.find((b) => b.id === p.prodId)?.expires_at).toBeUndefined();
    expect(branches.map((b) => b.name)).not.toContain('np-base-run');
    expect(snapshots.map((s) => s.name)).toEqual(['np-fork-run']);
  });
});
