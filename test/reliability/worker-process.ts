/**
 * A real worker process for the reliability suite (run with `node --import tsx`). Unlike test/workflows'
 * worker-process.ts it reports every activity it runs on stdout ("START <type>#<n>", "DONE <type>#<n>", with n the
 * distinct activity execution of that type, counted across processes in COUNT_FILE), so the suite can list the step
 * boundaries of a run and kill at random moments inside activities; it logs through the product's own logger (debug,
 * JSON on stderr) so the suite can scan those logs for secrets; and it takes its Temporal address from TEMPORAL_ADDRESS
 * (a dev server the suite restarts). KILL_POINT="<type>#<n>[:before]" hangs after (or before) that activity's effect,
 * as in test/workflows/worker-process.ts, until the suite's SIGKILL.
 */
import { Context } from '@temporalio/activity';
import { NativeConnection } from '@temporalio/worker';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { createActivitiesFromEnv } from '../../src/activities';
import { createHealthActivities } from '../../src/activities/health';
import { loggerFromEnv } from '../../src/observability/logger';
import { installRuntime } from '../../src/observability/runtime';
import { createWorker } from '../../src/worker';

const env = process.env;
const [killAt = '', when = 'after'] = (env.KILL_POINT ?? '').split(':');

function ordinal(type: string, activityId: string): number {
  const file = env.COUNT_FILE!;
  const seen = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  const key = `${type}:${activityId}`;
  if (!seen.includes(key)) {
    appendFileSync(file, `${key}\n`);
    seen.push(key);
  }
  return seen.filter((k) => k.startsWith(`${type}:`)).indexOf(key) + 1;
}

/** With KILL_ONCE, a kill point fires in the first process that reaches it only (two workers, one dies). */
function firstHit(point: string): boolean {
  if (!env.KILL_ONCE) return true;
  const file = env.COUNT_FILE!;
  const mark = `hit:${point}`;
  if (existsSync(file) && readFileSync(file, 'utf8').split('\n').includes(mark)) return false;
  appendFileSync(file, `${mark}\n`);
  return true;
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const hang = (point: string): Promise<never> => {
  say(`KILLPOINT ${point}`);
  return new Promise<never>(() => undefined);
};

function wrap<T extends Record<string, (input: never) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, (input: never) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (input: never) => {
      const point = `${name}#${ordinal(name, Context.current().info.activityId)}`;
      say(`START ${point}`);
      if (point === killAt && when === 'before' && firstHit(`${point}:before`)) await hang(`${point}:before`);
      const result = await fn(input);
      if (point === killAt && when === 'after' && firstHit(point)) await hang(point);
      say(`DONE ${point}`);
      return result;
    };
  }
  return out as T;
}

async function main(): Promise<void> {
  const logger = loggerFromEnv(
    { ...env, NEON_PROMOTE_LOG_LEVEL: 'debug', NEON_PROMOTE_LOG_FORMAT: 'json' },
    pino.destination(2),
  );
  installRuntime({ logger });
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS ?? env.TEMPORAL_TEST_ADDRESS! });
  const worker = await createWorker({
    connection,
    taskQueue: env.TASK_QUEUE!,
    workflowBundle: { codePath: env.BUNDLE_PATH! },
    activities: { ...createHealthActivities('reliability-worker'), ...wrap(createActivitiesFromEnv(env)) },
    tuning: { stickyQueueScheduleToStartTimeout: '1 second' },
  });
  say('READY');
  await worker.run();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-process: ${String(err)}\n`);
  process.exit(1);
});
