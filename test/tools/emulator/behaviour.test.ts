/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return --
   JSON bodies under test are checked by assertions here (and against the spec in guide-cycle.test.ts), not by types. */
import { Client } from 'pg';
import {
  seedProject,
  startEmulator,
  waitForOperations,
  type Emulator,
  type SeededProject,
} from '../../../tools/emulator';
import { type Json, rawApi } from '../../support/emulator-api';
import { sleep, until } from '../../support/polling';
import { sql } from '../../support/postgres';
import { loadSpecValidator } from '../../support/neon-openapi';

let emu: Emulator;
let api: ReturnType<typeof rawApi>;

beforeAll(async () => {
  emu = await startEmulator({ operationDelayMs: { min: 40, max: 60 }, snapshotQuota: 2, rootBranchLimit: 3 });
  api = rawApi(emu);
});
afterAll(async () => emu?.stop());

const settle = (p: SeededProject, body: Json): Promise<void> =>
  waitForOperations(emu, p.projectId, body.operations as { id: string }[]);

test('401 without the API key, with Neon error body', async () => {
  const res = await fetch(`${emu.baseUrl}/projects`, { headers: { authorization: 'Bearer nope' } });
  const body = (await res.json()) as Json;
  expect(res.status).toBe(401);
  expect(body).toEqual({ code: expect.any(String), message: expect.any(String), request_id: expect.any(String) });
});

test('a mutation while the project has a running operation gets 423; it succeeds once operations finish', async () => {
  // Operations that last long enough that a loaded machine cannot finish them before the next request arrives.
  const slow = await startEmulator({ operationDelayMs: 1500 });
  try {
    await lockedWhileRunning(slow);
  } finally {
    await slow.stop();
  }
});

async function lockedWhileRunning(emu: Emulator): Promise<void> {
  const api = rawApi(emu);
  const settle = (p: SeededProject, body: Json): Promise<void> =>
    waitForOperations(emu, p.projectId, body.operations as { id: string }[]);
  const p = await seedProject(emu, { rows: 1 });
  const [a, b] = await Promise.all([
    api('POST', `/projects/${p.projectId}/branches`, { branch: { name: 'a' } }),
    api('POST', `/projects/${p.projectId}/branches`, { branch: { name: 'b' } }),
  ]);
  expect([a.status, b.status].sort()).toEqual([201, 423]);
  const created = a.status === 201 ? a : b;
  expect(created.body.branch.current_state).toBe('init');
  expect(
    (await api('PATCH', `/projects/${p.projectId}/branches/${p.branchId}`, { branch: { name: 'x' } })).status,
  ).toBe(423);
  await settle(p, created.body);
  expect(
    (await api('GET', `/projects/${p.projectId}/branches/${created.body.branch.id}`)).body.branch.current_state,
  ).toBe('ready');
  expect((await api('POST', `/projects/${p.projectId}/branches`, { branch: { name: 'c' } })).status).toBe(201);
}

test('snapshot quota and root-branch limit answer 422 with a clear message', async () => {
  const p = await seedProject(emu, { rows: 1 });
  for (const name of ['s1', 's2'])
    await settle(p, (await api('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot?name=${name}`)).body);
  const over = await api('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot`, { name: 's3' });
  expect(over.status).toBe(422);
  expect(over.body.message).toMatch(/snapshot limit/);
  const snaps = (await api('GET', `/projects/${p.projectId}/snapshots`)).body.snapshots as Json[];
  expect(snaps.map((s) => s.name)).toEqual(['s1', 's2']);
  for (const i of [1, 2]) {
    const r = await api('POST', `/projects/${p.projectId}/snapshots/${snaps[0]!.id}/restore`, { name: `root${i}` });
    expect(r.status).toBe(200);
    await settle(p, r.body);
  }
  const tooMany = await api('POST', `/projects/${p.projectId}/snapshots/${snaps[0]!.id}/restore`, {});
  expect(tooMany.status).toBe(422);
  expect(tooMany.body.message).toMatch(/root branches limit/);
});

test('finalize_restore: new ID takes the name and endpoint, the old branch keeps its ID as "<name> (old)" or a given name; sessions are dropped', async () => {
  const p = await seedProject(emu, { rows: 2, source: 'before' });
  const snap = (await api('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot`, { name: 'snap' })).body;
  await settle(p, snap);
  await sql(p.connectionUri, `UPDATE items SET source = 'after'`);
  const preview = (
    await api('POST', `/projects/${p.projectId}/snapshots/${snap.snapshot.id}/restore`, { finalize_restore: false })
  ).body;
  await settle(p, preview);
  expect(preview.branch).toMatchObject({ restored_from: snap.snapshot.id, restore_status: 'restored' });
  expect(await sql(p.connectionUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'after' }]); // target untouched
  const held = new Client({ connectionString: p.connectionUri });
  const errors: Error[] = [];
  held.on('error', (e) => errors.push(e));
  await held.connect();
  const fin = await api('POST', `/projects/${p.projectId}/branches/${preview.branch.id}/finalize_restore`, {
    name: 'main-backup',
  });
  expect(fin.status).toBe(200);
  await settle(p, fin.body);
  await expect(held.query('SELECT 1')).rejects.toThrow();
  // Detaching for a while after the finalize (the emulator's default), then finalized.
  const branches = await until(
    'the finalized restore to stop detaching',
    async () => (await api('GET', `/projects/${p.projectId}/branches`)).body.branches as Json[],
    (listed) => listed.find((b) => b.name === 'main')?.restore_status === 'finalized',
  );
  expect(branches.find((b) => b.name === 'main')).toMatchObject({
    id: preview.branch.id,
    default: true,
    restored_as: p.branchId,
  });
  expect(branches.find((b) => b.id === p.branchId)).toMatchObject({ name: 'main-backup', default: false });
  expect(await sql(p.connectionUri, 'SELECT DISTINCT source FROM items')).toEqual([{ source: 'before' }]);
  // Default naming, via restore with finalize_restore: true.
  const again = (
    await api('POST', `/projects/${p.projectId}/snapshots/${snap.snapshot.id}/restore`, {
      target_branch_id: preview.branch.id,
      finalize_restore: true,
    })
  ).body;
  await settle(p, again);
  expect((await api('GET', `/projects/${p.projectId}/branches/${preview.branch.id}`)).body.branch.name).toBe(
    'main (old)',
  );
  await held.end().catch(() => undefined);
});

test('a snapshot is the data as of the request; a branch restore resets to the parent head', async () => {
  const p = await seedProject(emu, { rows: 3 });
  const child = (
    await api('POST', `/projects/${p.projectId}/branches`, {
      branch: { name: 'child' },
      endpoints: [{ type: 'read_write' }],
    })
  ).body;
  await settle(p, child);
  const childUri = child.connection_uris[0].connection_uri as string;
  await sql(childUri, 'DELETE FROM items');
  await sql(p.connectionUri, `INSERT INTO items (label, source) VALUES ('new', 'parent')`);
  expect(await sql(childUri, 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 0 }]);
  const r = await api('POST', `/projects/${p.projectId}/branches/${child.branch.id}/restore`, {
    source_branch_id: p.branchId,
    preserve_under_name: 'child_before',
  });
  expect(r.status).toBe(200);
  await settle(p, r.body);
  expect(await sql(childUri, 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 4 }]);
  const kept = ((await api('GET', `/projects/${p.projectId}/branches`)).body.branches as Json[]).find(
    (b) => b.name === 'child_before',
  );
  expect(kept).toBeDefined();
});

test('default, protected and parent branches cannot be deleted; an unknown branch deletes as 204', async () => {
  const p = await seedProject(emu, { rows: 0 });
  expect((await api('DELETE', `/projects/${p.projectId}/branches/${p.branchId}`)).status).toBe(422);
  const child = (await api('POST', `/projects/${p.projectId}/branches`, { branch: { name: 'c', protected: true } }))
    .body;
  await settle(p, child);
  expect((await api('DELETE', `/projects/${p.projectId}/branches/${child.branch.id}`)).body.message).toMatch(
    /protected/,
  );
  const grandchild = (
    await api('POST', `/projects/${p.projectId}/branches`, { branch: { name: 'g', parent_id: child.branch.id } })
  ).body;
  await settle(p, grandchild);
  await api('PATCH', `/projects/${p.projectId}/branches/${child.branch.id}`, { branch: { protected: false } });
  const del = await api('DELETE', `/projects/${p.projectId}/branches/${child.branch.id}`);
  expect(del.status).toBe(422);
  expect(del.body.message).toMatch(/child/);
  expect(
    (
      await api('PATCH', `/projects/${p.projectId}/branches/${p.branchId}`, {
        branch: { expires_at: new Date(Date.now() + 60_000).toISOString() },
      })
    ).status,
  ).toBe(422);
  expect((await api('DELETE', `/projects/${p.projectId}/branches/br-nope-123`)).status).toBe(204);
});

test('expired branches and snapshots are swept', async () => {
  const p = await seedProject(emu, { rows: 0 });
  const soon = new Date(Date.now() + 1200).toISOString();
  const b = (await api('POST', `/projects/${p.projectId}/branches`, { branch: { name: 'temp', expires_at: soon } }))
    .body;
  await settle(p, b);
  const s = (
    await api('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot?expires_at=${encodeURIComponent(soon)}`)
  ).body;
  await settle(p, s);
  expect((await api('GET', `/projects/${p.projectId}/branches/${b.branch.id}`)).status).toBe(200);
  await sleep(1800);
  expect((await api('GET', `/projects/${p.projectId}/branches/${b.branch.id}`)).status).toBe(404);
  expect((await api('GET', `/projects/${p.projectId}/snapshots`)).body.snapshots).toEqual([]);
  expect(
    (await api('POST', `/projects/${p.projectId}/branches`, { branch: { expires_at: '2020-01-01T00:00:00Z' } })).status,
  ).toBe(400);
});

test('compare_schema reports real catalog differences, and nothing when schemas match', async () => {
  const p = await seedProject(emu, { rows: 1 });
  const child = (
    await api('POST', `/projects/${p.projectId}/branches`, {
      branch: { name: 'schema' },
      endpoints: [{ type: 'read_write' }],
    })
  ).body;
  await settle(p, child);
  const url = `/projects/${p.projectId}/branches/${child.branch.id}/compare_schema?base_branch_id=${p.branchId}&db_name=${p.databaseName}`;
  expect((await api('GET', url)).body).toEqual({ diff: '' });
  await sql(
    child.connection_uris[0].connection_uri as string,
    'CREATE INDEX items_label ON items (label); ALTER TABLE items DROP COLUMN source',
  );
  const { diff } = (await api('GET', url)).body as { diff: string };
  expect(diff).toMatch(/^--- /);
  expect(diff).toContain('+CREATE INDEX items_label ON public.items USING btree (label);');
  expect(diff).toContain('-    source text NOT NULL');
});

test('an endpoint can be read, updated and deleted; its sessions drop; a second delete answers 204 as the spec says', async () => {
  const p = await seedProject(emu, { rows: 1 });
  const url = `/projects/${p.projectId}/endpoints/${p.endpointId}`;
  expect((await api('GET', url)).body.endpoint).toMatchObject({ id: p.endpointId, branch_id: p.branchId });
  const refused = await api('PATCH', url, { endpoint: { pooler_enabled: true } });
  expect(refused.status).toBe(400);
  const patched = await api('PATCH', url, { endpoint: { autoscaling_limit_max_cu: 4, suspend_timeout_seconds: 300 } });
  expect(patched.status).toBe(200);
  expect(patched.body.endpoint).toMatchObject({ autoscaling_limit_max_cu: 4, suspend_timeout_seconds: 300 });
  await settle(p, patched.body);
  const held = new Client({ connectionString: p.connectionUri });
  held.on('error', () => undefined);
  await held.connect();
  const del = await api('DELETE', url);
  expect(del.status).toBe(200);
  expect(del.body.endpoint.id).toBe(p.endpointId);
  expect(del.body.operations).toEqual([expect.objectContaining({ action: 'suspend_compute' })]);
  await expect(held.query('SELECT 1')).rejects.toThrow();
  await expect(sql(p.connectionUri, 'SELECT 1')).rejects.toThrow(/not found/);
  await settle(p, del.body);
  expect((await api('GET', url)).status).toBe(404);
  const again = await api('DELETE', url);
  expect(again.status).toBe(204);
  const spec = loadSpecValidator();
  expect(spec.check('PATCH', url, 200, patched.body)).toBeUndefined();
  expect(spec.check('DELETE', url, 200, del.body)).toBeUndefined();
  expect((await api('GET', `/projects/${p.projectId}/branches/${p.branchId}/endpoints`)).body.endpoints).toEqual([]);
  await held.end().catch(() => undefined);
});

test('a route the emulator lacks is never answered like a missing resource', async () => {
  const p = await seedProject(emu, { rows: 0 });
  const missing = await api('GET', `/projects/${p.projectId}/branches/br-nope-1`);
  expect(missing.status).toBe(404);
  expect(missing.body.code).toBe('NOT_FOUND');
  const noRoute = await api('GET', `/projects/${p.projectId}/no-such-thing`);
  expect(noRoute.status).toBe(404);
  expect(noRoute.body.code).toBe('ROUTE_NOT_FOUND');
  expect(noRoute.body.code).not.toBe(missing.body.code);
  const wrongMethod = await api('PUT', `/projects/${p.projectId}/branches/${p.branchId}`);
  expect(wrongMethod.status).toBe(405);
  expect(wrongMethod.body.code).toBe('METHOD_NOT_ALLOWED');
  expect(wrongMethod.headers.get('allow')).toBe('GET, PATCH, DELETE');
});

test("the caller's X-Request-ID is the request's ID in headers, error bodies and the request log; one is made otherwise", async () => {
  emu.resetRequestLog();
  const res = await api('GET', '/projects/nope-123', undefined, { 'x-request-id': 'trace-abc-1' });
  expect(res.status).toBe(404);
  expect(res.headers.get('x-request-id')).toBe('trace-abc-1');
  expect(res.body.request_id).toBe('trace-abc-1');
  const ok = await api('GET', '/projects', undefined, { 'x-request-id': 'trace-abc-2' });
  expect(ok.headers.get('x-request-id')).toBe('trace-abc-2');
  const own = await api('GET', '/projects');
  expect(own.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  expect(emu.requestLog().map((e) => e.requestId)).toEqual([
    'trace-abc-1',
    'trace-abc-2',
    own.headers.get('x-request-id'),
  ]);
});

test('create-snapshot reads name and expires_at from the query only; a JSON body is ignored', async () => {
  const p = await seedProject(emu, { rows: 0 });
  const path = `/projects/${p.projectId}/branches/${p.branchId}/snapshot`;
  const inADay = new Date(Date.now() + 86_400_000).toISOString();
  const fromBody = (await api('POST', path, { name: 'named_in_body', expires_at: inADay })).body;
  await settle(p, fromBody);
  expect(fromBody.snapshot.name).not.toBe('named_in_body');
  expect(fromBody.snapshot.name).toMatch(/^main /);
  expect(fromBody.snapshot.expires_at).toBeUndefined();
  // No cap on a snapshot's expiry: Neon documents none (unlike a branch's 30 days).
  const inSixtyDays = new Date(Date.now() + 60 * 86_400_000).toISOString();
  const fromQuery = await api('POST', `${path}?name=named_in_query&expires_at=${encodeURIComponent(inSixtyDays)}`, {
    name: 'named_in_body',
  });
  expect(fromQuery.status).toBe(200);
  await settle(p, fromQuery.body);
  expect(fromQuery.body.snapshot).toMatchObject({ name: 'named_in_query', expires_at: inSixtyDays });
  const listed = (await api('GET', `/projects/${p.projectId}/snapshots`)).body.snapshots as Json[];
  expect(listed.map((s) => s.name)).toEqual([fromBody.snapshot.name, 'named_in_query']);
});

test("a branch's expires_at is refused past 30 days ahead or without a time zone, as Neon documents", async () => {
  const p = await seedProject(emu, { rows: 0 });
  const create = (expiresAt: string) =>
    api('POST', `/projects/${p.projectId}/branches`, { branch: { name: 'temp', expires_at: expiresAt } });
  const tooFar = await create(new Date(Date.now() + 31 * 86_400_000).toISOString());
  expect(tooFar.status).toBe(400);
  expect(tooFar.body.message).toMatch(/30 days/);
  const noZone = await create(new Date(Date.now() + 86_400_000).toISOString().replace('Z', ''));
  expect(noZone.status).toBe(400);
  expect(noZone.body.message).toMatch(/time zone/);
  const created = await create(new Date(Date.now() + 29 * 86_400_000).toISOString().replace('Z', '+00:00'));
  expect(created.status).toBe(201);
  await settle(p, created.body);
});
