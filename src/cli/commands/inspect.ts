import type { Command } from 'commander';
import { z } from 'zod';
import { listOptions } from '../../client/runs';
import type { StepRecord } from '../../workflows/contract/definitions';
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
    .action(async (run: string, o: { follow?: boolean }, cmd: Command) => {
      checked(z.object({ run: runId }), { run });
      await withClient(cmd, async (ctx) => {
        const handle = ctx.client.temporal.workflow.getHandle(run);
        if (o.follow && !ctx.json) await watchRun(ctx.client, ctx.term, run, handle.result()).catch(() => undefined);
        const [progress, description] = await Promise.all([ctx.client.getProgress(run), handle.describe()]);
        if (ctx.json) ctx.emit({ workflowId: run, status: description.status.name, ...progress });
        else {
          const t = ctx.term;
          t.line(
            `${t.bold(progress.workflowType)} ${run}  project ${progress.projectId ?? '-'}  ${description.status.name}`,
          );
          if (!o.follow) for (const s of progress.steps) t.line(stepLine(t, s));
          if (progress.queued) t.line('  queued behind earlier runs of the project');
          if (progress.outcome) t.line(`outcome: ${progress.outcome}${progress.reason ? ` (${progress.reason})` : ''}`);
        }
        return progress.outcome ? exitForOutcome(progress.outcome, commandOf(progress.workflowType)) : EXIT.ok;
      });
    });

  program
    .command('runs')
    .description("a project's runs, newest first")
    .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
    .option('--type <workflowType>', 'only runs of this type (promote, refreshDev, rollback, ...)')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 20)
    .action(async (o: { project?: string; type?: string; limit: number }, cmd: Command) => {
      const projectId = projectOf(o);
      const opts = checked(listOptions, { type: o.type, limit: o.limit });
      await withClient(cmd, async (ctx) => {
        const runs = await ctx.client.listRuns(projectId, opts);
        if (ctx.json) ctx.emit(runs);
        else if (runs.length === 0) ctx.term.line('no runs');
        else
          for (const r of runs)
            ctx.term.line(
              `${r.startTime}  ${r.type.padEnd(18)} ${r.status.padEnd(10)} ${(r.outcome ?? r.phase ?? '').padEnd(12)} ${r.workflowId}`,
            );
        return EXIT.ok;
      });
    });
}

function stepLine(t: Terminal, s: StepRecord): string {
  const mark =
    s.status === 'done'
      ? t.green('✔')
      : s.status === 'running'
        ? '…'
        : s.status === 'skipped'
          ? t.dim('–')
          : t.red('✘');
  const took = s.endedAt ? seconds(Date.parse(s.endedAt) - Date.parse(s.startedAt)) : 'running';
  return `  ${mark} ${s.name.padEnd(20)} ${took.padStart(8)}${s.detail ? `  ${t.dim(s.detail.slice(0, 100))}` : ''}`;
}

/** The CLI command a workflow type belongs to (for its exit code). */
const commandOf = (workflowType: string) => (workflowType === 'rollback' ? 'rollback' : workflowType);
