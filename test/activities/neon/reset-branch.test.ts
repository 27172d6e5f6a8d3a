import { Client } from 'pg';
import { seedProject } from '../../../tools/emulator';
import { type Harness, startHarness } from '../../support/activity-harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ mode: 'data', operationDelayMs: 300 });
}, 120_000);
afterAll(() => h?.stop());
afterEach(() => h.emu.setFaults({ rules: [] }));

const RESET = 'POST /projects/{project_id}/branches/{branch_id}/restore';

async function query(uri: string, sql: string): Promise<Record<string, unknown>[]> {
  const c = new Client({ connectionString: uri });
  await c.connect();
  try {
    return (await c.query(sql)).rows as Record<string, unknown>[];
  } finally {
    await c.end();
  }
}
const labels = async (uri: string) =>
  (await query(uri, 'SELECT label FROM items ORDER BY label')).map((r) => r.label as string);

/** A seeded parent with a child branch (read-write endpoint), each with a write of its own after the branch point. */
async function parentAndChild() {
  const p = await seedProject(h.emu, { rows: 2 });
  const child = await h.run(h.activities.createBranch, {
    projectId: p.projectId,
    name: 'np-child',
    parentId: p.branchId,
    endpointType: 'read_write',
  });
  await h.run(h.activities.waitForOperations, { projectId: p.projectId, operationIds: child.operationIds });
  const q = new URLSearchParams({ branch_id: child.branch.id, database_name: p.databaseName, role_name: p.roleName });
  const childUri = (await h.api('GET', `/projects/${p.projectId}/connection_uri?${q.toString()}`)).uri as string;
  await query(p.connectionUri, `INSERT INTO items (label, source) VALUES ('parent-later', 'parent')`);
  await query(childUri, `INSERT INTO items (label, source) VALUES ('child-only', 'child')`);
  return { ...p, childId: child.branch.id, childEndpointId: child.branch.endpoints[0]!.id, childUri };
}

test("resetBranch: the child holds its parent's head under the same ID, endpoint and connection string; sessions are dropped", async () => {
  const p = await parentAndChild();
  const session = new Client({ connectionString: p.childUri });
  await session.connect();
  session.on('error', () => {});
  const input = { projectId: p.projectId, branchId: p.childId, resetAfter: new Date().toISOString() };
  const counts = await h.countCalls(async () => {
    const r = await h.run(h.activities.resetBranch, input);
    expect(r).toMatchObject({ alreadyDone: false, branch: { id: p.childId, parentId: p.branchId } });
    expect(r.resetAt).not.toBeNull();
    await h.run(h.activities.waitForOperations, { projectId: p.projectId, operationIds: r.operationIds });
    // A retry of the same step (same resetAfter) recognises the reset by last_reset_at and sends nothing.
    expect(await h.run(h.activities.resetBranch, input, 2)).toMatchObject({ alreadyDone: true, operationIds: [] });
  });
  expect(counts[RESET]).toBe(1);
  await expect(session.query('SELECT 1')).rejects.toThrow();
  await session.end().catch(() => {});

  expect(await labels(p.childUri)).toEqual(await labels(p.connectionUri));
  expect(await labels(p.childUri)).toContain('parent-later');
  const endpoints = (await h.api('GET', `/projects/${p.projectId}/branches/${p.childId}/endpoints`)).endpoints as {
    id: string;
  }[];
  expect(endpoints.map((e) => e.id)).toEqual([p.childEndpointId]);
});

test('resetBranch after a lost response: one reset, and the retry returns its unfinished operations', async () => {
  const p = await parentAndChild();
  const input = { projectId: p.projectId, branchId: p.childId, resetAfter: new Date().toISOString() };
  h.emu.setFaults({ rules: [{ kind: 'response_lost', route: RESET, times: 1 }] });
  const lost = await h.run(h.activities.resetBranch, input).catch((e: unknown) => e);
  h.emu.setFaults({ rules: [] });
  expect(lost).toMatchObject({ type: 'NeonUnavailable', nonRetryable: false });
  const retry = await h.run(h.activities.resetBranch, input, 2);
  expect(retry.alreadyDone).toBe(true);
  expect(retry.operationIds.length).toBeGreaterThan(0);
  const waited = await h.run(h.activities.waitForOperations, {
    projectId: p.projectId,
    operationIds: retry.operationIds,
  });
  expect(waited.operations.map((o) => o.status)).toEqual(retry.operationIds.map(() => 'finished'));
  expect(await labels(p.childUri)).toEqual(await labels(p.connectionUri));
});

test('resetBranch preserving the old data keeps it under the name once, even when repeated without resetAfter', async () => {
  const p = await parentAndChild();
  const input = { projectId: p.projectId, branchId: p.childId, preserveUnderName: 'np-child-before-reset' };
  const first = await h.run(h.activities.resetBranch, input);
  await h.run(h.activities.waitForOperations, { projectId: p.projectId, operationIds: first.operationIds });
  expect((await h.run(h.activities.resetBranch, input, 2)).alreadyDone).toBe(true);
  const names = (await h.run(h.activities.listBranches, { projectId: p.projectId })).map((b) => b.name);
  expect(names.filter((n) => n === 'np-child-before-reset')).toHaveLength(1);
});
