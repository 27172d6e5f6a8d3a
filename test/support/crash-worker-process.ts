/**
 * A real worker process for crash tests here and in test/reliability (run with `node --import tsx`). Prints "READY"
 * once polling, and "START <point> <workflow type>" / "DONE <point>" around every activity, where a point is
 * "<type>#<n>@<k>": the n-th distinct activity execution of that type and the k-th of any type in the run (counted across
 * processes in COUNT_FILE, by workflow and activity ID, so a retry on another process keeps its numbers).
 *
 * KILL_POINT="<type>#<n>[:before]" or "@<k>[:before]" performs that activity, then prints "KILLPOINT <point>" and hangs:
 * the effect happened at Neon but its result never reaches Temporal, the worst moment to be killed (SIGKILL from the
 * test). With ":before" it hangs before the activity does anything. "@k" names a boundary of the run at hand: "type#n"
 * can shift between runs, since a step whose retry finds its work done starts no operations and skips its wait.
 * KILL_ONCE=1: a point fires only in the first process that reaches it (two workers carrying it: one dies).
 * KILL_FROM=1: "@k" also fires at every later boundary this process reaches (a dying process does nothing more): an
 * activity that runs alongside the one at @k is then killed too, instead of finishing past the next process's point.
 * WORKER_LOG=json: the product's logger at debug level as JSON on stderr (the reliability suite scans it for secrets).
 * TEMPORAL_ADDRESS overrides TEMPORAL_TEST_ADDRESS (a dev server of the test's own).
 */
import { Context } from '@temporalio/activity';
import { NativeConnection } from '@temporalio/worker';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import pino from 'pino';
import { createActivitiesFromEnv } from '../../src/activities';
import { createHealthActivities } from '../../src/activities/health';
import { loggerFromEnv } from '../../src/observability/logger';
import { installRuntime } from '../../src/worker/runtime';
import { createWorker } from '../../src/worker';

const env = process.env;
const [killAt = '', when = 'after'] = (env.KILL_POINT ?? '').split(':');

const seen = (): string[] => (existsSync(env.COUNT_FILE!) ? readFileSync(env.COUNT_FILE!, 'utf8').split('\n') : []);

/** "<type>#<n>@<k>" for this activity execution, recording it in COUNT_FILE the first time any process sees it. */
function pointOf(type: string): string {
  const info = Context.current().info;
  const key = `${type} ${info.workflowExecution?.workflowId ?? ''}/${info.activityId}`;
  let all = seen().filter((l) => l && !l.startsWith('hit:'));
  if (!all.includes(key)) {
    appendFileSync(env.COUNT_FILE!, `${key}\n`);
    all = [...all, key];
  }
  const n = all.filter((k) => k.startsWith(`${type} `)).indexOf(key) + 1;
  return `${type}#${n}@${all.indexOf(key) + 1}`;
}

const from = env.KILL_FROM === '1' && killAt.startsWith('@') ? Number(killAt.slice(1)) : null;
const matches = (point: string) =>
  killAt !== '' &&
  (point.split('@')[0] === killAt || point.endsWith(killAt) || (from !== null && Number(point.split('@')[1]) >= from));

/** With KILL_ONCE, a kill point fires in the first process that reaches it only. */
function firstHit(mark: string): boolean {
  if (!env.KILL_ONCE) return true;
  if (seen().includes(`hit:${mark}`)) return false;
  appendFileSync(env.COUNT_FILE!, `hit:${mark}\n`);
  return true;
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const hang = (point: string): Promise<never> => {
  say(`KILLPOINT ${point}`);
  return new Promise<never>(() => undefined); // until SIGKILL
};

function wrap<T extends Record<string, (input: never) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, (input: never) => Promise<unknown>> = {};
  for (const [name, fn] of Object.entries(activities)) {
    out[name] = async (input: never) => {
      const point = pointOf(name);
      // KILLPOINT names the point as it was asked for ("type#n" stays "type#n"), "@k" with its type and n.
      const label = killAt.startsWith('@') ? point : point.split('@')[0]!;
      say(`START ${point} ${Context.current().info.workflowType}`);
      if (matches(point) && when === 'before' && firstHit(`${killAt}:before`)) await hang(`${label}:before`);
      const result = await fn(input);
      if (matches(point) && when === 'after' && firstHit(killAt)) await hang(label);
      say(`DONE ${point}`);
      return result;
    };
  }
  return out as T;
}

async function main(): Promise<void> {
  if (env.WORKER_LOG === 'json') {
    const logger = loggerFromEnv(
      { ...env, NEON_PROMOTE_LOG_LEVEL: 'debug', NEON_PROMOTE_LOG_FORMAT: 'json' },
      pino.destination(2),
    );
    installRuntime({ logger });
  }
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS || env.TEMPORAL_TEST_ADDRESS! });
  const worker = await createWorker({
    connection,
    taskQueue: env.TASK_QUEUE!,
    workflowBundle: { codePath: env.BUNDLE_PATH! },
    activities: { ...createHealthActivities(env.WORKER_NAME || 'crash-worker'), ...wrap(createActivitiesFromEnv(env)) },
    // A dead worker's sticky queue gives its workflows back after this long instead of the default 10 s.
    tuning: { stickyQueueScheduleToStartTimeout: '1 second' },
  });
  say('READY');
  await worker.run();
}

main().catch((err: unknown) => {
  process.stderr.write(`worker-process: ${String(err)}\n`);
  process.exit(1);
});
