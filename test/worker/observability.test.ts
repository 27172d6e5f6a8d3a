/**
 * The worker as operators run it (`runWorker` in its own process, settings from the environment): it serves
 * Prometheus metrics whose promotion counter moves with a promotion, and logs JSON lines carrying the workflow and
 * project IDs and no secret.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { seedProject, startEmulator, type Emulator } from '../../tools/emulator';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';
import { freePort } from '../support/ports';
import { NeonPromoteClient } from '../../src/client';

let t: TestTemporal;
let emu: Emulator;
let worker: ChildProcess | undefined;
const lines: string[] = [];

beforeAll(async () => {
  [t, emu] = await Promise.all([connectTestTemporal(__filename), startEmulator({ port: 0, operationDelayMs: 5 })]);
});
afterAll(async () => {
  worker?.kill('SIGKILL');
  await emu?.stop();
  await t?.close();
});

function startWorker(metricsPort: number): Promise<void> {
  worker = spawn(process.execPath, ['--import', 'tsx', require.resolve('../../src/worker.ts')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
      NEON_PROMOTE_TASK_QUEUE: t.taskQueue,
      NEON_API_BASE_URL: emu.baseUrl,
      NEON_API_KEY: emu.apiKey,
      NEON_PROMOTE_METRICS_PORT: String(metricsPort),
      NEON_PROMOTE_LOG_FORMAT: 'json',
      NEON_PROMOTE_LOG_LEVEL: 'debug',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  createInterface({ input: worker.stderr! }).on('line', (l) => lines.push(l));
  return new Promise((resolve, reject) => {
    createInterface({ input: worker!.stdout! }).on('line', (l) => {
      lines.push(l);
      if (l.includes('"worker started"')) resolve();
    });
    worker!.once('exit', (code) => reject(new Error(`worker exited (${code}):\n${lines.join('\n')}`)));
  });
}

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** The value of a sample whose name and labels include the given ones (0 when there is none yet). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

test('a promotion moves the outcome counter and duration histogram; logs carry workflow and project IDs, no secret', async () => {
  const port = await freePort();
  await startWorker(port);
  const before = await scrape(port);
  // Workflow metrics are labelled namespace, taskQueue, workflowType (camelCase, by the SDK's workflow sink).
  const promoted = { outcome: 'promoted', taskQueue: t.taskQueue };
  expect(sample(before, 'neon_promote_promotions_total', promoted)).toBe(0);

  const p = await seedProject(emu, { name: 'metrics', rows: 3, source: 'prod', branchName: 'prod' });
  const client = await NeonPromoteClient.connect({ client: t.client, taskQueue: t.taskQueue });
  await (await client.startSetup({ projectId: p.projectId })).result();
  const run = await client.startPromotion({
    projectId: p.projectId,
    checks: [{ kind: 'tablesExist', tables: ['items'] }],
  });
  expect((await run.result()).outcome).toBe('promoted');

  // Workflow metrics reach the exporter when the workflow task that finished the run completes: poll briefly.
  let after = '';
  // The SDK counts the completion once the server accepted the final workflow task, a moment after ours.
  const seen = () =>
    sample(after, 'neon_promote_promotions_total', promoted) > 0 &&
    sample(after, 'temporal_workflow_completed_total', { workflow_type: 'promote' }) > 0;
  for (let i = 0; i < 100 && !seen(); i++) {
    after = await scrape(port);
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(sample(after, 'neon_promote_promotions_total', promoted)).toBe(1);
  expect(sample(after, 'neon_promote_promotion_duration_count', promoted)).toBe(1);
  expect(sample(after, 'neon_promote_runs_total', { workflowType: 'setupEnvironments', outcome: 'created' })).toBe(1);
  // The SDK's own metrics come from the same endpoint.
  expect(sample(after, 'temporal_workflow_completed_total', { workflow_type: 'promote' })).toBeGreaterThanOrEqual(1);

  // The Runtime buffers log lines for 100 ms to order SDK and workflow lines by time.
  const records = () => lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  const isFinished = (r: Record<string, unknown>) => r.msg === 'run finished' && r.workflowId === run.workflowId;
  for (let i = 0; i < 50 && !records().some(isFinished); i++) await new Promise((r) => setTimeout(r, 100));
  const finished = records().find(isFinished);
  expect(finished).toMatchObject({ projectId: p.projectId, workflowType: 'promote', outcome: 'promoted' });
  // "Activity started" is logged before the interceptor sees the input; from there on every line has the project.
  const completed = records().filter((r) => r.workflowId === run.workflowId && r.msg === 'Activity completed');
  expect(completed.length).toBeGreaterThan(5);
  expect(completed.filter((r) => r.projectId !== p.projectId)).toEqual([]);
  const password = new URL(p.connectionUri).password;
  const all = lines.join('\n');
  expect(all).not.toContain(emu.apiKey);
  expect(all).not.toContain(password);
  await client.close();
});
