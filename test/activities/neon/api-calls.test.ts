import { seedProject } from '../../../tools/emulator';
import { type Harness, startHarness, total } from '../../support/activity-harness';

/**
 * Neon API calls each activity makes on its happy path, from the emulator's request log. Exact numbers: an extra
 * call per activity multiplies across a fleet against the 700/minute budget, so a change here should be deliberate.
 * Run with NEON_PROMOTE_PRINT_CALLS=1 to print the table. Paths that find an earlier attempt's work ("exists",
 * "already done") spend one GET /operations to return that attempt's unfinished operations. A mutation's polls of its
 * own operations are left out: how many it takes depends on timing (settling.test.ts holds them to a budget). Several
 * operations are polled with a page of the project's operations: for a mutation that started several, that route's
 * calls are its polls and left out too.
 */
const OPERATION_POLL = 'GET /projects/{project_id}/operations/{operation_id}';
const OPERATIONS_PAGE = 'GET /projects/{project_id}/operations';
let h: Harness;
const table: [string, number, string][] = [];

beforeAll(async () => {
  h = await startHarness({ mode: 'data', operationDelayMs: 30 });
}, 120_000);
afterAll(async () => {
  if (process.env.NEON_PROMOTE_PRINT_CALLS) {
    process.stdout.write(
      `\n${table.map(([a, n, note]) => `${a.padEnd(34)} ${String(n).padStart(2)}  ${note}`).join('\n')}\n`,
    );
  }
  await h?.stop();
});

async function expectCalls<T>(label: string, expected: number, fn: () => Promise<T>, note = ''): Promise<T> {
  let result: T | undefined;
  const counts = await h.countCalls(async () => {
    result = await fn();
  });
  delete counts[OPERATION_POLL];
  if (((result as { operationIds?: string[] } | undefined)?.operationIds?.length ?? 0) > 1)
    delete counts[OPERATIONS_PAGE];
  const routes = Object.entries(counts)
    .map(([r, n]) => `${n}x ${r}`)
    .join(', ');
  table.push([label, total(counts), note || routes]);
  expect({ label, calls: total(counts), routes }).toEqual({ label, calls: expected, routes });
  return result as T;
}

test('API calls per activity on the happy path', async () => {
  const a = h.activities;
  const { projectId, branchId, databaseName, roleName } = await seedProject(h.emu, { rows: 1 });
  const settle = (operationIds: string[]) => h.run(a.waitForOperations, { projectId, operationIds });

  await expectCalls('resolveEnvironment', 3, () =>
    h.run(a.resolveEnvironment, { projectId, prodBranchName: 'main', devBranchName: 'dev' }),
  );
  await expectCalls('listBranches', 1, () => h.run(a.listBranches, { projectId }));
  await expectCalls('getBranch', 2, () => h.run(a.getBranch, { projectId, branchName: 'main' }));

  // Attempt 1 creates without a look-up; a retry looks for its earlier attempt's snapshot first.
  const snap = await expectCalls('ensureSnapshot (creates)', 1, () =>
    h.run(a.ensureSnapshot, { projectId, branchId, name: 'calls' }),
  );
  const snapshotId = snap.snapshot.id;
  await settle(snap.operationIds);
  await expectCalls('ensureSnapshot (retry, exists)', 2, () =>
    h.run(a.ensureSnapshot, { projectId, branchId, name: 'calls' }, 2),
  );
  await expectCalls('listSnapshots', 1, () => h.run(a.listSnapshots, { projectId }));
  // Attempt 1 renames without a look-up; a retry reads first and sends nothing when the name is set.
  await expectCalls('updateSnapshot', 1, () => h.run(a.updateSnapshot, { projectId, snapshotId, name: 'calls-2' }));
  await expectCalls('updateSnapshot (retry, renamed)', 1, () =>
    h.run(a.updateSnapshot, { projectId, snapshotId, name: 'calls-2' }, 2),
  );

  const child = await expectCalls('createBranch (with endpoint)', 2, () =>
    h.run(a.createBranch, { projectId, name: 'child', parentId: branchId, endpointType: 'read_write' }),
  );
  const childId = child.branch.id;
  await settle(child.operationIds);
  await expectCalls('createBranch (exists)', 3, () =>
    h.run(a.createBranch, { projectId, name: 'child', parentId: branchId, endpointType: 'read_write' }),
  );
  // Attempt 1 PATCHes without reading the branch; a retry reads it and sends only what differs.
  const renamed = await expectCalls('renameBranch', 1, () =>
    h.run(a.renameBranch, { projectId, branchId: childId, name: 'child-2' }),
  );
  await settle(renamed.operationIds);
  await expectCalls('renameBranch (retry, already named)', 1, () =>
    h.run(a.renameBranch, { projectId, branchId: childId, name: 'child-2' }, 2),
  );
  await expectCalls('compareSchema', 1, () =>
    h.run(a.compareSchema, { projectId, branchId: childId, baseBranchId: branchId, databaseName }),
  );
  await expectCalls(
    'verifyBranch (2 SQL checks)',
    1,
    () =>
      h.run(a.verifyBranch, {
        projectId,
        branchId,
        databaseName,
        roleName,
        checks: [
          { kind: 'sql', sql: 'SELECT 1', expect: { value: 1 } },
          { kind: 'tablesExist', tables: ['items'] },
        ],
      }),
    '1x GET connection_uri; checks go to Postgres',
  );

  const preview = await expectCalls('restoreSnapshot (preview)', 2, () =>
    h.run(a.restoreSnapshot, { projectId, snapshotId, targetBranchId: branchId, finalize: false }),
  );
  const previewId = preview.branch.id;
  await settle(preview.operationIds);
  await expectCalls('restoreSnapshot (already done)', 3, () =>
    h.run(a.restoreSnapshot, { projectId, snapshotId, targetBranchId: branchId, finalize: false }),
  );
  const finalized = await expectCalls('finalizeRestore', 2, () =>
    h.run(a.finalizeRestore, { projectId, branchId: previewId }),
  );
  const finalizeOps = finalized.operationIds;
  const waited = await h.countCalls(() => settle(finalizeOps));
  table.push([
    'waitForOperations',
    total(waited),
    `1 GET per pending operation per poll (${finalizeOps.length} op(s))`,
  ]);
  expect(total(waited)).toBeGreaterThanOrEqual(finalizeOps.length);

  const ro = await expectCalls('createEndpoint (creates)', 2, () =>
    h.run(a.createEndpoint, { projectId, branchId: childId, type: 'read_only' }),
  );
  await settle(ro.operationIds);
  // Read-write on attempt 1: the POST first; Neon refuses a second one, then the look-up finds the endpoint.
  await expectCalls('createEndpoint (exists, attempt 1)', 3, () =>
    h.run(a.createEndpoint, { projectId, branchId: childId, type: 'read_write' }),
  );
  await expectCalls('createEndpoint (retry, exists)', 2, () =>
    h.run(a.createEndpoint, { projectId, branchId: childId, type: 'read_write' }, 2),
  );
  const reset = await expectCalls('resetBranch', 2, () => h.run(a.resetBranch, { projectId, branchId: childId }));
  await settle(reset.operationIds);
  const deleted = await expectCalls('deleteSnapshot', 1, () => h.run(a.deleteSnapshot, { projectId, snapshotId }));
  await settle(deleted.operationIds);
  await expectCalls('deleteBranch', 1, () => h.run(a.deleteBranch, { projectId, branchId: childId }));
});
