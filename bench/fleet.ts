/**
 * Part 4: N projects promoting at once on one worker, against a memory-mode emulator (control plane only) with
 * realistic operation delays. With `budget`, the worker's rate budget is Neon's 700/min and the tap enforces the same
 * limit with real 429s, so "zero 429s" is observed, not assumed.
 */
import { NeonPromoteClient } from '../src/client';
import { coordinatorWorkflowId } from '../src/workflows/contract/definitions';
import { pool, seedFleet } from './lib/seed';
import { cpuSince, sampleProc, threadCpu, watchProc } from './lib/procs';
import { diffCounts, requestCounts, startPhase, totalCalls, type Temporal } from './lib/stack';
import { round } from './lib/stats';

export type FleetOptions = {
  projects: number;
  opDelay: string;
  budget: { perMinute: number; perSecondPerRoute: number } | null;
  log: (l: string) => void;
  /** Promotions still running this long after the start are terminated and reported as unfinished. */
  timeoutMs?: number;
  /** Worker processes (default 1); with a budget, they share it as one account's (BENCH_SHARED_BUDGET). */
  workers?: number;
};

export type FleetResult = {
  projects: number;
  opDelay: string;
  budgetPerMinute: number | null;
  seconds: number;
  promoted: number;
  failed: number;
  /** Still running at the time limit (terminated then) or not started by then; 0 when every promotion ended. */
  unfinished: number;
  failures: string[];
  promotionsPerSecond: number;
  p50PromotionMs: number;
  worker: { peakRssMb: number; cpuSec: number; meanCores: number; peakCores: number };
  callsPerPromotion: number;
  requestsPerMinute: { mean: number; busiest60s: number; fullMinutes: number[] };
  /** Requests that arrived at the (emulated) Neon in the busiest sliding second of each route, the busiest first. */
  busiestSecondPerRoute: { route: string; requests: number }[];
  workers: number;
  http429: number;
  /** Which of the limiter's limits the 429s hit (per minute, per second per route). */
  http429By: { minute: number; route: number };
  historyEvents: { promote: number; coordinator: number; sampled: number };
  /**
   * CPU seconds over the fleet by process: the worker by thread group (/proc/PID/task/TID/comm), the Temporal dev
   * server and the emulator as wholes. Where a CPU-bound fleet's time goes.
   */
  cpu: { worker: Record<string, number>; devServer: number; emulator: number };
};

const UNBOUNDED = { perMinute: 1_000_000, perSecondPerRoute: 100_000 };

export async function runFleet(t: Temporal, o: FleetOptions): Promise<FleetResult> {
  const limit = o.budget ?? UNBOUNDED;
  const workers = o.workers ?? 1;
  const label = `fleet${o.projects}${o.budget ? 'b' : ''}${workers > 1 ? `w${workers}` : ''}`;
  const phase = await startPhase({
    temporal: t,
    mode: 'memory',
    opDelay: o.opDelay,
    snapshotQuota: 10,
    workerEnv: {
      BENCH_NO_DATABASE: '1',
      NEON_RATE_PER_MINUTE: String(limit.perMinute),
      NEON_RATE_PER_SECOND_PER_ROUTE: String(limit.perSecondPerRoute),
      ...(o.budget && workers > 1
        ? { BENCH_SHARED_BUDGET: '1', NEON_RATE_ACCOUNT: `bench-${label}-${process.pid}-${Date.now()}` }
        : {}),
    },
    label,
    workers,
  });
  try {
    const client = await NeonPromoteClient.connect({ client: t.client, taskQueue: phase.taskQueue });
    o.log(`fleet: seeding ${o.projects} projects (operation delay ${o.opDelay} ms)`);
    const projects = await seedFleet(phase.emulator, o.projects, `fleet${o.projects}`);
    if (o.budget) phase.tap.setLimit(o.budget);
    const before = await requestCounts(phase.emulator);
    const firstRecord = phase.tap.records.length;
    const proc = watchProc(phase.worker.pid);
    const others = () => ({
      devServer: sampleProc(t.server.process.pid!)?.cpuSec ?? 0,
      emulator: sampleProc(phase.emulatorPid)?.cpuSec ?? 0,
    });
    const cpu0 = { threads: threadCpu(phase.worker.pid), ...others() };
    const on = workers > 1 ? ` on ${workers} workers sharing it` : '';
    o.log(`fleet: ${o.projects} promotions at once${o.budget ? `, budget ${o.budget.perMinute}/min${on}` : ''}`);
    const t0 = Date.now();
    const failures: string[] = [];
    const durations: number[] = [];
    // The time limit counts from the first start: starts themselves queue behind the worker at fleet scale.
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const timedOut = new Promise<'timeout'>((res) => {
      timer = setTimeout(() => ((late = true), res('timeout')), o.timeoutMs ?? 3_600_000);
    });
    // Starts are admitted through each project's coordinator; a bounded number in flight keeps the client fair.
    const startFailures: string[] = [];
    const started = await pool(projects, 50, async (projectId) => {
      if (late) return null;
      try {
        const run = await client.startPromotion({ projectId });
        const result = run.result();
        // Awaited below; until then a rejection (the stack stopping after a failure) must not end the process.
        result.catch(() => undefined);
        return { workflowId: run.workflowId, result };
      } catch (err) {
        startFailures.push(`${projectId}: start failed: ${err instanceof Error ? err.message : String(err)}`);
        return null;
      }
    });
    if (startFailures.length) o.log(`fleet: ${startFailures.length} starts failed, e.g. ${startFailures[0]}`);
    const ids = started.filter((x) => x !== null);
    const notStarted = started.length - ids.length - startFailures.length;
    const open = new Set(ids.map((x) => x.workflowId));
    const ended = Promise.all(
      ids.map(async ({ workflowId, result }) => {
        try {
          const r = await result;
          if (r.outcome !== 'promoted') failures.push(`${workflowId}: ${r.outcome} ${r.reason ?? ''}`);
        } catch (err) {
          if (!open.has(workflowId)) return; // terminated at the time limit
          failures.push(`${workflowId}: ${err instanceof Error ? err.message : String(err)}`);
        } finally {
          if (open.delete(workflowId)) durations.push(Date.now() - t0);
        }
      }),
    );
    const outcome = await Promise.race([ended, timedOut]);
    clearTimeout(timer);
    const t1 = Date.now();
    const unfinished = [...open];
    if (notStarted) o.log(`fleet: ${notStarted} not started within the time limit`);
    if (outcome === 'timeout') {
      o.log(`fleet: ${unfinished.length} still running after ${(t1 - t0) / 1000} s: terminating them`);
      open.clear();
      await pool(unfinished, 20, (id) =>
        client.temporal.workflow
          .getHandle(id)
          .terminate('bench time limit')
          .catch(() => undefined),
      );
    }
    const worker = proc.stop();
    const cpu1 = { threads: threadCpu(phase.worker.pid), ...others() };
    const calls = totalCalls(diffCounts(await requestCounts(phase.emulator), before));
    const arrived = phase.tap.records.slice(firstRecord).filter((r) => r.status !== 429);
    const times = arrived.map((r) => r.start);
    const seconds = (t1 - t0) / 1000;
    const history = await historySample(
      client,
      ids.map((x) => x.workflowId),
      projects,
      20,
    );
    durations.sort((a, b) => a - b);
    return {
      projects: o.projects,
      opDelay: o.opDelay,
      budgetPerMinute: o.budget?.perMinute ?? null,
      seconds: round(seconds, 1),
      promoted: o.projects - failures.length - startFailures.length - unfinished.length - notStarted,
      failed: failures.length + startFailures.length,
      unfinished: unfinished.length + notStarted,
      failures: [...startFailures, ...failures].slice(0, 10),
      promotionsPerSecond: round((o.projects - unfinished.length - notStarted) / seconds, 2),
      p50PromotionMs: durations[Math.floor(durations.length / 2)] ?? 0,
      worker: {
        peakRssMb: round(worker.peakRssMb),
        cpuSec: round(worker.cpuSec, 1),
        meanCores: round(worker.meanCores, 2),
        peakCores: round(worker.peakCores, 2),
      },
      callsPerPromotion: round(calls / o.projects, 1),
      requestsPerMinute: rates(times, t0, t1),
      busiestSecondPerRoute: busiestSeconds(arrived),
      workers,
      http429: phase.tap.rejected429,
      http429By: { ...phase.tap.rejectedBy },
      historyEvents: history,
      cpu: {
        worker: byThread(cpuSince(cpu0.threads, cpu1.threads), worker.cpuSec),
        devServer: round(cpu1.devServer - cpu0.devServer, 1),
        emulator: round(cpu1.emulator - cpu0.emulator, 1),
      },
    };
  } finally {
    await phase.stop();
  }
}

/**
 * The worker's CPU by thread group, under readable names. On Node 20 every thread but the main one is named `node`:
 * the workflow thread (the SDK's sandbox, where workflow code and replays run) with V8's and libuv's helpers. Temporal's
 * core (Rust) names its own: `tokio-runtime-w` (its runtime: gRPC, polling) and `workflow-proces` (its workflow
 * state machines). What threads that ended during the fleet spent shows as `ended threads` (the process's total less
 * the live threads').
 */
function byThread(threads: Record<string, number>, processCpuSec: number): Record<string, number> {
  const names: Record<string, string> = {
    main: 'main (activities, SDK plumbing)',
    node: 'node (workflow sandbox, V8/libuv helpers)',
    'tokio-runtime-w': 'core runtime (Rust)',
    'workflow-proces': 'core workflow machines (Rust)',
  };
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(threads)) out[names[k] ?? k] = v;
  const rest = round(processCpuSec - Object.values(threads).reduce((a, b) => a + b, 0), 1);
  if (rest > 0) out['ended threads'] = rest;
  return out;
}

/** Mean rate over the run, the busiest sliding minute, and each full minute from the start. */
function rates(times: number[], t0: number, t1: number): FleetResult['requestsPerMinute'] {
  const sorted = [...times].sort((a, b) => a - b);
  let busiest = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= 60_000) j++;
    busiest = Math.max(busiest, i - j + 1);
  }
  const fullMinutes: number[] = [];
  for (let from = t0; from + 60_000 <= t1; from += 60_000)
    fullMinutes.push(sorted.filter((t) => t >= from && t < from + 60_000).length);
  return { mean: round((sorted.length / (t1 - t0)) * 60_000), busiest60s: busiest, fullMinutes };
}

/** Per route, the most requests within any sliding second, the busiest routes first (the top five). */
function busiestSeconds(records: { route: string; start: number }[]): FleetResult['busiestSecondPerRoute'] {
  const byRoute = new Map<string, number[]>();
  for (const r of records) {
    const starts = byRoute.get(r.route) ?? [];
    starts.push(r.start);
    byRoute.set(r.route, starts);
  }
  const out = [...byRoute].map(([route, starts]) => {
    starts.sort((a, b) => a - b);
    let most = 0;
    for (let i = 0, j = 0; i < starts.length; i++) {
      while (starts[i]! - starts[j]! >= 1_000) j++;
      most = Math.max(most, i - j + 1);
    }
    return { route, requests: most };
  });
  return out.sort((a, b) => b.requests - a.requests).slice(0, 5);
}

/** Events in a sample of promotions' histories and in their coordinators' (every run of it: it continues as new). */
async function historySample(
  client: NeonPromoteClient,
  workflowIds: string[],
  projects: string[],
  n: number,
): Promise<FleetResult['historyEvents']> {
  const k = Math.min(n, workflowIds.length);
  let promote = 0;
  let coordinator = 0;
  for (let i = 0; i < k; i++) {
    const h = await client.temporal.workflow.getHandle(workflowIds[i]!).fetchHistory();
    promote += h.events?.length ?? 0;
    const coordId = coordinatorWorkflowId(projects[i]!);
    for await (const run of client.temporal.workflow.list({ query: `WorkflowId = '${coordId}'` })) {
      const ch = await client.temporal.workflow.getHandle(coordId, run.runId).fetchHistory();
      coordinator += ch.events?.length ?? 0;
    }
  }
  return { promote: round(promote / k, 1), coordinator: round(coordinator / k, 1), sampled: k };
}
