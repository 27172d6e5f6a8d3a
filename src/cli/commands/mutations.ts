import type { Command } from 'commander';
import { z } from 'zod';
import * as inputs from '../../workflows/contract/inputs';
import { checksFromFlags } from '../checks';
import { checked, follow, projectInput, runId, startOptions, withClient } from '../context';
import { EXIT } from '../exit';

type ProjectFlags = { project?: string; prod?: string; dev?: string; database?: string; role?: string };
type RunFlags = ProjectFlags & { wait?: boolean; ifBusy?: string; workflowId?: string };
type CheckFlags = { check?: string[]; checksFile?: string; tablesExist?: string; healthUrl?: string };

const collect = (v: string, prev: string[] = []) => [...prev, v];

function projectOptions(c: Command): Command {
  return c
    .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
    .option('--prod <name>', 'name of the prod branch', undefined)
    .option('--dev <name>', 'name of the dev branch', undefined)
    .option('--database <name>', 'database the checks run in (default neondb)')
    .option('--role <name>', 'role the checks connect as (default neondb_owner)');
}

function runOptions(c: Command): Command {
  return projectOptions(c)
    .option('--wait', 'wait for the run, showing its steps, and exit by its outcome')
    .option('--if-busy <queue|refuse>', 'when the project has a run: wait for it (queue) or fail at once (refuse)')
    .option('--workflow-id <id>', 'the run ID to use (default: generated)');
}

function checkOptions(c: Command, prefix = ''): Command {
  return c
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
    .action(async (o: RunFlags & { protect: boolean }, cmd: Command) => {
      const input = checked(inputs.setupInput(), { ...projectInput(o), protectProd: o.protect });
      const start = startOptions(o);
      await withClient(cmd, async (ctx) =>
        follow(ctx, 'setup', await ctx.client.startSetup(input, start), Boolean(o.wait)),
      );
    });

  const promote = checkOptions(checkOptions(runOptions(program.command('promote'))), 'post-swap-')
    .description('replace prod with a verified snapshot of dev (rolls back by itself if prod fails its checks)')
    .option('--dry-run', 'plan only: resolve branches, check quota, show the schema diff')
    .option('--approve-required', 'wait for `neon-promote approve` before touching prod')
    .option('--approval-timeout <duration>', 'how long to wait for approval (e.g. 2h; default 24h)')
    .option('--write-policy <fence|abort|reconcile|ignore>', 'prod writes during the promotion (default fence)')
    .option(
      '--reconcile-table <table:key1,key2[:timestampColumn]>',
      'table to reconcile (with --write-policy reconcile)',
      collect,
    )
    .option('--on-conflict <keep_prod|keep_dev|fail>', 'reconcile conflict rule (default keep_prod)')
    .option('--strategy <snapshot|migrations>', "replace prod (snapshot) or apply dev's pending migrations")
    .option('--migrations-folder <path>', "SQL files on the worker (strategy migrations; default: dev's ledger table)")
    .option('--notify-url <url>', 'webhook called with the outcome')
    .option('--requested-by <who>', 'recorded in the run');
  promote.action(async (o: RunFlags & CheckFlags & PromoteFlags, cmd: Command) => {
    const input = checked(inputs.promoteInput(), promoteInput(o));
    const start = startOptions(o);
    await withClient(cmd, async (ctx) =>
      follow(ctx, 'promote', await ctx.client.startPromotion(input, start), Boolean(o.wait)),
    );
  });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(`${decision} <run>`)
      .description(`${decision} a promotion waiting for approval`)
      .requiredOption('--by <who>', 'who decides (recorded in the run)')
      .option('--comment <text>')
      .action(async (run: string, o: { by: string; comment?: string }, cmd: Command) => {
        checked(decisionSchema, { run, by: o.by });
        await withClient(cmd, async (ctx) => {
          const a = await ctx.client[decision](run, o.by, o.comment);
          if (ctx.json) ctx.emit(a);
          else ctx.term.line(`${a.approved ? 'approved' : 'rejected'} by ${a.by} at ${a.at}`);
          return EXIT.ok;
        });
      });
  }

  checkOptions(runOptions(program.command('refresh')))
    .description('replace dev with a snapshot of prod (refuses when dev holds unpromoted changes, unless --force)')
    .option('--force', 'refresh even if dev holds changes never promoted (they are lost from dev)')
    .action(async (o: RunFlags & CheckFlags & { force?: boolean }, cmd: Command) => {
      const input = checked(inputs.refreshInput(), {
        ...projectInput(o),
        force: Boolean(o.force),
        checks: checksFromFlags(o),
      });
      const start = startOptions(o);
      await withClient(cmd, async (ctx) =>
        follow(ctx, 'refresh', await ctx.client.startRefresh(input, start), Boolean(o.wait)),
      );
    });

  checkOptions(runOptions(program.command('rollback')))
    .description('restore prod from a snapshot (default: the latest pre-promotion snapshot)')
    .option('--snapshot <id>', 'snapshot ID to restore')
    .option('--snapshot-name <name>', 'snapshot name to restore')
    .action(async (o: RunFlags & CheckFlags & { snapshot?: string; snapshotName?: string }, cmd: Command) => {
      const input = checked(inputs.rollbackInput(), {
        ...projectInput(o),
        ...(o.snapshot ? { snapshotId: o.snapshot } : {}),
        ...(o.snapshotName ? { snapshotName: o.snapshotName } : {}),
        checks: checksFromFlags(o),
      });
      const start = startOptions(o);
      await withClient(cmd, async (ctx) =>
        follow(ctx, 'rollback', await ctx.client.startRollback(input, start), Boolean(o.wait)),
      );
    });

  program
    .command('cancel <run>')
    .description('cancel a run: before the swap it cleans up, after it prod is rolled back')
    .action(async (run: string, _o: unknown, cmd: Command) => {
      checked(z.object({ run: runId }), { run });
      await withClient(cmd, async (ctx) => {
        await ctx.client.cancel(run);
        if (ctx.json) ctx.emit({ workflowId: run, cancelRequested: true });
        else ctx.term.line(`cancellation requested for ${run}`);
        return EXIT.ok;
      });
    });
}

type PromoteFlags = {
  dryRun?: boolean;
  approveRequired?: boolean;
  approvalTimeout?: string;
  writePolicy?: string;
  reconcileTable?: string[];
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
function promoteInput(o: RunFlags & CheckFlags & PromoteFlags) {
  const tables = (o.reconcileTable ?? []).map((spec) => {
    const [table, keys, timestampColumn] = spec.split(':');
    return { table, key: (keys ?? '').split(',').filter(Boolean), ...(timestampColumn ? { timestampColumn } : {}) };
  });
  return {
    ...projectInput(o),
    checks: checksFromFlags(o),
    postSwapChecks: checksFromFlags({
      check: o.postSwapCheck,
      checksFile: o.postSwapChecksFile,
      tablesExist: o.postSwapTablesExist,
      healthUrl: o.postSwapHealthUrl,
    }),
    dryRun: Boolean(o.dryRun),
    ...(o.approveRequired
      ? { approval: { required: true, ...(o.approvalTimeout ? { timeout: o.approvalTimeout } : {}) } }
      : {}),
    ...(o.writePolicy ? { writePolicy: o.writePolicy } : {}),
    ...(tables.length ? { reconcile: { tables, ...(o.onConflict ? { onConflict: o.onConflict } : {}) } } : {}),
    ...(o.strategy ? { strategy: o.strategy } : {}),
    ...(o.migrationsFolder ? { migrations: { source: { kind: 'folder', path: o.migrationsFolder } } } : {}),
    ...(o.notifyUrl ? { notify: { url: o.notifyUrl } } : {}),
    ...(o.requestedBy ? { requestedBy: o.requestedBy } : {}),
  } as inputs.PromoteInput;
}

/** approve/reject: the run's gate refuses the same `by` (the comment it truncates, so any comment goes). */
const decisionSchema = z.object({
  run: runId,
  by: z
    .string()
    .max(200)
    .refine((by) => by.trim() !== '', 'who decides (1-200 characters)'),
});
