import type { Command } from 'commander';
import type { SnapshotInventory } from '../../workflows';
import { janitorInput, snapshotInventoryInput } from '../../workflows/contract/inputs';
import { runMetadata } from '../../workflows/contract/run-summary';
import { checked, follow, projectOf, startOptions, withClient } from '../context';
import { EXIT } from '../exit';

type RunFlags = { project?: string; prod?: string; dev?: string; wait?: boolean; ifBusy?: string };

const names = (flags: RunFlags) => ({
  ...(flags.prod ? { prodBranchName: flags.prod } : {}),
  ...(flags.dev ? { devBranchName: flags.dev } : {}),
});

function runFlags(command: Command): Command {
  return command
    .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
    .option('--prod <name>', 'name of the prod branch (default prod)')
    .option('--dev <name>', 'name of the dev branch (default dev)')
    .option('--wait', 'wait for the run, showing its steps, and exit by its outcome')
    .option('--if-busy <queue|refuse>', 'when the project has a run: wait for it (queue) or fail at once (refuse)');
}

/** snapshots list|delete, and janitor: an operator's way to see and free the plan's snapshot slots. */
export function registerSnapshots(program: Command): void {
  const snapshots = program.command('snapshots').description("the project's snapshots and the plan's slots");
  snapshots
    .command('list')
    .description("each snapshot with its role (fork point, rollback point, ...), and the plan's free slots")
    .option('--project <id>', 'Neon project ID (or NEON_PROJECT_ID)')
    .option('--prod <name>', 'name of the prod branch (default prod)')
    .option('--dev <name>', 'name of the dev branch (default dev)')
    .action(async (flags: RunFlags, cmd: Command) => {
      const input = checked(snapshotInventoryInput(), { projectId: projectOf(flags), ...names(flags) });
      await withClient(cmd, async (ctx) => {
        const inventory = (await ctx.client.temporal.workflow.execute('snapshotInventory', {
          taskQueue: ctx.client.taskQueue,
          workflowId: `snapshotInventory-${input.projectId}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`,
          args: [input],
          ...runMetadata('snapshotInventory', input),
        })) as SnapshotInventory;
        if (ctx.json) ctx.emit(inventory);
        else for (const line of inventoryLines(inventory)) ctx.term.line(line);
        return EXIT.ok;
      });
    });

  runFlags(snapshots.command('delete <id...>'))
    .description("delete these snapshots in the project's turn (not the current fork point): frees the plan's slots")
    .action(async (ids: string[], flags: RunFlags, cmd: Command) => {
      const input = checked(janitorInput(), { projectId: projectOf(flags), ...names(flags), snapshotIds: ids });
      const start = startOptions(flags);
      await withClient(cmd, async (ctx) =>
        follow(ctx, 'janitor', await ctx.client.startJanitor(input, start), Boolean(flags.wait)),
      );
    });

  runFlags(program.command('janitor'))
    .description('run the janitor once now: expired snapshots and backups, and the oldest rollback points over quota')
    .option('--keep-rollback-snapshots <n>', 'newest rollback snapshots always kept (default 2)', Number)
    .option('--reserve-snapshot-slots <n>', 'slots left free for the next promotion (default 2)', Number)
    .action(async (flags: RunFlags & { keepRollbackSnapshots?: number; reserveSnapshotSlots?: number }, cmd) => {
      const input = checked(janitorInput(), {
        projectId: projectOf(flags),
        ...names(flags),
        ...(flags.keepRollbackSnapshots !== undefined ? { keepRollbackSnapshots: flags.keepRollbackSnapshots } : {}),
        ...(flags.reserveSnapshotSlots !== undefined ? { reserveSnapshotSlots: flags.reserveSnapshotSlots } : {}),
      });
      const start = startOptions(flags);
      await withClient(cmd as Command, async (ctx) =>
        follow(ctx, 'janitor', await ctx.client.startJanitor(input, start), Boolean(flags.wait)),
      );
    });
}

function inventoryLines(inventory: SnapshotInventory): string[] {
  const manual = inventory.snapshots.filter((snapshot) => snapshot.manual).length;
  const slots =
    inventory.snapshotLimit === null
      ? `${manual} manual snapshot(s); the plan's limit is not configured (NEON_PLAN, NEON_SNAPSHOT_LIMIT)`
      : `${manual} of ${inventory.snapshotLimit} manual snapshot slots used, ${inventory.freeSnapshotSlots} free`;
  return [
    `project ${inventory.projectId}: ${slots}`,
    ...inventory.snapshots.map(
      (snapshot) =>
        `  ${snapshot.createdAt}  ${snapshot.id}  ${snapshot.role.padEnd(21)} ${snapshot.name}` +
        `  ${snapshot.expiresAt ? `expires ${snapshot.expiresAt}` : 'no expiry'}`,
    ),
  ];
}
