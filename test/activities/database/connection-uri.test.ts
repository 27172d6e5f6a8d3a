/**
 * The connection strings a worker fetches for its database sessions: one fetch serves the sessions a promotion opens on
 * the same target within seconds of each other; a retried attempt fetches afresh; a mutation that moves endpoints or
 * resets a branch makes the next session fetch again.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { branchConnectionUri } from '../../../src/activities/database/connect';
import { settling } from '../../../src/activities/neon/operations';
import type { NeonClient } from '../../../src/neon';

function fakeNeon() {
  const fetched: string[] = [];
  const neon = {
    getConnectionUri: (_projectId: string, request: { branchId: string; endpointId?: string }) => {
      fetched.push(`${request.branchId}/${request.endpointId ?? '-'}`);
      return Promise.resolve(`postgresql://owner:pw${fetched.length}@${request.endpointId ?? 'x'}.local/neondb`);
    },
  };
  return { neon: neon as unknown as NeonClient, fetched };
}

const prod = {
  projectId: 'p-1',
  branchId: 'br-prod',
  endpointId: 'ep-prod',
  databaseName: 'neondb',
  roleName: 'owner',
};

test('sessions on one target share one fetch; another target fetches its own', async () => {
  const { neon, fetched } = fakeNeon();
  const first = await branchConnectionUri(neon, prod, {});
  expect(await branchConnectionUri(neon, prod, {})).toBe(first);
  expect(await branchConnectionUri(neon, prod, {})).toBe(first);
  await branchConnectionUri(neon, { ...prod, branchId: 'br-candidate', endpointId: 'ep-candidate' }, {});
  await branchConnectionUri(neon, { ...prod, roleName: 'other' }, {});
  expect(fetched).toEqual(['br-prod/ep-prod', 'br-candidate/ep-candidate', 'br-prod/ep-prod']);
});

test('a retried attempt fetches afresh, and the sessions after it use the fresh string', async () => {
  const { neon, fetched } = fakeNeon();
  const stale = await branchConnectionUri(neon, prod, {});
  const fresh = await new MockActivityEnvironment({ attempt: 2 }).run(() => branchConnectionUri(neon, prod, {}));
  expect(fresh).not.toBe(stale);
  expect(await branchConnectionUri(neon, prod, {})).toBe(fresh);
  expect(fetched).toHaveLength(2);
});

test('a finalize, a reset or a deleted endpoint or branch makes the next session fetch again', async () => {
  for (const kind of ['finalizeRestore', 'resetBranch', 'deleteEndpoint', 'deleteBranch']) {
    const { neon, fetched } = fakeNeon();
    await branchConnectionUri(neon, prod, {});
    const mutation = settling(kind, () => Promise.resolve({ operationIds: [] as string[] }), { neon });
    await new MockActivityEnvironment().run(mutation, { projectId: 'p-1' });
    await branchConnectionUri(neon, prod, {});
    expect({ kind, fetched: fetched.length }).toEqual({ kind, fetched: 2 });
  }
  // A restore that finalizes moves endpoints too; one that does not (a candidate next to prod) leaves them.
  const { neon, fetched } = fakeNeon();
  const restore = settling('restoreSnapshot', () => Promise.resolve({ operationIds: [] as string[] }), { neon });
  await branchConnectionUri(neon, prod, {});
  await new MockActivityEnvironment().run(restore, { projectId: 'p-1', finalize: false });
  await branchConnectionUri(neon, prod, {});
  expect(fetched).toHaveLength(1);
  await new MockActivityEnvironment().run(restore, { projectId: 'p-1', finalize: true });
  await branchConnectionUri(neon, prod, {});
  expect(fetched).toHaveLength(2);
});
