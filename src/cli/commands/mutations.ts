import type { Command } from 'commander';
import { z } from '../../shared/zod';
import * as inputs from '../../workflows/contract/inputs';
import { checksFromFlags } from '../checks';
import { checked, follow, projectInput, runId, startOptions, withClient, type Ctx } from '../context';
import { EXIT } from '../exit';
import { load } from '../lazy';
import { validated } from '../../client/input-errors';

type ProjectFlags = { project?: string; prod?: string; dev?: string; database?: string; role?: string };
type RunFlags = ProjectFlags & { wait?: boolean; ifBusy?: string; workflowId?: string };
type CheckFlags = { check?: string[]; checksFile?: string; tablesExist?: string; healthUrl?: string };

const collect = (value: string, previous: string[] = []) => [...previous, value];
/** A repeatable option that also takes a comma-separated list (an empty item is kept: the schema refuses it). */
const collectList = (value: string, previous: string[] = []) => [
  ...previous,
  ...value.split(',').map((item) => item.trim()),
];

function projectOptions(command: Command): Command {
  return command
    .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
    .option('--prod <name>', 'name of the prod branch', undefined)
    .option('--dev <name>', 'name of the dev branch', undefined)
    .option('--database <name>', 'database the checks run in (default neondb)')
    .option('--role <name>', 'role the checks connect as (default neondb_owner)');
}

function runOptions(command: Command): Command {
  return projectOptions(command)
    .option('--wait', 'wait for the run, showing its steps, and exit by its outcome')
    .option('--if-busy <queue|refuse>', 'when the project has a run: wait for it (queue) or fail at once (refuse)')
    .option('--workflow-id <id>', 'the run ID to use (default: generated)');
}

function checkOptions(command: Command, prefix = ''): Command {
  return command
    .option(
      `--${prefix}check <"[name:] SQL => EXPECT">`,
      'SQL check; EXPECT: rows N | rows >= N | >= N | is VALUE',
      collect,
    )
    .option(`--${prefix}checks-file <file>`, 'JSON array of checks')
    .option(`--${prefix}tables-exist <t1,t2>`, 'tables that must exist')
    .option(`--${prefix}health-url <url>`, 'HTTP URL that must answer 2xx');
}

/** setup, promote, approve/reject, refresh, rollback, cancel. */
export function registerMutations(program: Command): void {
  runOptions(program.command('setup').description("make dev an isolated root branch with prod's data; protect prod"))
    .option('--no-protect', 'leave prod unprotected')
    .action(async (flags: RunFlags & { protect: boolean }, cmd: Command) => {
      const input = checked(inputs.setupInput(), { ...projectInput(flags), protectProd: flags.protect });
      const start = startOptions(flags);
      await withClient(cmd, async (ctx) =>
        follow(ctx, 'setup', await ctx.client.startSetup(input, start), Boolean(flags.wait)),
      );
    });

  const promote = checkOptions(checkOptions(runOptions(program.command('promote'))), 'post-swap-')
    .description('replace prod with a verified snapshot of dev (rolls back by itself if prod fails its checks)')
    .option('--dry-run', 'plan only: resolve branches, check quota, show the schema diff')
    .option('--approve-required', 'wait for `neon-promote approve` before touching prod')
    .option('--approval-timeout <duration>', 'how long to wait for approval (e.g. 2h; default 24h)')
    .option(
      '--write-policy <fence|abort|reconcile|ignore>',
      "prod's writes during the promotion itself (rollback snapshot to swap): refuse them (fence, the default), " +
        'stop (abort), carry the --reconcile-table tables (reconcile) or lose them (ignore)',
    )
    .option(
      '--reconcile-table <table:key1,key2[:timestampColumn]>',
      'table whose writes on prod since dev was forked are carried into the new prod (any --write-policy but ignore, which only counts them)',
      collect,
    )
    .option(
      '--discard-prod-writes <table>',
      "table whose writes on prod since dev was forked the new prod may lose on purpose (repeatable or t1,t2; '*': all, and no fork point needed)",
      collectList,
    )
    .option(
      '--fence-timeout <duration>',
      'fence: the longest prod stays read-only before the swap starts, then the run lifts it and stops (default 5m)',
    )
    .option('--on-conflict <keep_prod|keep_dev|fail>', 'reconcile conflict rule (default keep_prod)')
    .option('--strategy <snapshot|migrations>', "replace prod (snapshot) or apply dev's pending migrations")
    .option('--migrations-folder <path>', "SQL files on the worker (strategy migrations; default: dev's ledger table)")
    .option('--notify-url <url>', 'webhook called with the outcome')
    .option('--requested-by <who>', 'recorded in the run');
  promote.action(async (flags: RunFlags & CheckFlags & PromoteFlags, cmd: Command) => {
    const input = checked(inputs.promoteInput(), promoteInput(flags));
    const approvalTimeoutMs = validated(inputs.promoteInput(), input).approval?.timeout;
    const start = startOptions(flags);
    await withClient(cmd, async (ctx) =>
      follow(ctx, 'promote', await ctx.client.startPromotion(input, start), Boolean(flags.wait), {
        approvalTimeoutMs,
      }),
    );
  });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(`${decision} <run>`)
      .description(`${decision} a promotion waiting for approval`)
      .requiredOption('--by <who>', 'who decides (recorded in the run)')
      .option('--comment <text>')
      .action(async (run: string, flags: { by: string; comment?: string }, cmd: Command) => {
        checked(decisionSchema, { run, by: flags.by });
        await withClient(cmd, async (ctx) => {
          const ended = await endedRun(ctx, run);
          if (ended) {
            if (ctx.json) ctx.emit({ workflowId: run, decided: false, ...ended });
            else ctx.term.line(`${run} ${endedText(ended)}: nothing to ${decision}`);
            return EXIT.refused;
          }
          const recorded = await ctx.client[decision](run, flags.by, flags.comment);
          if (ctx.json) ctx.emit(recorded);
          else ctx.term.line(`${recorded.approved ? 'approved' : 'rejected'} by ${recorded.by} at ${recorded.at}`);
          return EXIT.ok;
        });
      });
  }

  checkOptions(runOptions(program.command('refresh')))
    .description('replace dev with a snapshot of prod (refuses when dev holds unpromoted changes, unless --force)')
    .option('--force', 'refresh even if dev holds changes never promoted (they are lost from dev)')
    .action(async (flags: RunFlags & CheckFlags & { force?: boolean }, cmd: Command) => {
      const input = checked(inputs.refreshInput(), {
        ...projectInput(flags),
        force: Boolean(flags.force),
        checks: checksFromFlags(flags),
      });
      const start = startOptions(flags);
      await withClient(cmd, async (ctx) =>
        follow(ctx, 'refresh', await ctx.client.startRefresh(input, start), Boolean(flags.wait)),
      );
    });

  checkOptions(runOptions(program.command('rollback')))
    .description('restore prod from a snapshot (default: the latest pre-promotion snapshot)')
    .option('--snapshot <id>', 'snapshot ID to restore')
    .option('--snapshot-name <name>', 'snapshot name to restore')
    .action(async (flags: RunFlags & CheckFlags & { snapshot?: string; snapshotName?: string }, cmd: Command) => {
      const input = checked(inputs.rollbackInput(), {
        ...projectInput(flags),
        ...(flags.snapshot ? { snapshotId: flags.snapshot } : {}),
        ...(flags.snapshotName ? { snapshotName: flags.snapshotName } : {}),
        checks: checksFromFlags(flags),
      });
      const start = startOptions(flags);
      await withClient(cmd, async (ctx) =>
        follow(ctx, 'rollback', await ctx.client.startRollback(input, start), Boolean(flags.wait)),
      );
    });

  program
    .command('cancel <run>')
    .description('cancel a run: before the swap it cleans up, after it prod is rolled back')
    .action(async (run: string, _flags: unknown, cmd: Command) => {
      checked(z.object({ run: runId }), { run });
      await withClient(cmd, async (ctx) => {
        const ended = await endedRun(ctx, run);
        if (ended) {
          // Cancelling a cancelled run is done already; any other ended run cannot be cancelled any more.
          const already = ended.status === 'CANCELLED';
          if (ctx.json) ctx.emit({ workflowId: run, cancelRequested: false, ...ended });
          else ctx.term.line(`${run} ${endedText(ended)}: ${already ? 'nothing to cancel' : 'too late to cancel it'}`);
          return already ? EXIT.ok : EXIT.refused;
        }
        await ctx.client.cancel(run);
        if (ctx.json) ctx.emit({ workflowId: run, cancelRequested: true });
        else
          ctx.term.line(
            `cancellation requested for ${run}: it cleans up (or, after its swap, rolls prod back); ` +
              `follow it with: neon-promote status ${run} --follow`,
          );
        return EXIT.ok;
      });
    });
}

/** A run that has ended: its Temporal status and, for runs of ours, the outcome; undefined while it runs. */
async function endedRun(ctx: Ctx, run: string): Promise<{ status: string; outcome: string | null } | undefined> {
  const { NeonOutcome } = load.searchAttributes();
  const description = await ctx.client.temporal.workflow.getHandle(run).describe();
  if (description.status.name === 'RUNNING') return undefined;
  return { status: description.status.name, outcome: description.typedSearchAttributes.get(NeonOutcome) ?? null };
}

const endedText = (ended: { status: string; outcome: string | null }) =>
  `has ended (${ended.status.toLowerCase()}${ended.outcome ? `, ${ended.outcome}` : ''})`;

type PromoteFlags = {
  dryRun?: boolean;
  approveRequired?: boolean;
  approvalTimeout?: string;
  writePolicy?: string;
  fenceTimeout?: string;
  reconcileTable?: string[];
  discardProdWrites?: string[];
  onConflict?: string;
  strategy?: string;
  migrationsFolder?: string;
  notifyUrl?: string;
  requestedBy?: string;
  postSwapCheck?: string[];
  postSwapChecksFile?: string;
  postSwapTablesExist?: string;
  postSwapHealthUrl?: string;
};

/** Flags to the promote input; the workflow's zod schema validates the result (client-side, before anything starts). */
function promoteInput(flags: RunFlags & CheckFlags & PromoteFlags) {
  const tables = (flags.reconcileTable ?? []).map((spec) => {
    const [table, keys, timestampColumn] = spec.split(':');
    return { table, key: (keys ?? '').split(',').filter(Boolean), ...(timestampColumn ? { timestampColumn } : {}) };
  });
  return {
    ...projectInput(flags),
    checks: checksFromFlags(flags),
    postSwapChecks: checksFromFlags({
      check: flags.postSwapCheck,
      checksFile: flags.postSwapChecksFile,
      tablesExist: flags.postSwapTablesExist,
      healthUrl: flags.postSwapHealthUrl,
    }),
    dryRun: Boolean(flags.dryRun),
    ...(flags.approveRequired
      ? { approval: { required: true, ...(flags.approvalTimeout ? { timeout: flags.approvalTimeout } : {}) } }
      : {}),
    ...(flags.writePolicy ? { writePolicy: flags.writePolicy } : {}),
    ...(flags.fenceTimeout ? { fenceTimeout: flags.fenceTimeout } : {}),
    ...(tables.length ? { reconcile: { tables, ...(flags.onConflict ? { onConflict: flags.onConflict } : {}) } } : {}),
    ...(flags.discardProdWrites ? { discardProdWrites: flags.discardProdWrites } : {}),
    ...(flags.strategy ? { strategy: flags.strategy } : {}),
    ...(flags.migrationsFolder ? { migrations: { source: { kind: 'folder', path: flags.migrationsFolder } } } : {}),
    ...(flags.notifyUrl ? { notify: { url: flags.notifyUrl } } : {}),
    ...(flags.requestedBy ? { requestedBy: flags.requestedBy } : {}),
  } as inputs.PromoteInput;
}

/** approve/reject: the run's gate refuses the same `by` (the comment it truncates, so any comment goes). */
const decisionSchema = z.object({
  run: runId,
  by: z.string().check(
    z.maxLength(200),
    z.refine((by) => by.trim() !== '', 'who decides (1-200 characters)'),
  ),
});
