/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-return --
   JSON bodies under test are checked by assertions here (and against the spec in guide-cycle.test.ts), not by types. */
import { startEmulator, type Emulator } from '../../../tools/emulator';
import { type Json, rawApi } from '../../support/emulator-api';
import { sleep } from '../../support/polling';

/** Control-plane faults need no data: memory mode keeps this file fast. */
let emu: Emulator;
let api: ReturnType<typeof rawApi>;
let projectId: string;
const SNAP = 'POST /projects/{project_id}/branches/{branch_id}/snapshot';
const BRANCHES = 'POST /projects/{project_id}/branches';

beforeAll(async () => {
  emu = await startEmulator({ mode: 'memory', operationDelayMs: 20 });
  api = rawApi(emu);
  projectId = ((await api('POST', '/projects', { project: { name: 'faults' } })).body.project as Json).id as string;
  await sleep(40);
});
afterAll(async () => emu?.stop());
beforeEach(() => emu.setFaults({ rules: [] }));

test('5xx on a chosen route only, for a share of requests', async () => {
  emu.setFaults({ rules: [{ kind: 'error', route: 'GET /projects/{project_id}/branches', rate: 0.5, status: 503 }] });
  const statuses = [];
  for (let i = 0; i < 40; i++) statuses.push((await api('GET', `/projects/${projectId}/branches`)).status);
  const errors = statuses.filter((s) => s === 503).length;
  expect(errors).toBeGreaterThan(5);
  expect(errors).toBeLessThan(35);
  expect((await api('GET', `/projects/${projectId}`)).status).toBe(200);
});

test('429 carries Retry-After; a 423 burst ends after its count', async () => {
  emu.setFaults({
    rules: [
      { kind: 'rate_limit', route: 'GET /projects', times: 1, retryAfterSec: 7 },
      { kind: 'locked', route: BRANCHES, times: 2 },
    ],
  });
  const limited = await api('GET', '/projects');
  expect(limited.status).toBe(429);
  expect(limited.headers.get('retry-after')).toBe('7');
  expect((await api('GET', '/projects')).status).toBe(200);
  const burst = [];
  for (let i = 0; i < 3; i++) burst.push((await api('POST', `/projects/${projectId}/branches`, {})).status);
  expect(burst).toEqual([423, 423, 201]);
  await sleep(40);
});

test('added latency', async () => {
  emu.setFaults({ rules: [{ kind: 'latency', latencyMs: 150 }] });
  const t = Date.now();
  await api('GET', `/projects/${projectId}`);
  expect(Date.now() - t).toBeGreaterThanOrEqual(140);
});

test('an operation that ends failed rolls its mutation back', async () => {
  emu.setFaults({ rules: [{ kind: 'fail_operation', route: BRANCHES, times: 1 }] });
  const r = await api('POST', `/projects/${projectId}/branches`, { branch: { name: 'doomed' } });
  expect(r.status).toBe(201);
  const opId = (r.body.operations as Json[])[0]!.id as string;
  await sleep(60);
  const op = (await api('GET', `/projects/${projectId}/operations/${opId}`)).body.operation as Json;
  expect(op).toMatchObject({ status: 'failed', error: expect.any(String) });
  expect((await api('GET', `/projects/${projectId}/branches/${r.body.branch.id}`)).status).toBe(404);
});

test('a lost response: the work is done, the client sees the connection drop', async () => {
  emu.setFaults({ rules: [{ kind: 'response_lost', route: SNAP, times: 1 }] });
  const branchId = ((await api('GET', `/projects/${projectId}/branches`)).body.branches as Json[]).find(
    (b) => b.default,
  )!.id as string;
  await expect(api('POST', `/projects/${projectId}/branches/${branchId}/snapshot?name=lost`)).rejects.toThrow();
  const snaps = (await api('GET', `/projects/${projectId}/snapshots`)).body.snapshots as Json[];
  expect(snaps.map((s) => s.name)).toContain('lost');
  expect(
    emu
      .requestLog()
      .filter((e) => e.route === SNAP)
      .map((e) => e.status),
  ).toContain(0);
  await sleep(40);
});

test('the admin API sets faults and reads counts over HTTP, behind the same key', async () => {
  const admin = (method: string, path: string, body?: object, key = emu.apiKey) =>
    fetch(`${emu.adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}` },
      body: body && JSON.stringify(body),
    });
  expect((await admin('GET', '/request-counts', undefined, 'wrong')).status).toBe(401);
  expect((await admin('POST', '/reset')).status).toBe(204);
  expect((await admin('PUT', '/faults', { rules: [{ kind: 'error', status: 500, times: 1 }] })).status).toBe(200);
  expect((await api('GET', `/projects/${projectId}`)).status).toBe(500);
  expect((await api('GET', `/projects/${projectId}`)).status).toBe(200);
  const counts = (await (await admin('GET', '/request-counts')).json()) as { counts: Record<string, number> };
  expect(counts.counts).toEqual({ 'GET /projects/{project_id}': 2 });
  expect(emu.requestCounts()).toEqual(counts.counts);
  expect((await admin('PUT', '/faults', { rules: [{ kind: 'nonsense' }] })).status).toBe(400);
});
