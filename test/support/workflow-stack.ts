import { bundleWorkflowCode, type Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client } from 'pg';
import { createActivities } from '../../src/activities';
import { createHealthActivities } from '../../src/activities/health';
import { NeonPromoteClient } from '../../src/client';
import {
  coordinatorStateQuery,
  coordinatorWorkflowId,
  type CoordinatorState,
} from '../../src/workflows/contract/definitions';
import type { StepRecord } from '../../src/workflows';
import {
  seedProject,
  startEmulator,
  type Emulator,
  type EmulatorOptions,
  type SeededProject,
} from '../../tools/emulator';
import { createNeonClient, RateBudget } from '../../src/neon';
import { createWorker, WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker';
import { connectTestTemporal, type TestTemporal } from './temporal';

export type Stack = {
  t: TestTemporal;
  emu: Emulator;
  bundle: WorkflowBundleWithSourceMap;
  client: NeonPromoteClient;
  /** A worker on this file's task queue with the Neon activities pointed at the emulator. */
  worker(activities?: object): Promise<Worker>;
  stop(): Promise<void>;
};

export async function startStack(testFile: string, emulator: EmulatorOptions = {}): Promise<Stack> {
  const [t, emu, bundle] = await Promise.all([
    connectTestTemporal(testFile),
    startEmulator({ port: 0, operationDelayMs: { min: 5, max: 20 }, ...emulator }),
    bundleWorkflowCode({
      workflowsPath: require.resolve('../../src/workflows'),
      ...WORKFLOW_BUNDLE_OPTIONS,
      logger: quietLogger,
    }),
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

export function neonActivities(emu: Emulator, snapshotLimit = 10) {
  return createActivities({
    neon: createNeonClient({ baseUrl: emu.baseUrl, apiKey: emu.apiKey, rateBudget: new RateBudget() }),
    snapshotLimit,
  });
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/** A project whose default branch is "prod", holding `items` rows marked source='prod'. */
export function seedProd(emu: Emulator, rows = 5): Promise<SeededProject> {
  return seedProject(emu, { name: 'wf', rows, source: 'prod', branchName: 'prod' });
}

export async function sql<T = Record<string, unknown>>(uri: string, text: string): Promise<T[]> {
  const c = new Client({ connectionString: uri });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export async function api(emu: Emulator, method: string, path: string, body?: unknown): Promise<Json> {
  const res = await fetch(`${emu.baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${emu.apiKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as Json;
}

export type Inventory = {
  branches: { id: string; name: string; parent_id?: string }[];
  snapshots: { id: string; name: string }[];
};

export async function inventory(emu: Emulator, projectId: string): Promise<Inventory> {
  const [b, s] = await Promise.all([
    api(emu, 'GET', `/projects/${projectId}/branches`),
    api(emu, 'GET', `/projects/${projectId}/snapshots`),
  ]);
  return { branches: b.branches as Inventory['branches'], snapshots: s.snapshots as Inventory['snapshots'] };
}

export async function branchId(emu: Emulator, projectId: string, name: string): Promise<string | undefined> {
  return (await inventory(emu, projectId)).branches.find((b) => b.name === name)?.id;
}

/** The connection string of a branch's read-write endpoint (holds a password: tests only). */
export async function uriOf(emu: Emulator, p: SeededProject, branch: string): Promise<string> {
  const id = await branchId(emu, p.projectId, branch);
  const q = new URLSearchParams({ branch_id: id ?? '', database_name: p.databaseName, role_name: p.roleName });
  return ((await api(emu, 'GET', `/projects/${p.projectId}/connection_uri?${q.toString()}`)) as { uri: string }).uri;
}

export const sourceOf = async (uri: string): Promise<string[]> =>
  (await sql<{ source: string }>(uri, 'SELECT DISTINCT source FROM items ORDER BY 1')).map((r) => r.source);

/** A project set up (prod and an isolated dev) whose dev holds a change, ready to promote. */
export async function projectWithChange(s: Pick<Stack, 'emu' | 'client'>): Promise<SeededProject> {
  const p = await seedProd(s.emu, 3);
  await (await s.client.startSetup({ projectId: p.projectId })).result();
  await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
  return p;
}

/**
 * Polling and ordering checks for tests that watch runs of one project queue behind each other. `stack` is read at
 * each call, so the helpers can be made before beforeAll has started the stack.
 */
export function runWatch(stack: () => Pick<Stack, 't' | 'client'>) {
  /** Polls `read` every 50 ms until `ok` holds (a read that throws counts as not yet), for up to 30 s. */
  async function until<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
    let last: unknown;
    for (let i = 0; i < 600; i++) {
      const v = await read().catch((err: unknown) => {
        last = err;
        return undefined;
      });
      if (v !== undefined && ok(v)) return v;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(
      `timed out waiting for ${what}${last ? ` (last read failed: ${last instanceof Error ? last.message : JSON.stringify(last)})` : ''}`,
    );
  }

  const coordinatorState = (projectId: string): Promise<CoordinatorState> =>
    stack().t.client.workflow.getHandle(coordinatorWorkflowId(projectId)).query(coordinatorStateQuery);

  /** Every step of run `later` started once every step of run `earlier` had ended: the two never overlapped. */
  async function expectStepsAfter(earlier: string, later: string): Promise<void> {
    const { client } = stack();
    const [a, b] = await Promise.all([client.getProgress(earlier), client.getProgress(later)]);
    expect(a.steps.length).toBeGreaterThan(0);
    expect(b.steps.length).toBeGreaterThan(0);
    const ended = a.steps
      .map((x: StepRecord) => x.endedAt!)
      .sort()
      .at(-1)!;
    expect(b.steps.filter((x: StepRecord) => x.startedAt < ended)).toEqual([]);
  }

  return { until, coordinatorState, expectStepsAfter };
}
