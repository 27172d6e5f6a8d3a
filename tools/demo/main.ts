/**
 * `npm run demo`: the whole story of neon-promote on one machine. It uses the stack of `npm run dev` when that runs,
 * else starts its own (Temporal dev server with its state in .data, the Neon emulator with real Postgres, a worker),
 * creates a sample project and runs setup, a preview, form submissions on prod while dev is edited, a promotion that
 * carries them, one that is rolled back, a rollback, a dev refresh and a promotion under live writes, checking prod's
 * data through its unchanged connection string after each step. Exits 1 if any step is red.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { NeonPromoteClient } from '../../src/client';
import { REPO_ROOT } from '../temporal-cli';
import { messageOf, runStory, storyContext, type StepReport } from './runner';
import { DemoSetupError, openDemoStack, type DemoStack } from './stack';
import { STORY } from './story';
import { counterBy, printSummary, scrape } from './summary';
import { seconds, terminal } from '../../src/cli/terminal';

const DEFAULT_DATA_DIR = join(REPO_ROOT, '.data');
const { values: args } = parseArgs({
  options: {
    'data-dir': { type: 'string', default: DEFAULT_DATA_DIR },
    'temporal-port': { type: 'string', default: '7233' },
    'ui-port': { type: 'string', default: '8233' },
    'emulator-port': { type: 'string', default: '7800' },
    'metrics-port': { type: 'string', default: '9464' },
  },
});

async function main(): Promise<number> {
  const term = terminal();
  const started = Date.now();
  term.line(term.bold('neon-promote demo'));
  const stack = await openDemoStack({
    dataDir: args['data-dir'],
    temporalPort: Number(args['temporal-port']),
    uiPort: Number(args['ui-port']),
    emulatorPort: Number(args['emulator-port']),
    metricsPort: Number(args['metrics-port']),
    log: (l) => term.line(term.dim(l)),
  });
  term.line(
    stack.reused
      ? `using the running local stack (npm run dev): Temporal ${stack.temporalAddress}, Neon emulator ${stack.neon.baseUrl}`
      : `started a local stack: Temporal ${stack.temporalAddress}, Neon emulator ${stack.neon.baseUrl}, a worker`,
  );
  let reports: StepReport[] = [];
  let projectId: string | undefined;
  try {
    const client = await NeonPromoteClient.connect({
      temporal: { address: stack.temporalAddress, namespace: 'default' },
      taskQueue: stack.taskQueue,
    });
    try {
      const before = await promotionCounts(stack);
      const ctx = storyContext(client, stack.neon, term);
      reports = await runStory(ctx, STORY);
      projectId = ctx.projectId;
      if (before) reports.push(await metricsStep(stack, before));
    } finally {
      await client.close();
    }
  } finally {
    await stack.stop();
  }
  printSummary(term, reports);
  const query = projectId ? `?query=${encodeURIComponent(`NeonProjectId="${projectId}"`)}` : '';
  const ui = `${stack.uiUrl}/namespaces/default/workflows${query}`;
  term.line(`\nEvery run of this demo in the Temporal UI: ${ui}`);
  if (!stack.reused) {
    const again = args['data-dir'] === DEFAULT_DATA_DIR ? '`npm run dev` serves this UI again with them' : 'kept';
    term.line(term.dim(`  (the demo's stack has stopped; its runs are in ${args['data-dir']}: ${again})`));
  }
  if (stack.workerLog) term.line(term.dim(`Worker log (JSON lines): ${stack.workerLog}`));
  const red = reports.filter((r) => !r.ok).length;
  term.line(`demo ${red ? term.red(`FAILED (${red} red)`) : term.green('passed')} in ${seconds(Date.now() - started)}`);
  return red ? 1 : 0;
}

/** The worker's promotion counter by outcome, or undefined when its metrics cannot be read. */
async function promotionCounts(stack: DemoStack): Promise<Record<string, number> | undefined> {
  if (!stack.metricsUrl) return undefined;
  return counterBy(await scrape(stack.metricsUrl), 'neon_promote_promotions_total', 'outcome');
}

/** The story made two promotions that promoted and one that rolled back: the worker's metrics must say so too. */
async function metricsStep(stack: DemoStack, before: Record<string, number>): Promise<StepReport> {
  const t0 = Date.now();
  const moved = (after: Record<string, number>, k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  let after: Record<string, number> = {};
  // Workflow metrics reach the exporter with the workflow task that completed the run: allow a moment.
  for (let i = 0; i < 20; i++) {
    after = (await promotionCounts(stack)) ?? {};
    if (moved(after, 'promoted') >= 2 && moved(after, 'rolled_back') >= 1) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  const ok = moved(after, 'promoted') === 2 && moved(after, 'rolled_back') === 1;
  const note = `neon_promote_promotions_total promoted +${moved(after, 'promoted')}, rolled_back +${moved(after, 'rolled_back')} (${stack.metricsUrl})`;
  return { name: 'metrics', outcome: ok ? 'counted' : 'mismatch', ok, note, durationMs: Date.now() - t0, prod: '' };
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const line = err instanceof DemoSetupError ? err.message : `demo failed: ${messageOf(err)}`;
    console.error(line);
    if (!(err instanceof DemoSetupError) && process.env.NEON_PROMOTE_DEBUG) console.error(err);
    process.exit(1);
  },
);
