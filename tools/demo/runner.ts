import type { NeonPromoteClient, Run } from '../../src/client';
import type { NeonApi } from './neon';
import { appState, describeState, type AppState } from './sample-app';
import type { Step, StepOutcome } from './story';
import type { Acknowledged } from './submissions';
import { seconds, type Terminal } from '../../src/cli/terminal';
import { watchRun } from '../../src/cli/watch';

export type StoryContext = {
  client: NeonPromoteClient;
  neon: NeonApi;
  term: Terminal;
  projectId?: string;
  /** Prod's connection string as the sample project was created with it; it holds a password: never printed. */
  prodUri?: string;
  firstRollbackSnapshot?: string;
  /** The form submissions prod acknowledged while dev was edited, for the promotion that carries them. */
  submitted?: Acknowledged;
  project(): string;
  /** Awaits a run started through the project's coordinator, showing its steps live. */
  watch<R>(started: Promise<Run<R>>): Promise<R>;
  /** Runs a preview workflow under a known ID, showing its steps live. */
  watchPreview<R>(type: string, start: (workflowId: string) => Promise<R>): Promise<R>;
};

export type StepReport = StepOutcome & { name: string; durationMs: number; prod: string };

export function storyContext(client: NeonPromoteClient, neon: NeonApi, term: Terminal): StoryContext {
  const ctx: StoryContext = {
    client,
    neon,
    term,
    project() {
      if (!ctx.projectId) throw new Error('no sample project (its step failed)');
      return ctx.projectId;
    },
    async watch(started) {
      const run = await started;
      term.line(term.dim(`    run ${run.workflowId}`));
      return watchRun(client, term, run.workflowId, run.result());
    },
    async watchPreview(type, start) {
      const workflowId = `${type}-${ctx.project()}-${Date.now()}`;
      term.line(term.dim(`    run ${workflowId}`));
      return watchRun(client, term, workflowId, start(workflowId));
    },
  };
  return ctx;
}

/** Runs the steps in order; after a red step the rest are reported as not run, since each builds on the last. */
export async function runStory(ctx: StoryContext, steps: Step[]): Promise<StepReport[]> {
  const { term } = ctx;
  const reports: StepReport[] = [];
  for (const [i, step] of steps.entries()) {
    if (reports.some((r) => !r.ok)) {
      reports.push({
        name: step.name,
        outcome: 'not run',
        ok: false,
        note: 'an earlier step failed',
        durationMs: 0,
        prod: '',
      });
      continue;
    }
    term.line(`\n${term.bold(`${i + 1}/${steps.length} ${step.name}`)}: ${step.title}`);
    const started = Date.now();
    let result: StepOutcome;
    let prod = '';
    try {
      result = await step.run(ctx);
      const seen = await appState(ctx.prodUri!);
      prod = describeState(seen);
      const wrong = mismatches(step.prod, seen);
      if (wrong.length) result = { ...result, ok: false, note: `prod: expected ${wrong.join(', ')}` };
    } catch (err) {
      result = { outcome: 'error', ok: false, note: messageOf(err) };
    }
    const report = { name: step.name, ...result, durationMs: Date.now() - started, prod };
    reports.push(report);
    const mark = report.ok ? term.green('✔') : term.red('✘');
    term.line(`  ${mark} ${report.outcome} in ${seconds(report.durationMs)}${report.note ? `: ${report.note}` : ''}`);
    if (prod) term.line(`    prod (same connection string): ${prod}`);
  }
  return reports;
}

function mismatches(expected: Partial<AppState>, seen: AppState): string[] {
  return Object.entries(expected)
    .filter(([k, v]) => seen[k as keyof AppState] !== v)
    .map(([k, v]) => `${k}=${String(v)} (saw ${String(seen[k as keyof AppState])})`);
}

/** The deepest cause's message: a failed workflow's own message only says "Workflow execution failed". */
export function messageOf(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 200);
}
