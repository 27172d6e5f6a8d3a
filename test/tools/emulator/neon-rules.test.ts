/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-unsafe-argument --
   JSON bodies under test are checked by assertions here, not by types. */
/**
 * Rules of Neon's API the emulator enforces, over HTTP (sources in tools/emulator/README.md, "Limits and their
 * sources"): snapshots of root branches only, unique snapshot names, `detaching` restores, every operation status,
 * pagination and soft-deleted branches. Control plane only: memory mode.
 */
import { startEmulator, waitForOperations, type Emulator } from '../../../tools/emulator';
import { type Json, rawApi, settled } from '../../support/emulator-api';
import { until } from '../../support/polling';

let emu: Emulator;
let api: ReturnType<typeof rawApi>;

beforeAll(async () => {
  emu = await startEmulator({
    mode: 'memory',
    operationDelayMs: 5,
    branchPageSize: 5,
    detachingMs: { afterRestore: 60_000, afterFinalize: 60_000 },
  });
  api = rawApi(emu);
});
afterAll(async () => emu?.stop());
beforeEach(() => emu.setFaults({ rules: [] }));

/** A call that must succeed, once its operations finished. */
const ok = (method: string, path: string, body?: unknown): Promise<Json> => settled(emu, method, path, body);

async function project(name = 'rules'): Promise<{ projectId: string; mainId: string }> {
  const created = await api('POST', '/projects', { project: { name } });
  const projectId = created.body.project.id as string;
  await waitForOperations(emu, projectId, created.body.operations as { id: string }[]);
  return { projectId, mainId: created.body.branch.id as string };
}

test('a snapshot of a child branch is refused; of a root branch (a restored one too) it is taken', async () => {
  const { projectId, mainId } = await project();
  const child = await ok('POST', `/projects/${projectId}/branches`, { branch: { name: 'dev', parent_id: mainId } });
  const refused = await api('POST', `/projects/${projectId}/branches/${child.branch.id}/snapshot?name=s1`);
  expect(refused.status).toBe(400);
  expect(refused.body.message).toMatch(/root branches/);
  expect((await api('GET', `/projects/${projectId}/snapshots`)).body.snapshots).toEqual([]);
  const root = await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=s1`);
  const restored = await ok('POST', `/projects/${projectId}/snapshots/${root.snapshot.id}/restore`, { name: 'r' });
  expect(restored.branch.parent_id).toBeUndefined();
  await ok('POST', `/projects/${projectId}/branches/${restored.branch.id}/snapshot?name=s2`);
});

test('snapshot names are unique within a project: a create or a rename onto a taken name is refused', async () => {
  const { projectId, mainId } = await project();
  const first = await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=same`);
  const again = await api('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=same`);
  expect(again.status).toBe(409);
  expect(again.body.message).toContain(first.snapshot.id);
  const other = await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=other`);
  const rename = await api('PATCH', `/projects/${projectId}/snapshots/${other.snapshot.id}`, {
    snapshot: { name: 'same' },
  });
  expect(rename.status).toBe(409);
  // Unnamed snapshots of one branch in the same second still get distinct default names.
  await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot`);
  await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot`);
  const names = ((await api('GET', `/projects/${projectId}/snapshots`)).body.snapshots as Json[]).map((s) => s.name);
  expect(new Set(names).size).toBe(names.length);
});

test('a restored branch, and a finalized one, read detaching for a while; only the restored one can be finalized', async () => {
  const { projectId, mainId } = await project();
  const snap = await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=d`);
  const preview = await ok('POST', `/projects/${projectId}/snapshots/${snap.snapshot.id}/restore`, { name: 'p' });
  expect(preview.branch).toMatchObject({ restore_status: 'detaching', restored_as: mainId });
  await ok('POST', `/projects/${projectId}/branches/${preview.branch.id}/finalize_restore`, { name: 'main-old' });
  const swapped = (await api('GET', `/projects/${projectId}/branches/${preview.branch.id}`)).body.branch;
  expect(swapped).toMatchObject({ name: 'main', restore_status: 'detaching' });
  const twice = await api('POST', `/projects/${projectId}/branches/${preview.branch.id}/finalize_restore`, {});
  expect(twice.status).toBe(400);

  const brief = await startEmulator({ mode: 'memory', operationDelayMs: 5, detachingMs: { afterFinalize: 300 } });
  try {
    const call = rawApi(brief);
    const made = await call('POST', '/projects', { project: { name: 'brief' } });
    const id = made.body.project.id as string;
    await waitForOperations(brief, id, made.body.operations as { id: string }[]);
    const s = await call('POST', `/projects/${id}/branches/${made.body.branch.id}/snapshot?name=b`);
    await waitForOperations(brief, id, s.body.operations as { id: string }[]);
    const r = await call('POST', `/projects/${id}/snapshots/${s.body.snapshot.id}/restore`, { finalize_restore: true });
    expect(r.body.branch.restore_status).toBe('detaching');
    await until(
      'the restore to read finalized',
      async () => (await call('GET', `/projects/${id}/branches/${r.body.branch.id}`)).body.branch.restore_status,
      (status) => status === 'finalized',
    );
  } finally {
    await brief.stop();
  }
});

/** Every status an operation goes through (each change once), read until it is final. */
async function statuses(call: typeof api, projectId: string, operationId: string): Promise<Json[]> {
  const seen: Json[] = [];
  await until(
    `operation ${operationId} to end`,
    async () => (await call('GET', `/projects/${projectId}/operations/${operationId}`)).body.operation as Json,
    (op) => {
      if (seen.at(-1)?.status !== op.status) seen.push(op);
      return ['finished', 'failed', 'cancelled', 'skipped'].includes(op.status as string);
    },
    { intervalMs: 5 },
  );
  return seen;
}

test('faults end operations cancelled (undone), skipped (kept), or finished after a retried error', async () => {
  const slow = await startEmulator({ mode: 'memory', operationDelayMs: 800 });
  const call = rawApi(slow);
  const route = 'POST /projects/{project_id}/branches';
  try {
    const made = await call('POST', '/projects', { project: { name: 'ops' } });
    const id = made.body.project.id as string;
    await waitForOperations(slow, id, made.body.operations as { id: string }[]);
    const branch = async (fault: 'cancel_operation' | 'skip_operation' | 'operation_error', name: string) => {
      slow.setFaults({ rules: [{ kind: fault, route, times: 1 }] });
      const res = await call('POST', `/projects/${id}/branches`, { branch: { name } });
      expect(res.status).toBe(201);
      const seen: Json[] = [];
      for (const op of res.body.operations as { id: string }[]) seen.push(...(await statuses(call, id, op.id)));
      const exists = (await call('GET', `/projects/${id}/branches/${res.body.branch.id}`)).status === 200;
      return { seen, exists };
    };
    const cancelled = await branch('cancel_operation', 'c');
    expect(cancelled.seen.map((o) => o.status)).toEqual(expect.arrayContaining(['cancelling', 'cancelled']));
    expect(cancelled.exists).toBe(false);
    const skipped = await branch('skip_operation', 's');
    expect(skipped.seen.map((o) => o.status).at(-1)).toBe('skipped');
    expect(skipped.exists).toBe(true);
    const retried = await branch('operation_error', 'e');
    const error = retried.seen.find((o) => o.status === 'error');
    expect(error).toMatchObject({ failures_count: 1, error: expect.any(String), retry_at: expect.any(String) });
    expect(retried.seen.at(-1)).toMatchObject({ status: 'finished', failures_count: 1 });
    expect(retried.exists).toBe(true);
  } finally {
    await slow.stop();
  }
});

test('branches paginate (page size capped, the cursor in pagination.next); operations and projects by their limits', async () => {
  const { projectId } = await project('paged');
  for (let i = 0; i < 11; i++)
    await ok('POST', `/projects/${projectId}/branches`, { branch: { name: `b${String(i).padStart(2, '0')}` } });
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const query = new URLSearchParams({ sort_by: 'name', sort_order: 'asc', limit: '10000' });
    if (cursor) query.set('cursor', cursor);
    const page = (await api('GET', `/projects/${projectId}/branches?${query.toString()}`)).body;
    expect(page.branches.length).toBeLessThanOrEqual(5);
    names.push(...(page.branches as Json[]).map((b) => b.name as string));
    cursor = page.pagination?.next as string | undefined;
    pages++;
  } while (cursor);
  expect(pages).toBe(3);
  expect(names).toEqual(['b00', 'b01', 'b02', 'b03', 'b04', 'b05', 'b06', 'b07', 'b08', 'b09', 'b10', 'main']);
  const two = (await api('GET', `/projects/${projectId}/branches?limit=2`)).body;
  expect(two.branches).toHaveLength(2);
  expect(two.pagination).toMatchObject({ sort_by: 'updated_at', sort_order: 'desc', next: expect.any(String) });
  for (const bad of ['limit=0', 'limit=10001', 'cursor=nope', 'sort_by=id'])
    expect((await api('GET', `/projects/${projectId}/branches?${bad}`)).status).toBe(400);

  const all = (await api('GET', `/projects/${projectId}/operations`)).body;
  expect(all.operations.length).toBeGreaterThan(11);
  expect(all.pagination.cursor).toEqual(expect.any(String));
  const paged: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = (await api('GET', `/projects/${projectId}/operations?limit=4${after ? `&cursor=${after}` : ''}`)).body;
    if (page.operations.length === 0) break;
    expect(page.operations.length).toBeLessThanOrEqual(4);
    paged.push(...(page.operations as Json[]).map((o) => o.id as string));
    after = page.pagination.cursor as string;
  }
  expect(paged).toEqual((all.operations as Json[]).map((o) => o.id));
  expect((await api('GET', `/projects/${projectId}/operations?limit=1001`)).status).toBe(400);

  for (let i = 0; i < 11; i++) await project(`many-${i}`);
  const projects = (await api('GET', '/projects')).body;
  expect(projects.projects).toHaveLength(10);
  expect((await api('GET', `/projects?limit=400&cursor=${projects.pagination.cursor}`)).body.projects.length).toBe(
    (await api('GET', '/projects?limit=400')).body.projects.length - 10,
  );
  expect((await api('GET', '/projects?limit=401')).status).toBe(400);
});

test('a deleted branch is recoverable for 7 days unless hard_delete; an expired one is soft-deleted as ttl', async () => {
  const { projectId, mainId } = await project();
  const soft = await ok('POST', `/projects/${projectId}/branches`, {
    branch: { name: 'soft', parent_id: mainId },
    endpoints: [{ type: 'read_write' }],
  });
  const hard = await ok('POST', `/projects/${projectId}/branches`, { branch: { name: 'hard', parent_id: mainId } });
  const before = Date.now();
  await ok('DELETE', `/projects/${projectId}/branches/${soft.branch.id}`);
  await ok('DELETE', `/projects/${projectId}/branches/${hard.branch.id}?hard_delete=true`);
  const live = (await api('GET', `/projects/${projectId}/branches`)).body.branches as Json[];
  expect(live.map((b) => b.name)).toEqual(['main']);
  expect((await api('GET', `/projects/${projectId}/branches/${soft.branch.id}`)).status).toBe(404);
  expect((await api('GET', `/projects/${projectId}/endpoints`)).body.endpoints).toHaveLength(1);
  const withDeleted = (await api('GET', `/projects/${projectId}/branches?include_deleted=true`)).body
    .branches as Json[];
  const recoverable = withDeleted.find((b) => b.id === soft.branch.id);
  expect(withDeleted.find((b) => b.id === hard.branch.id)).toBeUndefined();
  expect(recoverable?.recovery).toMatchObject({ deletion_method: 'user' });
  const window = Date.parse(recoverable?.recovery.recoverable_until) - Date.parse(recoverable?.recovery.deleted_at);
  expect(window).toBe(7 * 86_400_000);
  expect(Date.parse(recoverable?.recovery.deleted_at)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);

  const recovered = await ok('POST', `/projects/${projectId}/branches/${soft.branch.id}/recover`);
  expect(recovered.branch.id).toBe(soft.branch.id);
  expect(recovered.endpoints).toMatchObject([{ id: soft.endpoints[0].id, current_state: 'idle' }]);
  expect((await api('POST', `/projects/${projectId}/branches/${hard.branch.id}/recover`)).status).toBe(404);

  const expiresAt = new Date(Date.now() + 1500).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ttl = await ok('POST', `/projects/${projectId}/branches`, {
    branch: { name: 'ttl', parent_id: mainId, expires_at: expiresAt },
  });
  const swept = await until(
    'the expired branch to be soft-deleted',
    async () => (await api('GET', `/projects/${projectId}/branches?include_deleted=true`)).body.branches as Json[],
    (listed) => listed.find((b) => b.id === ttl.branch.id)?.recovery !== undefined,
  );
  expect(swept.find((b) => b.id === ttl.branch.id)?.recovery).toMatchObject({ deletion_method: 'ttl' });
  const back = await ok('POST', `/projects/${projectId}/branches/${ttl.branch.id}/recover`);
  expect(back.branch.expires_at).toBeUndefined();
});

test('an unknown boolean is refused', async () => {
  const { projectId, mainId } = await project();
  expect((await api('DELETE', `/projects/${projectId}/branches/${mainId}?hard_delete=yes`)).status).toBe(400);
  expect((await api('GET', `/projects/${projectId}/branches?include_deleted=1`)).status).toBe(400);
});

test("reset from parent is refused on a child of a branch restored from a snapshot until 24 hours on the emulator's clock", async () => {
  const { projectId, mainId } = await project('reset-window');
  const snap = await ok('POST', `/projects/${projectId}/branches/${mainId}/snapshot?name=base`);
  const dev = (await ok('POST', `/projects/${projectId}/snapshots/${snap.snapshot.id}/restore`, { name: 'dev' }))
    .branch;
  const child = (await ok('POST', `/projects/${projectId}/branches`, { branch: { name: 'pr', parent_id: dev.id } }))
    .branch;
  const plain = (await ok('POST', `/projects/${projectId}/branches`, { branch: { name: 'pl', parent_id: mainId } }))
    .branch;
  const reset = (id: string, parent: string) =>
    api('POST', `/projects/${projectId}/branches/${id}/restore`, { source_branch_id: parent });

  const refused = await reset(child.id, dev.id);
  expect(refused.status).toBe(409);
  expect(refused.body.message).toMatch(/reset from parent is unavailable.*restored from a snapshot/);
  // A parent not made by a snapshot restore keeps its children resettable.
  const plainReset = await reset(plain.id, mainId);
  expect(plainReset.status).toBe(200);
  // Its operations hold the project (423 to anything else) until they finish.
  await waitForOperations(emu, projectId, plainReset.body.operations as { id: string }[]);

  const advance = async (ms: number) =>
    fetch(`${emu.adminUrl}/clock`, {
      method: 'POST',
      headers: { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ advance_ms: ms }),
    });
  expect((await advance(24 * 3_600_000 - 60_000)).status).toBe(200);
  expect((await reset(child.id, dev.id)).status).toBe(409);
  emu.advanceClock(60_000);
  const done = await reset(child.id, dev.id);
  expect(done.status).toBe(200);
  await waitForOperations(emu, projectId, done.body.operations as { id: string }[]);
});
