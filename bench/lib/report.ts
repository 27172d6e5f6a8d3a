/** Turns the phases' measurements into the summary (JSON) and the side-by-side table (stdout). */
import type { FleetResult } from '../fleet';
import type { LatencyResult } from '../latency';
import { floorOf } from './floor';
import { BREAKDOWN_PARTS } from './history';
import type { PromotionRun } from './runs';
import { percentile, round } from './stats';

export type SizeSummary = {
  sizeMb: number;
  dataMb: number;
  reps: number;
  wallMs: { ours: { p50: number; p95: number }; guide: { p50: number; p95: number }; ratioP50: number };
  /** p50 of each part, ours and guide. */
  parts: Record<'ours' | 'guide', { neonMs: number; checksMs: number; overheadMs: number }>;
  prod: Record<
    'ours' | 'guide',
    { longestGapMsMax: number; unansweredMsP50: number; unansweredMsMax: number; errors: number }
  >;
  calls: { ours: number; guide: number; floor: number; oursExtraPolls: number };
  /** Ours: p50 of each part of the overhead (PromotionRun.overheadSplit). */
  overheadSplit: Record<string, number>;
  /** Ours: p50 of each part of the history breakdown (bench/lib/history.ts), and of the counts. */
  temporal: Record<string, number> | null;
};

const p50 = (xs: number[]) => percentile(xs, 50);

/** The overhead's parts (PromotionRun.overheadSplit), in the order the report shows them. */
const SPLIT_PARTS = ['pollSlackMs', 'writeSafetyMs', 'planMs', 'restMs'] as const;

export function summarizeLatency(l: LatencyResult): SizeSummary[] {
  return [...new Set(l.runs.map((r) => r.sizeMb))].map((sizeMb) => {
    const of = (who: PromotionRun['who']) => l.runs.filter((r) => r.sizeMb === sizeMb && r.who === who);
    const [ours, guide] = [of('ours'), of('guide')];
    const wall = (rs: PromotionRun[]) => ({
      p50: p50(rs.map((r) => r.wallMs)),
      p95: percentile(
        rs.map((r) => r.wallMs),
        95,
      ),
    });
    const parts = (rs: PromotionRun[]) => ({
      neonMs: round(p50(rs.map((r) => r.neonMs))),
      checksMs: round(p50(rs.map((r) => r.checksMs))),
      overheadMs: round(p50(rs.map((r) => r.overheadMs))),
    });
    const prod = (rs: PromotionRun[]) => ({
      longestGapMsMax: Math.max(...rs.map((r) => r.probe.longestGapMs)),
      unansweredMsP50: p50(rs.map((r) => r.probe.unansweredMs)),
      unansweredMsMax: Math.max(...rs.map((r) => r.probe.unansweredMs)),
      errors: rs.reduce((s, r) => s + r.probe.errors, 0),
    });
    return {
      sizeMb,
      dataMb: l.dataMb[String(sizeMb)] ?? sizeMb,
      reps: ours.length,
      wallMs: { ours: wall(ours), guide: wall(guide), ratioP50: round(wall(ours).p50 / wall(guide).p50, 3) },
      parts: { ours: parts(ours), guide: parts(guide) },
      prod: { ours: prod(ours), guide: prod(guide) },
      calls: {
        ours: p50(ours.map((r) => r.calls)),
        guide: p50(guide.map((r) => r.calls)),
        floor: p50(ours.map(floorOf)),
        oursExtraPolls: p50(ours.map((r) => r.extraPolls)),
      },
      temporal: temporalParts(ours),
      overheadSplit: Object.fromEntries(SPLIT_PARTS.map((k) => [k, round(p50(ours.map((r) => r.overheadSplit[k])))])),
    };
  });
}

function temporalParts(rs: PromotionRun[]): Record<string, number> | null {
  const with_ = rs.filter((r) => r.temporal);
  if (!with_.length) return null;
  const keys = [...BREAKDOWN_PARTS, 'activities', 'workflowTasks', 'localActivities'] as const;
  return Object.fromEntries(keys.map((k) => [k, p50(with_.map((r) => r.temporal![k]))]));
}

/** The figures `bench/results/latest-summary.json` holds (null: this run did not measure it). */
export type BenchSummary = {
  command: string;
  date: string;
  /** Ours, API calls per promotion at the smallest size, p50 from the worker's second promotion on. */
  callsP50: number | null;
  /** Ours, the worker's first promotion (its settle loop still learning the operations' durations). */
  callsFirst: number | null;
  guideCalls: number | null;
  /** The fewest calls a promotion needs (bench/lib/floor.ts), p50. */
  callsFloor: number | null;
  /** Wall time ours / guide at the smallest size, p50. */
  ratioP50: number | null;
  overheadMsP50: number | null;
  overheadSplitMsP50: Record<string, number> | null;
  promotionsPerMinuteAt700: { ours: number | null; guide: number | null };
  sharedBudgetFleet: {
    workers: number;
    projects: number;
    promoted: number;
    busiest60s: number;
    busiestSecondPerRoute: { route: string; requests: number } | null;
    r429: number;
  } | null;
  fleet1000PeakRssMb: number | null;
};

/**
 * What `bench/results/latest-summary.json` holds: exactly these keys, null where the run did not measure a figure.
 * `busiestSecondPerRoute`: the most requests any one route received within a sliding second.
 */
export function latestSummary(s: BenchSummary) {
  const f = s.sharedBudgetFleet;
  return {
    callsP50: s.callsP50,
    callsFirst: s.callsFirst,
    guideCalls: s.guideCalls,
    ratioP50: s.ratioP50,
    overheadMsP50: s.overheadMsP50,
    promotionsPerMinuteAt700: s.promotionsPerMinuteAt700,
    sharedBudgetFleet: f
      ? {
          workers: f.workers,
          busiest60s: f.busiest60s,
          busiestSecondPerRoute: f.busiestSecondPerRoute?.requests ?? null,
          r429: f.r429,
        }
      : null,
    fleet1000PeakRssMb: s.fleet1000PeakRssMb,
  };
}

const perMinute = (calls: number | null) => (calls ? round(BUDGET_PER_MINUTE / calls, 1) : null);
const BUDGET_PER_MINUTE = 700;

export function benchSummary(
  command: string,
  date: string,
  latency: LatencyResult | undefined,
  sizes: SizeSummary[],
  fleets: FleetResult[],
): BenchSummary {
  const size = sizes.length ? Math.min(...sizes.map((s) => s.sizeMb)) : null;
  const at = sizes.find((s) => s.sizeMb === size);
  const ours = latency?.runs.filter((r) => r.who === 'ours') ?? [];
  // The worker's first promotion is the first of ours in the run, whatever its size.
  const later = ours.slice(1).filter((r) => r.sizeMb === size);
  const callsP50 = later.length ? p50(later.map((r) => r.calls)) : null;
  const guideCalls = at?.calls.guide ?? null;
  const shared = fleets.find((f) => f.budgetPerMinute && f.workers > 1);
  const big = fleets.find((f) => f.projects === 1000 && !f.budgetPerMinute);
  return {
    command,
    date,
    callsP50,
    callsFirst: ours[0]?.calls ?? null,
    guideCalls,
    callsFloor: at?.calls.floor ?? null,
    ratioP50: at?.wallMs.ratioP50 ?? null,
    overheadMsP50: at?.parts.ours.overheadMs ?? null,
    overheadSplitMsP50: at?.overheadSplit ?? null,
    promotionsPerMinuteAt700: { ours: perMinute(callsP50), guide: perMinute(guideCalls) },
    sharedBudgetFleet: shared
      ? {
          workers: shared.workers,
          projects: shared.projects,
          promoted: shared.promoted,
          busiest60s: shared.requestsPerMinute.busiest60s,
          busiestSecondPerRoute: shared.busiestSecondPerRoute[0] ?? null,
          r429: shared.http429,
        }
      : null,
    fleet1000PeakRssMb: big ? big.worker.peakRssMb : null,
  };
}

/** The issue's figures side by side: calls, what 700 requests a minute allow, the overhead, the shared budget. */
export function renderSummary(s: BenchSummary): string {
  const out: string[] = [];
  out.push('Side by side: API calls per promotion and promotions a minute at 700 requests a minute\n');
  out.push(
    table(
      ['', 'calls p50 (2nd on)', 'first', 'floor', 'promotions/min @700'],
      [
        ['ours', s.callsP50 ?? '-', s.callsFirst ?? '-', s.callsFloor ?? '-', s.promotionsPerMinuteAt700.ours ?? '-'],
        ["guide's script", s.guideCalls ?? '-', '', '', s.promotionsPerMinuteAt700.guide ?? '-'],
      ],
    ),
  );
  if (s.overheadMsP50 !== null) {
    const split = Object.entries(s.overheadSplitMsP50 ?? {})
      .map(([k, v]) => `${k.replace(/Ms$/, '')} ${v}`)
      .join(', ');
    out.push(`\nOverhead p50: ${s.overheadMsP50} ms (${split}); wall time ours/guide p50: ${s.ratioP50}`);
  }
  const f = s.sharedBudgetFleet;
  if (f) {
    const route = f.busiestSecondPerRoute;
    out.push(
      `\nShared budget: ${f.promoted}/${f.projects} promoted by ${f.workers} worker processes sharing 700/min, 40/s per ` +
        `route: busiest 60 s ${f.busiest60s} requests, busiest second ${route ? `${route.requests} (${route.route})` : '-'}, ` +
        `429s ${f.r429}`,
    );
  }
  const rss = s.fleet1000PeakRssMb;
  out.push(`\nFleet of 1,000 on one worker, peak RSS: ${rss === null ? 'not measured in this run' : `${rss} MB`}`);
  return out.join('\n');
}

export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const widths = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

export function renderTables(sizes: SizeSummary[], fleets: FleetResult[]): string {
  const out: string[] = [];
  if (sizes.length) {
    out.push('Promotion latency, prod reachability and API calls (ours vs the guide, same emulator)\n');
    const rows = sizes.flatMap((s) => [
      [
        `${s.sizeMb} MB ours`,
        s.wallMs.ours.p50,
        s.wallMs.ours.p95,
        s.wallMs.ratioP50,
        s.parts.ours.neonMs,
        s.parts.ours.checksMs,
        s.parts.ours.overheadMs,
        s.prod.ours.longestGapMsMax,
        s.prod.ours.unansweredMsMax,
        s.calls.ours,
        s.calls.floor,
      ],
      [
        `${s.sizeMb} MB guide`,
        s.wallMs.guide.p50,
        s.wallMs.guide.p95,
        '',
        s.parts.guide.neonMs,
        s.parts.guide.checksMs,
        s.parts.guide.overheadMs,
        s.prod.guide.longestGapMsMax,
        s.prod.guide.unansweredMsMax,
        s.calls.guide,
        '',
      ],
    ]);
    out.push(
      table(
        [
          'run',
          'p50 ms',
          'p95 ms',
          'ratio',
          'neon ms',
          'checks ms',
          'overhead ms',
          'max gap ms',
          'unanswered ms (max)',
          'calls',
          'floor',
        ],
        rows,
      ),
    );
    out.push("\nOurs' overhead, split (p50 of each part, ms; the parts' p50s need not add up to the overhead's)\n");
    out.push(
      table(
        ['size', 'overhead', 'poll slack', 'fence/check/lift', 'plan', 'rest (Temporal, code)'],
        sizes.map((s) => [
          `${s.sizeMb} MB`,
          s.parts.ours.overheadMs,
          ...SPLIT_PARTS.map((k) => s.overheadSplit[k] ?? ''),
        ]),
      ),
    );
    const parts = sizes.filter((s) => s.temporal);
    if (parts.length) {
      out.push("\nWhere ours' wall time goes, from the promote run's history (p50 of each part, ms)\n");
      const keys = [...BREAKDOWN_PARTS, 'activities', 'workflowTasks', 'localActivities'];
      out.push(
        table(
          ['size', ...keys],
          parts.map((s) => [`${s.sizeMb} MB`, ...keys.map((k) => s.temporal![k] ?? '')]),
        ),
      );
    }
  }
  if (fleets.length) {
    out.push('\nFleet: promotions at once on one worker (memory-mode emulator)\n');
    const rows = fleets.map((f) => [
      `${f.projects}${f.budgetPerMinute ? ` @${f.budgetPerMinute}/min` : ''}${f.workers > 1 ? ` on ${f.workers} workers` : ''}`,
      `${f.promoted}/${f.projects}${f.unfinished ? ` (${f.unfinished} unfinished)` : ''}`,
      f.seconds,
      f.promotionsPerSecond,
      f.worker.peakRssMb,
      `${f.worker.meanCores}/${f.worker.peakCores}`,
      `${f.historyEvents.promote}+${f.historyEvents.coordinator}`,
      f.callsPerPromotion,
      f.requestsPerMinute.mean,
      f.requestsPerMinute.busiest60s,
      // The busiest sliding minute against the budget: the mean over a run whose last seconds carry only its tail
      // can pass 100% without any minute doing so.
      f.budgetPerMinute ? `${round((100 * f.requestsPerMinute.busiest60s) / f.budgetPerMinute)}%` : '',
      f.http429,
    ]);
    out.push(
      table(
        [
          'projects',
          'promoted',
          's',
          'promo/s',
          'RSS MB',
          'cores mean/peak',
          'events',
          'calls/promo',
          'req/min',
          'busiest 60s',
          'budget used (busiest 60s)',
          '429s',
        ],
        rows,
      ),
    );
    out.push('\nCPU seconds during each fleet: the worker by thread, the Temporal dev server, the emulator\n');
    for (const f of fleets) {
      const threads = Object.entries(f.cpu.worker)
        .sort((a, b) => b[1] - a[1])
        .map(([name, s]) => `${name} ${s}`)
        .join(', ');
      const label = `${f.projects}${f.budgetPerMinute ? ` @${f.budgetPerMinute}/min` : ''}${f.workers > 1 ? ` (first of ${f.workers} workers)` : ''}`;
      out.push(
        `${label}: worker ${round(f.worker.cpuSec)} (${threads}); dev server ${f.cpu.devServer}; emulator ${f.cpu.emulator}`,
      );
    }
  }
  return out.join('\n');
}
