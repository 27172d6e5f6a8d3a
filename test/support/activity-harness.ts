import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities, type ActivityDeps } from '../../src/activities';
import { startEmulator, waitForOperations, type Emulator, type EmulatorOptions } from '../../tools/emulator';
import { createNeonClient, RateBudget } from '../../src/neon';
import { api, type Json } from './emulator-api';
import { fileLogger } from './runtime-log';
import { currentTestLog } from './test-logs';

export type Harness = {
  emu: Emulator;
  activities: ReturnType<typeof createActivities>;
  /** Runs one activity as Temporal would: in an activity context (heartbeat, cancellation, attempt number). */
  run<I, O>(fn: (input: I) => Promise<O>, input: I, attempt?: number): Promise<O>;
  /** Creates a project the way any client would (POST /projects) and waits until it is ready. */
  createProject(): Promise<{ projectId: string; branchId: string; endpointId: string }>;
  /** Neon API calls per route made while `fn` ran (emulator request log). */
  countCalls(fn: () => Promise<unknown>): Promise<Record<string, number>>;
  api(method: string, path: string, body?: unknown): Promise<Json>;
  stop(): Promise<void>;
};

export async function startHarness(
  options: EmulatorOptions = {},
  deps: Partial<Omit<ActivityDeps, 'neon'>> = {},
): Promise<Harness> {
  const emu = await startEmulator({ port: 0, mode: 'memory', operationDelayMs: { min: 20, max: 60 }, ...options });
  const neon = createNeonClient({ baseUrl: emu.baseUrl, apiKey: emu.apiKey, rateBudget: new RateBudget() });
  const activities = createActivities({ neon, ...deps });
  const logger = fileLogger(currentTestLog());
  return {
    emu,
    activities,
    api: (method, path, body) => api(emu, method, path, body),
    run: (fn, input, attempt = 1) =>
      new MockActivityEnvironment({ attempt, activityType: fn.name || 'activity' }, { logger }).run(fn, input),
    async createProject() {
      const created = (await api(emu, 'POST', '/projects', { project: { name: 'test' } })) as {
        project: { id: string };
        branch: { id: string };
        endpoints: { id: string }[];
        operations: { id: string }[];
      };
      await waitForOperations(emu, created.project.id, created.operations);
      return { projectId: created.project.id, branchId: created.branch.id, endpointId: created.endpoints[0]?.id ?? '' };
    },
    async countCalls(fn) {
      emu.resetRequestLog();
      await fn();
      return emu.requestCounts();
    },
    stop: () => emu.stop(),
  };
}

/** Sum of all calls in a count map. */
export const total = (counts: Record<string, number>): number => Object.values(counts).reduce((a, b) => a + b, 0);

/** The ApplicationFailure an activity threw (its type and details), or a failure of the test if it did not throw. */
export async function failureOf(run: Promise<unknown>): Promise<{ type: string; message: string; details: unknown[] }> {
  try {
    await run;
  } catch (err) {
    return err as { type: string; message: string; details: unknown[] };
  }
  throw new Error('expected the activity to fail');
}
