/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   JSON bodies under test are checked by assertions here (and against the spec in guide-cycle.test.ts), not by types. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { seedProject, startEmulator, type Emulator } from '../../../tools/emulator';
import { type Json, rawApi } from '../../support/emulator-api';
import { sql } from '../../support/postgres';

const dirs: string[] = [];
const emus: Emulator[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(path.join(tmpdir(), 'neon-emu-restart-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const e of emus) await e.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('a restart keeps projects, branches, snapshots, endpoints, operations and connection strings', async () => {
  const dataDir = tempDir();
  const first = await startEmulator({ dataDir, operationDelayMs: 10 });
  const p = await seedProject(first, { rows: 4 });
  const api1 = rawApi(first);
  const snap = (await api1('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot?name=keep`)).body;
  await new Promise((r) => setTimeout(r, 50));
  const before = (await api1('GET', `/projects/${p.projectId}/branches`)).body;
  await first.stop();

  const second = await startEmulator({ dataDir });
  emus.push(second);
  expect(second.apiKey).toBe(first.apiKey);
  const api2 = rawApi(second);
  expect((await api2('GET', `/projects/${p.projectId}/branches`)).body).toEqual(before);
  expect((await api2('GET', `/projects/${p.projectId}/snapshots`)).body.snapshots).toEqual([snap.snapshot]);
  expect(
    (await api2('GET', `/projects/${p.projectId}/operations/${(snap.operations as Json[])[0]!.id}`)).body.operation
      .status,
  ).toBe('finished');
  expect(await sql(p.connectionUri, 'SELECT count(*)::int AS n FROM items')).toEqual([{ n: 4 }]);
});

test('killed mid-operation: after restart the operation is finished and its work is there', async () => {
  const dataDir = tempDir();
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(__dirname, '../../../tools/emulator/main.ts'),
      '--data-dir',
      dataDir,
      '--op-delay',
      '60000',
    ],
    {
      stdio: ['ignore', 'pipe', 'ignore'],
    },
  );
  const env: Record<string, string> = {};
  await new Promise<void>((resolve, reject) => {
    child.once('exit', () => reject(new Error('emulator exited')));
    child.stdout.on('data', (d: Buffer) => {
      for (const l of d.toString().split('\n'))
        if (l.includes('=')) env[l.split('=')[0]!] = l.slice(l.indexOf('=') + 1);
      if (env.NEON_EMULATOR_ADMIN_URL) resolve();
    });
  });
  const api1 = rawApi({ baseUrl: env.NEON_API_BASE_URL!, apiKey: env.NEON_API_KEY! });
  const created = (await api1('POST', '/projects', { project: { name: 'killed' } })).body;
  const op = (created.operations as Json[])[0]!;
  expect((await api1('GET', `/projects/${created.project.id}/operations/${op.id}`)).body.operation.status).not.toBe(
    'finished',
  );
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  const again = await startEmulator({ dataDir });
  emus.push(again);
  const api2 = rawApi(again);
  expect((await api2('GET', `/projects/${created.project.id}/operations/${op.id}`)).body.operation.status).toBe(
    'finished',
  );
  expect(
    (await api2('GET', `/projects/${created.project.id}/branches/${created.branch.id}`)).body.branch.current_state,
  ).toBe('ready');
  const uri = (created.connection_uris as Json[])[0]!.connection_uri as string;
  expect(await sql(uri, 'SELECT 1 AS ok')).toEqual([{ ok: 1 }]);
});

test('a failed operation is still failed after a restart, and one due to fail when the emulator stopped fails at startup', async () => {
  const dataDir = tempDir();
  const first = await startEmulator({ dataDir, operationDelayMs: 10 });
  const p = await seedProject(first, { rows: 2 });
  const api1 = rawApi(first);
  const snapRoute = 'POST /projects/{project_id}/branches/{branch_id}/snapshot';
  first.setFaults({ rules: [{ kind: 'fail_operation', route: snapRoute, times: 1 }] });
  const failed = (await api1('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot?name=failed`)).body;
  await new Promise((r) => setTimeout(r, 100));
  const failedOp = (failed.operations as Json[])[0]!.id as string;
  expect((await api1('GET', `/projects/${p.projectId}/operations/${failedOp}`)).body.operation.status).toBe('failed');
  await first.stop();

  // Stopped while an operation due to fail is still running.
  const second = await startEmulator({ dataDir, operationDelayMs: 60_000 });
  const api2 = rawApi(second);
  second.setFaults({ rules: [{ kind: 'fail_operation', route: snapRoute, times: 1 }] });
  const pending = (await api2('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot?name=pending`)).body;
  const pendingOp = (pending.operations as Json[])[0]!.id as string;
  expect((await api2('GET', `/projects/${p.projectId}/operations/${pendingOp}`)).body.operation.status).not.toBe(
    'failed',
  );
  await second.stop();

  const third = await startEmulator({ dataDir });
  emus.push(third);
  const api3 = rawApi(third);
  for (const id of [failedOp, pendingOp])
    expect((await api3('GET', `/projects/${p.projectId}/operations/${id}`)).body.operation).toMatchObject({
      status: 'failed',
      error: expect.any(String),
    });
  expect((await api3('GET', `/projects/${p.projectId}/snapshots`)).body.snapshots).toEqual([]);
  expect((await api3('POST', `/projects/${p.projectId}/branches/${p.branchId}/snapshot?name=ok`)).status).toBe(200);
});
