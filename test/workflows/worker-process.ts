/**
 * A real worker process for crash tests (run with `node --import tsx`). With KILL_POINT="<activity>#<n>" it performs
 * the n-th distinct activity of that type (counted across processes in COUNT_FILE), then prints "KILLPOINT" and
 * hangs: the effect happened at Neon but its result never reaches Temporal, the worst moment to be killed (SIGKILL
 * from the test). With "<activity>#<n>:before" it hangs before the activity does anything. Prints "READY" once
 * polling.
 */
import { NativeConnection } from '@temporalio/worker';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { Context } from '@temporalio/activity';
import { createActivitiesFromEnv } from '../../src/activities';
import { createHealthActivities } from '../../src/activities/health';
import { createWorker } from '../../src/worker';

const env = process.env;
const [killAt, when = 'after'] = (env.KILL_POINT ?? '').split(':') as [string, string | undefined];
const [killType, killNth] = killAt.split('#') as [string, string | undefined];

/** Distinct activity executions (by activity ID) of `type` seen by any worker process so far, this one included. */
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

async function hang(point: string): Promise<never> {
  process.stdout.write(`KILLPOINT ${point}\n`);
  return new Promise<never>(() => undefined); // until SIGKILL
}

function wrap<T extends Record<string, (input: never) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, (input: never) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (input: never) => {
      const n = ordinal(name, Context.current().info.activityId);
      const hit = name === killType && String(n) === (killNth ?? '1');
      if (hit && when === 'before') await hang(`${name}#${n}:before`);
      const result = await fn(input);
      if (hit && when === 'after') await hang(`${name}#${n}`);
      return result;
    };
  }
  return out as T;
}

async function main(): Promise<void> {
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_TEST_ADDRESS! });
  const worker = await createWorker({
    connection,
    taskQueue: env.TASK_QUEUE!,
    workflowBundle: { codePath: env.BUNDLE_PATH! },
    activities: { ...createHealthActivities('crash-worker'), ...wrap(createActivitiesFromEnv(env)) },
    // A dead worker's sticky queue gives its workflows back after this long instead of the default 10 s.
    tuning: { stickyQueueScheduleToStartTimeout: '1 second' },
  });
  process.stdout.write('READY\n');
  await worker.run();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-process: ${String(err)}\n`);
  process.exit(1);
});
