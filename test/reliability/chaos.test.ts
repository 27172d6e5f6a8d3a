/**
 * API chaos: promotions under each emulator fault and all of them at once, on an emulator whose operations are slow
 * (0.2-1.2 s each). Every promotion must end by the rules (promoted with the candidate on prod, or rolled back / stopped
 * with the pre-promotion data), create nothing twice, and its worker must stay inside its rate budget and honour
 * Retry-After.
 */
import { createHealthActivities } from '../../src/activities/health';
import { createActivities } from '../../src/activities';
import type { FaultRule } from '../../tools/emulator';
import { createNeonClient, RateBudget } from '../../src/neon';
import { createWorker } from '../../src/worker';
import { MockActivityEnvironment } from '@temporalio/testing';
import { api } from '../support/emulator-api';
import {
  creationCalls,
  creations,
  FULL,
  noteSecrets,
  peakRates,
  record,
  rollbackWatcher,
  section,
  sendsAsLog,
  shape,
  TapAgent,
  undoneBy,
} from '../support/reliability';
import { neonActivities, seedProd, type Stack, startStack } from '../support/workflow-stack';
import { SCENARIOS, dataOf, preparedProjects, type Scenario } from '../support/reliability-scenarios';

/** Tighter than Neon's 700/min and 40/s per route, so that the chaos actually presses on it. */
const BUDGET = { perMinute: 240, perSecondPerRoute: 5 };
const SNAPSHOT = 'POST /projects/{project_id}/branches/{branch_id}/snapshot';

const FAULTS: { name: string; rules: FaultRule[]; mayFail?: boolean }[] = [
  {
    name: '5xx share (20% 503, 5% 500)',
    rules: [
      { kind: 'error', rate: 0.2 },
      { kind: 'error', status: 500, rate: 0.05 },
    ],
  },
  { name: '429 with Retry-After 1 s (15%)', rules: [{ kind: 'rate_limit', rate: 0.15, retryAfterSec: 1 }] },
  {
    name: '423 bursts (5 in a row on snapshots, 10% elsewhere)',
    rules: [
      { kind: 'locked', route: SNAPSHOT, times: 5 },
      { kind: 'locked', rate: 0.1 },
    ],
  },
  { name: 'slow responses (30% +400 ms) and slow operations', rules: [{ kind: 'latency', rate: 0.3, latencyMs: 400 }] },
  { name: 'responses lost after the work was done (30% of mutations)', rules: [{ kind: 'response_lost', rate: 0.3 }] },
  { name: 'failed operations (15% of mutations)', rules: [{ kind: 'fail_operation', rate: 0.15 }], mayFail: true },
];
const ALL: FaultRule[] = [
  { kind: 'error', rate: 0.1 },
  { kind: 'rate_limit', rate: 0.08, retryAfterSec: 1 },
  { kind: 'locked', rate: 0.08 },
  { kind: 'latency', rate: 0.2, latencyMs: 300 },
  { kind: 'response_lost', rate: 0.15 },
  { kind: 'fail_operation', rate: 0.05 },
];

let s: Stack;
/** Rollbacks after a failed operation, from the emulator's log: the creations they undid made nothing that stayed. */
const watch = rollbackWatcher();
beforeAll(async () => {
  s = await startStack(__filename, { operationDelayMs: { min: 200, max: 1200 }, log: watch.log });
  await noteSecrets(s.emu);
});
afterAll(async () => s?.stop());

let tap = new TapAgent();
const worker = () =>
  createWorker({
    connection: s.t.nativeConnection,
    taskQueue: s.t.taskQueue,
    workflowBundle: s.bundle,
    activities: {
      ...createHealthActivities(),
      ...createActivities({
        neon: createNeonClient({
          baseUrl: s.emu.baseUrl,
          apiKey: s.emu.apiKey,
          rateBudget: new RateBudget(BUDGET),
          dispatcher: tap,
        }),
        snapshotLimit: 10,
      }),
    },
  });

type Ref = { creations: Record<string, number>; shape: Awaited<ReturnType<typeof shape>> };
const refs = new Map<string, Ref>();

/** Runs `scenarios` at once under `rules`; returns what held (throws with the first thing that did not). */
async function underFaults(rules: FaultRule[], scenarios: Scenario[], mayFail: boolean): Promise<string> {
  const projects = await preparedProjects(s, s.t.taskQueue, scenarios);
  const from = s.emu.requestLog().length;
  // RELIABILITY_CHAOS_SEED: the same fault draws again (interleavings still vary from run to run).
  s.emu.setFaults({ rules, seed: Number(process.env.RELIABILITY_CHAOS_SEED ?? 42) });
  tap = new TapAgent();
  const why: string[] = [];
  const w = await worker();
  // The faults end with the runs, also when one throws: the next test must meet a healthy emulator.
  const outcomes = await w
    .runUntil(
      Promise.all(
        projects.map(async ({ p, client }, i) => {
          try {
            return (await (await scenarios[i]!.start(client, p)).result()).outcome;
          } catch (err) {
            if (!mayFail) throw err;
            // Why it stopped, for the table: the innermost failure's message.
            let e: unknown = err;
            while (e instanceof Error && e.cause instanceof Error) e = e.cause;
            why.push(e instanceof Error ? e.message.slice(0, 160) : String(e));
            return 'failed';
          }
        }),
      ),
    )
    .finally(() => s.emu.setFaults({ rules: [] }));
  const log = s.emu.requestLog().slice(from);
  const faulted = log.filter((e) => e.status === 0 || e.status >= 400).length;
  const undone = undoneBy(s.emu.requestLog(), watch.rollbacks);
  const calls = { tookEffect: 0, undone: 0, refused: 0 };
  for (const [i, { p }] of projects.entries()) {
    const sc = scenarios[i]!;
    const ref = refs.get(sc.name)!;
    const outcome = outcomes[i]!;
    // Resources, not calls: a creation undone by a failed operation left nothing, a refused one made nothing.
    const made = creations(s.emu.requestLog(), p.projectId, undone);
    const c = creationCalls(log, p.projectId, undone);
    for (const k of ['tookEffect', 'undone', 'refused'] as const) calls[k] += c[k];
    const data = await dataOf(s, p);
    if (mayFail && outcome !== sc.outcome) {
      // A failed operation may stop a run early: then prod must hold its pre-promotion data, and nothing was made twice.
      expect(data.prod).toEqual(['prod']);
      expect(Object.entries(made).filter(([route, n]) => n > (ref.creations[route] ?? 0))).toEqual([]);
      continue;
    }
    expect(outcome).toBe(sc.outcome);
    expect(data).toEqual({ prod: sc.prod, dev: sc.dev });
    expect(made).toEqual(ref.creations);
    expect(await shape(s.emu, p.projectId)).toEqual(ref.shape);
  }
  // The budget, on the worker's sends (the emulator logs completions, which latency bunches up); and after a 429 the
  // same request is sent again only after its Retry-After.
  const sent = sendsAsLog(tap.sends, log);
  expect(sent.length).toBeGreaterThanOrEqual(log.length);
  const peaks = peakRates(sent);
  expect(peaks.perMinute).toBeLessThanOrEqual(BUDGET.perMinute);
  expect(peaks.perRouteSecond).toBeLessThanOrEqual(BUDGET.perSecondPerRoute);
  for (const e of log) {
    if (e.status !== 429) continue;
    const again = tap.sends.find((x) => x.t > Date.parse(e.at) && x.method === e.method && x.path === e.path);
    if (again) expect(again.t - Date.parse(e.at)).toBeGreaterThanOrEqual(950);
  }
  const ended = outcomes.join(', ') + (why.length ? ` (failed: ${why.join('; ')})` : '');
  return `${faulted} faulted responses; ended: ${ended}; creation calls ${calls.tookEffect} took effect (${calls.undone} undone by a failed operation), ${calls.refused} refused; peak ${peaks.perMinute}/min, ${peaks.perRouteSecond}/s on one route (budget ${BUDGET.perMinute}, ${BUDGET.perSecondPerRoute})`;
}

const PASS = SCENARIOS.promote;
const BACK = SCENARIOS['promote-rolled-back'];

test(
  FULL ? 'API chaos: each fault, then all at once' : 'API chaos: all faults at once (fast subset)',
  async () => {
    // Reference runs without faults: what a promotion creates and leaves.
    const refProjects = await preparedProjects(s, s.t.taskQueue, [PASS, BACK]);
    const w = await worker();
    await w.runUntil(
      Promise.all(refProjects.map(async ({ p, client }, i) => (await [PASS, BACK][i]!.start(client, p)).result())),
    );
    for (const [i, { p }] of refProjects.entries())
      refs.set([PASS, BACK][i]!.name, {
        creations: creations(s.emu.requestLog(), p.projectId),
        shape: await shape(s.emu, p.projectId),
      });

    const cases = FULL
      ? [
          ...FAULTS.map((f) => ({ ...f, scenarios: [PASS, BACK] })),
          { name: 'all of them at once', rules: ALL, mayFail: true, scenarios: [PASS, PASS, PASS, BACK, BACK, PASS] },
        ]
      : [{ name: 'all of them at once', rules: ALL, mayFail: true, scenarios: [PASS, BACK] }];
    for (const c of cases) {
      const tried = `${c.name}: ${c.scenarios.length} promotions at once`;
      const held = await section(__filename, { section: 'API chaos', tried }, () =>
        underFaults(c.rules, c.scenarios, c.mayFail ?? false),
      );
      record(__filename, {
        section: 'API chaos',
        tried,
        count: c.scenarios.length,
        held: `${held}; no resource created twice; ${c.mayFail ? 'a stopped run left prod untouched' : 'every run ended as promised'}`,
        ok: true,
      });
    }
  },
  // A bound on a hang, not a timing: each attempt of an activity meets faults on several calls, and its retries back
  // off up to 30 s, so a promotion under every fault at once can take a few minutes.
  FULL ? 1_200_000 : 420_000,
);

test('a second read-write endpoint on a branch is refused (4xx, as Neon) and createEndpoint adopts the existing one', async () => {
  const p = await seedProd(s.emu, 1);
  const from = s.emu.requestLog().length;
  // Attempt 1 POSTs without looking first (one GET saved): the refusal is what keeps it from making a second one.
  const a = neonActivities(s.emu);
  const r = await new MockActivityEnvironment({ attempt: 1 }).run(a.createEndpoint, {
    projectId: p.projectId,
    branchId: p.branchId,
    type: 'read_write' as const,
  });
  expect(r).toMatchObject({ created: false, endpoint: { id: p.endpointId } });
  const posts = s.emu
    .requestLog()
    .slice(from)
    .filter((e) => e.route === 'POST /projects/{project_id}/endpoints');
  expect(posts.map((e) => e.status)).toEqual([400]);
  const listed = (await api(s.emu, 'GET', `/projects/${p.projectId}/branches/${p.branchId}/endpoints`)).endpoints as {
    id: string;
    type: string;
  }[];
  expect(listed.filter((e) => e.type === 'read_write').map((e) => e.id)).toEqual([p.endpointId]);
});
