import type { Worker } from '@temporalio/worker';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { SeededProject } from '../../src/emulator';
import { seedProd, sourceOf, sql, startStack, uriOf, type Stack } from '../workflows/support';

// The CLI as a user runs it: a spawned process against the real dev server, a worker and the emulator.
const root = join(__dirname, '..', '..');
let s: Stack;
let worker: Worker;
let running: Promise<void>;
let project: SeededProject;

type Result = { code: number | null; stdout: string; stderr: string };

function cli(...args: string[]): Promise<Result> {
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
    TEMPORAL_NAMESPACE: s.t.namespace,
    NEON_PROMOTE_TASK_QUEUE: s.t.taskQueue,
    NO_COLOR: '1',
  };
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', join(root, 'src/cli/main.ts'), ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

const mutatingCalls = () => s.emu.requestLog().filter((r) => r.method !== 'GET').length;

beforeAll(async () => {
  s = await startStack(__filename);
  worker = await s.worker();
  running = worker.run();
  project = await seedProd(s.emu);
  await s.client.startSetup({ projectId: project.projectId }).then((r) => r.result());
  await sql(await uriOf(s.emu, project, 'dev'), "UPDATE items SET source = 'dev'");
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await s?.stop();
});

test('promote --wait --json promotes, prints the result as JSON and exits 0; status shows the timeline', async () => {
  const prodUri = await uriOf(s.emu, project, 'prod');
  const r = await cli(
    ...['promote', '--project', project.projectId, '--wait', '--json'],
    ...['--check', 'items: SELECT count(*) FROM items => >= 1', '--workflow-id', `cli-promote-${Date.now()}`],
  );
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const result = JSON.parse(r.stdout) as { outcome: string; verification: { prod: { ok: boolean } } };
  expect(result).toMatchObject({ outcome: 'promoted', verification: { prod: { ok: true } } });
  expect(await sourceOf(prodUri)).toEqual(['dev']); // same connection string, dev's data

  const runs = JSON.parse((await cli('runs', '--project', project.projectId, '--json')).stdout) as {
    type: string;
    workflowId: string;
  }[];
  const id = runs.find((x) => x.type === 'promote')!.workflowId;
  const status = await cli('status', id);
  expect(status.code).toBe(0);
  expect(status.stdout).toMatch(/swap\s+\d+\.\d s/);
  expect(status.stdout).toMatch(/outcome: promoted/);
});

test('a post-swap check that fails rolls prod back: plain progress lines, exit code 3', async () => {
  const prodUri = await uriOf(s.emu, project, 'prod');
  await sql(await uriOf(s.emu, project, 'dev'), "UPDATE items SET source = 'dev2'");
  const r = await cli(
    ...['promote', '--project', project.projectId, '--wait'],
    ...['--post-swap-check', "SELECT count(*) FROM items WHERE source = 'dev2' => = 0"],
  );
  expect(r.code).toBe(3);
  expect(r.stdout).toMatch(/verify_prod/); // one line per step when stdout is not a terminal
  expect(r.stdout).toMatch(/rolled_back/);
  expect(await sourceOf(prodUri)).toEqual(['dev']); // the pre-promotion data, through the same endpoint
});

test('a schedule is created, paused and deleted', async () => {
  const p = ['--project', project.projectId];
  expect((await cli('schedule', 'refresh', ...p, '--cron', '0 3 * * *')).code).toBe(0);
  const list = async () =>
    JSON.parse((await cli('schedule', 'list', ...p, '--json')).stdout) as { kind: string; paused: boolean }[];
  expect(await list()).toEqual([expect.objectContaining({ kind: 'refresh', paused: false })]);
  expect((await cli('schedule', 'pause', 'refresh', ...p)).code).toBe(0);
  expect(await list()).toEqual([expect.objectContaining({ kind: 'refresh', paused: true })]);
  expect((await cli('schedule', 'delete', 'refresh', ...p)).code).toBe(0);
  expect(await list()).toEqual([]);
});

test.each([
  [['promote', '--project', 'NOT A PROJECT!', '--wait'], /projectId/],
  [['promote', '--check', 'SELECT 1 => sometimes', '--wait'], /--check .*expectation/],
  [['promote', '--write-policy', 'maybe', '--wait'], /writePolicy/],
  [['rollback', '--snapshot', 'x'.repeat(200), '--wait'], /snapshotId/],
])('invalid input %j: one clear line, exit code 2, nothing sent to Neon', async (args, named) => {
  const before = mutatingCalls();
  const withProject = args.includes('--project') ? args : [...args, '--project', project.projectId];
  const r = await cli(...withProject);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(named);
  expect(r.stderr).not.toMatch(/^\s+at .+:\d+/m); // no stack trace
  expect(mutatingCalls()).toBe(before);
});
