import type { Command } from 'commander';
import { z } from 'zod';
import { listOptions } from '../../client/runs';
import type { StepRecord } from '../../workflows/contract/definitions';
import { sinceForkLines } from '../prod-writes';
import { seconds, type Terminal } from '../terminal';
import { watchRun } from '../watch';
import { checked, projectOf, runId, withClient } from '../context';
import { EXIT, exitForOutcome } from '../exit';

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
        if (flags.follow && !ctx.json)
          await watchRun(ctx.client, ctx.term, run, handle.result()).catch(() => undefined);
        const [progress, description] = await Promise.all([ctx.client.getProgress(run), handle.describe()]);
        if (ctx.json) ctx.emit({ workflowId: run, status: description.status.name, ...progress });
        else {
          const { term } = ctx;
          term.line(
            `${term.bold(progress.workflowType)} ${run}  project ${progress.projectId ?? '-'}  ${description.status.name}`,
          );
          if (!flags.follow) for (const step of progress.steps) term.line(stepLine(term, step));
          if (progress.queued) term.line('  queued behind earlier runs of the project');
          for (const line of sinceForkLines(term, progress.writes)) term.line(line);
          if (progress.outcome)
            term.line(`outcome: ${progress.outcome}${progress.reason ? ` (${progress.reason})` : ''}`);
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
      const options = checked(listOptions, { type: flags.type, limit: flags.limit });
      await withClient(cmd, async (ctx) => {
        const runs = await ctx.client.listRuns(projectId, options);
        if (ctx.json) ctx.emit(runs);
        else if (runs.length === 0) ctx.term.line('no runs');
        else
          for (const summary of runs) {
            const state = (summary.outcome ?? summary.phase ?? '').padEnd(12);
            const { startTime, type, status, workflowId } = summary;
            ctx.term.line(`${startTime}  ${type.padEnd(18)} ${status.padEnd(10)} ${state} ${workflowId}`);
          }
        return EXIT.ok;
      });
    });
}

function stepLine(term: Terminal, step: StepRecord): string {
  const mark =
    step.status === 'done'
      ? term.green('✔')
      : step.status === 'running'
        ? '…'
        : step.status === 'skipped'
          ? term.dim('–')
          : term.red('✘');
  const took = step.endedAt ? seconds(Date.parse(step.endedAt) - Date.parse(step.startedAt)) : 'running';
  const detail = step.detail ? `  ${term.dim(step.detail.slice(0, 100))}` : '';
  return `  ${mark} ${step.name.padEnd(20)} ${took.padStart(8)}${detail}`;
}

/** The CLI command a workflow type belongs to (for its exit code). */
const commandOf = (workflowType: string) => (workflowType === 'rollback' ? 'rollback' : workflowType);
