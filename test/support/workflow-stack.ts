import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { httpGetter } from '../../src/activities/database/connect';
import { createHealthActivities } from '../../src/activities/health';
import { NeonPromoteClient } from '../../src/client';
import { createNeonClient, RateBudget } from '../../src/neon';
import { createWorker } from '../../src/worker';
import type { StepRecord } from '../../src/workflows';
import {
  coordinatorStateQuery,
  coordinatorWorkflowId,
  type CoordinatorState,
} from '../../src/workflows/contract/definitions';
import {
  seedProject,
  startEmulator,
  type Emulator,
  type EmulatorOptions,
  type SeededProject,
} from '../../tools/emulator';
import { uriOf } from './emulator-api';
import { sql } from './postgres';
import { connectTestTemporal, type TestTemporal } from './temporal';
import { appendLog, currentTestLog } from './test-logs';
import { bundleProductionWorkflows } from './workflow-bundle';

/** What a workflow test runs against: this file's task queue on the test server, an emulator, the production bundle. */
export type Stack = {
  t: TestTemporal;
  emu: Emulator;
  bundle: WorkflowBundleWithSourceMap;
  client: NeonPromoteClient;
  /** A worker on this file's task queue with the Neon activities pointed at the emulator, or `activities` instead. */
  worker(activities?: object): Promise<Worker>;
  stop(): Promise<void>;
};

export async function startStack(testFile: string, emulator: EmulatorOptions = {}): Promise<Stack> {
  const testLog = currentTestLog();
  const log = (line: string) => appendLog(testLog, `emulator: ${line}\n`);
  const [t, emu, bundle] = await Promise.all([
    connectTestTemporal(testFile),
    startEmulator({ port: 0, operationDelayMs: { min: 5, max: 20 }, log, ...emulator }),
    bundleProductionWorkflows(),
  ]);
  const client = await NeonPromoteClient.connect({ client: t.client, taskQueue: t.taskQueue });
  return {
    t,
    emu,
    bundle,
    client,
    worker: (activities = neonActivities(emu)) =>
      createWorker({
        connection: t.nativeConnection,
        taskQueue: t.taskQueue,
        workflowBundle: bundle,
        activities: { ...createHealthActivities(), ...activities },
      }),
    async stop() {
      await emu.stop();
      await t.close();
    },
  };
}

/**
 * The Neon activities of a worker on the emulator; its `http` checks reach the tests' servers on 127.0.0.1. The plan's
 * limits as the worker is configured with them: 10 manual snapshots and root branches unknown unless given.
 */
export function neonActivities(
  emu: Emulator,
  snapshotLimit: number | null = 10,
  rootBranchLimit: number | null = null,
) {
  return createActivities({
    neon: createNeonClient({ baseUrl: emu.baseUrl, apiKey: emu.apiKey, rateBudget: new RateBudget() }),
    httpGet: httpGetter({ allowPrivateNetwork: true }),
    snapshotLimit,
    rootBranchLimit,
  });
}

/** A project whose default branch is "prod", holding `items` rows marked source='prod'. */
export function seedProd(emu: Emulator, rows = 5): Promise<SeededProject> {
  return seedProject(emu, { name: 'wf', rows, source: 'prod', branchName: 'prod' });
}

/** The distinct `items.source` marks of a database: ['prod'], ['dev'] or both. */
export const sourceOf = async (uri: string): Promise<string[]> =>
  (await sql<{ source: string }>(uri, 'SELECT DISTINCT source FROM items ORDER BY 1')).map((row) => row.source);

/** A project set up (prod and an isolated dev) whose dev holds a change, ready to promote. */
export async function projectWithChange(s: Pick<Stack, 'emu' | 'client'>): Promise<SeededProject> {
  const project = await seedProd(s.emu, 3);
  await (await s.client.startSetup({ projectId: project.projectId })).result();
  await sql(await uriOf(s.emu, project, 'dev'), `UPDATE items SET source = 'dev'`);
  return project;
}

/**
 * Reads for tests that watch runs of one project queue behind each other. `stack` is read at each call, so the
 * helpers can be made before beforeAll has started the stack.
 */
export function runWatch(stack: () => Pick<Stack, 't' | 'client'>) {
  const coordinatorState = (projectId: string): Promise<CoordinatorState> =>
    stack().t.client.workflow.getHandle(coordinatorWorkflowId(projectId)).query(coordinatorStateQuery);

  /** Every step of run `later` started once every step of run `earlier` had ended: the two never overlapped. */
  async function expectStepsAfter(earlier: string, later: string): Promise<void> {
    const { client } = stack();
    const [first, second] = await Promise.all([client.getProgress(earlier), client.getProgress(later)]);
    expect(first.steps.length).toBeGreaterThan(0);
    expect(second.steps.length).toBeGreaterThan(0);
    const ended = first.steps
      .map((step: StepRecord) => step.endedAt!)
      .sort()
      .at(-1)!;
    expect(second.steps.filter((step: StepRecord) => step.startedAt < ended)).toEqual([]);
  }

  return { coordinatorState, expectStepsAfter };
}
