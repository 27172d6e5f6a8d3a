/** The runs the crash matrix and the restart tests put under faults, with what each promises. */
import { createHealthActivities } from '../../src/activities/health';
import { NeonPromoteClient, type Run } from '../../src/client';
import type { SeededProject } from '../../tools/emulator';
import { createWorker } from '../../src/worker';
import { uriOf } from './emulator-api';
import { sql } from './postgres';
import { neonActivities, seedProd, sourceOf, type Stack } from './workflow-stack';

export type ScenarioName = 'promote' | 'promote-aborted' | 'promote-rolled-back' | 'refresh' | 'rollback';

export type Scenario = {
  name: ScenarioName;
  /** The terminal state promised, and what prod (and dev) must hold then. */
  outcome: string;
  prod: string[];
  dev: string[];
  /** Readies a fresh project (setup, a change on dev, an earlier promotion) with an in-process worker. */
  prepare(s: Stack, client: NeonPromoteClient, p: SeededProject): Promise<void>;
  start(client: NeonPromoteClient, p: SeededProject): Promise<Run<{ outcome: string }>>;
};

const noDevRows = {
  kind: 'sql' as const,
  name: 'no dev rows',
  sql: `SELECT count(*)::int AS n FROM items WHERE source = 'dev'`,
  expect: { value: 0 },
};
const tables = { kind: 'tablesExist' as const, tables: ['items'] };

async function setupWithChange(s: Stack, client: NeonPromoteClient, p: SeededProject): Promise<void> {
  await (await client.startSetup({ projectId: p.projectId })).result();
  await sql(await uriOf(s.emu, p, 'dev'), `UPDATE items SET source = 'dev'`);
}

export const SCENARIOS: Record<ScenarioName, Scenario> = {
  promote: {
    name: 'promote',
    outcome: 'promoted',
    prod: ['dev'],
    dev: ['dev'],
    prepare: setupWithChange,
    start: (c, p) => c.startPromotion({ projectId: p.projectId, checks: [tables] }),
  },
  'promote-aborted': {
    name: 'promote-aborted',
    outcome: 'aborted',
    prod: ['prod'],
    dev: ['dev'],
    prepare: setupWithChange,
    start: (c, p) => c.startPromotion({ projectId: p.projectId, checks: [noDevRows] }),
  },
  'promote-rolled-back': {
    name: 'promote-rolled-back',
    outcome: 'rolled_back',
    prod: ['prod'],
    dev: ['dev'],
    prepare: setupWithChange,
    start: (c, p) => c.startPromotion({ projectId: p.projectId, checks: [tables], postSwapChecks: [noDevRows] }),
  },
  refresh: {
    name: 'refresh',
    outcome: 'refreshed',
    prod: ['prod'],
    dev: ['prod'],
    prepare: setupWithChange,
    // force: the change on dev was never promoted, and refreshDev refuses to discard it otherwise.
    start: (c, p) => c.startRefresh({ projectId: p.projectId, checks: [tables], force: true }),
  },
  rollback: {
    name: 'rollback',
    outcome: 'rolled_back',
    prod: ['prod'],
    dev: ['dev'],
    async prepare(s, c, p) {
      await setupWithChange(s, c, p);
      expect((await (await c.startPromotion({ projectId: p.projectId })).result()).outcome).toBe('promoted');
    },
    start: (c, p) => c.startRollback({ projectId: p.projectId, checks: [tables] }),
  },
};

/** Fresh projects on `taskQueue`, prepared by one in-process worker that stops before the runs under test start. */
export async function preparedProjects(
  s: Stack,
  taskQueue: string,
  scenarios: Scenario[],
): Promise<{ p: SeededProject; client: NeonPromoteClient }[]> {
  const client = await NeonPromoteClient.connect({ client: s.t.client, taskQueue });
  const projects: SeededProject[] = [];
  for (const _ of scenarios) projects.push(await seedProd(s.emu, 6));
  const worker = await createWorker({
    connection: s.t.nativeConnection,
    taskQueue,
    workflowBundle: s.bundle,
    activities: { ...createHealthActivities(), ...neonActivities(s.emu) },
  });
  await worker.runUntil(Promise.all(scenarios.map((sc, i) => sc.prepare(s, client, projects[i]!))));
  return projects.map((p) => ({ p, client }));
}

export async function preparedProject(s: Stack, taskQueue: string, sc: Scenario) {
  return (await preparedProjects(s, taskQueue, [sc]))[0]!;
}

/** Prod's data through its day-one connection string, and dev's. */
export async function dataOf(s: Stack, p: SeededProject): Promise<{ prod: string[]; dev: string[] }> {
  return { prod: await sourceOf(p.connectionUri), dev: await sourceOf(await uriOf(s.emu, p, 'dev')) };
}
