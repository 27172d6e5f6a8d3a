/**
 * Every request the Neon client can send, checked against Neon's OpenAPI document as it goes on the wire: the
 * operation for its method and path, its path and query parameters, and its JSON body (no undeclared property: Neon
 * ignores those, so a misspelt field is lost without an error). Each method is driven against the emulator with its
 * optional arguments; a method the test does not drive fails it.
 */
import { Agent, type Dispatcher } from 'undici';
import { createNeonClient, NeonApiError, type NeonClient, RateBudget } from '../../src/neon';
import { seedProject, startEmulator, type Emulator, type SeededProject } from '../../tools/emulator';
import { loadSpecValidator } from '../support/neon-openapi';

const spec = loadSpecValidator();

type Sent = { by: string; method: string; url: string; body: string | undefined };
const sent: Sent[] = [];
/** The client method whose call is under way: calls are awaited one at a time, so each request is its. */
let current = '';

/** Records each request as undici dispatches it (after the client built it), then sends it on. */
function recordingDispatcher(): Dispatcher {
  return new Agent().compose((dispatch) => (opts, handler) => {
    sent.push({
      by: current,
      method: opts.method,
      url: new URL(opts.path, String(opts.origin)).href,
      body: typeof opts.body === 'string' ? opts.body : undefined,
    });
    return dispatch(opts, handler);
  });
}

let emu: Emulator;
let project: SeededProject;
let raw: NeonClient;
let neon: NeonClient;
const driven = new Set<string>();

beforeAll(async () => {
  // Pages of two branches, so the branch list follows its cursor.
  emu = await startEmulator({ branchPageSize: 2, operationDelayMs: { min: 5, max: 15 } });
  project = await seedProject(emu, { name: 'contract', rows: 1 });
  raw = createNeonClient({
    baseUrl: emu.baseUrl,
    apiKey: emu.apiKey,
    dispatcher: recordingDispatcher(),
    rateBudget: new RateBudget(),
  });
  neon = new Proxy(raw, {
    get(target, prop: string) {
      const method = Reflect.get(target, prop) as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        current = prop;
        driven.add(prop);
        return method(...args);
      };
    },
  });
});
afterAll(() => emu?.stop());

async function settle(res: { operations?: { id: string }[] } | { id: string }[]): Promise<void> {
  const ops = Array.isArray(res) ? res : (res.operations ?? []);
  for (const op of ops)
    for (;;) {
      const { status } = await neon.getOperation(project.projectId, op.id);
      if (status === 'finished' || status === 'skipped') break;
      if (status === 'failed' || status === 'cancelled') throw new Error(`operation ${op.id} ${status}`);
      await new Promise((r) => setTimeout(r, 10));
    }
}

const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
/** A point the emulator does not serve (branch heads only), refused after the request was sent and checked. */
const refused: unknown = expect.any(NeonApiError);

test('every request of every client method is one the OpenAPI document allows', async () => {
  const { projectId, branchId: main, databaseName, roleName } = project;

  const child = await neon.createBranch(projectId, {
    name: 'contract-child',
    parentId: main,
    expiresAt: inDays(1),
    protected: false,
    endpointType: 'read_only',
  });
  await settle(child);
  const plain = await neon.createBranch(projectId, { name: 'contract-plain', parentId: main });
  await settle(plain);
  await settle(await neon.updateBranch(projectId, child.branch.id, { name: 'contract-kid', protected: false }));
  await settle(await neon.updateBranch(projectId, child.branch.id, { expiresAt: inDays(2) }));
  await settle(await neon.updateBranch(projectId, child.branch.id, { expiresAt: null }));
  expect(await neon.getBranch(projectId, child.branch.id)).toMatchObject({ name: 'contract-kid' });
  expect((await neon.listBranches(projectId)).length).toBe(3);
  expect(sent.filter((s) => s.by === 'listBranches' && s.url.includes('cursor=')).length).toBeGreaterThan(0);
  await neon.compareSchema(projectId, child.branch.id, { baseBranchId: main, databaseName });

  const snap = await neon.createSnapshot(projectId, main, { name: 'contract-snap', expiresAt: inDays(3) });
  await settle(snap);
  await expect(neon.createSnapshot(projectId, main, { name: 'at-lsn', lsn: '0/1000000' })).rejects.toEqual(refused);
  await expect(neon.createSnapshot(projectId, main, { timestamp: inDays(-0.001) })).rejects.toEqual(refused);
  expect((await neon.listSnapshots(projectId)).map((s) => s.name)).toContain('contract-snap');
  await neon.updateSnapshot(projectId, snap.snapshot.id, { name: 'contract-snap-2' });

  const restored = await neon.restoreSnapshot(projectId, snap.snapshot.id, {
    name: 'contract-restored',
    targetBranchId: main,
    finalizeRestore: false,
  });
  await settle(restored);
  await settle(await neon.finalizeRestore(projectId, restored.branch.id, { name: 'contract-old-main' }));
  expect((await neon.setDefaultBranch(projectId, main)).branch.default).toBe(true);
  await settle(await neon.setDefaultBranch(projectId, restored.branch.id));
  await settle(await neon.restoreSnapshot(projectId, snap.snapshot.id, { finalizeRestore: true }));

  await settle(
    await neon.restoreBranch(projectId, child.branch.id, {
      sourceBranchId: plain.branch.id,
      preserveUnderName: 'contract-kid-before',
    }),
  );
  const at = { sourceBranchId: plain.branch.id, preserveUnderName: 'contract-kid-at' };
  await expect(neon.restoreBranch(projectId, child.branch.id, { ...at, sourceLsn: '0/1000000' })).rejects.toEqual(
    refused,
  );
  await expect(
    neon.restoreBranch(projectId, child.branch.id, { ...at, sourceTimestamp: inDays(-0.001) }),
  ).rejects.toEqual(refused);

  expect((await neon.listEndpoints(projectId)).length).toBeGreaterThan(0);
  await neon.listBranchEndpoints(projectId, restored.branch.id);
  const endpoint = await neon.createEndpoint(projectId, { branchId: plain.branch.id, type: 'read_write' });
  await settle(endpoint);
  await neon.getConnectionUri(projectId, { branchId: plain.branch.id, databaseName, roleName });
  await neon.getConnectionUri(projectId, {
    branchId: plain.branch.id,
    endpointId: endpoint.endpoint.id,
    databaseName,
    roleName,
    pooled: true,
  });
  await settle(await neon.deleteEndpoint(projectId, endpoint.endpoint.id));
  await neon.listOperations(projectId);
  await neon.listOperations(projectId, { limit: 5 });
  await settle(await neon.deleteSnapshot(projectId, snap.snapshot.id));
  await settle(await neon.deleteBranch(projectId, plain.branch.id));

  expect(Object.keys(raw).filter((name) => !driven.has(name))).toEqual([]);
  expect(Object.keys(raw).filter((name) => !sent.some((s) => s.by === name))).toEqual([]);
  expect(sent.flatMap((s) => spec.checkRequest(s.method, s.url, s.body).map((e) => `${s.by}: ${e}`))).toEqual([]);
});

test('the check refuses what the document does not allow', () => {
  const base = 'http://127.0.0.1:1/api/v2/projects/p-1';
  expect(spec.checkRequest('POST', `${base}/branches`, '{"branch":{"name":"x","parentId":"br-a"}}')).toEqual([
    'POST /projects/{project_id}/branches: body /branch/parentId is not declared',
  ]);
  expect(spec.checkRequest('POST', `${base}/branches/br-a/snapshot?label=x`, undefined)).toEqual([
    'POST /projects/{project_id}/branches/{branch_id}/snapshot: query parameter label is not declared',
  ]);
  expect(spec.checkRequest('POST', `${base}/branches/br-a/snapshot`, '{"name":"x"}')).toEqual([
    'POST /projects/{project_id}/branches/{branch_id}/snapshot: the operation takes no JSON body, yet one was sent',
  ]);
  expect(spec.checkRequest('GET', `${base}/branches?limit=0&sort_by=size`, undefined)).toEqual([
    expect.stringContaining('query parameter limit=0 must be >= 1'),
    expect.stringContaining('query parameter sort_by=size must be equal to one of the allowed values'),
  ]);
  expect(spec.checkRequest('DELETE', `${base}/branches/br-a?hard_delete=yes`, undefined)).toEqual([
    expect.stringContaining('query parameter hard_delete=yes must be boolean'),
  ]);
  expect(spec.checkRequest('GET', `${base}/connection_uri?database_name=db`, undefined)).toEqual([
    'GET /projects/{project_id}/connection_uri: required query parameter role_name is missing',
  ]);
  expect(spec.checkRequest('PATCH', `${base}/branches/br-a`, undefined)).toEqual([
    'PATCH /projects/{project_id}/branches/{branch_id}: the operation requires a body; none was sent',
  ]);
  expect(spec.checkRequest('PATCH', `${base}/branches/br-a`, '{"branch":{"expires_at":"tomorrow"}}')).toEqual([
    expect.stringContaining('body /branch/expires_at must match format "date-time"'),
  ]);
  expect(spec.checkRequest('GET', `${base}/operations/not-a-uuid`, undefined)).toEqual([
    expect.stringContaining('path parameter operation_id=not-a-uuid must match format "uuid"'),
  ]);
  expect(spec.checkRequest('PUT', `${base}/branches/br-a`, undefined)).toEqual([
    expect.stringContaining('no operation in the spec'),
  ]);
});
