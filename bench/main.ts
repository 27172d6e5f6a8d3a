/**
 * `npm run bench [-- --quick]`: starts its own stack on loopback (Temporal dev server, emulator, worker) and measures
 * neon-promote against Neon's guide followed literally, then a fleet on one worker. Prints tables, writes
 * bench/results/<time>.json and docs/promotion-timeline.svg. Targets are reported, never asserted.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_MAX_CACHED_WORKFLOWS, workerTuningFromEnv } from '../src/worker';
import { renderCarry, runCarry } from './carry';
import { runFleet, type FleetResult } from './fleet';
import { runLatency, type LatencyResult } from './latency';
import { REPO } from './lib/procs';
import { benchSummary, latestSummary, renderSummary, renderTables, summarizeLatency } from './lib/report';
import { startTemporal, stopTemporal } from './lib/stack';
import { timelineSvg } from './lib/svg';
import { percentile } from './lib/stats';

const usage = `npm run bench -- [options]: neon-promote against Neon's guide followed literally, then fleets

  --quick                    1 MB, 3 repetitions, a fleet of 100, carry on 100,000 rows
  --reps N                   promotions per size and side (default 10)
  --sizes 1,100              database sizes in MB (default 1,100)
  --fleet 100,1000           fleet sizes, each on one worker (default 100,1000)
  --budget-projects N        the fleet run under Neon's request budget, shared by the workers (default 100)
  --budget-workers N         worker processes sharing that budget (default 3)
  --op-delay MS              the emulator's operation time in the latency runs (default 100)
  --fleet-op-delay MIN-MAX   the emulator's operation time in the fleets (default 500-1500)
  --fleet-timeout MIN        minutes a fleet may run (default 12)
  --temporal-config K=V,...  dev server dynamic config on top of the local stack's
  --skip latency,fleet,budget,carry
  --note TEXT                kept in the results file
Environment and method: docs/BENCHMARKS.md.`;

const { values: v } = parseArgs({
  options: {
    help: { type: 'boolean' },
    quick: { type: 'boolean' },
    reps: { type: 'string' },
    sizes: { type: 'string' },
    fleet: { type: 'string' },
    'budget-projects': { type: 'string' },
    'budget-workers': { type: 'string' },
    'op-delay': { type: 'string' },
    'fleet-op-delay': { type: 'string' },
    skip: { type: 'string' },
    note: { type: 'string' },
    'temporal-config': { type: 'string' },
    'fleet-timeout': { type: 'string' },
  },
});
if (v.help) {
  process.stdout.write(`${usage}\n`);
  process.exit(0);
}
const quick = v.quick ?? false;
const skip = new Set((v.skip ?? '').split(',').filter(Boolean));
const config = {
  reps: Number(v.reps ?? (quick ? 3 : 10)),
  sizesMb: (v.sizes ?? (quick ? '1' : '1,100')).split(',').map(Number),
  fleet: (v.fleet ?? (quick ? '100' : '100,1000')).split(',').map(Number),
  // Enough projects that the budgeted run lasts well past a minute, so the per-minute budget is what paces it.
  budgetProjects: Number(v['budget-projects'] ?? 100),
  // Worker processes sharing one account's budget (src/worker/rate-lease.ts), as a deployment scaled out runs.
  budgetWorkers: Number(v['budget-workers'] ?? 3),
  // The emulator's default is 50-150 ms; fixed here so that "time inside Neon" is known exactly.
  opDelayMs: Number(v['op-delay'] ?? 100),
  // Neon's own operations (snapshot, restore, compute start) take about a second.
  fleetOpDelay: v['fleet-op-delay'] ?? '500-1500',
  // Minutes a fleet may run; promotions still running then are terminated and reported as unfinished.
  fleetTimeoutMin: Number(v['fleet-timeout'] ?? 12),
  // The worker under test, as the results record it: compiled or under tsx, and its sticky cache.
  worker: {
    compiled: !process.env.BENCH_WORKER_TSX,
    maxCachedWorkflows: workerTuningFromEnv(process.env)?.maxCachedWorkflows ?? DEFAULT_MAX_CACHED_WORKFLOWS,
  },
  // Dev server dynamic config on top of the local stack's (e.g. system.enableActivityEagerExecution=false).
  temporalConfig: Object.fromEntries(
    (v['temporal-config'] ?? '')
      .split(',')
      .filter(Boolean)
      .map((kv) => {
        const [k, val = ''] = kv.split('=');
        return [k!, val === 'true' ? true : val === 'false' ? false : /^\d+$/.test(val) ? Number(val) : val];
      }),
  ),
};
const log = (l: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${l}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const t = await startTemporal(log, config.temporalConfig);
  let latency: LatencyResult | undefined;
  const fleets: FleetResult[] = [];
  try {
    if (!skip.has('latency')) latency = await runLatency(t, { ...config, log });
    if (!skip.has('fleet'))
      for (const n of config.fleet)
        fleets.push(
          await runFleet(t, {
            projects: n,
            opDelay: config.fleetOpDelay,
            budget: null,
            log,
            timeoutMs: config.fleetTimeoutMin * 60_000,
          }),
        );
    if (!skip.has('budget'))
      fleets.push(
        await runFleet(t, {
          projects: config.budgetProjects,
          opDelay: config.fleetOpDelay,
          budget: { perMinute: 700, perSecondPerRoute: 40 },
          log,
          timeoutMs: config.fleetTimeoutMin * 60_000,
          workers: config.budgetWorkers,
        }),
      );
  } finally {
    await stopTemporal(t);
  }
  // Carrying prod's writes since the fork: its own emulator, no Temporal (bench/carry.ts).
  const carry = skip.has('carry') ? undefined : await runCarry({ rows: quick ? 100_000 : 1_000_000, log });
  const sizes = latency ? summarizeLatency(latency) : [];
  const machine = {
    nproc: os.cpus().length,
    memory: execSync('free -h').toString().split('\n')[1]?.trim(),
    loadavg: os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
    node: process.version,
    date: new Date().toISOString(),
  };
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const summary = benchSummary(command, machine.date, latency, sizes, fleets);
  const result = {
    command,
    machine,
    note: v.note ?? null,
    config,
    seconds: (Date.now() - started) / 1000,
    summary,
    sizes,
    fleets,
    latency,
    carry,
  };
  const dir = path.join(REPO, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${machine.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  // The issue's figures alone, overwritten by every run (null where this run did not measure one).
  writeFileSync(path.join(dir, 'latest-summary.json'), `${JSON.stringify(latestSummary(summary), null, 2)}\n`);
  if (latency) writeChart(latency);
  process.stdout.write(`\n${renderTables(sizes, fleets)}\n\n${renderSummary(summary)}\n\n`);
  if (carry) process.stdout.write(`${renderCarry(carry, quick)}\n\n`);
  process.stdout.write(
    `${command}: ${result.seconds.toFixed(0)} s on ${machine.nproc} cores, load ${machine.loadavg}\n`,
  );
  process.stdout.write(`results: ${path.relative(REPO, file)}\n`);
}

/** The run closest to the median of each contender at the smallest size. */
function writeChart(l: LatencyResult): void {
  const size = Math.min(...l.runs.map((r) => r.sizeMb));
  const pick = (who: 'ours' | 'guide') => {
    const rs = l.runs.filter((r) => r.sizeMb === size && r.who === who);
    const mid = percentile(
      rs.map((r) => r.wallMs),
      50,
    );
    return rs.find((r) => r.wallMs === mid)!;
  };
  const svg = timelineSvg([pick('ours'), pick('guide')], `One promotion, ${size} MB, same emulator (median runs)`);
  mkdirSync(path.join(REPO, 'docs'), { recursive: true });
  writeFileSync(path.join(REPO, 'docs', 'promotion-timeline.svg'), svg);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
