/**
 * Parts 1-3: promotion latency, prod unreachability and API calls per promotion, ours against the guide's script, on
 * one data-mode emulator (real Postgres copies) with a fixed operation delay, alternating the two so that machine
 * noise falls on both alike.
 */
import { NeonPromoteClient } from '../src/client';
import { runGuide, runOurs, type PromotionRun } from './lib/runs';
import { seedBenchProject, type BenchProject } from './lib/seed';
import { startPhase, type Temporal } from './lib/stack';

export type LatencyOptions = { sizesMb: number[]; reps: number; opDelayMs: number; log: (l: string) => void };
export type LatencyResult = { opDelayMs: number; dataMb: Record<string, number>; runs: PromotionRun[] };

/** The worker's own rate budget stays out of the way here: one promotion at a time is nowhere near it. */
const UNBOUNDED = { NEON_RATE_PER_MINUTE: '1000000', NEON_RATE_PER_SECOND_PER_ROUTE: '100000' };

export async function runLatency(t: Temporal, o: LatencyOptions): Promise<LatencyResult> {
  const phase = await startPhase({
    temporal: t,
    mode: 'data',
    opDelay: String(o.opDelayMs),
    // Every promotion keeps its rollback snapshot (30 days by default): room for all repetitions.
    snapshotQuota: 500,
    workerEnv: UNBOUNDED,
    label: 'latency',
  });
  try {
    const client = await NeonPromoteClient.connect({ client: t.client, taskQueue: phase.taskQueue });
    const runs: PromotionRun[] = [];
    const dataMb: Record<string, number> = {};
    for (const mb of o.sizesMb) {
      o.log(`latency: seeding two projects with ${mb} MB and setting up dev`);
      const ours: BenchProject = await seedBenchProject(phase.emulator, `ours-${mb}mb`, mb);
      const guide: BenchProject = await seedBenchProject(phase.emulator, `guide-${mb}mb`, mb);
      dataMb[String(mb)] = Math.round(ours.dataMb * 10) / 10;
      for (let rep = 1; rep <= o.reps; rep++) {
        const a = await runOurs(phase, client, ours, mb, o.opDelayMs);
        const b = await runGuide(phase, guide, mb, o.opDelayMs);
        runs.push(a, b);
        o.log(
          `latency ${mb} MB rep ${rep}/${o.reps}: ours ${a.wallMs} ms (${a.calls} calls, prod gap ${a.probe.longestGapMs} ms), ` +
            `guide ${b.wallMs} ms (${b.calls} calls, prod gap ${b.probe.longestGapMs} ms)`,
        );
      }
    }
    return { opDelayMs: o.opDelayMs, dataMb, runs };
  } finally {
    await phase.stop();
  }
}
