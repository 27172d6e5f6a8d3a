/**
 * Three worker processes, run as operators run them (`runWorker`), pointed at one Neon account share its rate budget:
 * with promotions enough to want several times the budget, the requests arriving at the emulator never exceed it in
 * any sliding minute, nor on any route in any sliding second. With a budget per process (each worker its own 120 a
 * minute), the same load sends up to three times that.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NeonPromoteClient } from '../../src/client';
import { accountBudgetStateQuery, accountBudgetWorkflowId } from '../../src/workflows/contract/rate-lease';
import { accountHashOf } from '../../src/worker/rate-lease';
import { seedProject, startEmulator, type Emulator, type SeededProject } from '../../tools/emulator';
import { writeBundle } from '../support/crash-worker';
import { peakRates } from '../support/reliability';
import { connectTestTemporal, type TestTemporal } from '../support/temporal';
import { appendLog, currentTestLog, logDescriptor, shownPath } from '../support/test-logs';
import { bundleProductionWorkflows } from '../support/workflow-bundle';

/** Small enough that three promotions at once want several times it; the per-route limit binds on polls too. */
const BUDGET = { perMinute: 120, perSecondPerRoute: 5 };
const WORKERS = 3;
const PROJECTS = 3;

let t: TestTemporal;
let emu: Emulator;
let bundlePath: string;
const workers: ChildProcess[] = [];

beforeAll(async () => {
  const bundle = bundleProductionWorkflows();
  [t, emu] = await Promise.all([connectTestTemporal(__filename), startEmulator({ port: 0 })]);
  bundlePath = writeBundle((await bundle).code);
});
afterAll(async () => {
  await Promise.all(workers.map(stop));
  await emu?.stop();
  await t?.close();
});

/** Starts a worker process (its log lines in the test's log) and resolves once it polls. */
function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const log = logDescriptor(currentTestLog());
  const proc = spawn(process.execPath, ['--import', 'tsx', require.resolve('../support/budget-worker-process.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', log.fd],
  });
  log.close();
  workers.push(proc);
  return new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on('line', (line) => {
      appendLog(currentTestLog(), `${line}\n`);
      if (line.includes('"worker started"')) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`worker exited (${code}); its log: ${shownPath(currentTestLog())}`)));
  });
}

/** SIGTERM, as an orchestrator stops a worker: it drains and gives its share back. */
function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.once('exit', () => (clearTimeout(kill), resolve()));
    proc.kill('SIGTERM');
  });
}

test('three workers sharing one account budget never exceed it in any sliding minute or per-route second', async () => {
  const account = `shared-budget-${process.pid}-${Date.now()}`;
  const env = {
    TEMPORAL_ADDRESS: process.env.TEMPORAL_TEST_ADDRESS,
    TEMPORAL_NAMESPACE: t.namespace,
    NEON_PROMOTE_TASK_QUEUE: t.taskQueue,
    BUNDLE_PATH: bundlePath,
    NEON_API_BASE_URL: emu.baseUrl,
    NEON_API_KEY: emu.apiKey,
    NEON_RATE_ACCOUNT: account,
    NEON_RATE_PER_MINUTE: String(BUDGET.perMinute),
    NEON_RATE_PER_SECOND_PER_ROUTE: String(BUDGET.perSecondPerRoute),
    NEON_PROMOTE_LOG_FORMAT: 'json',
    NEON_PROMOTE_LOG_LEVEL: 'info',
  };
  const projects: SeededProject[] = [];
  for (let i = 0; i < PROJECTS; i++)
    projects.push(await seedProject(emu, { name: `shared-${i}`, rows: 3, source: 'prod', branchName: 'prod' }));
  await Promise.all(Array.from({ length: WORKERS }, () => startWorker(env)));
  emu.resetRequestLog(); // seeding is the test's own traffic, not the workers'

  const client = await NeonPromoteClient.connect({ client: t.client, taskQueue: t.taskQueue });
  const outcomes = await Promise.all(
    projects.map(async (p) => {
      await (await client.startSetup({ projectId: p.projectId })).result();
      const run = await client.startPromotion({
        projectId: p.projectId,
        checks: [{ kind: 'tablesExist', tables: ['items'] }],
      });
      return (await run.result()).outcome;
    }),
  );
  expect(outcomes).toEqual(projects.map(() => 'promoted'));

  const log = emu.requestLog();
  const peaks = peakRates(log);
  appendLog(
    currentTestLog(),
    `${log.length} requests; busiest minute ${peaks.perMinute}, busiest route-second ${peaks.perRouteSecond} (${peaks.route})\n`,
  );
  // The load wanted more than the budget, so the budget had to hold it back.
  expect(log.length).toBeGreaterThan(BUDGET.perMinute);
  expect(peaks.perMinute).toBeLessThanOrEqual(BUDGET.perMinute);
  expect(peaks.perRouteSecond).toBeLessThanOrEqual(BUDGET.perSecondPerRoute);
  expect(log.filter((e) => e.status === 429)).toEqual([]);

  // All three held leases of the one account budget while the promotions ran.
  const state = await t.client.workflow
    .getHandle(accountBudgetWorkflowId(accountHashOf({ NEON_RATE_ACCOUNT: account })))
    .query(accountBudgetStateQuery);
  expect(state.budget).toEqual(BUDGET);
  expect(state.workers.filter((w) => w.live)).toHaveLength(WORKERS);
}, 600_000);
