import type { Command } from 'commander';
import { z } from '../../shared/zod';
import type { WorkflowExecutionDescription } from '@temporalio/client';
import { sinceForkLines } from '../prod-writes';
import { summaryLines, type RunResult } from '../summary';
import { seconds, type Terminal } from '../terminal';
import { inRunOrder, stepLine, watchRun } from '../watch';
import { checked, projectOf, runId, withClient } from '../context';
import { EXIT, exitForOutcome } from '../exit';
import { load } from '../lazy';

/** status, runs. */
export function registerInspection(program: Command): void {
  program
    .command('status <run>')
    .description("a run's step timeline with durations, and its outcome")
    .option('--follow', 'keep showing steps until the run ends, and exit by its outcome')
    .action(async (run: string, flags: { follow?: boolean }, cmd: Command) => {
      checked(z.object({ run: runId }), { run });
      await withClient(cmd, async (ctx) => {
        const handle = ctx.client.temporal.workflow.getHandle(run);
        const description = await handle.describe();
        const { term } = ctx;
        if (!ctx.json) for (const line of headerLines(term, run, description)) term.line(line);
        if (flags.follow && !ctx.json) {
          await watchRun(ctx.client, ctx.term, run, handle.result()).catch(() => undefined);
        }
        const closed = flags.follow ? await handle.describe() : description;
        // A run whose workflow has no progress query (the project's coordinator), or whose query cannot be answered
        // now (no worker polling, or a worker that cannot run it), still has a status: say why the steps are missing.
        const progress = await ctx.client.getProgress(run).catch((err: unknown) => {
          const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
          return { unavailable: why ?? 'no answer' } as const;
        });
        const result = closed.status.name === 'COMPLETED' ? ((await handle.result()) as RunResult) : null;
        if ('unavailable' in progress) {
          if (ctx.json)
            ctx.emit({ workflowId: run, status: closed.status.name, progress: null, why: progress.unavailable });
          else term.line(`  steps: not available (${progress.unavailable})`);
          return closed.status.name === 'COMPLETED' || closed.status.name === 'RUNNING' ? EXIT.ok : EXIT.failed;
        }
        if (ctx.json)
          ctx.emit({ workflowId: run, status: shownStatus(closed.status.name, progress.outcome), ...progress });
        else {
          if (!flags.follow) for (const step of inRunOrder(progress.steps)) term.line(stepLine(term, step));
          if (progress.queued) term.line('  queued behind earlier runs of the project');
          const command = commandOf(progress.workflowType);
          if (progress.outcome) {
            const took = closed.closeTime ? closed.closeTime.getTime() - closed.startTime.getTime() : null;
            const shown = {
              ...(result ?? {}),
              outcome: progress.outcome,
              reason: progress.reason,
              writes: progress.writes,
            };
            for (const line of summaryLines(term, { workflowId: run, command, tookMs: took }, shown)) term.line(line);
          } else {
            for (const line of sinceForkLines(term, progress.writes)) term.line(line);
          }
        }
        return progress.outcome ? exitForOutcome(progress.outcome, commandOf(progress.workflowType)) : EXIT.ok;
      });
    });

  program
    .command('runs')
    .description("a project's runs, newest first")
    .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
    .option('--type <workflowType>', 'only runs of this type (promote, refreshDev, rollback, ...)')
    .option('--limit <n>', 'at most this many', (value) => Number(value), 20)
    .action(async (flags: { project?: string; type?: string; limit: number }, cmd: Command) => {
      const projectId = projectOf(flags);
      const { listOptions } = load.runs();
      const options = checked(listOptions, { type: flags.type, limit: flags.limit });
      await withClient(cmd, async (ctx) => {
        const runs = await ctx.client.listRuns(projectId, options);
        if (ctx.json) ctx.emit(runs);
        else if (runs.length === 0) ctx.term.line('no runs');
        else
          for (const summary of runs) {
            const state = (summary.outcome ?? summary.phase ?? '').padEnd(12);
            const { startTime, type, workflowId, status } = summary;
            ctx.term.line(`${startTime}  ${type.padEnd(18)} ${status.padEnd(10)} ${state} ${workflowId}`);
          }
        return EXIT.ok;
      });
    });
}

/** Who the run is and when: its IDs, type, project, Temporal status, start and (once closed) its total time. */
function headerLines(term: Terminal, run: string, description: WorkflowExecutionDescription): string[] {
  const { NeonOutcome, NeonProjectId } = load.searchAttributes();
  const projectId = description.typedSearchAttributes.get(NeonProjectId) ?? '-';
  const status = shownStatus(description.status.name, description.typedSearchAttributes.get(NeonOutcome));
  const closed = description.closeTime
    ? `, closed ${description.closeTime.toISOString()} (${seconds(description.closeTime.getTime() - description.startTime.getTime())})`
    : '';
  return [
    `${term.bold(description.type)} ${run}  ${status}`,
    term.dim(
      `  project ${projectId}; run ID ${description.runId}; started ${description.startTime.toISOString()}${closed}`,
    ),
  ];
}

/** The CLI command a workflow type belongs to (for its exit code). */
const commandOf = (workflowType: string) => (workflowType === 'rollback' ? 'rollback' : workflowType);

/**
 * REFUSED for a run that changed nothing: Temporal ends a refused run as failed (it threw) and an aborted promotion as
 * completed. Like RunSummary.status of `runs`.
 */
const shownStatus = (temporalStatus: string, outcome: string | null | undefined): string =>
  outcome === 'refused' || outcome === 'aborted' ? 'REFUSED' : temporalStatus;
