import { EndpointType, createApiClient, type Api, type Operation, type Snapshot } from '@neondatabase/api-client';
import { seedProject, startEmulator, type Emulator, type SeededProject } from '../../../tools/emulator';
import { sql } from '../../support/postgres';
import { loadSpecValidator } from '../../support/neon-openapi';

/**
 * Neon's "snapshot-based promotion workflow" guide end to end (setup, preview, promote, refresh, rollback) through the
 * official client, with every response checked against the OpenAPI document, and the data behind prod's unchanged
 * connection string checked after each phase.
 */
const spec = loadSpecValidator();
let emu: Emulator;
let neon: Api<unknown>;
let seeded: SeededProject;
const violations: string[] = [];
const seen = new Set<string>();

beforeAll(async () => {
  emu = await startEmulator({ operationDelayMs: { min: 10, max: 30 } });
  seeded = await seedProject(emu, { name: 'cycle', rows: 3, source: 'prod' });
  neon = createApiClient({ apiKey: emu.apiKey, baseURL: emu.baseUrl });
  const record = (method = 'get', url = '', status: number, data: unknown): void => {
    seen.add(`${method.toUpperCase()} ${spec.templateOf(method, url)} ${status}`);
    const err = spec.check(method.toUpperCase(), url, status, data);
    if (err) violations.push(err);
  };
  neon.instance.interceptors.response.use(
    (r) => (record(r.config.method, r.config.url, r.status, r.data), r),
    (e: Error & { response?: { config: { method?: string; url?: string }; status: number; data: unknown } }) => {
      if (e.response) record(e.response.config.method, e.response.config.url, e.response.status, e.response.data);
      return Promise.reject(e);
    },
  );
});
afterAll(async () => emu?.stop());

async function settle(ops: { id: string }[]): Promise<void> {
  for (const op of ops)
    for (;;) {
      const { data } = await neon.getProjectOperation(seeded.projectId, op.id);
      if (String(data.operation.status) === 'finished') break;
      expect(['scheduling', 'running']).toContain(data.operation.status);
      await new Promise((r) => setTimeout(r, 10));
    }
}

const branchByName = async (name: string) =>
  (await neon.listProjectBranches({ projectId: seeded.projectId })).data.branches.find((b) => b.name === name);

test('setup, preview, promote, refresh and rollback behave as the guide says, in the spec shapes', async () => {
  const projectId = seeded.projectId;
  const prodUri = seeded.connectionUri;
  await neon.updateProjectBranch(projectId, seeded.branchId, { branch: { name: 'prod' } });

  // Phase 1: dev as a second root, from a snapshot of prod. The guide sends the snapshot name as a JSON body, which
  // Neon ignores (the snapshot gets the default name), so the snapshot is used by its ID.
  const baseline = await neon.instance.post<{ snapshot: Snapshot; operations: Operation[] }>(
    `/projects/${projectId}/branches/${seeded.branchId}/snapshot`,
    {
      name: 'prod_baseline',
    },
  );
  await settle(baseline.data.operations);
  const restored = await neon.restoreSnapshot(
    { projectId, snapshotId: baseline.data.snapshot.id },
    { finalize_restore: false },
  );
  await settle(restored.data.operations);
  expect(restored.data.branch.restored_from).toBe(baseline.data.snapshot.id);
  expect(restored.data.branch.parent_id).toBeUndefined();
  const devId = restored.data.branch.id;
  await neon.updateProjectBranch(projectId, devId, { branch: { name: 'dev' } });
  const devEp = await neon.createProjectEndpoint(projectId, {
    endpoint: { branch_id: devId, type: EndpointType.ReadWrite },
  });
  await settle(devEp.data.operations);
  await settle((await neon.deleteSnapshot(projectId, baseline.data.snapshot.id)).data.operations);
  await neon.updateProjectBranch(projectId, seeded.branchId, { branch: { protected: true } });
  const devUri = (
    await neon.getConnectionUri({
      projectId,
      branch_id: devId,
      database_name: seeded.databaseName,
      role_name: seeded.roleName,
    })
  ).data.uri;
  await sql(devUri, `UPDATE items SET source = 'dev'`);
  await sql(devUri, `ALTER TABLE items ADD COLUMN note text`);

  // Phase 2: a preview child of dev, with an expiry, and a schema diff that shows dev's change.
  const preview = await neon.createProjectBranch(projectId, {
    branch: { name: 'dev_feature_x', parent_id: devId },
    endpoints: [{ type: EndpointType.ReadWrite }],
  });
  await settle(preview.data.operations);
  const expires = new Date(Date.now() + 86400_000).toISOString().replace(/\.\d+Z$/, 'Z');
  await neon.updateProjectBranch(projectId, preview.data.branch.id, { branch: { expires_at: expires } });
  const diff = await neon.getProjectBranchSchemaComparison({
    projectId,
    branchId: devId,
    base_branch_id: seeded.branchId,
    db_name: seeded.databaseName,
  });
  expect(diff.data.diff).toContain('+    note text');
  await settle((await neon.deleteProjectBranch({ projectId, branchId: preview.data.branch.id })).data.operations);

  // Phase 3: promote. Prod's branch ID changes; its connection string does not, and now serves dev's data.
  const rollbackSnap = await neon.createSnapshot({
    projectId,
    branchId: seeded.branchId,
    name: 'prod_pre_promotion',
    expires_at: expires,
  });
  await settle(rollbackSnap.data.operations);
  const devSnap = await neon.createSnapshot({ projectId, branchId: devId, name: 'dev_candidate' });
  await settle(devSnap.data.operations);
  const promote = await neon.restoreSnapshot(
    { projectId, snapshotId: devSnap.data.snapshot.id },
    { target_branch_id: seeded.branchId, finalize_restore: true },
  );
  await settle(promote.data.operations);
  const newProd = await branchByName('prod');
  expect(newProd?.id).toBe(promote.data.branch.id);
  expect(newProd?.id).not.toBe(seeded.branchId);
  expect(newProd?.restored_as).toBe(seeded.branchId);
  expect((await branchByName('prod (old)'))?.id).toBe(seeded.branchId);
  expect((await neon.listProjectBranchEndpoints(projectId, newProd!.id)).data.endpoints.map((e) => e.id)).toEqual([
    seeded.endpointId,
  ]);
  expect(await sql(prodUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'dev' }]);
  await settle((await neon.deleteProjectBranch({ projectId, branchId: seeded.branchId })).data.operations);
  await settle((await neon.deleteSnapshot(projectId, devSnap.data.snapshot.id)).data.operations);

  // Phase 4: refresh dev from prod; dev keeps its endpoint and connection string.
  const refresh = await neon.createSnapshot({ projectId, branchId: newProd!.id, name: 'prod_refresh' });
  await settle(refresh.data.operations);
  const refreshed = await neon.restoreSnapshot(
    { projectId, snapshotId: refresh.data.snapshot.id },
    { target_branch_id: devId, finalize_restore: true },
  );
  await settle(refreshed.data.operations);
  expect((await branchByName('dev'))?.id).toBe(refreshed.data.branch.id);
  await settle((await neon.deleteProjectBranch({ projectId, branchId: devId })).data.operations);
  await settle((await neon.deleteSnapshot(projectId, refresh.data.snapshot.id)).data.operations);
  expect(await sql(devUri, 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 3 }]);

  // Phase 5: roll back to the pre-promotion snapshot: prod's old data through the same string.
  const snaps = (await neon.listSnapshots(projectId)).data.snapshots;
  const pre = snaps.find((s) => s.name === 'prod_pre_promotion')!;
  const rollback = await neon.restoreSnapshot(
    { projectId, snapshotId: pre.id },
    { target_branch_id: newProd!.id, finalize_restore: true },
  );
  await settle(rollback.data.operations);
  expect(await sql(prodUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'prod' }]);
  await settle((await neon.deleteProjectBranch({ projectId, branchId: newProd!.id })).data.operations);

  expect(violations).toEqual([]);
  expect(seen.size).toBeGreaterThan(12);
});

test('the validator catches a response of the wrong shape', () => {
  const url = '/api/v2/projects/p-1/branches/br-1';
  const good = {
    branch: {
      id: 'br-1',
      project_id: 'p-1',
      name: 'x',
      current_state: 'ready',
      state_changed_at: '2025-01-01T00:00:00Z',
      creation_source: 'console',
      created_at: '2025-01-01T00:00:00Z',
      updated_at: '2025-01-01T00:00:00Z',
      default: false,
      protected: false,
      cpu_used_sec: 0,
      active_time_seconds: 0,
      compute_time_seconds: 0,
      written_data_bytes: 0,
      data_transfer_bytes: 0,
    },
    annotation: { object: { type: 'console/branch', id: 'br-1' }, value: {} },
  };
  expect(spec.check('GET', url, 200, good)).toBeUndefined();
  const { id: _id, ...noId } = good.branch;
  expect(spec.check('GET', url, 200, { ...good, branch: noId })).toMatch(/id/);
  expect(spec.check('GET', url, 200, { ...good, branch: { ...good.branch, created_at: 'yesterday' } })).toMatch(
    /date-time/,
  );
  expect(spec.check('GET', url, 404, { message: 'x' })).toMatch(/code/);
});
