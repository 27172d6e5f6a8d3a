import type { Command } from 'commander';
import type { ScheduleInfo, ScheduleKind } from '../../client/schedules';
import { InvalidInputError } from '../../client/input-errors';
import { janitorInput, refreshInput } from '../../workflows/contract/inputs';
import { checked, projectOf, withClient } from '../context';
import { EXIT } from '../exit';
import { load } from '../lazy';

type Flags = { project?: string };

/** schedule refresh|janitor|list|pause|resume|delete: Temporal Schedules, pausable here and in the UI. */
export function registerSchedules(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('nightly dev refreshes and janitor runs (Temporal Schedules)');
  for (const kind of ['refresh', 'janitor'] as const) {
    schedule
      .command(kind)
      .description(
        kind === 'refresh' ? 'refresh dev from prod on a schedule' : 'clean up expired snapshots and backups',
      )
      .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
      .requiredOption('--cron <expr>', 'cron expression, e.g. "0 3 * * *"')
      .option('--timezone <tz>', 'IANA time zone (default UTC)')
      .option(
        '--if-busy <queue|refuse>',
        'a firing that meets a running promotion waits (queue) or is skipped (refuse)',
      )
      .option('--paused', 'create it paused')
      .option('--force', 'refresh: discard changes on dev that were never promoted')
      .action(
        async (
          flags: Flags & { cron: string; timezone?: string; ifBusy?: string; paused?: boolean; force?: boolean },
          cmd: Command,
        ) => {
          const projectId = projectOf(flags);
          const { settingsSchema } = load.schedules();
          const settings = checked(settingsSchema, {
            cron: flags.cron,
            timezone: flags.timezone,
            ifBusy: flags.ifBusy as 'queue' | 'refuse' | undefined, // checked here
            paused: Boolean(flags.paused),
          });
          const run = { force: Boolean(flags.force) };
          if (kind === 'refresh') checked(refreshInput(), { projectId, ...run });
          else checked(janitorInput(), { projectId });
          await withClient(cmd, async (ctx) => {
            const info =
              kind === 'refresh'
                ? await ctx.client.scheduleRefresh(projectId, { ...settings, run })
                : await ctx.client.scheduleJanitor(projectId, settings);
            show(ctx, [info]);
            return EXIT.ok;
          });
        },
      );
  }

  schedule
    .command('list')
    .description('schedules (of one project with --project)')
    .option('--project <id>', 'Neon project ID')
    .action(async (flags: Flags, cmd: Command) => {
      const projectId = flags.project !== undefined || process.env.NEON_PROJECT_ID ? projectOf(flags) : undefined;
      await withClient(cmd, async (ctx) => {
        show(ctx, await ctx.client.listSchedules(projectId));
        return EXIT.ok;
      });
    });

  const done = { pause: 'paused', resume: 'resumed', delete: 'deleted', trigger: 'fired' } as const;
  for (const action of ['pause', 'resume', 'delete', 'trigger'] as const) {
    schedule
      .command(`${action} <kind>`)
      .description(
        action === 'trigger'
          ? "fire the project's refresh or janitor schedule now (skipped if its previous firing still runs)"
          : `${action} the project's refresh or janitor schedule`,
      )
      .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
      .action(async (kind: string, flags: Flags, cmd: Command) => {
        const scheduled = scheduleKind(kind);
        const projectId = projectOf(flags);
        await withClient(cmd, async (ctx) => {
          if (action === 'delete') await ctx.client.deleteSchedule(projectId, scheduled);
          else if (action === 'pause') await ctx.client.pauseSchedule(projectId, scheduled);
          else if (action === 'trigger') await ctx.client.triggerSchedule(projectId, scheduled);
          else await ctx.client.resumeSchedule(projectId, scheduled);
          if (ctx.json) ctx.emit({ projectId, kind: scheduled, action });
          else ctx.term.line(`${done[action]} the ${scheduled} schedule of ${projectId}`);
          return EXIT.ok;
        });
      });
  }
}

function scheduleKind(kind: string): ScheduleKind {
  if (kind === 'refresh' || kind === 'janitor') return kind;
  throw new InvalidInputError(`schedule kind must be refresh or janitor, not "${kind}"`, 'kind');
}

function show(
  ctx: { json: boolean; emit(value: unknown): void; term: { line(text: string): void } },
  list: ScheduleInfo[],
): void {
  if (ctx.json) return ctx.emit(list);
  if (list.length === 0) return ctx.term.line('no schedules');
  for (const info of list) {
    const next = info.paused ? 'paused' : `next ${info.nextRuns[0] ?? '-'}`;
    ctx.term.line(
      `${info.scheduleId}  ${info.kind.padEnd(8)} "${info.cron}" ${info.timezone}  if busy: ${info.ifBusy}  ${next}`,
    );
  }
}
