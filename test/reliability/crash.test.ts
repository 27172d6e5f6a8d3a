/**
 * Crash matrix: worker processes SIGKILLed at every step boundary of promote (passing, aborted before the swap,
 * rolled back after it), refreshDev and rollback, at random moments inside activities, and with two workers where
 * one dies. Each run is held to its reference run (same scenario, no kills): the same terminal state, the same data,
 * the same creations at Neon (nothing created twice) and the same things left over (nothing beyond retention).
 */
import { join } from 'node:path';
import type { SeededProject } from '../../tools/emulator';
import { type CrashWorker, killAllCrashWorkers, tempDir, writeBundle } from '../support/crash-worker';
import { inventory } from '../support/emulator-api';
import { sleep } from '../support/polling';
import {
  creations,
  FULL,
  noteSecrets,
  pool,
  record,
  section,
  shape,
  startedPoints,
  startWorker,
} from '../support/reliability';
import { type Stack, startStack } from '../support/workflow-stack';
import { SCENARIOS, dataOf, preparedProject, type Scenario, type ScenarioName } from '../support/reliability-scenarios';

let s: Stack;
let bundlePath: string;
let dir: string;
beforeAll(async () => {
  s = await startStack(__filename);
  await noteSecrets(s.emu);
  bundlePath = writeBundle(s.bundle.code);
  dir = tempDir('np-rel-crash-');
});
afterAll(async () => s?.stop());

let queues = 0;
const queue = (name: string) => `${s.t.taskQueue}-${name}-${++queues}`;

type Reference = { points: string[]; creations: Record<string, number>; shape: Awaited<ReturnType<typeof shape>> };

/** What a run must end with, whatever was killed on the way. */
async function holds(sc: Scenario, p: SeededProject, outcome: string, ref: Reference): Promise<void> {
  expect(outcome).toBe(sc.outcome);
  expect(await dataOf(s, p)).toEqual({ prod: sc.prod, dev: sc.dev });
  expect(creations(s.emu.requestLog(), p.projectId)).toEqual(ref.creations);
  expect(await shape(s.emu, p.projectId)).toEqual(ref.shape);
  // Nothing beyond retention: every backup branch left has an expiry.
  for (const b of (await inventory(s.emu, p.projectId)).branches as { name: string; expires_at?: string }[])
    if (b.name.startsWith('np-old-')) expect(b.expires_at).toBeTruthy();
}

/** The scenario once without kills, on one worker process: its activity boundaries and what it leaves. */
async function reference(sc: Scenario): Promise<Reference> {
  const tq = queue(`ref-${sc.name}`);
  const { p, client } = await preparedProject(s, tq, sc);
  const w = await startWorker({ taskQueue: tq, bundlePath, emu: s.emu, countFile: join(dir, `ref-${p.projectId}`) });
  try {
    const run = await sc.start(client, p);
    const r = await run.result();
    expect(r.outcome).toBe(sc.outcome);
    expect(await dataOf(s, p)).toEqual({ prod: sc.prod, dev: sc.dev });
    // The run's own activities: the project coordinator's, which may come after the run's result (a look for a fence
    // the run left), are not the run's boundaries, and a chain that ends with the run's result never reaches them.
    const { type } = await run.handle.describe();
    return {
      points: startedPoints(w.lines, [type]),
      creations: creations(s.emu.requestLog(), p.projectId),
      shape: await shape(s.emu, p.projectId),
    };
  } finally {
    await w.kill();
  }
}

/**
 * One run killed at every activity boundary it has, in turn: after the k-th activity's effect (`when` 'after'), or
 * before it does anything ('before'), for k = 1, 2, ... until the run ends. Boundaries are counted in the killed run
 * itself ("@k"), not taken from the reference: a step whose retry finds its work done starts no operation and skips its
 * wait, so "type#n" shifts. A doomed worker also stops at every later boundary it reaches (KILL_FROM): an activity
 * running alongside the one at @k (refreshDev reads its baseline and fingerprints dev at once) is killed with it,
 * instead of finishing on the doomed worker past the next worker's point. The doomed worker is SIGKILLed, then the next
 * one starts with the first boundary not yet killed at: the lowest, not the one after the highest, since of two
 * activities side by side the later-numbered can reach its boundary first, and the other is then retried by the next
 * worker. Returns the SIGKILLs and the boundaries killed at; those are
 * @1, @2, ... without a gap (some more than once), and every activity of the reference but the operation waits is
 * among them.
 */
async function killChain(
  sc: Scenario,
  ref: Reference,
  when: 'before' | 'after',
  max = Infinity,
): Promise<{ kills: number; points: string[] }> {
  const tq = queue(`chain-${when}-${sc.name}`);
  const { p, client } = await preparedProject(s, tq, sc);
  const countFile = join(dir, `chain-${p.projectId}`);
  const env = { taskQueue: tq, bundlePath, emu: s.emu, countFile, killFrom: true };
  const pointAt = (k: number) => `@${k}${when === 'before' ? ':before' : ''}`;
  const numberOf = (point: string) => Number(point.split('@')[1]!.replace(':before', ''));
  let w = await startWorker({ ...env, killPoint: pointAt(1) });
  const run = await sc.start(client, p);
  let done = false;
  const finished = run.result().then(
    () => ((done = true), null),
    () => ((done = true), null),
  );
  const reached: string[] = [];
  let kills = 0;
  const firstNotReached = () => {
    const numbers = new Set(reached.map(numberOf));
    let k = 1;
    while (numbers.has(k)) k++;
    return k;
  };
  for (;;) {
    const next = firstNotReached();
    const hit = await Promise.race([w.killpoint, finished]);
    if (!hit && !done) throw new Error(`worker exited before ${pointAt(next)} (after ${reached.join(', ')})`);
    if (!hit) break; // the run ended before a next boundary: every one was killed at
    await w.kill();
    kills++;
    await sleep(200); // the last lines it wrote, read after its exit
    // Every boundary the doomed worker stopped at (the first, and any reached alongside it before the SIGKILL).
    reached.push(...w.lines.filter((l) => l.startsWith('KILLPOINT ')).map((l) => l.slice('KILLPOINT '.length)));
    const last = kills >= max;
    w = await startWorker({ ...env, killPoint: last ? undefined : pointAt(firstNotReached()) });
    if (last) break;
  }
  try {
    await holds(sc, p, (await run.result()).outcome, ref);
  } finally {
    await w.kill();
  }
  if (kills >= max) return { kills, points: reached };
  // A boundary can be killed at twice: an activity running alongside the one at @k reaches its boundary first, the
  // next worker starts at @k and, as KILL_FROM has it, stops at the retried one too.
  const numbers = [...new Set(reached.map(numberOf))].sort((a, b) => a - b);
  expect(numbers).toEqual(numbers.map((_, i) => i + 1));
  const killed = new Set(reached.map((x) => x.split('@')[0]));
  const notWaits = ref.points.map((x) => x.split('@')[0]!).filter((x) => !x.startsWith('waitForOperations#'));
  expect(notWaits.filter((x) => !killed.has(x))).toEqual([]);
  return { kills, points: reached };
}

/** One run whose workers are killed `kills` times at a random moment inside a randomly chosen activity. */
async function randomKills(sc: Scenario, ref: Reference, kills: number, seed: number): Promise<number> {
  let x = seed;
  const rnd = () => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const tq = queue(`random-${sc.name}`);
  const { p, client } = await preparedProject(s, tq, sc);
  const env = { taskQueue: tq, bundlePath, emu: s.emu, countFile: join(dir, `random-${p.projectId}`) };
  let done = false;
  let w = await startWorker(env);
  const run = await sc.start(client, p);
  const finished = run.result().finally(() => (done = true));
  let made = 0;
  const share = Math.min(1, (kills + 1) / ref.points.length);
  while (made < kills && !done) {
    const victim: CrashWorker = w;
    const started = await Promise.race([
      new Promise<boolean>((resolve) => victim.onLine((l) => l.startsWith('START ') && rnd() < share && resolve(true))),
      finished.then(
        () => false,
        () => false,
      ),
    ]);
    if (!started) break;
    await sleep(Math.floor(rnd() * 150));
    const next = await startWorker(env);
    await victim.kill();
    made++;
    w = next;
  }
  try {
    await holds(sc, p, (await run.result()).outcome, ref);
  } finally {
    await w.kill();
  }
  return made;
}

/** Two workers carry the same kill point (it fires once): the one that reaches it dies, the other finishes the run. */
async function twoWorkers(sc: Scenario, ref: Reference, point: string): Promise<number> {
  const tq = queue(`pair-${sc.name}`);
  const { p, client } = await preparedProject(s, tq, sc);
  const env = {
    taskQueue: tq,
    bundlePath,
    emu: s.emu,
    countFile: join(dir, `pair-${p.projectId}`),
    killPoint: point,
    once: true,
  };
  const [a, b] = await Promise.all([startWorker(env), startWorker(env)]);
  const run = await sc.start(client, p);
  const hit: CrashWorker | null = await Promise.race([
    a.killpoint.then((l) => (l ? a : null)),
    b.killpoint.then((l) => (l ? b : null)),
  ]);
  if (!hit) throw new Error(`neither worker reached ${point}`);
  await hit.kill();
  try {
    await holds(sc, p, (await run.result()).outcome, ref);
  } finally {
    await Promise.all([a.kill(), b.kill()]);
  }
  return 1;
}

const spread = <T>(xs: T[], n: number) =>
  xs.length <= n ? xs : Array.from({ length: n }, (_, i) => xs[Math.floor((i * xs.length) / n)]!);

/** RELIABILITY_ONLY=promote,refresh: those scenarios only (while working on one). */
const ONLY = process.env.RELIABILITY_ONLY?.split(',');
/** The full matrix of every scenario: the one the 100-kill floor is for. */
const WHOLE_MATRIX = FULL && !ONLY;
type Plan = { name: ScenarioName; before: boolean; random: number; pairs: number };
const PLAN: Plan[] = (
  FULL
    ? ([
        { name: 'promote', before: true, random: 4, pairs: 3 },
        { name: 'promote-aborted', before: false, random: 1, pairs: 1 },
        { name: 'promote-rolled-back', before: false, random: 2, pairs: 1 },
        { name: 'refresh', before: true, random: 2, pairs: 1 },
        { name: 'rollback', before: true, random: 2, pairs: 1 },
      ] satisfies Plan[])
    : ([{ name: 'refresh', before: false, random: 0, pairs: 1 }] satisfies Plan[])
).filter((x) => !ONLY || ONLY.includes(x.name));

afterAll(killAllCrashWorkers);

test(
  FULL ? 'crash matrix: every step boundary, random moments, two workers' : 'crash matrix (fast subset)',
  async () => {
    // Scenarios run side by side on task queues of their own: a kill mostly waits for heartbeat timeouts, not CPU. All
    // five at once: the full run's time is then its longest chain (promote's, before and after each activity).
    // A section that fails is recorded and the others go on to their own end (stopping the stack under them would
    // fail them too, for nothing of theirs); the first failure is thrown once all are done.
    const failures: unknown[] = [];
    const totals = await pool(PLAN, PLAN.length, (plan) => {
      const sc = SCENARIOS[plan.name];
      const tried = `${sc.name}: SIGKILL at every activity boundary${plan.before ? ' (before and after each activity)' : ' (after each effect)'}, ${plan.random} run(s) x 3 random in-activity kills, ${plan.pairs} two-worker run(s)`;
      return section(__filename, { section: 'crash matrix', tried }, async () => {
        const ref = await reference(sc);
        // Three lanes side by side, each on a project of its own: the chain killed after each activity's effect, the
        // chain killed before each activity (when planned), and the random and two-worker runs.
        // The fast subset kills at the first three boundaries only.
        const lanes = await Promise.allSettled([
          killChain(sc, ref, 'after', FULL ? Infinity : 3),
          plan.before ? killChain(sc, ref, 'before') : Promise.resolve({ kills: 0, points: [] }),
          (async () => {
            let n = 0;
            for (let i = 0; i < plan.random; i++) n += await randomKills(sc, ref, 3, 7919 * (i + 1));
            for (const point of spread(ref.points, plan.pairs)) n += await twoWorkers(sc, ref, point);
            return n;
          })(),
        ]);
        const failed = lanes.find((l) => l.status === 'rejected');
        if (failed) throw failed.reason;
        const [after, before, others] = lanes.map((l) => (l as PromiseFulfilledResult<unknown>).value) as [
          Awaited<ReturnType<typeof killChain>>,
          Awaited<ReturnType<typeof killChain>>,
          number,
        ];
        const chain = [...after.points, ...before.points];
        const kills = after.kills + before.kills + others;
        record(__filename, {
          section: 'crash matrix',
          tried: FULL
            ? tried.replace(
                /every activity boundary \([^)]*\)/,
                `all ${after.points.length} activity boundaries after the effect${plan.before ? ` and all ${before.points.length} before the activity` : ''} (${after.kills + before.kills} SIGKILLs)`,
              )
            : tried.replace('every activity boundary', `the first ${chain.length} activity boundaries`),
          count: kills,
          held: `ended ${sc.outcome}; prod = ${sc.prod.join()} data; creations = reference run; leftovers = reference (backups expire)`,
          ok: true,
        });
        return kills;
      }).catch((err: unknown) => {
        failures.push(err);
        return 0;
      });
    });
    if (failures.length) throw failures[0];
    const total = totals.reduce((a, b) => a + b, 0);
    record(__filename, {
      section: 'crash matrix',
      tried: 'worker processes SIGKILLed in all',
      count: total,
      held: WHOLE_MATRIX
        ? 'every run ended in its promised state; at least 100 kills'
        : 'every run ended in its promised state',
      ok: !WHOLE_MATRIX || total >= 100,
    });
    if (WHOLE_MATRIX) expect(total).toBeGreaterThanOrEqual(100);
  },
  FULL ? 1_500_000 : 240_000,
);
