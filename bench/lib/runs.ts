/** One promotion by each contender, measured the same way: wall time, where it went, API calls, prod's gaps. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { NeonPromoteClient } from '../../src/client';
import { OPERATION_DONE } from '../../src/neon/schemas';
import { historyBreakdown, type Breakdown } from './history';
import { startProbe, type ProbeResult } from './probe';
import { diffCounts, requestCounts, totalCalls, type Phase } from './stack';
import { length, minus, union, type Interval } from './stats';
import type { TapRecord } from './tap';
import type { BenchProject } from './seed';

export type Step = { name: string; start: number; end: number };

export type PromotionRun = {
  who: 'ours' | 'guide';
  sizeMb: number;
  wallMs: number;
  /** Union of API calls in flight and operations running (mutation answered -> its operations due). */
  neonMs: number;
  /** Verification queries against the candidate and prod, outside Neon calls. */
  checksMs: number;
  overheadMs: number;
  /**
   * The overhead split (ours; the guide's is all its own): `pollSlack`, from each operation's end until the poll that
   * saw it done; `writeSafety`, the fence, write check and lift steps outside Neon calls (SQL on prod, their activity
   * round trips); `plan`, the plan step outside Neon calls (EXPLAIN of the checks, local activities); `rest`, the
   * remainder: Temporal round trips between steps, workflow code, pg connects, admission and the result.
   */
  overheadSplit: { pollSlackMs: number; writeSafetyMs: number; planMs: number; restMs: number };
  calls: number;
  callsByRoute: Record<string, number>;
  /** Operation polls beyond the first per operation. */
  extraPolls: number;
  probe: Omit<ProbeResult, 'gaps'> & { gaps: { at: number; ms: number }[] };
  /** Relative to the start, for the timeline chart. */
  steps: Step[];
  api: { route: string; start: number; end: number; status: number }[];
  /** Ours: where the wall time went between the promote run's history events (bench/lib/history.ts). */
  temporal?: Breakdown;
};

type Measured = { wallMs: number; steps: Step[]; checks: Interval[]; temporal?: Breakdown };

async function measure(
  who: PromotionRun['who'],
  phase: Phase,
  project: BenchProject,
  sizeMb: number,
  opDelayMs: number,
  run: (t0: number) => Promise<Measured>,
): Promise<PromotionRun> {
  const probe = startProbe(project.prodUri);
  await probe.ready();
  const before = await requestCounts(phase.emulator);
  const firstRecord = phase.tap.records.length;
  const t0 = Date.now();
  const m = await run(t0);
  const t1 = t0 + m.wallMs;
  const p = await probe.stop();
  const callsByRoute = diffCounts(await requestCounts(phase.emulator), before);
  const records = phase.tap.records.slice(firstRecord).filter((r) => r.start >= t0 && r.end <= t1 + 5);
  const neon = union(neonIntervals(records, opDelayMs), t0, t1);
  const neonMs = length(neon);
  const checksMs = minus(union(m.checks, t0, t1), neon);
  const polled = records.filter(isPoll);
  // The overhead's parts, as intervals outside Neon and the checks, each also outside the ones before it.
  const taken: Interval[] = [...neon, ...union(m.checks, t0, t1)];
  const part = (intervals: Interval[]) => {
    const merged = union(intervals, t0, t1);
    const ms = minus(merged, union(taken));
    taken.push(...merged);
    return ms;
  };
  const steps = (names: string[]) =>
    m.steps.filter((s) => names.includes(s.name)).map((s): Interval => [s.start, s.end]);
  const pollSlackMs = part(pollSlack(records, opDelayMs));
  const writeSafetyMs = part(steps(['fence', 'check_writes', 'lift_fence']));
  const planMs = part(steps(['plan']));
  const overheadMs = m.wallMs - neonMs - checksMs;
  return {
    who,
    sizeMb,
    wallMs: m.wallMs,
    neonMs,
    checksMs,
    overheadMs,
    overheadSplit: {
      pollSlackMs,
      writeSafetyMs,
      planMs,
      restMs: overheadMs - pollSlackMs - writeSafetyMs - planMs,
    },
    calls: totalCalls(callsByRoute),
    callsByRoute,
    extraPolls: polled.length - new Set(polled.map((r) => r.path)).size,
    probe: { ...p, gaps: p.gaps.map((g) => ({ at: g.at - t0, ms: g.ms })) },
    steps: m.steps.map((s) => ({ ...s, start: s.start - t0, end: s.end - t0 })),
    api: records.map((r) => ({ route: r.route, start: r.start - t0, end: r.end - t0, status: r.status })),
    ...(m.temporal ? { temporal: m.temporal } : {}),
  };
}

/** A poll of operations: one by ID, or a page of the project's (the settle loop's poll of several at once). */
export const isPoll = (r: { route: string }): boolean =>
  r.route.endsWith('/operations/{id}') || r.route === 'GET /projects/{id}/operations';

/**
 * When each mutation's operations had all ended (the emulator's fixed delay after its answer) until the first poll
 * that saw the last of them done: what the poll schedule (src/activities/neon/operations.ts, SettleTimes) adds to a
 * promotion. Intervals, so that the caller can merge them and take out what Neon itself was doing meanwhile.
 */
export function pollSlack(records: TapRecord[], opDelayMs: number): Interval[] {
  const out: Interval[] = [];
  for (const m of records.filter((r) => r.operationIds.length)) {
    const due = m.end + opDelayMs;
    const seenAt = m.operationIds.map(
      (id) =>
        records.find((r) => {
          if (r.start < m.end) return false;
          const listed = r.listedStatuses?.[id];
          if (listed !== undefined) return OPERATION_DONE.has(listed);
          return (
            r.route.endsWith('/operations/{id}') &&
            r.path.endsWith(`/${id}`) &&
            r.operationStatus !== undefined &&
            OPERATION_DONE.has(r.operationStatus)
          );
        })?.start,
    );
    if (seenAt.every((t) => t !== undefined)) out.push([due, Math.max(due, ...seenAt)]);
  }
  return out;
}

/** The emulator answers a mutation once its work is done, and its operations end `opDelayMs` later (fixed delay). */
export function neonIntervals(records: TapRecord[], opDelayMs: number): Interval[] {
  const out: Interval[] = records.map((r) => [r.start, r.end]);
  for (const r of records) if (r.operationIds.length) out.push([r.end, r.end + opDelayMs]);
  return out;
}

export function runOurs(
  phase: Phase,
  client: NeonPromoteClient,
  project: BenchProject,
  sizeMb: number,
  opDelayMs: number,
): Promise<PromotionRun> {
  return measure('ours', phase, project, sizeMb, opDelayMs, async (t0) => {
    const run = await client.startPromotion({ projectId: project.projectId }, { summary: 'benchmark' });
    const result = await within(run.result(), 300_000, `promotion ${run.workflowId}`);
    const wallMs = Date.now() - t0;
    if (result.outcome !== 'promoted')
      throw new Error(`promotion ${run.workflowId}: ${result.outcome} ${result.reason}`);
    const progress = await client.getProgress(run.workflowId);
    const steps = progress.steps
      .filter((s) => s.status !== 'skipped' && s.endedAt)
      .map((s) => ({ name: s.name, start: Date.parse(s.startedAt), end: Date.parse(s.endedAt!) }));
    const checks = steps.filter((s) => s.name.startsWith('verify')).map((s): Interval => [s.start, s.end]);
    const temporal = await historyBreakdown(client.temporal, run.workflowId, t0, t0 + wallMs);
    return { wallMs, steps, checks, temporal };
  });
}

/** A stuck workflow task retries forever; the benchmark reports it instead of hanging. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms / 1000} s (see the worker's log)`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}

const SCRIPT = path.join(__dirname, '..', 'baseline', 'guide-promote.sh');

export function runGuide(
  phase: Phase,
  project: BenchProject,
  sizeMb: number,
  opDelayMs: number,
): Promise<PromotionRun> {
  return measure('guide', phase, project, sizeMb, opDelayMs, (t0) => {
    return new Promise<Measured>((resolve, reject) => {
      const child = spawn('bash', [SCRIPT], {
        env: {
          ...process.env,
          NEON_API_KEY: phase.neon.apiKey,
          NEON_API_BASE_URL: phase.neon.baseUrl,
          PROJECT_ID: project.projectId,
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('exit', (code) => {
        const wallMs = Date.now() - t0;
        if (code !== 0) return reject(new Error(`guide script exited ${code}:\n${err.slice(-2000)}`));
        const open = new Map<string, number>();
        const steps: Step[] = [];
        for (const m of err.matchAll(/^STEP (\S+) (start|end) (\d+)$/gm)) {
          if (m[2] === 'start') open.set(m[1]!, Number(m[3]));
          else steps.push({ name: m[1]!, start: open.get(m[1]!) ?? t0, end: Number(m[3]) });
        }
        resolve({ wallMs, steps, checks: [] });
      });
    });
  });
}
