import type { Command } from 'commander';
import type { PromoteInput } from '../../workflows/inputs';
import { checksFromFlags } from '../checks';
import { follow, projectInput, withClient } from '../context';
import { EXIT } from '../exit';

type ProjectFlags = { project?: string; prod?: string; dev?: string; database?: string; role?: string };
type RunFlags = ProjectFlags & { wait?: boolean; ifBusy?: 'queue' | 'refuse'; workflowId?: string };
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

const startOpts = (o: RunFlags) => ({ ifBusy: o.ifBusy, workflowId: o.workflowId });

/** setup, promote, approve/reject, refresh, rollback, cancel. */
export function registerMutations(program: Command): void {
  runOptions(program.command('setup').description("make dev an isolated root branch with prod's data; protect prod"))
    .option('--no-protect', 'leave prod unprotected')
    .action((o: RunFlags & { protect: boolean }, cmd: Command) =>
      withClient(cmd, async (ctx) =>
        follow(
          ctx,
          'setup',
          await ctx.client.startSetup({ ...projectInput(o), protectProd: o.protect }, startOpts(o)),
          Boolean(o.wait),
        ),
      ),
    );

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
  promote.action((o: RunFlags & CheckFlags & PromoteFlags, cmd: Command) =>
    withClient(cmd, async (ctx) => {
      const run = await ctx.client.startPromotion(promoteInput(o), startOpts(o));
      return follow(ctx, 'promote', run, Boolean(o.wait));
    }),
  );

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(`${decision} <run>`)
      .description(`${decision} a promotion waiting for approval`)
      .requiredOption('--by <who>', 'who decides (recorded in the run)')
      .option('--comment <text>')
      .action((run: string, o: { by: string; comment?: string }, cmd: Command) =>
        withClient(cmd, async (ctx) => {
          const a = await ctx.client[decision](run, o.by, o.comment);
          if (ctx.json) ctx.emit(a);
          else ctx.term.line(`${a.approved ? 'approved' : 'rejected'} by ${a.by} at ${a.at}`);
          return EXIT.ok;
        }),
      );
  }

  checkOptions(runOptions(program.command('refresh')))
    .description('replace dev with a snapshot of prod (refuses when dev holds unpromoted changes, unless --force)')
    .option('--force', 'refresh even if dev holds changes never promoted (they are lost from dev)')
    .action((o: RunFlags & CheckFlags & { force?: boolean }, cmd: Command) =>
      withClient(cmd, async (ctx) => {
        const input = { ...projectInput(o), force: Boolean(o.force), checks: checksFromFlags(o) };
        return follow(ctx, 'refresh', await ctx.client.startRefresh(input, startOpts(o)), Boolean(o.wait));
      }),
    );

  checkOptions(runOptions(program.command('rollback')))
    .description('restore prod from a snapshot (default: the latest pre-promotion snapshot)')
    .option('--snapshot <id>', 'snapshot ID to restore')
    .option('--snapshot-name <name>', 'snapshot name to restore')
    .action((o: RunFlags & CheckFlags & { snapshot?: string; snapshotName?: string }, cmd: Command) =>
      withClient(cmd, async (ctx) => {
        const input = {
          ...projectInput(o),
          ...(o.snapshot ? { snapshotId: o.snapshot } : {}),
          ...(o.snapshotName ? { snapshotName: o.snapshotName } : {}),
          checks: checksFromFlags(o),
        };
        return follow(ctx, 'rollback', await ctx.client.startRollback(input, startOpts(o)), Boolean(o.wait));
      }),
    );

  program
    .command('cancel <run>')
    .description('cancel a run: before the swap it cleans up, after it prod is rolled back')
    .action((run: string, _o: unknown, cmd: Command) =>
      withClient(cmd, async (ctx) => {
        await ctx.client.cancel(run);
        if (ctx.json) ctx.emit({ workflowId: run, cancelRequested: true });
        else ctx.term.line(`cancellation requested for ${run}`);
        return EXIT.ok;
      }),
    );
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
  } as PromoteInput;
}
